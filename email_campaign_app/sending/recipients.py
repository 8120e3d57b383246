"""Recipients: the doctypes a person can be (a Lead, a Contact, and Frappe CRM's CRM Lead where
Frappe CRM is installed), the fields that hold their address and name, and what a person calls
a recipient (the Email Campaign's title, its list's first column, the messages that name it)."""

from typing import NamedTuple

import frappe
from pypika.terms import ValueWrapper

CRM_LEAD = "CRM Lead"


class PersonFields(NamedTuple):
	email: str
	title: str
	# None: the doctype has no such flag (CRM Lead); Email Unsubscribe and the suppression list
	# keep the person's choice then
	unsubscribed: str | None


PEOPLE = {
	"Lead": PersonFields("email_id", "lead_name", "unsubscribed"),
	"Contact": PersonFields("email_id", "full_name", "unsubscribed"),
	CRM_LEAD: PersonFields("email", "lead_name", None),
}
# the person doctypes of other apps, and the app that brings each
PROVIDED_BY = {CRM_LEAD: "crm"}
RECIPIENT_TITLE_FIELDS = {
	**{doctype: fields.title for doctype, fields in PEOPLE.items()},
	"Email Group": "title",
}


def is_available(doctype: str) -> bool:
	"""Does this site have the doctype (CRM Lead: only where Frappe CRM is installed)?"""
	app = PROVIDED_BY.get(doctype)
	return not app or app in frappe.get_installed_apps()


def person_doctypes() -> tuple[str, ...]:
	"""The doctypes a person recipient can be on this site."""
	return tuple(doctype for doctype in PEOPLE if is_available(doctype))


def recipient_doctypes() -> tuple[str, ...]:
	return (*person_doctypes(), "Email Group")


def email_field(doctype: str) -> str:
	return PEOPLE[doctype].email


def unsubscribed_field(doctype: str) -> str | None:
	return PEOPLE[doctype].unsubscribed


def join_people(query, EmailCampaign):
	"""`query` joined to each person doctype an Email Campaign can be for, and the columns of
	their names, emails and unsubscribed flags (one per doctype, to coalesce)."""
	names, emails, unsubscribed = [], [], []
	for doctype in person_doctypes():
		fields = PEOPLE[doctype]
		Person = frappe.qb.DocType(doctype)
		query = query.left_join(Person).on(
			(EmailCampaign.email_campaign_for == doctype) & (Person.name == EmailCampaign.recipient)
		)
		names.append(Person.name)
		emails.append(Person[fields.email])
		# a CRM Lead has no flag of its own: Email Unsubscribe and the suppression list keep it
		unsubscribed.append(Person[fields.unsubscribed] if fields.unsubscribed else ValueWrapper(0))
	return query, (names, emails, unsubscribed)


def email_and_unsubscribed(doctype: str, name: str) -> tuple[str | None, int]:
	"""A person's address, and whether their own record says they unsubscribed."""
	fields = PEOPLE[doctype]
	values = frappe.db.get_value(doctype, name, [fields.email, fields.unsubscribed or "name"])
	if not values:
		return None, 0
	return values[0], (values[1] if fields.unsubscribed else 0)


def recipient_title(doctype: str, name: str) -> str:
	"""What a person calls the recipient: a Lead's or Contact's name, an Email Group's title."""
	fieldname = RECIPIENT_TITLE_FIELDS.get(doctype)
	title = fieldname and name and is_available(doctype) and frappe.db.get_value(doctype, name, fieldname)
	return (title or name or "").strip()


def update_recipient_names(doc, method=None):
	"""Hook (Lead, Contact, CRM Lead on_update): their Email Campaigns keep calling them by their name."""
	fieldname = RECIPIENT_TITLE_FIELDS.get(doc.doctype)
	if fieldname and doc.has_value_changed(fieldname):
		frappe.db.set_value(
			"Email Campaign",
			{"email_campaign_for": doc.doctype, "recipient": doc.name},
			"recipient_name",
			(doc.get(fieldname) or doc.name).strip(),
			update_modified=False,
		)
