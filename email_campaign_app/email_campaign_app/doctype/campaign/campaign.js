// Copyright (c) 2026, email_campaign_app developers and contributors
// For license information, please see license.txt

frappe.ui.form.on("Campaign", {
	refresh(frm) {
		if (!frm.is_new()) {
			frm.add_custom_button(
				__("Email Campaign"),
				() => {
					frappe.new_doc("Email Campaign", { campaign_name: frm.doc.name });
				},
				__("Create")
			);
		}
	},
});

frappe.ui.form.on("Campaign Enrolment Rule", {
	set_filters(frm, cdt, cdn) {
		campaign.edit_rule_filters(locals[cdt][cdn]);
	},

	document_type(frm, cdt, cdn) {
		frappe.model.set_value(cdt, cdn, "filters_json", "[]"); // a Lead's filters mean nothing to a Contact
	},
});

const campaign = {
	// Frappe's own filter UI (as on a list), for the Leads or Contacts the rule enrols
	edit_rule_filters(rule) {
		let filter_group;
		const dialog = new frappe.ui.Dialog({
			title: __("Filters of enrolment rule {0}", [rule.idx]),
			fields: [
				{ fieldname: "filter_area", fieldtype: "HTML" },
				{
					fieldname: "help",
					fieldtype: "HTML",
					options: `<p class="text-muted small">${__(
						"No filter: every new {0} is enrolled.",
						[__(rule.document_type)]
					)}</p>`,
				},
			],
			primary_action_label: __("Set Filters"),
			primary_action() {
				frappe.model.set_value(
					rule.doctype,
					rule.name,
					"filters_json",
					JSON.stringify(filter_group.get_filters())
				);
				dialog.hide();
			},
		});
		frappe.model.with_doctype(rule.document_type, () => {
			filter_group = new frappe.ui.FilterGroup({
				parent: dialog.get_field("filter_area").$wrapper,
				doctype: rule.document_type,
				on_change: () => {},
			});
			filter_group.add_filters_to_filter_group(campaign.stored_filters(rule));
			dialog.show();
		});
	},

	stored_filters(rule) {
		try {
			const filters = JSON.parse(rule.filters_json || "[]");
			return Array.isArray(filters) ? filters : [];
		} catch (e) {
			return [];
		}
	},
};
