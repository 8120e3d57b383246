"""What unsubscribing does: the Email Campaign (Lead, Contact, CRM Lead) or the member (Email
Group) stops.

Every path goes through Frappe's own Email Unsubscribe record, so Frappe's queue refuses the
address too, and the record's `after_insert` hook applies it here.
"""

import frappe
from frappe import _

from email_campaign_app.core.schedule import UNSUBSCRIBED
from email_campaign_app.sending import ledger, notes, recipients, suppression
from email_campaign_app.sending.ledger import LEDGER


def address_of_recipient(email_campaign: str, email: str) -> str | None:
	"""The address, as this Email Campaign knows it, that `email` names (the token check ignores
	spaces and case, so the action must too); None when the campaign does not send to it.

	That is the Lead's or Contact's email, a member of the Email Group, or an address the
	ledger sent to (a Lead whose email changed since)."""
	email = (email or "").strip()
	if not email:
		return None
	campaign = frappe.db.get_value(
		"Email Campaign", email_campaign, ["email_campaign_for", "recipient"], as_dict=True
	)
	if campaign.email_campaign_for == "Email Group":
		known = frappe.db.get_value(
			"Email Group Member", {"email_group": campaign.recipient, "email": email}, "email"
		)
	else:
		known = frappe.db.get_value(
			campaign.email_campaign_for,
			campaign.recipient,
			recipients.email_field(campaign.email_campaign_for),
		)
		known = known if known and known.strip().lower() == email.lower() else None
	known = known or frappe.db.get_value(
		LEDGER, {"email_campaign": email_campaign, "recipient_email": email}, "recipient_email"
	)
	return known.strip() if known else None


def unsubscribe_address(email_campaign: str, email: str, every_campaign: bool = False):
	"""Unsubscribe `email` from this Email Campaign's Campaign, or from every campaign; doing it
	twice changes nothing."""
	filters = {"email": email, "reference_doctype": "Email Campaign", "reference_name": email_campaign}
	if not frappe.db.exists("Email Unsubscribe", filters):
		frappe.get_doc({"doctype": "Email Unsubscribe", **filters}).insert(ignore_permissions=True)
	if every_campaign:
		suppression.suppress(
			email,
			suppression.UNSUBSCRIBED,
			evidence=_("Chose every campaign email on the unsubscribe page of Email Campaign {0}.").format(
				email_campaign
			),
			email_campaign=email_campaign,
		)


def on_email_unsubscribe(doc, method=None):
	"""Hook: Email Unsubscribe after_insert."""
	if doc.reference_doctype == "Email Campaign" and doc.reference_name and doc.email:
		apply_unsubscribe(doc.reference_name, doc.email.strip())


def apply_unsubscribe(email_campaign: str, email: str):
	campaign = frappe.db.get_value(
		"Email Campaign", email_campaign, ["email_campaign_for", "recipient", "campaign_name"], as_dict=True
	)
	if not campaign:
		return
	if campaign.email_campaign_for == "Email Group":
		frappe.db.set_value(
			"Email Group Member", {"email_group": campaign.recipient, "email": email}, "unsubscribed", 1
		)
	else:
		# not an edit by the Guest who clicked: the timeline's note tells what happened
		frappe.db.set_value("Email Campaign", email_campaign, "status", UNSUBSCRIBED, update_modified=False)
	cancel_queued_emails(email_campaign, email)
	# the Campaign never writes to the address again, whatever Email Campaign is made for it later
	suppression.suppress(
		email,
		suppression.UNSUBSCRIBED,
		campaign=campaign.campaign_name,
		evidence=_("Unsubscribed through an email of Email Campaign {0}.").format(email_campaign),
		email_campaign=email_campaign,
	)
	notes.record(email_campaign, notes.UNSUBSCRIBED, email=email, user=None)


def drop_left_conversation_label(doc, method=None):
	"""Hook (Email Unsubscribe on_update, after Frappe's): Frappe labels the Email Campaign
	"Left this conversation" from the Guest who clicked; the note above says it better."""
	if doc.reference_doctype == "Email Campaign" and doc.reference_name:
		frappe.db.delete(
			"Comment",
			{
				"reference_doctype": "Email Campaign",
				"reference_name": doc.reference_name,
				"comment_type": "Label",
				"comment_email": doc.email,
			},
		)


def cancel_queued_emails(email_campaign: str, email: str, reason: str | None = None):
	"""This Email Campaign's emails to `email` not sent yet are cancelled; their ledger rows skipped."""
	ledger.cancel_queued(
		{"email_campaign": email_campaign, "recipient_email": email},
		reason or _("Cancelled: the recipient unsubscribed."),
	)
