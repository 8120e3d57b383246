"""One job's batch of emails, a part at a time: composed, claimed and written in one
transaction, then delivered.

A part's emails are composed in memory (each step's email built once, see messages.py), then
one transaction claims their ledger rows and writes their Communications and Email Queues in
bulk (writing.py): the ledger's primary key is the send key, so a second worker, a second run
or a rerun after a crash never queues an email twice, and a crash rolls the whole part back,
so the next run sends it. When the bulk write fails, each email is written in its own
transaction, so that one bad email stops nobody. The part is then sent through Frappe's Email
Queue on one SMTP connection, in the same job (delivery.py).
"""

import traceback

import frappe
from frappe import _
from frappe.email.doctype.email_account.email_account import EmailAccount
from frappe.utils import get_formatted_email, getdate

from email_campaign_app import delivery, links, messages, rendering, schedule, senders, suppression, tracking
from email_campaign_app.ledger import record_error
from email_campaign_app.writing import QueuedEmail, write

PERSON_DOCTYPES = ("Lead", "Contact")
WRITE_SIZE = 500  # emails per transaction: each Email Queue holds ~15 KB, within max_allowed_packet


def as_job_arg(send: schedule.Send) -> dict:
	return {
		"email_campaign": send.email_campaign,
		"email_template": send.step.email_template,
		"send_after_days": send.step.send_after_days,
		"send_date": str(send.send_date),
		"email": send.recipient.email,
		"recipient_doctype": send.recipient.doctype,
		"recipient_name": send.recipient.name,
	}


def from_job_arg(arg: dict) -> schedule.Send:
	return schedule.Send(
		email_campaign=arg["email_campaign"],
		step=schedule.Step(arg["email_template"], int(arg["send_after_days"])),
		recipient=schedule.Recipient(arg["email"], arg.get("recipient_doctype"), arg.get("recipient_name")),
		send_date=getdate(arg["send_date"]),
	)


def send_batch(sends: list[dict], email_queues: list[str] | None = None):
	"""Worker entry point: the batch is composed, written and delivered WRITE_SIZE emails at a
	time, each part written in one transaction (the first emails leave while the rest wait).
	When the site's own mail is waiting, the rest goes on in a job after it; `email_queues`
	are then the emails already written that are still to be sent."""
	left = deliver(email_queues or [])
	batch = [from_job_arg(arg) for arg in sends]
	parts = schedule.batches(batch, WRITE_SIZE) if batch else []
	context = BatchContext(batch) if batch else None
	while parts and not left:
		left = deliver(compose_and_write(parts.pop(0), context))
	if left:
		delivery.make_way_for_site_mail(left, [as_job_arg(send) for part in parts for send in part])


def compose_and_write(batch: list[schedule.Send], context: "BatchContext") -> list[str]:
	"""The batch's emails composed and written in one transaction; the Email Queues due now."""
	emails = []
	for send in batch:
		try:
			if email := compose_email(send, context):
				emails.append(email)
		except Exception:
			frappe.clear_last_message()
			record_error(send, traceback.format_exc())
			frappe.db.commit()
	try:
		queued = write(emails)
		frappe.db.commit()
	except Exception:
		frappe.db.rollback()
		queued = write_one_by_one(emails)
	return queued


def write_one_by_one(emails: list[QueuedEmail]) -> list[str]:
	"""After the bulk write failed: each email on its own, with new row names (a name already
	taken fails a bulk write, however unlikely)."""
	queued = []
	for email in emails:
		try:
			email.name_rows()
			queued += write([email])
			frappe.db.commit()
		except Exception:
			frappe.db.rollback()
			record_error(email.send, traceback.format_exc())
			frappe.db.commit()
	return queued


def deliver(email_queues: list[str]) -> list[str]:
	"""Send what this batch queued now (Frappe's flush would take minutes): in the batch's own
	job, or in a job of its own when the batch did not run in one; those left for after the
	site's own mail, returned. Tests deliver themselves, through delivery.send_email_queues or
	a worker, as Frappe's own Email Queue does not send in tests."""
	if not email_queues or frappe.flags.in_test:
		return []
	if frappe.job:
		return delivery.send_now(email_queues)
	frappe.enqueue("email_campaign_app.delivery.send_email_queues", queue="long", email_queues=email_queues)
	return []


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


class BatchContext:
	"""What a batch of emails needs from the database, read once for the whole batch."""

	def __init__(self, batch: list[schedule.Send]):
		self.email_campaigns = {
			row.name: row
			for row in frappe.get_all(
				"Email Campaign",
				filters={"name": ("in", list({send.email_campaign for send in batch}))},
				fields=[
					"name",
					"campaign_name",
					"sender",
					"send_at",
					"status",
					"email_campaign_for",
					"owner",
				],
			)
		}
		self.senders = {}
		self.people = find_people_by_email(
			[send.recipient.email for send in batch if not send.recipient.doctype]
		)
		self.documents = self._load_documents(batch)
		self.unsubscribed = unsubscribed_addresses(batch)
		self.suppressed = suppression.blocked(
			{(send.recipient.email, self.campaign_name_of(send.email_campaign)) for send in batch}
		)
		self.step_messages = {}
		self.email_accounts = {}

	def campaign_name_of(self, email_campaign: str) -> str | None:
		row = self.email_campaigns.get(email_campaign)
		return row.campaign_name if row else None

	def _load_documents(self, batch):
		wanted: dict[str, set[str]] = {}
		for send in batch:
			doctype, name = self.person_of(send.recipient)
			if doctype:
				wanted.setdefault(doctype, set()).add(name)
		return {
			(doctype, row.name): row
			for doctype, names in wanted.items()
			for row in frappe.get_all(doctype, filters={"name": ("in", list(names))}, fields=["*"])
		}

	def person_of(self, recipient: schedule.Recipient) -> tuple[str | None, str | None]:
		if recipient.doctype:
			return recipient.doctype, recipient.name
		return self.people.get(recipient.email.lower(), (None, None))

	def document_for(self, recipient: schedule.Recipient) -> frappe._dict:
		"""The template's `doc`: the Lead or Contact, else a document holding the member's email."""
		doctype, name = self.person_of(recipient)
		if doctype and (doctype, name) in self.documents:
			return frappe._dict(self.documents[(doctype, name)], doctype=doctype)
		if doctype:
			frappe.throw(_("{0} {1} no longer exists.").format(_(doctype), name))
		return frappe._dict(
			doctype="Email Group Member",
			name=recipient.email,
			email=recipient.email,
			email_id=recipient.email,
		)

	def step_message(self, email_template: str, sender: str) -> messages.StepMessage:
		"""Each step's email is built once per batch and sender."""
		key = (email_template, sender)
		if key not in self.step_messages:
			self.step_messages[key] = messages.StepMessage(email_template, sender)
		return self.step_messages[key]

	def email_account_of(self, sender: str) -> str | None:
		"""The outgoing Email Account Frappe would send `sender`'s email with."""
		return self.outgoing_account(sender).name

	def tracks_opens(self, sender: str) -> bool:
		return bool(self.outgoing_account(sender).track_email_status)

	def outgoing_account(self, sender: str) -> frappe._dict:
		if sender not in self.email_accounts:
			account = EmailAccount.find_outgoing(match_by_email=sender, _raise_error=True)
			self.email_accounts[sender] = frappe._dict(
				name=account.name if account.is_exists_in_db() else None,
				track_email_status=account.track_email_status,
			)
		return self.email_accounts[sender]

	def sender_of(self, user: str) -> str:
		if user not in self.senders:
			senders.check_sender(user)
			self.senders[user] = get_formatted_email(user, mail=frappe.db.get_value("User", user, "email"))
		return self.senders[user]


def unsubscribed_addresses(batch: list[schedule.Send]) -> set[str]:
	"""The batch's addresses that asked Frappe for no more email: from everything, or from one
	of the batch's Email Campaigns (lowercase)."""
	emails = list({send.recipient.email for send in batch})
	if not emails:
		return set()
	Unsubscribe = frappe.qb.DocType("Email Unsubscribe")
	rows = (
		frappe.qb.from_(Unsubscribe)
		.select(Unsubscribe.email)
		.where(
			Unsubscribe.email.isin(emails)
			& (
				(Unsubscribe.global_unsubscribe == 1)
				| (
					(Unsubscribe.reference_doctype == "Email Campaign")
					& Unsubscribe.reference_name.isin(list({send.email_campaign for send in batch}))
				)
			)
		)
		.run(pluck=True)
	)
	return {email.lower() for email in rows}


def compose_email(send: schedule.Send, context: BatchContext) -> QueuedEmail | None:
	"""The batch's copy of one email, or a Skipped one (the recipient unsubscribed)."""
	campaign = context.email_campaigns.get(send.email_campaign)
	if not campaign or campaign.status == schedule.PAUSED:
		return None  # deleted since the plan was made, or planned again after the resume
	stopped = campaign.status in (schedule.UNSUBSCRIBED, schedule.REPLIED)
	if stopped or send.recipient.email.lower() in context.unsubscribed:
		return QueuedEmail(send, campaign, None, "", context)
	if reason := context.suppressed.get((suppression.normalized(send.recipient.email), campaign.campaign_name)):
		return QueuedEmail(send, campaign, None, "", context, skip_reason=reason)
	sender = context.sender_of(campaign.sender)
	step = context.step_message(send.step.email_template, sender)
	pixel = links.tracking_pixel(send.email_campaign, send.key) if context.tracks_opens(sender) else ""
	email = step.for_recipient(
		context.document_for(send.recipient),
		links.unsubscribe_url(send.email_campaign, send.recipient.email),
		pixel,
		track_links=lambda html: tracking.track_links(send, campaign.campaign_name, html),
	)
	return QueuedEmail(send, campaign, email, sender, context)


def compose_preview(send: schedule.Send, context: BatchContext) -> tuple[str, str]:
	"""The subject and body a recipient receives for one step, with a marked test footer
	instead of their unsubscribe link: whoever reads a preview or a test email must not be able
	to unsubscribe the real recipient."""
	subject, body = render(send.step.email_template, context.document_for(send.recipient))
	return subject, body + links.unsubscribe_footer(None)


def render(email_template: str, doc: frappe._dict) -> tuple[str, str]:
	"""Subject and body of a template for `doc`, in the campaign sandboxed environment; values
	from `doc` are escaped in the body."""
	template = frappe.get_cached_doc("Email Template", email_template)
	subject = rendering.render(email_template, template.subject, doc)
	body = rendering.render(email_template, template.response_, rendering.escaped(doc))
	return subject.strip(), body
