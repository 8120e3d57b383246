"""One job's batch of emails, a part at a time: composed, claimed and written in one
transaction, then delivered.

A part's emails are composed in memory (each step's email built once, see step_email.py), then
one transaction claims their ledger rows and writes their Communications and Email Queues in
bulk (writing.py): the ledger's primary key is the send key, so a second worker, a second run
or a rerun after a crash never queues an email twice, and a crash rolls the whole part back,
so the next run sends it. When the bulk write fails, each email is written in its own
transaction, so that one bad email stops nobody. The part is then sent through Frappe's Email
Queue on one SMTP connection, in the same job (delivery.py).
"""

import hashlib
import traceback

import frappe
from frappe.utils import getdate

from email_campaign_app.core import schedule
from email_campaign_app.sending import composing, delivery, limits
from email_campaign_app.sending.context import BatchContext
from email_campaign_app.sending.ledger import record_error
from email_campaign_app.sending.writing import QueuedEmail, write

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
		"variant": send.variant,
		"in_test": send.in_test,
	}


def from_job_arg(arg: dict) -> schedule.Send:
	return schedule.Send(
		email_campaign=arg["email_campaign"],
		step=schedule.Step(arg["email_template"], int(arg["send_after_days"])),
		recipient=schedule.Recipient(arg["email"], arg.get("recipient_doctype"), arg.get("recipient_name")),
		send_date=getdate(arg["send_date"]),
		variant=arg.get("variant"),  # a job queued before A/B variants has none
		in_test=bool(arg.get("in_test")),
	)


def send_batch(sends: list[dict], email_queues: list[str] | None = None, grants: list | None = None):
	"""Worker entry point: the batch is composed, written and delivered WRITE_SIZE emails at a
	time, each part written in one transaction (the first emails leave while the rest wait).
	When the site's own mail is waiting, the rest goes on in a job after it; `email_queues`
	are then the emails already written that are still to be sent: this job sends them itself.
	`grants` are the places in its accounts' sending limits the batch took: they count from
	when its last email left."""
	left = delivery.send_now(email_queues) if email_queues else []
	batch = [from_job_arg(arg) for arg in sends]
	parts = schedule.batches(batch, WRITE_SIZE) if batch else []
	context = BatchContext(batch) if batch else None
	while parts and not left:
		left = deliver(compose_and_write(parts.pop(0), context))
	if left:
		continue_after_site_mail(left, [as_job_arg(send) for part in parts for send in part], grants)
	elif grants:
		limits.settle([limits.Grant(*taken) for taken in grants])


def enqueue_batch(
	sends: list[dict],
	email_queues: list[str] | None = None,
	job_id: str | None = None,
	grants: list | None = None,
):
	"""A job for `send_batch`; a `job_id` made of the emails' keys keeps it from running twice."""
	frappe.enqueue(
		send_batch,
		queue="long",
		job_id=job_id and "email_campaign_app:" + hashlib.sha256(job_id.encode()).hexdigest()[:32],
		deduplicate=bool(job_id),
		now=frappe.flags.in_test,
		sends=sends,
		email_queues=email_queues,
		grants=[tuple(taken) for taken in grants] if grants else None,
	)


def continue_after_site_mail(left: list[str], sends: list[dict], grants: list | None = None):
	"""Frappe's flush sends the site's mail first (in its order, by priority), then a new job
	goes on with the campaign: the emails written and left unsent (their window keeps the
	flush off them meanwhile), then the batch's `sends` not written yet."""
	delivery.let_site_mail_go_first()
	keys = left + [arg["email"] + arg["email_campaign"] for arg in sends]
	enqueue_batch(sends, left, job_id="continued:" + "".join(keys), grants=grants)


def compose_and_write(batch: list[schedule.Send], context: BatchContext) -> list[str]:
	"""The batch's emails composed and written in one transaction; the Email Queues due now."""
	emails = []
	for send in batch:
		try:
			if email := composing.compose_email(send, context):
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
	site's own mail, returned. Tests deliver themselves, through delivery.send_now or a
	worker, as Frappe's own Email Queue does not send in tests."""
	if not email_queues or frappe.flags.in_test:
		return []
	if frappe.job:
		return delivery.send_now(email_queues)
	enqueue_batch([], email_queues)
	return []
