// Copyright (c) 2026, email_campaign_app developers and contributors
// For license information, please see license.txt

frappe.listview_settings["Lead"] = {
	add_fields: ["status", "unsubscribed"],
	get_indicator(doc) {
		if (doc.unsubscribed) return [__("Unsubscribed"), "red", "unsubscribed,=,1"];
		const colors = {
			Lead: "gray",
			Open: "orange",
			Replied: "blue",
			Opportunity: "yellow",
			Quotation: "purple",
			"Lost Quotation": "red",
			Interested: "green",
			Converted: "green",
			"Do Not Contact": "darkgrey",
		};
		return [__(doc.status), colors[doc.status] || "gray", "status,=," + doc.status];
	},
};
