// Copyright (c) 2026, email_campaign_app developers and contributors
// For license information, please see license.txt

frappe.ui.form.on("Email Campaign", {
	setup(frm) {
		frm.set_query("recipient", () => {
			if (frm.doc.email_campaign_for === "Email Group") return {};
			return { filters: { unsubscribed: 0 } };
		});
		frm.set_query("sender", () => ({ filters: { enabled: 1, user_type: "System User" } }));
	},

	email_campaign_for(frm) {
		frm.set_value("recipient", "");
	},

	refresh(frm) {
		const can_send = ["In Progress"].includes(frm.doc.status) && frappe.user.has_role("System Manager");
		if (!frm.is_new() && can_send) {
			frm.add_custom_button(__("Send due emails now"), () => {
				frappe.call({
					method: "email_campaign_app.api.send_due_emails_now",
					args: { email_campaign: frm.doc.name },
					freeze: true,
					callback: () => frm.reload_doc(),
				});
			});
		}
	},
});
