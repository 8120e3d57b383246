// Copyright (c) 2026, email_campaign_app developers and contributors
// For license information, please see license.txt

frappe.ui.form.on("Lead", {
	refresh(frm) {
		if (!frm.is_new() && frm.doc.email_id) {
			frm.add_custom_button(__("Email Campaign"), () => {
				frappe.new_doc("Email Campaign", {
					email_campaign_for: "Lead",
					recipient: frm.doc.name,
				});
			}, __("Create"));
		}
	},
});
