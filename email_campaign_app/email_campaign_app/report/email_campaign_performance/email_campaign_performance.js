// Copyright (c) 2026, email_campaign_app developers and contributors
// For license information, please see license.txt

frappe.query_reports["Email Campaign Performance"] = {
	filters: [
		{
			fieldname: "from_date",
			label: __("From Date"),
			fieldtype: "Date",
			default: frappe.datetime.add_months(frappe.datetime.get_today(), -1),
		},
		{
			fieldname: "to_date",
			label: __("To Date"),
			fieldtype: "Date",
			default: frappe.datetime.get_today(),
		},
		{
			fieldname: "campaign_name",
			label: __("Campaign"),
			fieldtype: "Link",
			options: "Campaign",
		},
		{
			fieldname: "group_by",
			label: __("Group By"),
			fieldtype: "Select",
			options: [
				{ value: "Step", label: __("Step") },
				{ value: "Campaign", label: __("Campaign") },
			],
			default: "Step",
		},
	],
};
