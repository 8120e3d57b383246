// Copyright (c) 2026, email_campaign_app developers and contributors
// For license information, please see license.txt

frappe.ui.form.on("Email Campaign", {
	setup(frm) {
		frm.set_query("recipient", () => {
			// an Email Group, or a CRM Lead (no flag of its own: the suppression list keeps it)
			if (["Email Group", "CRM Lead"].includes(frm.doc.email_campaign_for)) return {};
			return { filters: { unsubscribed: 0 } };
		});
		frm.set_query("sender", () => ({ filters: { enabled: 1, user_type: "System User" } }));
		// a Sales User sends as themselves (the server refuses another sender)
		frm.set_df_property("sender", "read_only", !email_campaign.is_manager());
	},

	email_campaign_for(frm) {
		frm.set_value("recipient", "");
	},

	onload(frm) {
		// CRM Lead only where Frappe CRM is installed (the site's installed apps are in the boot)
		if ((frappe.boot.versions || {}).crm) return;
		const options = frm.get_field("email_campaign_for").df.options;
		const list = Array.isArray(options) ? options : (options || "").split("\n");
		frm.set_df_property(
			"email_campaign_for",
			"options",
			list.filter((option) => option !== "CRM Lead")
		);
	},

	refresh(frm) {
		if (frm.is_new()) {
			frm.get_field("schedule_html").$wrapper.empty();
			return;
		}
		const address_problem = (frm.doc.__onload || {}).public_address_problem;
		if (address_problem) frm.set_intro(frappe.utils.escape_html(address_problem), "red");
		frm.add_custom_button(__("Preview"), () => email_campaign.preview(frm));
		frm.add_custom_button(__("Send test email"), () => email_campaign.send_test(frm));
		const running = frm.doc.status === "In Progress";
		if (running && email_campaign.is_manager()) {
			frm.add_custom_button(__("Send due emails now"), () => {
				frappe.call({
					method: "email_campaign_app.api.email_campaign.send_due_emails_now",
					args: { email_campaign: frm.doc.name },
					freeze: true,
					callback: () => frm.reload_doc(),
				});
			});
		}
		email_campaign.add_pause_buttons(frm);
		email_campaign.render_schedule(frm);
	},
});

const can_retry = () => frappe.user.has_role("Sales Manager") || frappe.user.has_role("System Manager");

const email_campaign = {
	is_manager() {
		return frappe.user.has_role(["Sales Manager", "System Manager"]);
	},

	// Sales Managers, System Managers and the Email Campaign's owner (the server checks too)
	can_pause(frm) {
		return email_campaign.is_manager() || frm.doc.owner === frappe.session.user;
	},

	add_pause_buttons(frm) {
		if (!email_campaign.can_pause(frm)) return;
		if (["Scheduled", "In Progress"].includes(frm.doc.status)) {
			frm.add_custom_button(__("Pause"), () =>
				frappe.confirm(__("Pause this Email Campaign? Nothing more is sent until it resumes."), () =>
					frappe.call({
						method: "email_campaign_app.api.email_campaign.pause_email_campaign",
						args: { email_campaign: frm.doc.name },
						freeze: true,
						callback: () => frm.reload_doc(),
					})
				)
			);
		}
		if (frm.doc.status === "Paused") {
			frm.add_custom_button(__("Resume"), () => email_campaign.resume(frm));
		}
	},

	resume(frm) {
		frappe.prompt(
			[
				{
					fieldname: "mode",
					fieldtype: "Select",
					label: __("After the pause"),
					options: [
						{ value: "Shift", label: __("Shift the remaining schedule by the paused days") },
						{ value: "Catch Up", label: __("Catch up: the missed emails go now, one schedule day per day") },
					],
					default: "Shift",
					reqd: 1,
					description: __("Paused since {0}.", [frappe.datetime.str_to_user(frm.doc.paused_on)]),
				},
			],
			(values) =>
				frappe.call({
					method: "email_campaign_app.api.email_campaign.resume_email_campaign",
					args: { email_campaign: frm.doc.name, mode: values.mode },
					freeze: true,
					callback: () => frm.reload_doc(),
				}),
			__("Resume Email Campaign"),
			__("Resume")
		);
	},

	member_field(frm) {
		if (frm.doc.email_campaign_for !== "Email Group") return [];
		return [
			{
				fieldname: "member",
				fieldtype: "Link",
				options: "Email Group Member",
				label: __("Email Group Member"),
				description: __("Leave empty for the first subscribed member."),
				get_query: () => ({ filters: { email_group: frm.doc.recipient, unsubscribed: 0 } }),
			},
		];
	},

	async member_email(member) {
		if (!member) return null;
		const { message } = await frappe.db.get_value("Email Group Member", member, "email");
		return message && message.email;
	},

	preview(frm) {
		const dialog = new frappe.ui.Dialog({
			title: __("Preview"),
			size: "extra-large",
			fields: [
				...email_campaign.member_field(frm),
				{ fieldname: "preview_html", fieldtype: "HTML" },
			],
		});
		const show = async () => {
			const member = await email_campaign.member_email(dialog.get_value("member"));
			const { message: steps } = await frappe.call({
				method: "email_campaign_app.api.email_campaign.preview",
				args: { email_campaign: frm.doc.name, member },
			});
			dialog.fields_dict.preview_html.$wrapper.html(steps.map(email_campaign.preview_card).join(""));
		};
		if (dialog.fields_dict.member) dialog.fields_dict.member.df.onchange = show;
		dialog.show();
		show();
	},

	preview_card(step) {
		const when = __("Day {0} · {1} · to {2}", [
			step.send_after_days,
			frappe.datetime.str_to_user(step.send_date),
			frappe.utils.escape_html(step.recipient),
		]);
		const variant = step.variant_of
			? " · " + __("A/B variant of {0}", [frappe.utils.escape_html(step.variant_of)])
			: "";
		return `<div class="email-campaign-preview border rounded p-3 mb-3">
			<div class="text-muted small">${frappe.utils.escape_html(step.email_template)}${variant} · ${when}</div>
			<h5 class="mt-2">${frappe.utils.escape_html(step.subject)}</h5>
			<iframe class="w-100 border-0" style="min-height: 260px" sandbox srcdoc="${frappe.utils.escape_html(step.body)}"></iframe>
		</div>`;
	},

	async send_test(frm) {
		const { message: steps } = await frappe.call({
			method: "email_campaign_app.api.email_campaign.get_schedule_view",
			args: { email_campaign: frm.doc.name },
		});
		frappe.prompt(
			[
				{
					fieldname: "email_template",
					fieldtype: "Select",
					label: __("Email Template"),
					options: [...new Set(steps.map((s) => s.email_template))],
					default: steps.length ? steps[0].email_template : null,
					reqd: 1,
				},
				...email_campaign.member_field(frm),
			],
			async (values) => {
				frappe.call({
					method: "email_campaign_app.api.email_campaign.send_test_email",
					args: {
						email_campaign: frm.doc.name,
						email_template: values.email_template,
						member: await email_campaign.member_email(values.member),
					},
					freeze: true,
				});
			},
			__("Send test email"),
			__("Send")
		);
	},

	uncertain_count(steps) {
		return steps
			.filter((s) => !s.variant_of) // a variant's emails are counted on its step's row too
			.reduce((total, s) => total + (s.may_have_been_sent || 0), 0);
	},

	// a step's template; under it, each A/B variant's, with its test emails
	template_cell(s) {
		const template = frappe.utils.escape_html(s.email_template);
		if (!s.variant_of) return template;
		const tested =
			s.test_emails === 1 ? __("1 test email") : __("{0} test emails", [s.test_emails]);
		return `<span class="text-muted">↳ ${__("A/B variant")}:</span> ${template}
			<div class="text-muted small">${tested}</div>`;
	},

	// emails whose delivery stopped midway (the worker died): a manager decides
	uncertain_notice(steps) {
		const count = email_campaign.uncertain_count(steps);
		if (!count) return "";
		const what =
			count === 1
				? __("1 email may have been sent: its delivery stopped midway.")
				: __("{0} emails may have been sent: their delivery stopped midway.", [count]);
		return `<div class="email-campaign-uncertain text-warning small">${what} ${__(
			"They are not sent again unless a Sales Manager chooses to."
		)}</div>`;
	},

	add_uncertain_buttons(frm, steps) {
		if (!email_campaign.uncertain_count(steps) || !can_retry()) return;
		const decide = (resend, question) =>
			frappe.confirm(question, () =>
				frappe.call({
					method: "email_campaign_app.api.email_campaign.decide_on_uncertain_emails",
					args: { email_campaign: frm.doc.name, resend: resend ? 1 : 0 },
					callback: () => frm.reload_doc(),
				})
			);
		const group = __("May Have Been Sent");
		frm.add_custom_button(
			__("Send them again"),
			() => decide(true, __("Send them again? A recipient who got them would get them twice.")),
			group
		);
		frm.add_custom_button(
			__("Count them as sent"),
			() => decide(false, __("Count them as sent? They will never be sent again.")),
			group
		);
	},

	async render_schedule(frm) {
		const { message: steps } = await frappe.call({
			method: "email_campaign_app.api.email_campaign.get_schedule_view",
			args: { email_campaign: frm.doc.name },
		});
		const head = [
			__("Day"),
			__("Email Template"),
			__("Planned Date"),
			__("Sent"),
			__("In Queue"),
			__("Waiting"),
			__("Skipped"),
			__("Failed"),
			__("Retrying"),
			__("Bounced"),
			__("Complaints"),
			__("Opened"),
			__("Clicked"),
			__("Replies"),
			__("Unsubscribed"),
		];
		// a count and, once something was sent, its share of the emails sent
		const with_rate = (count, rate, sent) =>
			sent ? `${count} <span class="text-muted">· ${format_number(rate, null, 1)} %</span>` : `${count}`;
		const rows = steps.map(
			(s) => `<tr>
				<td>${s.variant_of ? "" : s.send_after_days}</td>
				<td>${email_campaign.template_cell(s)}</td>
				<td>${frappe.datetime.str_to_user(s.send_date)}</td>
				<td>${s.sent}</td>
				<td>${s.in_queue}</td>
				<td title="${frappe.utils.escape_html(s.waiting_reason || "")}">${s.waiting}</td>
				<td>${s.skipped}</td>
				<td title="${frappe.utils.escape_html(s.failure_reason)}">${s.failed}</td>
				<td>${s.retrying}</td><td>${s.bounced}</td><td>${s.complaints}</td>
				<td>${with_rate(s.opened, s.open_rate, s.sent)}</td>
				<td title="${s.clicks === 1 ? __("1 click") : __("{0} clicks", [s.clicks])}">${with_rate(
					s.clicked,
					s.click_rate,
					s.sent
				)}</td>
				<td>${with_rate(s.replied, s.reply_rate, s.sent)}</td>
				<td>${with_rate(s.unsubscribed, s.unsubscribe_rate, s.sent)}</td>
			</tr>`
		);
		const reasons = steps
			.filter((s) => s.failed && !s.variant_of)
			.map(
				(s) => `<li>${__("Day {0}", [s.send_after_days])} · ${frappe.utils.escape_html(
					s.email_template
				)}: ${frappe.utils.escape_html(s.failure_reason)}</li>`
			);
		const $wrapper = frm.get_field("schedule_html").$wrapper;
		$wrapper.html(`
			<table class="table table-bordered table-sm email-campaign-schedule">
				<thead><tr>${head.map((h) => `<th>${h}</th>`).join("")}</tr></thead>
				<tbody>${rows.join("")}</tbody>
			</table>
			${
				reasons.length
					? `<div class="email-campaign-failures text-muted small">
						<div>${__("Failed for good (main reason, emails):")}</div><ul>${reasons.join("")}</ul>
					</div>`
					: ""
			}
			${email_campaign.uncertain_notice(steps)}`);
		email_campaign.add_uncertain_buttons(frm, steps);
		if (reasons.length && can_retry()) {
			frm.add_custom_button(__("Retry failed emails"), () =>
				frappe.call({
					method: "email_campaign_app.api.email_campaign.retry_failed_emails",
					args: { email_campaign: frm.doc.name },
					callback: () => frm.reload_doc(),
				})
			);
		}
	},
};
