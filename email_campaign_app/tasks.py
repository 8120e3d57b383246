"""Scheduler entry points (see hooks.scheduler_events)."""

from frappe.utils import now_datetime

from email_campaign_app.sending import dispatcher, ledger
from email_campaign_app.sending.planning import update_statuses


def daily():
	"""Keep every Email Campaign's status true, then release what is due now (the dispatcher,
	every minute, releases the rest of the day's emails at their Send At)."""
	update_statuses()
	ledger.sync_ledger_with_email_queue()
	dispatcher.release_due(now_datetime())


def dispatch():
	"""Every minute: what is due leaves at its Send At, within each account's limits."""
	dispatcher.dispatch()


def sync_ledger():
	"""Every scheduler tick, as often as Frappe's own queue flush: the ledger says what was sent
	within minutes, and a permanent refusal stops Frappe's retries of that email."""
	ledger.sync_ledger_with_email_queue()
