"""Who an Email Campaign writes to, read from the database in bulk (one query per recipient type)."""

import frappe

from email_campaign_app.schedule import Recipient

PERSON_DOCTYPES = ("Lead", "Contact")


def get_recipients(email_campaign_for: str, names: list[str]) -> dict[str, list[Recipient]]:
	"""Map each Lead, Contact or Email Group name to the addresses that may receive its emails.

	Unsubscribed people and members, and people without an email address, are left out.
	"""
	if not names:
		return {}
	if email_campaign_for == "Email Group":
		return _email_group_members(names)
	if email_campaign_for in PERSON_DOCTYPES:
		return _people(email_campaign_for, names)
	return {}


def _people(doctype: str, names: list[str]) -> dict[str, list[Recipient]]:
	rows = frappe.get_all(
		doctype,
		filters={"name": ("in", list(set(names))), "unsubscribed": 0, "email_id": ("is", "set")},
		fields=["name", "email_id"],
	)
	return {row.name: [Recipient(row.email_id.strip(), doctype, row.name)] for row in rows}


def _email_group_members(groups: list[str]) -> dict[str, list[Recipient]]:
	rows = frappe.get_all(
		"Email Group Member",
		filters={"email_group": ("in", list(set(groups))), "unsubscribed": 0},
		fields=["email_group", "email"],
		order_by="creation asc",
	)
	members: dict[str, list[Recipient]] = {}
	for row in rows:
		if row.email:
			members.setdefault(row.email_group, []).append(Recipient(row.email.strip()))
	return members


def find_people_by_email(emails: list[str]) -> dict[str, tuple[str, str]]:
	"""Map each address to the Contact (first) or Lead that has it as its email, when there is one."""
	found: dict[str, tuple[str, str]] = {}
	if not emails:
		return found
	for doctype in reversed(PERSON_DOCTYPES):  # Contacts last, so that they win
		for row in frappe.get_all(
			doctype, filters={"email_id": ("in", list(set(emails)))}, fields=["name", "email_id"]
		):
			found[row.email_id.strip().lower()] = (doctype, row.name)
	return found
