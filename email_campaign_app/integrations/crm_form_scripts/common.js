// Email Campaign App in Frappe CRM's interface (/crm). integrations/frappe_crm.py installs this
// file, followed by lead_form.js or lead_list.js, as CRM Form Script records: Frappe CRM runs a
// record's script with its helpers (call, $dialog, toast) and keeps the actions it returns.
// `__` is Frappe CRM's translation function; every value shown is escaped.
const emailCampaignApp = {
	escape(value) {
		const entities = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
		return String(value ?? "").replace(/[&<>"']/g, (character) => entities[character]);
	},

	errorMessage(error) {
		const messages = (error && error.messages) || [];
		const text = messages.length ? messages.join(" ") : (error && error.message) || "";
		return text.replace(/<[^>]*>/g, "") || __("Something went wrong. Try again.");
	},

	options(values, chosen) {
		return values
			.map((value) => {
				const selected = value === chosen ? " selected" : "";
				const text = emailCampaignApp.escape(value);
				return `<option value="${text}"${selected}>${text}</option>`;
			})
			.join("");
	},

	field(id, label, control) {
		return `<label class="flex flex-col gap-1.5 text-sm text-ink-gray-7" for="${id}">
			${emailCampaignApp.escape(label)}${control}</label>`;
	},

	// Add the leads `names` to a Campaign: one Email Campaign per lead, sent by the user.
	async addToEmailCampaign({ names, call, $dialog, toast, done }) {
		let settings;
		try {
			settings = await call("email_campaign_app.api.crm.enrolment_options");
		} catch (error) {
			toast.error(emailCampaignApp.errorMessage(error));
			return;
		}
		if (!settings.campaigns.length) {
			toast.error(__("There is no Campaign yet: a Sales Manager creates one first."));
			return;
		}
		const id = `email-campaign-${Math.random().toString(36).slice(2)}`;
		const input = "form-input w-full rounded border-outline-gray-2 text-base";
		const value = (name) => document.getElementById(`${id}-${name}`).value;
		$dialog({
			title: __("Add to Email Campaign"),
			html: `<div class="flex flex-col gap-3">
				${emailCampaignApp.field(`${id}-campaign`, __("Campaign"), `<select id="${id}-campaign" class="${input}">${emailCampaignApp.options(settings.campaigns)}</select>`)}
				${emailCampaignApp.field(`${id}-start`, __("Start Date"), `<input id="${id}-start" type="date" class="${input}" value="${emailCampaignApp.escape(settings.today)}">`)}
				${emailCampaignApp.field(`${id}-send-at`, __("Send At"), `<select id="${id}-send-at" class="${input}">${emailCampaignApp.options(settings.send_at, settings.default_send_at)}</select>`)}
				<p class="text-sm text-ink-gray-5">${emailCampaignApp.escape(__("Sender: {0}", [settings.sender]))}</p>
			</div>`,
			actions: [
				{
					label: names.length === 1 ? __("Add 1 record") : __("Add {0} records", [names.length]),
					variant: "solid",
					async onClick(context) {
						try {
							const answer = await call("email_campaign_app.api.enrolment.add_to_email_campaign", {
								doctype: "CRM Lead",
								names: JSON.stringify(names),
								campaign_name: value("campaign"),
								start_date: value("start"),
								send_at: value("send-at"),
							});
							context.close();
							emailCampaignApp.tell(answer, toast);
							if (done) done();
						} catch (error) {
							toast.error(emailCampaignApp.errorMessage(error));
						}
					},
				},
			],
		});
	},

	tell(answer, toast) {
		if (!answer.summary) {
			toast.success(
				__("{0} records are being added in the background. You will see the summary here when it is done.", [
					answer.queued,
				])
			);
			return;
		}
		const summary = answer.summary;
		const created = summary.created.length;
		const skipped = Object.values(summary.skipped).reduce((total, names) => total + names.length, 0);
		const failed = Object.keys(summary.failed).length;
		const text =
			created === 1
				? __("1 Email Campaign created for Campaign {0}.", [summary.campaign_name])
				: __("{0} Email Campaigns created for Campaign {1}.", [created, summary.campaign_name]);
		const rest = skipped + failed ? " " + __("{0} not added (no email address, already running, unsubscribed or not permitted).", [skipped + failed]) : "";
		(created ? toast.success : toast.warning)(text + rest);
	},

	// The lead's Email Campaigns: Campaign, status, dates, emails sent.
	async showEmailCampaigns({ doc, call, $dialog, toast }) {
		let rows;
		try {
			rows = await call("email_campaign_app.api.crm.email_campaigns_of", {
				doctype: "CRM Lead",
				name: doc.name,
			});
		} catch (error) {
			toast.error(emailCampaignApp.errorMessage(error));
			return;
		}
		const escape = emailCampaignApp.escape;
		const cell = "px-2 py-1.5 text-left";
		const body = rows
			.map(
				(row) => `<tr class="border-t border-outline-gray-1" data-email-campaign="${escape(row.name)}">
					<td class="${cell}"><a class="underline" href="/app/email-campaign/${encodeURIComponent(row.name)}" target="_blank">${escape(row.campaign_name)}</a></td>
					<td class="${cell} email-campaign-status">${escape(row.status_label)}</td>
					<td class="${cell}">${escape(row.start_date)} → ${escape(row.end_date)}</td>
					<td class="${cell}">${escape(row.sent)}</td>
				</tr>`
			)
			.join("");
		$dialog({
			title: __("Email Campaigns"),
			html: rows.length
				? `<table class="w-full text-base text-ink-gray-8">
					<thead><tr class="text-ink-gray-5">
						<th class="${cell}">${escape(__("Campaign"))}</th><th class="${cell}">${escape(__("Status"))}</th>
						<th class="${cell}">${escape(__("Dates"))}</th><th class="${cell}">${escape(__("Emails Sent"))}</th>
					</tr></thead><tbody>${body}</tbody></table>`
				: `<p class="text-base text-ink-gray-7">${escape(__("This lead is in no Email Campaign."))}</p>`,
			actions: [{ label: __("Close"), onClick: (context) => context.close() }],
		});
	},
};
