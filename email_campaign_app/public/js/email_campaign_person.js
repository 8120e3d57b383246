// Lead, Contact and CRM Lead forms (Desk): Create > Email Campaign, and the "+" beside Email
// Campaigns in the dashboard, open a new Email Campaign for this record (hooks.py doctype_js
// adds this file to the three forms; it registers once for all). A CRM Lead's address is `email`.
frappe.provide("email_campaign_app");

if (!email_campaign_app.person_forms_registered) {
	email_campaign_app.person_forms_registered = true;

	const new_email_campaign = (frm) =>
		frappe.new_doc("Email Campaign", {
			email_campaign_for: frm.doctype,
			recipient: frm.doc.name,
		});

	for (const doctype of ["Lead", "Contact", "CRM Lead"]) {
		frappe.ui.form.on(doctype, {
			setup(frm) {
				frm.make_methods = {
					...(frm.make_methods || {}),
					"Email Campaign": () => new_email_campaign(frm),
				};
			},
			refresh(frm) {
				if (
					!frm.is_new() &&
					(frm.doc.email_id || frm.doc.email) &&
					frappe.model.can_create("Email Campaign")
				) {
					frm.add_custom_button(
						__("Email Campaign"),
						() => new_email_campaign(frm),
						__("Create")
					);
				}
			},
		});
	}
}
