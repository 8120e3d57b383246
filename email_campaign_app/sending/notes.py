"""What happened to an Email Campaign, kept as facts (Email Campaign Note): who paused or resumed
it and when, how many emails were withdrawn, who unsubscribed. A Comment would be text frozen in
the language and time zone of whoever caused it; the timeline tells a note to each reader in
theirs (desk/timeline.py)."""

import frappe
from frappe.utils import now_datetime

NOTE = "Email Campaign Note"
PAUSED, RESUMED, UNSUBSCRIBED = "Paused", "Resumed", "Unsubscribed"


def record(email_campaign: str, event: str, **facts):
	"""Keep one fact about an Email Campaign: `facts` are the note's fields (user, email,
	withdrawn, resume_mode, shifted_days, reason, happened_on)."""
	facts.setdefault("happened_on", now_datetime())
	facts.setdefault("user", frappe.session.user if frappe.session.user != "Guest" else None)
	frappe.get_doc({"doctype": NOTE, "email_campaign": email_campaign, "event": event, **facts}).insert(
		ignore_permissions=True
	)
