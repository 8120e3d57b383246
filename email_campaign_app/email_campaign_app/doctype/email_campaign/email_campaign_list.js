// Copyright (c) 2026, email_campaign_app developers and contributors
// For license information, please see license.txt

frappe.listview_settings["Email Campaign"] = {
	add_fields: ["status"],
	get_indicator(doc) {
		const colors = {
			Scheduled: "blue",
			"In Progress": "orange",
			Completed: "green",
			Unsubscribed: "red",
			Paused: "yellow",
			Replied: "purple",
		};
		return [__(doc.status), colors[doc.status] || "gray", "status,=," + doc.status];
	},
};
