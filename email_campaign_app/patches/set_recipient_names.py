"""Email Campaigns made before they had a title call their recipient by name."""

import frappe

from email_campaign_app.sending.recipients import recipient_title


def execute():
	for row in frappe.get_all(
		"Email Campaign",
		filters={"recipient_name": ("is", "not set")},
		fields=["name", "email_campaign_for", "recipient"],
	):
		title = recipient_title(row.email_campaign_for, row.recipient)
		frappe.db.set_value("Email Campaign", row.name, "recipient_name", title, update_modified=False)
