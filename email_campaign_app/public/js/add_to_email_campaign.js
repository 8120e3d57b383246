// Lead, Contact and CRM Lead lists: Actions > Add to Email Campaign creates one Email Campaign
// per selected record (hooks.py doctype_list_js adds this file to the three lists).
frappe.provide("email_campaign_app");

email_campaign_app.is_manager = () => frappe.user.has_role(["Sales Manager", "System Manager"]);

// "1 record" or "3 records": the singular and the plural are two strings, each translated
email_campaign_app.plural = (count, one, many) => (count === 1 ? one : many);

email_campaign_app.add_to_email_campaign = function (listview) {
	const doctype = listview.doctype;
	const names = listview.get_checked_items(true);
	if (!names.length) return;
	frappe.model.with_doctype("Email Campaign", () => {
		const send_at = frappe.meta.get_docfield("Email Campaign", "send_at");
		const dialog = new frappe.ui.Dialog({
			title: __("Add to Email Campaign"),
			fields: [
				{
					fieldname: "campaign_name",
					fieldtype: "Link",
					options: "Campaign",
					label: __("Campaign"),
					reqd: 1,
				},
				{
					fieldname: "start_date",
					fieldtype: "Date",
					label: __("Start Date"),
					reqd: 1,
					default: frappe.datetime.get_today(),
				},
				{
					fieldname: "send_at",
					fieldtype: "Select",
					label: __("Send At"),
					options: send_at.options,
					default: send_at.default,
					reqd: 1,
				},
				{
					fieldname: "sender",
					fieldtype: "Link",
					options: "User",
					label: __("Sender"),
					reqd: 1,
					default: frappe.session.user,
					read_only: !email_campaign_app.is_manager(),
					get_query: () => ({ filters: { enabled: 1, user_type: "System User" } }),
				},
			],
			primary_action_label: email_campaign_app.plural(
				names.length,
				__("Add 1 record"),
				__("Add {0} records", [names.length])
			),
			primary_action(values) {
				frappe
					.call({
						method: "email_campaign_app.api.enrolment.add_to_email_campaign",
						args: { doctype, names, ...values },
						freeze: true,
						freeze_message: __("Adding to Email Campaign…"),
					})
					.then(({ message }) => {
						dialog.hide();
						listview.clear_checked_items();
						if (message.summary) {
							email_campaign_app.show_enrolment_summary(message.summary);
						} else {
							frappe.show_alert({
								message: __(
									"{0} records are being added in the background. You will see the summary here when it is done.",
									[message.queued]
								),
								indicator: "blue",
							});
						}
					});
			},
		});
		dialog.show();
	});
};

// "3 Email Campaigns created for Campaign X", a link to them, and when the first email leaves
email_campaign_app.created_line = function (summary) {
	const count = summary.created.length;
	const campaign = frappe.utils.escape_html(summary.campaign_name);
	const created = email_campaign_app.plural(
		count,
		__("1 Email Campaign created for Campaign {0}.", [campaign]),
		__("{0} Email Campaigns created for Campaign {1}.", [count, campaign])
	);
	if (!count) return created;
	const route = `/app/email-campaign?campaign_name=${encodeURIComponent(summary.campaign_name)}`;
	const first_send = summary.first_send
		? " " +
		  __("The first email leaves on {0}.", [
				frappe.datetime.str_to_user(summary.first_send),
		  ])
		: "";
	return `${created}${first_send} <a href="${route}">${__("Open them")}</a>`;
};

email_campaign_app.show_enrolment_summary = function (summary) {
	const line = (count, text) => (count ? `<li>${text}</li>` : "");
	const SHOWN = 20;
	const titles = summary.titles || {};
	const names = (list) => {
		const shown = list
			.slice(0, SHOWN)
			.map((name) => frappe.utils.escape_html(titles[name] || name))
			.join(", ");
		return list.length > SHOWN ? __("{0} and {1} more", [shown, list.length - SHOWN]) : shown;
	};
	const skipped = summary.skipped;
	const failed = Object.entries(summary.failed);
	const message = `<ul class="email-campaign-enrolment-summary">
		<li class="created">${email_campaign_app.created_line(summary)}</li>
		${line(skipped.no_email.length, __("Skipped, no email address: {0}", [names(skipped.no_email)]))}
		${line(
			skipped.unsubscribed.length,
			__("Skipped, unsubscribed: {0}", [names(skipped.unsubscribed)])
		)}
		${line(
			(skipped.suppressed || []).length,
			__("Skipped, on the suppression list (unsubscribed from this Campaign or from all, bounced or complained): {0}", [
				names(skipped.suppressed || []),
			])
		)}
		${line(
			skipped.running.length,
			__("Skipped, already running this Campaign: {0}", [names(skipped.running)])
		)}
		${line(
			skipped.not_permitted.length,
			__("Skipped, not found or not yours to read: {0}", [names(skipped.not_permitted)])
		)}
		${failed
			.map(
				([name, error]) =>
					`<li>${__("Not added, {0}: {1}", [
						frappe.utils.escape_html(titles[name] || name),
						frappe.utils.escape_html(error),
					])}</li>`
			)
			.join("")}
	</ul>`;
	frappe.msgprint({
		title: __("Add to Email Campaign"),
		message,
		indicator: failed.length ? "orange" : "green",
	});
	if (window.cur_list && window.cur_list.doctype === summary.doctype) window.cur_list.refresh();
};

if (!email_campaign_app.listening_for_enrolments) {
	email_campaign_app.listening_for_enrolments = true;
	frappe.realtime.on(
		"email_campaign_app_enrolment_done",
		email_campaign_app.show_enrolment_summary
	);
}

for (const doctype of ["Lead", "Contact", "CRM Lead"]) {
	const settings = (frappe.listview_settings[doctype] = frappe.listview_settings[doctype] || {});
	if (settings.email_campaign_app_actions) continue;
	settings.email_campaign_app_actions = true;
	const onload = settings.onload;
	settings.onload = function (listview) {
		if (onload) onload.call(this, listview);
		if (frappe.model.can_create("Email Campaign")) {
			listview.page.add_actions_menu_item(__("Add to Email Campaign"), () =>
				email_campaign_app.add_to_email_campaign(listview)
			);
		}
	};
}
