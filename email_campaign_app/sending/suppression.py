"""Who must not be written to: the app's suppression list, one list every path respects.

An entry names an address and either every campaign (an unsubscribe from all campaign emails,
a hard bounce, repeated soft bounces, a complaint, an address added by hand) or one Campaign
(an unsubscribe from that campaign: it never writes to the address again, whatever Email
Campaign is created for it later). Creating an Email Campaign (form, REST, bulk enrolment,
enrolment rules) refuses a suppressed Lead or Contact; sending skips a suppressed address
(Leads, Contacts and Email Group members alike) with the reason on the ledger. Frappe's own
mail (password resets, notifications) never reads this list.
"""

import hashlib

import frappe
from frappe import _
from frappe.utils import format_datetime

from email_campaign_app.sending import ledger, recipients

SUPPRESSION = "Email Campaign Suppression"
UNSUBSCRIBED, HARD_BOUNCE, SOFT_BOUNCES, COMPLAINT, BY_HAND, ERASED = (
	"Unsubscribed",
	"Hard Bounce",
	"Soft Bounces",
	"Complaint",
	"Added by Hand",
	"Personal Data Erased",
)
ERASED_DOMAIN = "erased.invalid"  # never routable (RFC 2606)
# the person asked for it: their Lead and Contact say so too
UNSUBSCRIBES = (UNSUBSCRIBED, COMPLAINT)


def entry_name(email: str, campaign: str | None = None) -> str:
	email = normalized(email)
	return f"{email} · {campaign}" if campaign else email


def normalized(email: str) -> str:
	return (email or "").strip().lower()


def erased_address(email: str) -> str:
	"""What the list keeps of an erased person's address (privacy.py): a hash, shaped as an
	address, that blocks the address without naming it."""
	digest = hashlib.sha256(normalized(email).encode()).hexdigest()[:40]
	return f"{digest}@{ERASED_DOMAIN}"


def entry_names(email: str, campaign: str | None = None) -> list[str]:
	"""The entries that would block `email` (for `campaign`): its own, and its erased hash."""
	own = [entry_name(email, campaign)] if campaign else []
	return [*own, entry_name(email), entry_name(erased_address(email))]


def suppress(
	email: str,
	reason: str,
	campaign: str | None = None,
	evidence: str = "",
	email_campaign: str | None = None,
	communication: str | None = None,
) -> bool:
	"""Put the address on the list (once: a second report changes nothing); True when new.
	Its campaign emails still waiting in the Email Queue are withdrawn."""
	name = entry_name(email, campaign)
	if not normalized(email) or frappe.db.exists(SUPPRESSION, name):
		return False
	frappe.get_doc(
		{
			"doctype": SUPPRESSION,
			"email": normalized(email),
			"campaign": campaign,
			"reason": reason,
			"evidence": evidence,
			"email_campaign": email_campaign,
			"communication": communication,
		}
	).insert(ignore_permissions=True)
	return True


def on_suppression_added(doc):
	"""What an entry means, whoever made it (the app, or a Sales Manager by hand)."""
	cancel_waiting_emails(
		doc.email,
		doc.campaign,
		_("Cancelled: the address is on the suppression list ({0}).").format(_(doc.reason)),
	)
	if not doc.campaign and doc.reason in UNSUBSCRIBES:
		for doctype in recipients.person_doctypes():
			if field := recipients.unsubscribed_field(doctype):  # a CRM Lead has no such flag
				frappe.db.set_value(doctype, {recipients.email_field(doctype): doc.email}, field, 1)


def cancel_waiting_emails(email: str, campaign: str | None, reason: str):
	"""The address's campaign emails not sent yet (of one Campaign, or of all) are cancelled."""
	filters = {"recipient_email": email}
	if campaign:
		filters["campaign_name"] = campaign
	ledger.cancel_queued(filters, reason)


def reason_for(email: str, campaign: str | None) -> frappe._dict | None:
	"""The entry that keeps `campaign` (or every campaign) from writing to `email`, if any."""
	rows = frappe.get_all(
		SUPPRESSION,
		filters={"name": ("in", entry_names(email, campaign))},
		fields=["name", "email", "campaign", "reason", "suppressed_on"],
		order_by="campaign asc",
	)
	return rows[0] if rows else None


def blocked(pairs: set[tuple[str, str]]) -> dict[tuple[str, str], str]:
	"""For (address, Campaign) pairs, those the list blocks, with the reason a ledger row says
	(one query for a whole batch)."""
	names = {name for email, campaign in pairs for name in entry_names(email, campaign)}
	if not names:
		return {}
	entries = {
		row.name: row
		for row in frappe.get_all(
			SUPPRESSION, filters={"name": ("in", list(names))}, fields=["name", "reason", "campaign"]
		)
	}
	found = {}
	for email, campaign in pairs:
		entry = next((entries[name] for name in entry_names(email, campaign) if name in entries), None)
		if entry:
			found[(normalized(email), campaign)] = skip_reason(entry)
	return found


def skip_reason(entry) -> str:
	if entry.campaign:
		return _("Skipped: the address unsubscribed from Campaign {0}.").format(entry.campaign)
	return _("Skipped: the address is on the suppression list ({0}).").format(_(entry.reason))


def refusal(email: str, entry) -> str:
	"""Why an Email Campaign cannot be created for a suppressed address, and what to do."""
	when = format_datetime(entry.suppressed_on)
	if entry.campaign:
		return _(
			"{0} unsubscribed from Campaign {1} on {2}: it cannot be enrolled in that Campaign again."
		).format(frappe.bold(email), frappe.bold(entry.campaign), when)
	return _(
		"{0} is on the suppression list ({1}, {2}): campaign emails must not go to it. A Sales Manager can lift it in Email Campaign Suppression."
	).format(frappe.bold(email), _(entry.reason), when)


def note_on_people(email: str, text: str):
	"""A comment on the Leads, Contacts and CRM Leads with this address (their timeline shows it)."""
	for doctype in recipients.person_doctypes():
		for name in frappe.get_all(doctype, filters={recipients.email_field(doctype): email}, pluck="name"):
			frappe.get_doc(doctype, name).add_comment("Info", text)
