"""Scheduler entry points (see hooks.scheduler_events)."""

from email_campaign_app.sending import ledger, planning
from email_campaign_app.sending.planning import update_statuses


def daily():
	"""Keep every Email Campaign's status true, then queue the emails due today."""
	update_statuses()
	ledger.sync_ledger_with_email_queue()
	planning.queue_due_emails()


def sync_ledger():
	"""Every scheduler tick, as often as Frappe's own queue flush: the ledger says what was sent
	within minutes, and a permanent refusal stops Frappe's retries of that email."""
	ledger.sync_ledger_with_email_queue()
