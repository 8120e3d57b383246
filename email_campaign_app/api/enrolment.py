"""The Lead and Contact lists' Actions > Add to Email Campaign."""

import frappe

from email_campaign_app.enrolment import bulk


@frappe.whitelist(methods=["POST"])
def add_to_email_campaign(
	doctype: str,
	names: str | list,
	campaign_name: str,
	start_date: str,
	send_at: str = "09:00",
	sender: str | None = None,
):
	"""Lead and Contact lists, Actions > Add to Email Campaign: one Email Campaign per record.

	Up to 50 records answer {"summary": …}; more run in a background job that reports its
	progress and sends the summary as a realtime event: the answer is then {"queued": count}."""
	frappe.has_permission("Email Campaign", "create", throw=True)
	bulk.check_doctype(doctype)
	frappe.has_permission(doctype, "read", throw=True)
	values = {
		"campaign_name": campaign_name,
		"start_date": start_date,
		"send_at": send_at,
		"sender": sender or frappe.session.user,
	}
	return bulk.add_to_email_campaign(doctype, bulk.parse_names(names), values)
