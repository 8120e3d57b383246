"""Stop on reply: a recipient who answers stops receiving the sequence.

Frappe's own inbound path (an Email Account pulling from IMAP or POP, `InboundMail`) turns
each received message into a Communication; when the message answers an email Frappe sent
(its In-Reply-To names that email's Message-ID), Frappe sets the Communication's
`in_reply_to` to the sent Communication and its reference to that email's document: here the
Email Campaign. Two hooks on Communication read that:

- `validate` (before the insert) finds the campaign emails the message answers and links the
  Communication to their Email Campaign, and to the Lead, so that the reply is on both
  timelines (Frappe links the Contact itself);
- `after_insert` records the reply on the ledger row of the step answered and, when the
  Campaign stops on reply, stops the sequence for that recipient: a Lead or Contact Email
  Campaign becomes Replied, an Email Group member alone stops; their emails still waiting in
  the Email Queue are cancelled.

A message answers a campaign email when Frappe threaded it to one (only that Email Campaign
stops, whatever else the sender receives); when Frappe threaded it to the recipient's own
record (Frappe CRM threads the answer to an email its users sent from a lead to that CRM
Lead), it answers the last campaign email each running Email Campaign of that record sent to
the sender's address; when it is threaded to none, when it comes from
an address a running Email Campaign wrote to and arrives in the mailbox of that campaign's
sender (an incoming Email Account with the sender's address, or one in the sender's User
Emails). Nothing here may lose an incoming email: a failure is logged, never raised.
"""

from typing import NamedTuple

import frappe
from frappe import _
from frappe.query_builder import Order
from frappe.utils import format_datetime, now_datetime, parse_addr

from email_campaign_app.core import schedule, statuses
from email_campaign_app.engagement.unsubscribe import cancel_queued_emails
from email_campaign_app.sending import recipients
from email_campaign_app.sending.ledger import LEDGER

# a reply to an email that has gone: from the start date on
ANSWERABLE = (statuses.IN_PROGRESS, statuses.PAUSED)


class Reply(NamedTuple):
	"""A received Communication answering one campaign email (its ledger row)."""

	ledger_row: str
	email_campaign: str
	email: str
	recipient_doctype: str | None
	recipient_name: str | None


def on_validate(communication, method=None):
	"""Hook: Communication validate. Find what a new received email answers; link it."""
	if not is_received_email(communication) or not communication.is_new():
		return
	if communication.flags.email_campaign_not_a_reply:
		return  # a bounce, a complaint or an automatic reply (bounces.py)
	try:
		replies = find_replies(communication)
		communication.flags.email_campaign_replies = replies
		link_to_timelines(communication, replies)
	except Exception:
		log_failure(communication)


def on_after_insert(communication, method=None):
	"""Hook: Communication after_insert. Record each reply; stop the sequences that stop on reply."""
	replies = communication.flags.get("email_campaign_replies")
	if not replies:
		return
	try:
		for reply in replies:
			record_reply(reply, communication)
	except Exception:
		log_failure(communication)


def is_received_email(communication) -> bool:
	return communication.sent_or_received == "Received" and communication.communication_medium == "Email"


def log_failure(communication):
	frappe.log_error(
		title=_("Email Campaign: the reply {0} could not be handled").format(
			communication.name or communication.subject
		),
		reference_doctype="Communication",
		reference_name=communication.name,
	)


def find_replies(communication) -> list[Reply]:
	"""The campaign emails this received Communication answers (usually one, often none)."""
	if reply := reply_by_thread(communication):
		return [reply]
	if communication.reference_doctype == "Email Campaign":
		return []  # in an Email Campaign's thread, from someone it does not write to
	if communication.reference_doctype in recipients.person_doctypes():
		return replies_in_recipients_thread(communication)
	return replies_from_recipient(communication)


def reply_by_thread(communication) -> Reply | None:
	"""The campaign email Frappe threaded this message to: the one its In-Reply-To names, or
	the last one its Email Campaign sent to the sender's address."""
	Ledger = frappe.qb.DocType(LEDGER)
	if answered := answered_email_campaign(communication):
		rows = (
			reply_query(Ledger)
			.where((Ledger.email_campaign == answered) & (Ledger.communication == communication.in_reply_to))
			.limit(1)
			.run()
		)
		if rows:
			return Reply(*rows[0])
	if communication.reference_doctype != "Email Campaign" or not communication.reference_name:
		return None
	rows = (
		reply_query(Ledger)
		.where(
			(Ledger.email_campaign == communication.reference_name)
			& (Ledger.recipient_email == sender_of(communication))
		)
		.orderby(Ledger.send_after_days, order=Order.desc)
		.limit(1)
		.run()
	)
	return Reply(*rows[0]) if rows else None


def answered_email_campaign(communication) -> str | None:
	"""The Email Campaign of the Communication the message answers (In-Reply-To), if any."""
	if not communication.in_reply_to:
		return None
	parent = frappe.db.get_value(
		"Communication", communication.in_reply_to, ["reference_doctype", "reference_name"], as_dict=True
	)
	return parent.reference_name if parent and parent.reference_doctype == "Email Campaign" else None


def reply_query(Ledger):
	return frappe.qb.from_(Ledger).select(
		Ledger.name,
		Ledger.email_campaign,
		Ledger.recipient_email,
		Ledger.recipient_doctype,
		Ledger.recipient_name,
	)


def sender_of(communication) -> str:
	return (parse_addr(communication.sender or "")[1] or "").strip()


def replies_from_recipient(communication) -> list[Reply]:
	"""Unthreaded: for each running Email Campaign that wrote to the sender's address and whose
	sender owns the mailbox the message came to, the last email that went to that address."""
	email = sender_of(communication)
	users = mailbox_users(communication.email_account)
	if not (email and users):
		return []
	return last_emails_to(email, lambda EmailCampaign: EmailCampaign.sender.isin(users))


def replies_in_recipients_thread(communication) -> list[Reply]:
	"""Threaded to a Lead, Contact or CRM Lead: for each of its running Email Campaigns that
	wrote to the sender's address, the last email that went to that address."""
	email = sender_of(communication)
	if not email:
		return []
	return last_emails_to(
		email,
		lambda EmailCampaign: (
			(EmailCampaign.email_campaign_for == communication.reference_doctype)
			& (EmailCampaign.recipient == communication.reference_name)
		),
	)


def last_emails_to(email: str, which) -> list[Reply]:
	"""For each running Email Campaign that `which(EmailCampaign)` selects and that wrote to
	`email`, the last email that went there."""
	Ledger = frappe.qb.DocType(LEDGER)
	EmailCampaign = frappe.qb.DocType("Email Campaign")
	rows = (
		sent_to(
			reply_query(Ledger).join(EmailCampaign).on(EmailCampaign.name == Ledger.email_campaign),
			Ledger,
			email,
		)
		.where(EmailCampaign.status.isin(ANSWERABLE) & which(EmailCampaign))
		.orderby(Ledger.send_after_days)
		.run()
	)
	return list({row[1]: Reply(*row) for row in rows}.values())  # ordered by day: the last one wins


def sent_to(query, Ledger, email: str):
	"""The ledger rows of emails that went to `email` (sent, or handed to Frappe's queue that sent them)."""
	EmailQueue = frappe.qb.DocType("Email Queue")
	return (
		query.left_join(EmailQueue)
		.on(EmailQueue.name == Ledger.email_queue)
		.where(
			(Ledger.recipient_email == email) & ((Ledger.status == "Sent") | (EmailQueue.status == "Sent"))
		)
	)


def mailbox_users(email_account: str | None) -> list[str]:
	"""The users whose mailbox an incoming Email Account is: its address is theirs, or it is
	one of their User Emails."""
	if not email_account:
		return []
	address = frappe.db.get_value("Email Account", email_account, "email_id")
	users = set(
		frappe.get_all(
			"User Email", filters={"email_account": email_account, "parenttype": "User"}, pluck="parent"
		)
	)
	if address:
		users.update(frappe.get_all("User", filters={"email": address}, pluck="name"))
	return sorted(users)


def link_to_timelines(communication, replies: list[Reply]):
	"""The reply shows on its Email Campaign's timeline and on its Lead's (Contact's, CRM Lead's)."""
	linked = {(link.link_doctype, link.link_name) for link in communication.timeline_links}
	for reply in replies:
		for link in (
			("Email Campaign", reply.email_campaign),
			(reply.recipient_doctype, reply.recipient_name),
		):
			if (
				all(link)
				and link not in linked
				and (link[0], link[1]) != (communication.reference_doctype, communication.reference_name)
			):
				communication.add_link(*link)
				linked.add(link)


def record_reply(reply: Reply, communication):
	"""The first reply to a step is kept on its ledger row; the sequence stops when it should."""
	Ledger = frappe.qb.DocType(LEDGER)
	first = not frappe.db.exists(
		LEDGER,
		{"email_campaign": reply.email_campaign, "recipient_email": reply.email, "replied_on": ("is", "set")},
	)
	frappe.qb.update(Ledger).set(Ledger.replied_on, now_datetime()).set(
		Ledger.reply_communication, communication.name
	).where((Ledger.name == reply.ledger_row) & Ledger.replied_on.isnull()).run()
	email_campaign = frappe.db.get_value(
		"Email Campaign",
		reply.email_campaign,
		["name", "campaign_name", "email_campaign_for", "status"],
		as_dict=True,
	)
	if not email_campaign:
		return
	stops = bool(frappe.db.get_value("Campaign", email_campaign.campaign_name, "stop_on_reply"))
	if stops:
		stop(email_campaign, reply.email)
	if not first:
		return  # the timeline already says so
	comment = (
		_("{0} replied on {1}: the sequence stops for them.")
		if stops
		else _("{0} replied on {1}. The Campaign does not stop on reply, so the sequence goes on.")
	)
	frappe.get_doc("Email Campaign", reply.email_campaign).add_comment(
		"Info", comment.format(frappe.bold(reply.email), format_datetime(now_datetime()))
	)


def stop(email_campaign, email: str):
	"""A Lead or Contact Email Campaign becomes Replied; an Email Group member stops alone
	(the planner leaves out the members who replied). Their waiting emails are cancelled."""
	if email_campaign.email_campaign_for != "Email Group" and email_campaign.status in statuses.RUNNING:
		frappe.db.set_value("Email Campaign", email_campaign.name, "status", schedule.REPLIED)
	cancel_queued_emails(email_campaign.name, email, _("Cancelled: the recipient replied."))
