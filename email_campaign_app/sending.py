"""Queue the emails of Email Campaigns through Frappe's own pipeline.

Finding what is due is set-based: a fixed number of queries whatever the number of Email
Campaigns, then the core (`schedule.plan`) decides. Sending is fanned out to RQ workers in
batches. Each email is claimed, rendered, recorded as a Communication and put in the Email
Queue inside one database transaction whose first write is the send ledger row: the ledger's
primary key is the send key, so a second worker, a second run or a rerun after a crash finds
the row (or waits for it) and never queues the same email twice; a crash rolls the whole
email back, so the next run sends it.
"""

import hashlib
import traceback
from urllib.parse import urlencode

import frappe
from frappe import _
from frappe.query_builder.functions import Coalesce
from frappe.utils import escape_html, get_datetime, get_formatted_email, get_url, getdate, now_datetime, today

from email_campaign_app import email_headers, rendering, schedule, tokens

PERSON_DOCTYPES = ("Lead", "Contact")

LEDGER = "Email Campaign Send Log"
BATCH_SIZE = 200
UNSUBSCRIBE_METHOD = "/api/method/email_campaign_app.api.unsubscribe"


# Planning: what is due today, across all Email Campaigns


def queue_due_emails(email_campaigns: list[str] | None = None) -> schedule.Plan:
	"""Find every email due today and hand them to workers in batches."""
	unreachable: dict[str, str] = {}
	due = plan_due_emails(email_campaigns, unreachable)
	mark_finished(due.finished)
	for email_campaign, problem in unreachable.items():
		report_unreachable(email_campaign, problem)
	frappe.db.commit()
	for batch in schedule.batches(due.sends, BATCH_SIZE):
		keys = [send.key for send in batch]
		frappe.enqueue(
			"email_campaign_app.sending.send_batch",
			queue="long",
			job_id="email_campaign_app:" + hashlib.sha256("".join(keys).encode()).hexdigest()[:32],
			deduplicate=True,
			now=frappe.flags.in_test,
			sends=[as_job_arg(send) for send in batch],
		)
	return due


def plan_due_emails(email_campaigns: list[str] | None = None, unreachable: dict | None = None) -> schedule.Plan:
	"""Four queries whatever the number of Email Campaigns: the Email Campaigns with their Lead
	or Contact, the Email Group members, the schedules, the ledger; then the core decides.

	Email Campaigns whose Lead or Contact is gone or has no email go into `unreachable`."""
	EmailCampaign = frappe.qb.DocType("Email Campaign")
	candidate = (
		(EmailCampaign.start_date <= today())
		& (EmailCampaign.status != schedule.UNSUBSCRIBED)
		& (EmailCampaign.all_steps_sent == 0)
	)
	if email_campaigns is not None:
		candidate &= EmailCampaign.name.isin(email_campaigns or [""])
	candidates = get_candidates(EmailCampaign, candidate, {} if unreachable is None else unreachable)
	return schedule.plan(candidates, get_ledger(EmailCampaign, candidate), getdate(today()))


def get_candidates(EmailCampaign, candidate, unreachable: dict) -> list[schedule.Candidate]:
	"""Every Email Campaign that may have something to send today, with its steps and recipients."""
	rows = get_email_campaigns_with_people(EmailCampaign, candidate)
	members = get_email_group_members(EmailCampaign, candidate)
	steps = get_steps({row[1] for row in rows})
	candidates = []
	for name, campaign_name, email_campaign_for, recipient, start_date, person, email, unsubscribed in rows:
		recipients = ()
		if email_campaign_for == "Email Group":
			recipients = members.get(name, ())
		elif not person:
			unreachable[name] = _("{0} {1} no longer exists.").format(_(email_campaign_for), recipient)
		elif unsubscribed:
			pass  # they chose to receive nothing
		elif not email:
			unreachable[name] = _("{0} {1} has no email address. Set its email address first.").format(
				_(email_campaign_for), recipient
			)
		else:
			recipients = (schedule.Recipient(email.strip(), email_campaign_for, recipient),)
		candidates.append(
			schedule.Candidate(name, getdate(start_date), tuple(steps.get(campaign_name, ())), tuple(recipients))
		)
	return candidates


def get_email_campaigns_with_people(EmailCampaign, candidate):
	"""(name, campaign, for, recipient, start date, and the Lead's or Contact's name, email and
	unsubscribed flag; the three are None for an Email Group or a deleted recipient)."""
	Lead = frappe.qb.DocType("Lead")
	Contact = frappe.qb.DocType("Contact")
	return (
		frappe.qb.from_(EmailCampaign)
		.left_join(Lead)
		.on((EmailCampaign.email_campaign_for == "Lead") & (Lead.name == EmailCampaign.recipient))
		.left_join(Contact)
		.on((EmailCampaign.email_campaign_for == "Contact") & (Contact.name == EmailCampaign.recipient))
		.select(
			EmailCampaign.name,
			EmailCampaign.campaign_name,
			EmailCampaign.email_campaign_for,
			EmailCampaign.recipient,
			EmailCampaign.start_date,
			Coalesce(Lead.name, Contact.name),
			Coalesce(Lead.email_id, Contact.email_id),
			Coalesce(Lead.unsubscribed, Contact.unsubscribed),
		)
		.where(candidate)
		.orderby(EmailCampaign.start_date)
		.orderby(EmailCampaign.name)
		.run()
	)


def get_email_group_members(EmailCampaign, candidate) -> dict[str, list[schedule.Recipient]]:
	Member = frappe.qb.DocType("Email Group Member")
	rows = (
		frappe.qb.from_(EmailCampaign)
		.join(Member)
		.on((EmailCampaign.email_campaign_for == "Email Group") & (Member.email_group == EmailCampaign.recipient))
		.select(EmailCampaign.name, Member.email)
		.where(candidate & (Member.unsubscribed == 0) & Member.email.isnotnull() & (Member.email != ""))
		.orderby(Member.creation)
		.run()
	)
	members: dict[str, list[schedule.Recipient]] = {}
	for email_campaign, email in rows:
		members.setdefault(email_campaign, []).append(schedule.Recipient(email.strip()))
	return members


def get_steps(campaigns: set[str]) -> dict[str, list[schedule.Step]]:
	steps: dict[str, list[schedule.Step]] = {}
	if not campaigns:
		return steps
	for row in frappe.get_all(
		"Campaign Email Schedule",
		filters={"parenttype": "Campaign", "parent": ("in", list(campaigns))},
		fields=["parent", "email_template", "send_after_days"],
		order_by="send_after_days asc, idx asc",
	):
		steps.setdefault(row.parent, []).append(schedule.Step(row.email_template, row.send_after_days or 0))
	return steps


def get_ledger(EmailCampaign, candidate) -> list[schedule.LedgerEntry]:
	"""The candidates' ledger rows that need no more sending (rows in Error are retried)."""
	Ledger = frappe.qb.DocType(LEDGER)
	rows = (
		frappe.qb.from_(Ledger)
		.join(EmailCampaign)
		.on(Ledger.email_campaign == EmailCampaign.name)
		.select(
			Ledger.email_campaign,
			Ledger.email_template,
			Ledger.send_after_days,
			Ledger.recipient_email,
			(Ledger.queued_on == today()).as_("queued_today"),  # an int is cheaper to read than a date
		)
		.where(candidate & (Ledger.status != "Error"))
		.run()
	)
	return [
		schedule.LedgerEntry(email_campaign, schedule.Step(email_template, send_after_days or 0), email, bool(queued_today))
		for email_campaign, email_template, send_after_days, email, queued_today in rows
	]


def report_unreachable(email_campaign: str, problem: str):
	"""Say once a day, in the Error Log and on the Email Campaign, why nothing can be sent."""
	message = _("Nothing can be sent today: {0}").format(problem)
	already_said = frappe.db.exists(
		"Comment",
		{
			"reference_doctype": "Email Campaign",
			"reference_name": email_campaign,
			"comment_type": "Comment",
			"content": message,
			"creation": (">=", today()),
		},
	)
	if already_said:
		return
	frappe.log_error(
		title=_("Email Campaign {0}: {1}").format(email_campaign, problem),
		message=message,
		reference_doctype="Email Campaign",
		reference_name=email_campaign,
	)
	frappe.get_doc("Email Campaign", email_campaign).add_comment("Comment", message)


def mark_finished(email_campaigns: list[str]):
	if email_campaigns:
		EmailCampaign = frappe.qb.DocType("Email Campaign")
		frappe.qb.update(EmailCampaign).set(EmailCampaign.all_steps_sent, 1).where(
			EmailCampaign.name.isin(email_campaigns)
		).run()


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


# Sending: one transaction per email


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
	ledger = claim(send, email_campaign.campaign_name)
	if not ledger:
		return
	if email_campaign.status == schedule.UNSUBSCRIBED:
		ledger.db_set({"status": "Skipped", "error": None})
		return

	subject, body, unsubscribe_link = compose(send, context)
	communication = make_communication(send, email_campaign, context, subject, body)
	with list_unsubscribe_header(unsubscribe_link):
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


def ledger_values(send: schedule.Send, status: str, campaign_name: str | None) -> dict:
	return {
		"doctype": LEDGER,
		"email_campaign": send.email_campaign,
		"campaign_name": campaign_name,
		"email_template": send.step.email_template,
		"send_after_days": send.step.send_after_days,
		"send_date": send.send_date,
		"recipient_email": send.recipient.email,
		"recipient_doctype": send.recipient.doctype,
		"recipient_name": send.recipient.name,
		"status": status,
	}


def compose(send: schedule.Send, context: BatchContext, test: bool = False) -> tuple[str, str, str | None]:
	"""The subject and body one recipient receives for one step, unsubscribe footer included,
	and the unsubscribe link itself (for the List-Unsubscribe header).

	A test (a preview, a test email) carries no working link: whoever reads it must not be
	able to unsubscribe the real recipient."""
	subject, body = render(send.step.email_template, context.document_for(send.recipient))
	link = None if test else unsubscribe_url(send.email_campaign, send.recipient.email)
	return subject, body + unsubscribe_footer(link), link


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


def record_error(send: schedule.Send, error: str):
	"""Keep the failure where an admin sees it; the next run retries the email."""
	key = send.key
	status = frappe.db.get_value(LEDGER, key, "status")
	if status and status != "Error":
		return  # a concurrent worker sent it meanwhile
	if not frappe.db.exists("Email Campaign", send.email_campaign):
		return
	if status is None:
		campaign_name = frappe.db.get_value("Email Campaign", send.email_campaign, "campaign_name")
		values = {**ledger_values(send, "Error", campaign_name), "error": error}
		try:
			frappe.get_doc(values).insert(ignore_permissions=True)
		except frappe.DuplicateEntryError:
			frappe.clear_last_message()
			return  # a concurrent worker claimed it meanwhile
	else:
		frappe.db.set_value(LEDGER, key, "error", error)
	message = error.strip().splitlines()[-1] if error.strip() else _("Unknown error")
	frappe.log_error(
		title=_("Email Campaign {0}: email to {1} failed").format(send.email_campaign, send.recipient.email),
		message=error,
		reference_doctype="Email Campaign",
		reference_name=send.email_campaign,
	)
	frappe.get_doc("Email Campaign", send.email_campaign).add_comment(
		"Comment",
		_("Email {0} (day {1}) to {2} could not be queued: {3}. It will be retried on the next run.").format(
			send.step.email_template, send.step.send_after_days, send.recipient.email, escape_html(message)
		),
	)


# Unsubscribe link and headers


def unsubscribe_url(email_campaign: str, email: str) -> str:
	token = tokens.make_token(get_secret(), email_campaign, email)
	query = urlencode({"email_campaign": email_campaign, "email": email, "token": token})
	return get_url(f"{UNSUBSCRIBE_METHOD}?{query}")


def get_secret() -> str:
	from frappe.utils.password import get_encryption_key

	return get_encryption_key()


def unsubscribe_footer(link: str | None) -> str:
	"""The footer with the recipient's link, or (for a test) a notice in its place."""
	return frappe.render_template(
		"email_campaign_app/templates/emails/email_campaign_footer.html", {"unsubscribe_url": link}
	)


class list_unsubscribe_header:
	"""While active, the app's `make_email_body_message` hook adds the RFC 8058 headers."""

	def __init__(self, url: str):
		self.url = url

	def __enter__(self):
		frappe.flags.email_campaign_unsubscribe_url = self.url

	def __exit__(self, *exc):
		frappe.flags.email_campaign_unsubscribe_url = None


def add_list_unsubscribe_headers(email):
	"""Hook `make_email_body_message`: acts only on this app's emails (the flag above)."""
	url = frappe.flags.get("email_campaign_unsubscribe_url")
	if url:
		email_headers.register()  # this process serializes the message next
		email.set_header("List-Unsubscribe", f"<{url}>")
		email.set_header("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")


def sync_ledger_with_email_queue():
	"""Queued rows whose email left become Sent; those Frappe gave up on become Error (retried)."""
	Ledger = frappe.qb.DocType(LEDGER)
	EmailQueue = frappe.qb.DocType("Email Queue")
	for ledger_status, queue_statuses in (("Sent", ("Sent",)), ("Error", ("Error", "Expired"))):
		names = (
			frappe.qb.from_(Ledger)
			.join(EmailQueue)
			.on(Ledger.email_queue == EmailQueue.name)
			.select(Ledger.name)
			.where((Ledger.status == "Queued") & EmailQueue.status.isin(queue_statuses))
			.run(pluck=True)
		)
		if names:
			frappe.qb.update(Ledger).set(Ledger.status, ledger_status).where(Ledger.name.isin(names)).run()
	retry = frappe.get_all(LEDGER, filters={"status": "Error"}, pluck="email_campaign", distinct=True)
	if retry:
		EmailCampaign = frappe.qb.DocType("Email Campaign")
		frappe.qb.update(EmailCampaign).set(EmailCampaign.all_steps_sent, 0).where(
			EmailCampaign.name.isin(retry)
		).run()
