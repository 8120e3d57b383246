"""Bounces, complaints and automatic replies, read where they arrive: Frappe's incoming mail.

An Email Account with *Enable Incoming* (a sender's own mailbox, or the bounce mailbox that
the Return-Path of campaign emails names) turns each message into a received Communication
(`InboundMail`). Two hooks on Communication, before the reply hooks (replies.py):

- `validate` reads the message (bounce_reports.py) and, for a bounce or a complaint, finds
  the campaign email it reports on (the original Message-ID the server quoted, else the last
  campaign email to that address) and links the Communication to its Email Campaign and Lead
  or Contact; a bounce or an automatic reply is never a reply that stops a sequence;
- `after_insert` records it on that email's ledger row and puts the address on the
  suppression list: a hard bounce or a complaint at once, soft bounces when they repeat (the
  settings say how often, in how many days); then the Campaign's health is checked (health.py).

A report that matches no campaign email is left alone. Nothing here may lose an incoming
email: a failure is logged, never raised. Frappe never inserts the same message twice (it
looks its Message-ID up first), and recording the same report twice changes nothing.
"""

import sys
from email.message import EmailMessage, Message
from typing import NamedTuple

import frappe
from frappe import _
from frappe.email.receive import InboundMail
from frappe.utils import add_days, cint, now_datetime, strip_html

from email_campaign_app.core import bounce_reports, statuses
from email_campaign_app.core.bounce_reports import COMPLAINT, HARD, SOFT
from email_campaign_app.engagement import health
from email_campaign_app.sending import suppression
from email_campaign_app.sending.ledger import LEDGER

SUPPRESSION_REASON = {
	HARD: suppression.HARD_BOUNCE,
	SOFT: suppression.SOFT_BOUNCES,
	COMPLAINT: suppression.COMPLAINT,
}
SOFT_BOUNCE_LIMIT, SOFT_BOUNCE_DAYS = 3, 30  # when the settings leave them empty


class Matched(NamedTuple):
	report: bounce_reports.Report
	row: frappe._dict  # the ledger row of the email reported on


def on_validate(communication, method=None):
	"""Hook: Communication validate (before replies.on_validate)."""
	if not is_new_received_email(communication):
		return
	try:
		message = received_message(communication)
		reports = bounce_reports.read_report(message)
		if reports or bounce_reports.is_auto_reply(message, communication.subject or ""):
			communication.flags.email_campaign_not_a_reply = True
		matched = [Matched(report, row) for report in reports if (row := ledger_row_for(report))]
		communication.flags.email_campaign_bounces = matched
		link_to_timelines(communication, matched)
	except Exception:
		log_failure(communication)


def on_after_insert(communication, method=None):
	"""Hook: Communication after_insert. Record each bounce or complaint."""
	for matched in communication.flags.get("email_campaign_bounces") or ():
		try:
			record(matched, communication)
		except Exception:
			log_failure(communication)


def is_new_received_email(communication) -> bool:
	return (
		communication.is_new()
		and communication.sent_or_received == "Received"
		and communication.communication_medium == "Email"
	)


def received_message(communication) -> Message:
	"""The message as the server sent it. Frappe parses it in InboundMail and keeps it only
	there, on the stack of the insert; a Communication made otherwise is read from its fields."""
	frame = sys._getframe(1)
	while frame:
		owner = frame.f_locals.get("self")
		if isinstance(owner, InboundMail):
			return owner.mail
		frame = frame.f_back
	message = EmailMessage()
	message["From"] = communication.sender or ""
	message["Subject"] = communication.subject or ""
	message.set_content(strip_html(communication.content or ""))
	return message


def ledger_row_for(report: bounce_reports.Report) -> frappe._dict | None:
	"""The campaign email the report is about: by the Message-ID it quotes, else the last one
	sent to that address."""
	fields = [
		"name",
		"email_campaign",
		"campaign_name",
		"recipient_email",
		"recipient_doctype",
		"recipient_name",
		"status",
		"bounce",
		"bounce_communication",
	]
	if report.original_message_id:
		row = frappe.db.get_value(LEDGER, {"message_id": report.original_message_id}, fields, as_dict=True)
		if row:
			return row
	rows = frappe.get_all(
		LEDGER,
		filters={
			"recipient_email": report.recipient,
			"status": ("in", (statuses.QUEUED, *statuses.ACCEPTED)),
		},
		fields=fields,
		order_by="creation desc",
		limit=1,
	)
	return rows[0] if rows else None


def link_to_timelines(communication, matched: list[Matched]):
	linked = {(link.link_doctype, link.link_name) for link in communication.timeline_links}
	for _report, row in matched:
		for link in (("Email Campaign", row.email_campaign), (row.recipient_doctype, row.recipient_name)):
			if all(link) and link not in linked:
				communication.add_link(*link)
				linked.add(link)


def record(matched: Matched, communication):
	report, row = matched
	if row.bounce_communication == communication.name:
		return
	values = {
		"bounce": report.kind,
		"bounce_status": report.status,
		"bounce_reason": report.diagnostic,
		"bounced_on": now_datetime(),
		"bounce_communication": communication.name,
	}
	if report.kind != COMPLAINT and row.status in (statuses.QUEUED, statuses.SENT):
		values["status"] = statuses.BOUNCED
	frappe.db.set_value(LEDGER, row.name, values, update_modified=False)
	if should_suppress(report):
		suppress(report, row, communication)
	health.check(row.campaign_name)


def should_suppress(report: bounce_reports.Report) -> bool:
	if report.kind != SOFT:
		return True
	settings = frappe.get_cached_doc("Email Campaign Settings")
	limit = cint(settings.soft_bounce_limit) or SOFT_BOUNCE_LIMIT
	days = cint(settings.soft_bounce_days) or SOFT_BOUNCE_DAYS
	since = add_days(now_datetime(), -days)
	soft = frappe.db.count(
		LEDGER, {"recipient_email": report.recipient, "bounce": SOFT, "bounced_on": (">=", since)}
	)
	return soft >= limit


def suppress(report: bounce_reports.Report, row, communication):
	evidence = " ".join(part for part in (report.status, report.diagnostic) if part)
	added = suppression.suppress(
		report.recipient,
		SUPPRESSION_REASON[report.kind],
		evidence=evidence,
		email_campaign=row.email_campaign,
		communication=communication.name,
	)
	if added:
		what = _("complained about a campaign email") if report.kind == COMPLAINT else _("bounced")
		suppression.note_on_people(
			report.recipient,
			_("{0} {1} ({2}): campaign emails no longer go to this address.").format(
				frappe.bold(report.recipient), what, evidence or _(SUPPRESSION_REASON[report.kind])
			),
		)


def log_failure(communication):
	frappe.log_error(
		title=_("Email Campaign: the bounce {0} could not be handled").format(
			communication.name or communication.subject
		),
		reference_doctype="Communication",
		reference_name=communication.name,
	)
