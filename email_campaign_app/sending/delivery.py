"""Delivery of a batch's emails, right after the batch is queued, through Frappe's Email Queue.

Frappe's flush sends at most 500 emails every few minutes; a batch is sent at once, on one
SMTP connection per Email Account, as Frappe's Newsletter does. Each email goes through
Frappe's SendMailContext, which owns the status, the retries, the error text and the Sent
folder, with these changes:

- who sends an email: a batch's Email Queues are written with a `send_after` a few minutes
  ahead (DELIVERY_WINDOW_MINUTES), during which Frappe's flush leaves them to the batch's delivery job.
  The job takes them over only while that window is open, and each email is claimed (Not Sent
  to Sending) before it is sent: a second delivery job, or Frappe's flush once the window is
  over (the fallback when no job sent it), never sends it again;
- an email's status is written with plain UPDATEs (Frappe's set_value builds a query and
  clears the document cache for each, most of the cost of sending), and committed once per
  email: the claim of an email carries the outcome of the one before;
- an email without attachments is sent as stored (Frappe re-parses every message to add
  attachments; for ours that only re-serializes it).

The site's own mail comes first: when an email of a higher priority (a password reset, a
notification) is waiting, the job makes way for Frappe's flush and the campaign goes on in a
new job, after it. Then the ledger is synced for the emails sent.
"""

import smtplib
from contextlib import suppress

import frappe
from frappe import safe_encode
from frappe.email.doctype.email_queue.email_queue import EmailQueue, SendMailContext
from frappe.email.queue import get_queue
from frappe.utils import add_to_date, now_datetime

from email_campaign_app.core import failures
from email_campaign_app.sending import deferrals, ledger

CAMPAIGN_PRIORITY = 0  # below Frappe's default 1: a site's transactional mail leaves first
DELIVERY_WINDOW_MINUTES = 15
# a job takes an email over only while its window has this long left: a flush listing the
# emails whose window is over, at the same instant, cannot list it too
TAKE_OVER_MARGIN_MINUTES = 2
YIELD_CHECK_EVERY = 50  # emails between two looks for the site's own mail waiting


def window_end() -> str:
	return str(add_to_date(now_datetime(), minutes=DELIVERY_WINDOW_MINUTES))


def send_now(email_queues: list[str]) -> list[str]:
	"""Send these Email Queues, those still left to this job, then sync the ledger for them.
	Those left unsent, returned, wait for the site's own mail (see batch.continue_after_site_mail).
	An account the server slows down or refuses sends no more here: its emails are parked."""
	smtp_servers, left, held, parked = {}, [], {}, {}
	queues = take_over(email_queues)
	for done, queue in enumerate(queues):
		if done and done % YIELD_CHECK_EVERY == 0 and site_mail_waiting():
			left = [queue.name for queue in queues[done:]]
			break
		if queue.email_account in held:
			parked.setdefault(held[queue.email_account], []).append(queue.name)
			continue
		try:
			send_one(queue, smtp_servers)
		except Exception as error:  # the context has recorded a recipient's error; Frappe retries it
			if concerns_the_account(queue, error):
				held[queue.email_account] = deferrals.hold_account(queue.email_account, error)
				parked.setdefault(held[queue.email_account], []).append(queue.name)
				smtp_servers.pop(queue.email_account, None)
	frappe.db.commit()  # the last email's outcome
	for reason, names in parked.items():
		deferrals.park(names, reason)
	for smtp_server in smtp_servers.values():
		with suppress(Exception):
			smtp_server.quit()
	# the ledger says at once what left, and a permanent refusal is not retried by Frappe
	ledger.sync_ledger_with_email_queue(email_queues)
	frappe.db.commit()
	return left


def concerns_the_account(queue, error: Exception) -> bool:
	return bool(queue.email_account) and deferrals.verdict_of(error) != failures.RECIPIENT


def send_one(queue: "CampaignEmailQueue", smtp_servers: dict):
	"""On the job's SMTP connection of the email's account."""
	account = queue.get_email_account(raise_error=True)
	if account.get("service") == "Frappe Mail":  # Frappe 16's mail service, not SMTP
		send_as_frappe_does(queue)
		return
	if account.name not in smtp_servers:
		smtp_servers[account.name] = account.get_smtp_server()
	send(queue, smtp_servers[account.name])


def take_over(email_queues: list[str]) -> list["CampaignEmailQueue"]:
	"""Those not sent whose window is open, with their window renewed for this job, in the
	order they were queued; read in two queries (not two per email)."""
	if not email_queues:
		return []
	now, until = now_datetime(), window_end()
	values = {
		"names": tuple(email_queues),
		"until": until,
		"open_after": add_to_date(now, minutes=TAKE_OVER_MARGIN_MINUTES),
	}
	frappe.db.sql(
		"""update `tabEmail Queue` set send_after = %(until)s
		where name in %(names)s and status = 'Not Sent' and send_after > %(open_after)s""",
		values,
	)
	frappe.db.commit()
	rows = frappe.db.sql(
		"""select * from `tabEmail Queue`
		where name in %(names)s and status = 'Not Sent' and send_after = %(until)s
		order by creation asc, name asc""",
		values,
		as_dict=True,
	)
	recipients = {}
	for row in frappe.get_all(
		"Email Queue Recipient",
		filters={"parenttype": "Email Queue", "parent": ("in", [row.name for row in rows] or [""])},
		fields=["name", "parent", "parenttype", "parentfield", "idx", "recipient", "status", "error"],
		order_by="idx asc",
	):
		recipients.setdefault(row.parent, []).append(row)
	return [
		CampaignEmailQueue({**row, "doctype": "Email Queue", "recipients": recipients.get(row.name, [])})
		for row in rows
	]


def site_mail_waiting() -> bool:
	"""Would Frappe's flush send an email of a higher priority than campaign mail now? Not one
	Frappe is retrying: a failing email must not stop a campaign at every look."""
	due = [row.name for row in get_queue()]
	higher = {"name": ("in", due), "priority": (">", CAMPAIGN_PRIORITY), "retry": 0}
	return bool(due) and bool(frappe.db.exists("Email Queue", higher))


def let_site_mail_go_first():
	"""Frappe's flush sends the site's mail now (the scheduler's own job: it never runs twice
	at once). Each job sends YIELD_CHECK_EVERY emails at least, so that a site email the flush
	cannot send does not stop a campaign."""
	flush = frappe.get_doc("Scheduled Job Type", {"method": "frappe.email.queue.flush"})
	flush.enqueue(force=True)


class CampaignEmailQueue(EmailQueue):
	def update_db(self, commit=False, **values):
		"""EmailQueue.update_db in one plain UPDATE (set_value would clear a document cache
		that Email Queues are never read from). What Frappe commits at once here (Sent, or Not
		Sent to retry) is committed with the next email's claim, or at the job's end: until
		then the email stays Sending, which nobody sends again."""
		write_columns("Email Queue", self.name, values)


def write_columns(doctype: str, name: str, values: dict):
	values = {**values, "modified": now_datetime(), "modified_by": frappe.session.user}
	columns = ", ".join(f"`{column}` = %({column})s" for column in values)
	frappe.db.sql(f"update `tab{doctype}` set {columns} where name = %(name)s", {**values, "name": name})


def send_as_frappe_does(queue: CampaignEmailQueue):
	if queue.can_send_now() and claim(queue):
		queue.send()


def claim(queue: CampaignEmailQueue) -> bool:
	"""Not Sent to Sending, committed with the previous email's outcome: false when another
	process has it."""
	frappe.db.sql(
		"update `tabEmail Queue` set status = 'Sending', modified = %s where name = %s and status = 'Not Sent'",
		(now_datetime(), queue.name),
	)
	claimed = frappe.db._cursor.rowcount == 1
	frappe.db.commit()
	return claimed


class CampaignSendContext(SendMailContext):
	def __enter__(self):
		return self  # the claim set the status to Sending

	def __exit__(self, exc_type, exc_val, exc_tb):
		if exc_type and concerns_the_account(self.queue_doc, exc_val):
			return False  # not this email's failure: send_now parks it, no attempt counted
		return super().__exit__(exc_type, exc_val, exc_tb)

	def include_attachments(self, message):
		if self.queue_doc.attachments_list:
			return super().include_attachments(message)
		return safe_encode(message)

	def update_recipient_status_to_sent(self, recipient):
		"""Committed with the Email Queue's own status (a campaign email has one recipient: a
		commit of its own would only cost a round trip)."""
		self.sent_to_atleast_one_recipient = True
		write_columns("Email Queue Recipient", recipient.name, {"status": "Sent"})


def send(queue: CampaignEmailQueue, smtp_server):
	"""EmailQueue.send with the context above (EmailQueue.send builds its own)."""
	if not queue.can_send_now() or not claim(queue):
		return
	with CampaignSendContext(queue, smtp_server) as context:
		# Frappe 15 names it fetch_smtp_server, Frappe 16 fetch_outgoing_server
		(getattr(context, "fetch_outgoing_server", None) or context.fetch_smtp_server)()
		for recipient in queue.recipients:
			if recipient.is_mail_sent():
				continue
			message = context.build_message(recipient.recipient)
			if not frappe.flags.in_test or frappe.flags.testing_email:
				session = context.smtp_server.session
				check_size(session, message)
				mail_options, rcpt_options = dsn_options(session, context.email_account_doc, queue.name)
				session.sendmail(
					from_addr=queue.sender,
					to_addrs=recipient.recipient,
					msg=message,
					mail_options=mail_options,
					rcpt_options=rcpt_options,
				)
			context.update_recipient_status_to_sent(recipient)
		if context.email_account_doc.append_emails_to_sent_folder:
			context.email_account_doc.append_email_to_sent_folder(message)


def check_size(session, message: bytes):
	"""The server's SIZE limit, checked before sending (as Frappe 16 does): a refusal for good."""
	session.ehlo_or_helo_if_needed()  # the server's extensions are known once it was greeted
	limit = int(session.esmtp_features.get("size") or 0) if session.has_extn("SIZE") else 0
	if limit and len(message) > limit:
		raise smtplib.SMTPDataError(
			552, f"5.3.4 The message ({len(message)} bytes) exceeds the server's size limit ({limit} bytes)"
		)


def dsn_options(session, account, envelope_id: str) -> tuple[list[str], list[str]]:
	"""Delivery status notifications as the Email Account asks for them (Frappe 16's field)."""
	notify = account.get("dsn_notify_type") if account else None
	if not notify or not session.has_extn("DSN"):
		return [], []
	return ["RET=FULL", f"ENVID={envelope_id}"], [f"NOTIFY={notify}"]
