"""A batch's rows, written in bulk in one transaction: ledger, Communication, Email Queue.

Rows are written without document hooks: a Communication written here is what
Communication.insert writes for a sent email (status Linked, its timeline link), without the
realtime notice to open forms and the reference's `_comments` cache, which only counts
comments; an Email Queue is what Frappe's QueueBuilder writes, with one Message-Id per email.
The ledger rows are claimed with INSERT IGNORE on the send key: a batch writes only the emails
whose key nobody holds (a second worker waits on the key, then finds it taken).
"""

import frappe
from frappe import _
from frappe.utils import now, today

from email_campaign_app.core import schedule, statuses
from email_campaign_app.sending import ab_testing, stored_copy
from email_campaign_app.sending import step_email as messages
from email_campaign_app.sending.delivery import CAMPAIGN_PRIORITY, window_end
from email_campaign_app.sending.ledger import LEDGER
from email_campaign_app.utils import insert_rows


class QueuedEmail:
	"""One email of a batch, ready to write: its ledger row, Communication and Email Queue."""

	def __init__(
		self,
		send: schedule.Send,
		campaign,
		email: "messages.Email | None",
		sender: str,
		context,
		skip_reason=None,
	):
		self.send, self.campaign, self.email, self.sender = send, campaign, email, sender
		self.skip_reason = skip_reason or _("The address has unsubscribed from this email.")
		self.key = send.key
		self.person = context.person_of(send.recipient)
		self.communication = self.email_queue = None
		self.name_rows()
		self.email_account = context.email_account_of(sender) if email else None

	def name_rows(self):
		"""New random names for its Communication and Email Queue (Frappe names them the same
		way, and tries another name when one is taken)."""
		if self.email:
			self.communication = frappe.generate_hash(length=10)
			self.email_queue = frappe.generate_hash(length=10)

	@property
	def status(self) -> str:
		return statuses.QUEUED if self.email else statuses.SKIPPED


def write(emails: list[QueuedEmail]) -> list[str]:
	"""Claim the emails' ledger rows and write the claimed ones; their Email Queues, to deliver
	now (the dispatcher releases an email at its Send At)."""
	if not emails:
		return []
	claim = frappe.generate_hash(length=12)
	insert_rows(LEDGER, LEDGER_FIELDS, [ledger_row(email, claim) for email in emails], ignore_duplicates=True)
	retake_rows_in_error(emails, claim)
	Ledger = frappe.qb.DocType(LEDGER)
	ours = set(
		frappe.qb.from_(Ledger)
		.select(Ledger.name)
		.where(Ledger.name.isin([email.key for email in emails]) & (Ledger.claim == claim))
		.run(pluck=True)
	)
	ab_testing.record_started([email for email in emails if email.key in ours])
	claimed = [email for email in emails if email.key in ours and email.email]
	write_communications(claimed)
	write_email_queues(claimed)
	return [email.email_queue for email in claimed]


def retake_rows_in_error(emails: list[QueuedEmail], claim: str):
	"""A row in Error is retried: this batch takes it over (and waits for a worker holding it)."""
	Ledger = frappe.qb.DocType(LEDGER)
	keys = [email.key for email in emails]
	in_error = set(
		frappe.qb.from_(Ledger)
		.select(Ledger.name)
		.where(Ledger.name.isin(keys) & (Ledger.status == statuses.ERROR))
		.for_update()
		.run(pluck=True)
	)
	for email in emails:
		if email.key in in_error:
			frappe.db.set_value(
				LEDGER,
				email.key,
				{
					"claim": claim,
					"status": email.status,
					"communication": email.communication,
					"email_queue": email.email_queue,
					"queued_on": today(),
					"error": None,
					"message_id": email.email.message_id if email.email else None,
					"variant": email.send.variant,
					"in_test": int(email.send.in_test),
				},
				update_modified=False,
			)


LEDGER_FIELDS = (
	"name", "creation", "modified", "owner", "modified_by", "docstatus",
	"email_campaign", "campaign_name", "email_template", "send_after_days", "send_date",
	"recipient_email", "recipient_doctype", "recipient_name",
	"status", "attempts", "claim", "communication", "email_queue", "queued_on", "error", "message_id",
	"variant", "in_test",
)  # fmt: skip


def ledger_row(email: QueuedEmail, claim: str) -> tuple:
	send, stamp, user = email.send, now(), frappe.session.user
	return (
		email.key, stamp, stamp, user, user, 0,
		send.email_campaign, email.campaign.campaign_name, send.step.email_template, send.step.send_after_days, send.send_date,
		send.recipient.email, send.recipient.doctype, send.recipient.name,
		email.status, 0, claim, email.communication, email.email_queue, today() if email.email else None,
		None if email.email else email.skip_reason, email.email.message_id if email.email else None,
		send.variant, int(send.in_test),
	)  # fmt: skip


def write_communications(emails: list[QueuedEmail]):
	stamp, user = now(), frappe.session.user
	insert_rows(
		"Communication",
		(
			"name", "creation", "modified", "owner", "modified_by", "docstatus",
			"communication_type", "communication_medium", "sent_or_received", "status", "delivery_status",
			"subject", "content", "sender", "sender_full_name", "recipients", "communication_date",
			"reference_doctype", "reference_name", "reference_owner", "email_template", "user",
			"email_account", "message_id",
		),
		[
			(
				e.communication, stamp, stamp, user, user, 0,
				"Communication", "Email", "Sent", "Linked", "Sending",
				stored_copy.sanitized(e.email.subject), stored_copy.sanitized(e.email.body), e.sender, frappe.utils.parse_addr(e.sender)[0], e.send.recipient.email, stamp,
				"Email Campaign", e.send.email_campaign, e.campaign.owner, e.send.email_template, e.campaign.sender,
				e.email_account, e.email.message_id,
			)
			for e in emails
		],
	)  # fmt: skip
	insert_rows(
		"Communication Link",
		(
			"name",
			"creation",
			"modified",
			"owner",
			"modified_by",
			"docstatus",
			"parent",
			"parenttype",
			"parentfield",
			"idx",
			"link_doctype",
			"link_name",
		),
		[
			(
				frappe.generate_hash(length=10),
				stamp,
				stamp,
				user,
				user,
				0,
				e.communication,
				"Communication",
				"timeline_links",
				1,
				*e.person,
			)
			for e in emails
			if e.person[0]
		],
	)


def write_email_queues(emails: list[QueuedEmail]):
	"""An email due now waits for the batch's delivery job during its window (delivery.py)."""
	stamp, user, held_until = now(), frappe.session.user, window_end()
	insert_rows(
		"Email Queue",
		(
			"name", "creation", "modified", "owner", "modified_by", "docstatus",
			"status", "priority", "sender", "message", "message_id", "reference_doctype", "reference_name",
			"send_after", "email_account", "add_unsubscribe_link", "attachments", "retry", "show_as_cc",
		),
		[
			(
				e.email_queue, stamp, stamp, user, user, 0,
				"Not Sent", CAMPAIGN_PRIORITY, e.sender, e.email.message, e.email.message_id, "Email Campaign", e.send.email_campaign,
				held_until, e.email_account, 0, "[]", 0, "",
			)
			for e in emails
		],
	)  # fmt: skip
	insert_rows(
		"Email Queue Recipient",
		(
			"name",
			"creation",
			"modified",
			"owner",
			"modified_by",
			"docstatus",
			"parent",
			"parenttype",
			"parentfield",
			"idx",
			"recipient",
			"status",
		),
		[
			(
				frappe.generate_hash(length=10),
				stamp,
				stamp,
				user,
				user,
				0,
				e.email_queue,
				"Email Queue",
				"recipients",
				1,
				e.send.recipient.email,
				"Not Sent",
			)
			for e in emails
		],
	)
