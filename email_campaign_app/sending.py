"""One email's send path: claimed, rendered, recorded and queued in one transaction.

Each email is claimed, rendered, recorded as a Communication and put in Frappe's Email Queue
inside one database transaction whose first write is the send ledger row: the ledger's
primary key is the send key, so a second worker, a second run or a rerun after a crash finds
the row (or waits for it) and never queues the same email twice; a crash rolls the whole
email back, so the next run sends it.
"""

import traceback

import frappe
from frappe import _
from frappe.utils import escape_html, get_datetime, get_formatted_email, getdate, now_datetime, today

from email_campaign_app import links, rendering, schedule, tracking
from email_campaign_app.ledger import LEDGER, ledger_values, record_error

PERSON_DOCTYPES = ("Lead", "Contact")


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


def send_batch(sends: list[dict]):
	"""Worker entry point: queue each email of the batch; one failure never stops the others."""
	batch = [from_job_arg(arg) for arg in sends]
	context = BatchContext(batch)
	for send in batch:
		try:
			queue_email(send, context)
			frappe.db.commit()
		except Exception:
			frappe.db.rollback()
			record_error(send, traceback.format_exc())
			frappe.db.commit()


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
				fields=["name", "campaign_name", "sender", "send_at", "status", "email_campaign_for"],
			)
		}
		self.senders = {}
		self.people = find_people_by_email(
			[send.recipient.email for send in batch if not send.recipient.doctype]
		)
		self.documents = self._load_documents(batch)

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
		return frappe._dict(doctype="Email Group Member", name=recipient.email, email=recipient.email, email_id=recipient.email)

	def sender_of(self, user: str) -> str:
		if user not in self.senders:
			enabled, email = frappe.db.get_value("User", user, ["enabled", "email"]) or (0, None)
			if not (enabled and email):
				frappe.throw(_("Sender {0} is disabled or has no email address.").format(user))
			self.senders[user] = get_formatted_email(user, mail=email)
		return self.senders[user]


def queue_email(send: schedule.Send, context: BatchContext):
	"""Claim the ledger row, then render and queue the email, all in the current transaction."""
	email_campaign = context.email_campaigns.get(send.email_campaign)
	if not email_campaign:
		return  # deleted since the plan was made
	if email_campaign.status == schedule.PAUSED:
		return  # planned again after the resume
	ledger = claim(send, email_campaign.campaign_name)
	if not ledger:
		return
	if email_campaign.status in (schedule.UNSUBSCRIBED, schedule.REPLIED):
		ledger.db_set({"status": "Skipped", "error": None})
		return

	subject, body, unsubscribe_link = compose(send, context)
	communication = make_communication(send, email_campaign, context, subject, body)
	with links.list_unsubscribe_header(unsubscribe_link):
		email_queue = frappe.sendmail(
			recipients=[send.recipient.email],
			sender=context.sender_of(email_campaign.sender),
			subject=subject,
			message=body,
			reference_doctype="Email Campaign",
			reference_name=send.email_campaign,
			communication=communication.name,
			add_unsubscribe_link=0,
			send_after=send_time(send, email_campaign),
		)
	ledger.db_set(
		{
			"status": "Queued" if email_queue else "Skipped",
			"communication": communication.name,
			"email_queue": email_queue.name if email_queue else None,
			"queued_on": today(),
			"error": None if email_queue else _("The address has unsubscribed from this email."),
		}
	)


def claim(send: schedule.Send, campaign_name: str):
	"""Insert this email's ledger row, or take over its row in Error; None when it is taken.

	A concurrent worker inserting the same key waits on the primary key until this transaction
	ends, then sees a duplicate: the database decides who sends.
	"""
	ledger = frappe.get_doc(ledger_values(send, "Queued", campaign_name))
	try:
		ledger.insert(ignore_permissions=True)
		return ledger
	except frappe.DuplicateEntryError:
		frappe.clear_last_message()
	status = frappe.db.get_value(LEDGER, ledger.name, "status", for_update=True)
	if status != "Error":
		return None
	return frappe.get_doc(LEDGER, ledger.name)


def compose(send: schedule.Send, context: BatchContext, test: bool = False) -> tuple[str, str, str | None]:
	"""The subject and body one recipient receives for one step, unsubscribe footer included,
	and the unsubscribe link itself (for the List-Unsubscribe header).

	A test (a preview, a test email) carries no working link: whoever reads it must not be
	able to unsubscribe the real recipient."""
	subject, body = render(send.step.email_template, context.document_for(send.recipient))
	if not test:  # the links of the body, never the footer's unsubscribe link
		body = tracking.track_links(send, context.email_campaigns[send.email_campaign].campaign_name, body)
	link = None if test else links.unsubscribe_url(send.email_campaign, send.recipient.email)
	return subject, body + links.unsubscribe_footer(link), link


def render(email_template: str, doc: frappe._dict) -> tuple[str, str]:
	"""Subject and body of a template for `doc`, in the campaign sandboxed environment; values
	from `doc` are escaped in the body."""
	template = frappe.get_cached_doc("Email Template", email_template)
	subject = rendering.render(email_template, template.subject, doc)
	body = rendering.render(email_template, template.response_, escaped(doc))
	return subject.strip(), body


def escaped(doc: frappe._dict) -> frappe._dict:
	return frappe._dict({key: escape_html(value) if isinstance(value, str) else value for key, value in doc.items()})


def make_communication(send, email_campaign, context, subject, body):
	communication = frappe.get_doc(
		{
			"doctype": "Communication",
			"communication_type": "Communication",
			"communication_medium": "Email",
			"sent_or_received": "Sent",
			"subject": subject,
			"content": body,
			"sender": context.sender_of(email_campaign.sender),
			"recipients": send.recipient.email,
			"reference_doctype": "Email Campaign",
			"reference_name": send.email_campaign,
			"email_template": send.step.email_template,
			"user": email_campaign.sender,
		}
	)
	doctype, name = context.person_of(send.recipient)
	if doctype:
		communication.add_link(doctype, name)
	communication.insert(ignore_permissions=True)
	return communication


def send_time(send: schedule.Send, email_campaign) -> str | None:
	send_at = get_datetime(f"{send.send_date} {email_campaign.send_at or '09:00'}").time()
	leaves_at = schedule.send_at_datetime(send.send_date, getdate(today()), now_datetime(), send_at)
	return str(leaves_at) if leaves_at else None
