"""Delivery of a batch's emails, in a job of its own, through Frappe's Email Queue.

Frappe's flush sends at most 500 emails every few minutes and opens an SMTP connection per
email; a batch's delivery job sends its emails at once, on one connection per Email Account,
as Frappe's Newsletter does. Each email still goes through EmailQueue.send, which owns the
status, the retries, the error text and the Sent folder; then the ledger is synced for these
emails. What this job does not send (an email due later today, a worker stopped midway)
Frappe's flush sends.
"""

from contextlib import suppress

import frappe
from frappe.utils import now_datetime

from email_campaign_app import ledger


def send_email_queues(email_queues: list[str]):
	smtp_servers = {}
	for queue in due_now(email_queues):
		account = queue.get_email_account(raise_error=True)
		if account.name not in smtp_servers:
			smtp_servers[account.name] = account.get_smtp_server()
		with suppress(Exception):  # EmailQueue.send has recorded the error; Frappe retries it
			queue.send(smtp_server_instance=smtp_servers[account.name])
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
