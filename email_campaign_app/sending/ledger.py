"""The send ledger: what became of each email, kept true against Frappe's Email Queue."""

from collections import Counter

import frappe
from frappe import _
from frappe.utils import add_to_date, escape_html, now_datetime, strip_html, today

from email_campaign_app.core import failures, schedule, statuses

LEDGER = "Email Campaign Send Log"
# how long an email may stay Sending before its delivery counts as stopped midway: a delivery
# holds one email for the seconds an SMTP exchange takes
STALLED_AFTER_MINUTES = 30


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
		"variant": send.variant,
		"in_test": int(send.in_test),
	}


def record_error(send: schedule.Send, error: str):
	"""Count a failed attempt where an admin sees it: the next day's run retries the email,
	until its MAX_ATTEMPTS-th failure makes it Failed."""
	row = frappe.db.get_value(LEDGER, send.key, ["status", "attempts"], as_dict=True)
	if row and row.status != statuses.ERROR:
		return  # a concurrent worker sent it meanwhile
	if not frappe.db.exists("Email Campaign", send.email_campaign):
		return
	attempts = (row.attempts if row else 0) + 1
	failure = failures.classify(error)
	status = failures.status_after(attempts, failure.permanent)
	# the ledger, the report and the timeline show one readable line; the traceback goes to the Error Log
	values = {
		"status": status,
		"attempts": attempts,
		"error": strip_html(failure.reason) or _("Unknown error"),
		"queued_on": today(),  # the day of the attempt: the next one is tomorrow's
	}
	if row:
		frappe.db.set_value(LEDGER, send.key, values)
	else:
		campaign_name = frappe.db.get_value("Email Campaign", send.email_campaign, "campaign_name")
		try:
			frappe.get_doc({**ledger_values(send, status, campaign_name), **values}).insert(
				ignore_permissions=True
			)
		except frappe.DuplicateEntryError:
			frappe.clear_last_message()
			return  # a concurrent worker claimed it meanwhile
	frappe.log_error(
		title=_("Email Campaign {0}: email to {1} failed").format(send.email_campaign, send.recipient.email),
		message=error,
		reference_doctype="Email Campaign",
		reference_name=send.email_campaign,
	)
	what = _("Email {0} (day {1}) to {2} could not be queued: {3}.").format(
		send.email_template,
		send.step.send_after_days,
		send.recipient.email,
		escape_html(failure.reason or _("Unknown error")),
	)
	frappe.get_doc("Email Campaign", send.email_campaign).add_comment(
		"Comment", f"{what} {next_step(status, attempts)}"
	)


def next_step(status: str, attempts: int) -> str:
	if status == statuses.FAILED:
		if attempts == 1:
			return _("It failed once and will not be sent again unless you retry it.")
		return _("It failed {0} times and will not be sent again unless you retry it.").format(attempts)
	return _("It will be retried on the next run.")


def sync_ledger_with_email_queue(email_queues: list[str] | None = None):
	"""Queued rows whose email left become Sent; a delivery Frappe gave up on counts a failed
	attempt, and a permanent refusal fails at once (Frappe's own retries are cancelled). Their
	Communications get the same delivery status, in bulk (the Email Queues are not linked to
	them, so that sending does not update a Communication per email).

	`email_queues` limits the sync to those (a delivery job's own)."""
	Ledger = frappe.qb.DocType(LEDGER)
	EmailQueue = frappe.qb.DocType("Email Queue")
	queued = Ledger.status.isin((statuses.QUEUED, statuses.WAITING))
	if email_queues is not None:
		queued &= Ledger.email_queue.isin(email_queues or [""])
	sent = (
		frappe.qb.from_(Ledger)
		.join(EmailQueue)
		.on(Ledger.email_queue == EmailQueue.name)
		.select(Ledger.name, Ledger.communication)
		.where(queued & (EmailQueue.status == "Sent"))
		.run()
	)
	if sent:
		frappe.qb.update(Ledger).set(Ledger.status, statuses.SENT).where(
			Ledger.name.isin([row[0] for row in sent])
		).run()
		set_delivery_status([row[1] for row in sent], "Sent")
	if record_delivery_failures(queued) or email_queues is None:
		reopen_email_campaigns_to_retry()  # a scan of the ledger: not after every delivery job
	if email_queues is None:
		find_stopped_deliveries(queued)


def set_delivery_status(communications: list[str], status: str):
	communications = [name for name in communications if name]
	if communications:
		Communication = frappe.qb.DocType("Communication")
		frappe.qb.update(Communication).set(Communication.delivery_status, status).where(
			Communication.name.isin(communications) & (Communication.delivery_status != "Read")
		).run()


def record_delivery_failures(queued) -> bool:
	"""One UPDATE per outcome (status, attempts, reason): failures come in bulk with one cause.
	True when some email is to be retried."""
	Ledger = frappe.qb.DocType(LEDGER)
	EmailQueue = frappe.qb.DocType("Email Queue")
	given_up = EmailQueue.status.isin(("Error", "Expired"))
	being_retried = EmailQueue.status.isin(("Not Sent", "Partially Sent")) & (EmailQueue.retry > 0)
	rows = (
		frappe.qb.from_(Ledger)
		.join(EmailQueue)
		.on(Ledger.email_queue == EmailQueue.name)
		.select(
			Ledger.name,
			Ledger.attempts,
			Ledger.communication,
			EmailQueue.name,
			EmailQueue.status,
			EmailQueue.error,
		)
		.where(queued & (given_up | being_retried))
		.run()
	)
	outcomes: dict[tuple, list[tuple[str, str]]] = {}
	to_cancel = []
	for ledger_name, attempts, communication, email_queue, queue_status, error in rows:
		failure = failures.classify(error)
		if queue_status not in ("Error", "Expired"):
			if not failure.permanent:
				continue  # Frappe retries a passing failure itself
			to_cancel.append(email_queue)
		status = failures.status_after((attempts or 0) + 1, failure.permanent)
		outcomes.setdefault((status, (attempts or 0) + 1, failure.reason), []).append(
			(ledger_name, communication)
		)
	if to_cancel:
		frappe.qb.update(EmailQueue).set(EmailQueue.status, "Cancelled").where(
			EmailQueue.name.isin(to_cancel)
		).run()
	for (status, attempts, reason), rows_of_outcome in outcomes.items():
		frappe.qb.update(Ledger).set(Ledger.status, status).set(Ledger.attempts, attempts).set(
			Ledger.error, reason
		).where(Ledger.name.isin([name for name, _communication in rows_of_outcome])).run()
		set_delivery_status([communication for _name, communication in rows_of_outcome], "Error")
	return any(status == statuses.ERROR for status, _attempts, _reason in outcomes)


def find_stopped_deliveries(queued):
	"""Emails whose delivery stopped midway: the process sending them died, and their Email
	Queue stays Sending, which nobody sends again. They may have reached the recipient, or not:
	after a grace period their rows say so, and a Sales Manager decides (decide_on_uncertain)."""
	Ledger = frappe.qb.DocType(LEDGER)
	EmailQueue = frappe.qb.DocType("Email Queue")
	stopped = (
		frappe.qb.from_(Ledger)
		.join(EmailQueue)
		.on(Ledger.email_queue == EmailQueue.name)
		.select(Ledger.name, Ledger.email_campaign)
		.where(
			queued
			& (EmailQueue.status == "Sending")
			& (EmailQueue.modified < add_to_date(now_datetime(), minutes=-STALLED_AFTER_MINUTES))
		)
		.run(as_dict=True)
	)
	if not stopped:
		return
	reason = _("Its delivery stopped midway: it may or may not have reached the recipient.")
	frappe.qb.update(Ledger).set(Ledger.status, statuses.MAY_HAVE_BEEN_SENT).set(Ledger.error, reason).where(
		Ledger.name.isin([row.name for row in stopped])
	).run()
	for email_campaign, count in Counter(row.email_campaign for row in stopped).items():
		tell_uncertain(email_campaign, count)


def tell_uncertain(email_campaign: str, count: int):
	frappe.log_error(
		title=(
			_("Email Campaign {0}: 1 email may have been sent").format(email_campaign)
			if count == 1
			else _("Email Campaign {0}: {1} emails may have been sent").format(email_campaign, count)
		),
		message=_(
			"The process sending them stopped midway. They are not sent again by themselves: "
			"a Sales Manager resends them or counts them as sent, on the Email Campaign."
		),
		reference_doctype="Email Campaign",
		reference_name=email_campaign,
	)


def decide_on_uncertain(email_campaign: str, resend: bool) -> int:
	"""A Sales Manager's decision on the emails that may have been sent: send them again on
	the next run, or count them as sent."""
	uncertain = frappe.get_all(
		LEDGER,
		filters={"email_campaign": email_campaign, "status": statuses.MAY_HAVE_BEEN_SENT},
		fields=["name", "communication"],
	)
	names = [row.name for row in uncertain]
	if resend:
		send_again(email_campaign, names)
	elif names:
		Ledger = frappe.qb.DocType(LEDGER)
		frappe.qb.update(Ledger).set(Ledger.status, statuses.SENT).set(Ledger.error, None).where(
			Ledger.name.isin(names)
		).run()
		set_delivery_status([row.communication for row in uncertain], "Sent")
	return len(names)


def reopen_email_campaigns_to_retry():
	retry = frappe.get_all(LEDGER, filters={"status": statuses.ERROR}, pluck="email_campaign", distinct=True)
	if retry:
		EmailCampaign = frappe.qb.DocType("Email Campaign")
		frappe.qb.update(EmailCampaign).set(EmailCampaign.all_steps_sent, 0).where(
			EmailCampaign.name.isin(retry)
		).run()


def retry_failed(email_campaign: str) -> int:
	"""A user's explicit retry: the Email Campaign's Failed emails go again on the next run."""
	failed = frappe.get_all(
		LEDGER, filters={"email_campaign": email_campaign, "status": statuses.FAILED}, pluck="name"
	)
	send_again(email_campaign, failed)
	return len(failed)


def send_again(email_campaign: str, ledger_rows: list[str]):
	"""These rows go as retries on the next minute's run."""
	if not ledger_rows:
		return
	Ledger = frappe.qb.DocType(LEDGER)
	frappe.qb.update(Ledger).set(Ledger.status, statuses.ERROR).set(Ledger.attempts, 0).set(
		Ledger.queued_on, None
	).where(Ledger.name.isin(ledger_rows)).run()
	reopen_email_campaigns_to_retry()
	frappe.db.set_value("Email Campaign", email_campaign, "dispatched_on", None)


def cancel_queued(filters: dict, reason: str):
	"""The Queued emails `filters` select that have not left are cancelled in the Email Queue;
	their ledger rows become Skipped with `reason`."""
	rows = frappe.get_all(
		LEDGER,
		filters={**filters, "status": ("in", (statuses.QUEUED, statuses.WAITING))},
		fields=["name", "email_queue"],
	)
	queued = [row.email_queue for row in rows if row.email_queue]
	if not queued:
		return
	EmailQueue = frappe.qb.DocType("Email Queue")
	frappe.qb.update(EmailQueue).set(EmailQueue.status, "Cancelled").where(
		EmailQueue.name.isin(queued) & (EmailQueue.status == "Not Sent")
	).run()
	cancelled = frappe.get_all(
		"Email Queue", filters={"name": ("in", queued), "status": "Cancelled"}, pluck="name"
	)
	if cancelled:
		Ledger = frappe.qb.DocType(LEDGER)
		frappe.qb.update(Ledger).set(Ledger.status, statuses.SKIPPED).set(Ledger.error, reason).where(
			Ledger.email_queue.isin(cancelled)
		).run()
