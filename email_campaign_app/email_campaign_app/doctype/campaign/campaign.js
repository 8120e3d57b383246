// Copyright (c) 2026, email_campaign_app developers and contributors
// For license information, please see license.txt

frappe.ui.form.on("Campaign", {
	refresh(frm) {
		if (!frm.is_new()) {
			frm.add_custom_button(__("Email Campaign"), () => {
				frappe.new_doc("Email Campaign", { campaign_name: frm.doc.name });
			}, __("Create"));
		}
	},
});
