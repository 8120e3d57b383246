"""Recipients by their names: what a person calls a Lead, a Contact or an Email Group (the
Email Campaign's title, its list's first column, the messages that name it)."""

import frappe

RECIPIENT_TITLE_FIELDS = {"Lead": "lead_name", "Contact": "full_name", "Email Group": "title"}


def recipient_title(doctype: str, name: str) -> str:
	"""What a person calls the recipient: a Lead's or Contact's name, an Email Group's title."""
	fieldname = RECIPIENT_TITLE_FIELDS.get(doctype)
	title = fieldname and name and frappe.db.get_value(doctype, name, fieldname)
	return (title or name or "").strip()


def update_recipient_names(doc, method=None):
	"""Hook (Lead, Contact on_update): their Email Campaigns keep calling them by their name."""
	fieldname = RECIPIENT_TITLE_FIELDS.get(doc.doctype)
	if fieldname and doc.has_value_changed(fieldname):
		frappe.db.set_value(
			"Email Campaign",
			{"email_campaign_for": doc.doctype, "recipient": doc.name},
			"recipient_name",
			(doc.get(fieldname) or doc.name).strip(),
			update_modified=False,
		)
