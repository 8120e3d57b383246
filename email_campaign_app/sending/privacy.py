"""A person's data in this app, for Frappe's Personal Data Download and Deletion Requests.

hooks.user_data_fields tells Frappe where a person's data is: their Lead,
the ledger's rows of the emails they were sent, the app's notes about them, their entries on the
suppression list. A download includes those; a deletion redacts them the way Frappe redacts its
own doctypes. Then `erase` does what Frappe cannot know:

- the ledger keeps its keys (a hash of the address, never the address): an email already sent
  is never sent again to anyone, and the rows count in the figures without naming anybody;
- the emails still waiting to leave are cancelled, and the Email Campaigns no longer carry the
  person's name in their title;
- the suppression list keeps a hash of the address in place of their entries, so that no
  enrolment rule, import or group ever writes to that address again.
"""

import frappe
from frappe import _

from email_campaign_app.sending import ledger, recipients, suppression


def on_deletion_request_change(request, method=None):
	"""Frappe's Personal Data Deletion Request is done (its redactions ran): finish ours."""
	if request.status == "Deleted":
		erase(request.email, request.name)


def erase(email: str, anonymous: str):
	"""`email`'s person is forgotten; `anonymous` is the address Frappe put in its place."""
	addresses = [suppression.normalized(email), suppression.normalized(anonymous)]
	ledger.cancel_queued(
		{"recipient_email": ("in", addresses)}, _("Cancelled: the person's data was erased.")
	)
	forget_recipient_names(addresses, anonymous)
	entries = frappe.get_all(
		suppression.SUPPRESSION,
		or_filters={"email": ("in", addresses), "name": ("in", addresses)},
		pluck="name",
	)
	frappe.db.delete(suppression.SUPPRESSION, {"name": ("in", entries or [""])})
	for address in (suppression.erased_address(email), anonymous):
		suppression.suppress(address, suppression.ERASED)


def forget_recipient_names(addresses: list[str], anonymous: str):
	"""The Email Campaigns of the person's Lead, Contact or CRM Lead are titled by the anonymous
	address."""
	Ledger = frappe.qb.DocType(ledger.LEDGER)
	doctypes = recipients.person_doctypes()
	people = (
		frappe.qb.from_(Ledger)
		.select(Ledger.recipient_doctype, Ledger.recipient_name)
		.distinct()
		.where(Ledger.recipient_email.isin(addresses) & Ledger.recipient_doctype.isin(doctypes))
		.run()
	)
	for doctype in doctypes:
		field = recipients.email_field(doctype)
		people += tuple(
			(doctype, name)
			for name in frappe.get_all(doctype, filters={field: ("in", addresses)}, pluck="name")
		)
	EmailCampaign = frappe.qb.DocType("Email Campaign")
	for doctype in doctypes:
		if names := {name for of, name in people if of == doctype}:
			frappe.qb.update(EmailCampaign).set(EmailCampaign.recipient_name, anonymous).where(
				(EmailCampaign.email_campaign_for == doctype) & EmailCampaign.recipient.isin(names)
			).run()
