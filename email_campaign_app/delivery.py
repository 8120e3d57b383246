"""Delivery of a batch's emails, right after the batch is queued, through Frappe's Email Queue.

Frappe's flush sends at most 500 emails every few minutes and opens an SMTP connection per
email; a batch is sent at once, on one connection per Email Account, as Frappe's Newsletter
does. Each email goes through Frappe's SendMailContext, which owns the status, the retries,
the error text and the Sent folder, with two changes: an email without attachments is sent as
stored (Frappe re-parses every message to add attachments; for ours that only re-serializes
it, a third of the cost of sending), and its recipient's status is committed with the Email
Queue's. Then the ledger is synced for these emails. What is not
sent here (an email due later today, a worker stopped midway) Frappe's flush sends.
"""

from contextlib import suppress

import frappe
from frappe import safe_encode
from frappe.email.doctype.email_queue.email_queue import SendMailContext
from frappe.utils import now_datetime

from email_campaign_app import ledger


def send_email_queues(email_queues: list[str]):
	smtp_servers = {}
	for queue in due_now(email_queues):
		account = queue.get_email_account(raise_error=True)
		if account.name not in smtp_servers:
			smtp_servers[account.name] = account.get_smtp_server()
		with suppress(Exception):  # the context has recorded the error; Frappe retries it
			send(queue, smtp_servers[account.name])
	for smtp_server in smtp_servers.values():
		with suppress(Exception):
			smtp_server.quit()
	# the ledger says at once what left, and a permanent refusal is not retried by Frappe
	ledger.sync_ledger_with_email_queue(email_queues)
	frappe.db.commit()


def due_now(email_queues: list[str]) -> list:
	"""Those still waiting to be sent and due now, in the order they were queued, as Email
	Queue documents read in two queries (not two per email)."""
	now = now_datetime()
	rows = frappe.get_all(
		"Email Queue",
		filters={"name": ("in", email_queues), "status": "Not Sent"},
		fields=["*"],
		order_by="creation asc",
	)
	rows = [row for row in rows if not row.send_after or row.send_after <= now]
	recipients = {}
	for row in frappe.get_all(
		"Email Queue Recipient",
		filters={"parenttype": "Email Queue", "parent": ("in", [row.name for row in rows] or [""])},
		fields=["name", "parent", "parenttype", "parentfield", "idx", "recipient", "status", "error"],
		order_by="idx asc",
	):
		recipients.setdefault(row.parent, []).append(row)
	return [frappe.get_doc({**row, "doctype": "Email Queue", "recipients": recipients.get(row.name, [])}) for row in rows]


class AsStoredSendContext(SendMailContext):
	def include_attachments(self, message):
		if self.queue_doc.attachments_list:
			return super().include_attachments(message)
		return safe_encode(message)

	def update_recipient_status_to_sent(self, recipient):
		"""Committed with the Email Queue's own status, when the context closes (a campaign
		email has one recipient: a commit of its own would only cost a round trip)."""
		self.sent_to_atleast_one_recipient = True
		recipient.update_db(status="Sent")


def send(queue, smtp_server):
	"""EmailQueue.send with the context above (EmailQueue.send builds its own)."""
	if not queue.can_send_now():
		return
	with AsStoredSendContext(queue, smtp_server) as context:
		context.fetch_smtp_server()
		for recipient in queue.recipients:
			if recipient.is_mail_sent():
				continue
			message = context.build_message(recipient.recipient)
			if not frappe.flags.in_test or frappe.flags.testing_email:
				context.smtp_server.session.sendmail(from_addr=queue.sender, to_addrs=recipient.recipient, msg=message)
			context.update_recipient_status_to_sent(recipient)
		if context.email_account_doc.append_emails_to_sent_folder:
			context.email_account_doc.append_email_to_sent_folder(message)
