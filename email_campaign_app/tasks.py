"""Scheduler entry points (see hooks.scheduler_events)."""

import frappe
from frappe import _
from frappe.utils import now_datetime, today

from email_campaign_app.sending import dispatcher, ledger
from email_campaign_app.sending.planning import update_statuses


def daily() -> str:
	"""Keep every Email Campaign's status true, then release what is due now (the dispatcher,
	every minute, releases the rest of the day's emails at their Send At). What it did, for
	whoever runs it by hand (`bench execute` prints it)."""
	changed = update_statuses()
	ledger.sync_ledger_with_email_queue()
	held = dispatcher.release_due(now_datetime())
	queued = frappe.db.count(ledger.LEDGER, {"queued_on": today()})
	told = [
		_("1 Email Campaign changed status.")
		if changed == 1
		else _("{0} Email Campaigns changed status.").format(changed),
		_("1 email released today so far.")
		if queued == 1
		else _("{0} emails released today so far.").format(queued),
	]
	if held:
		told.append(_("Waiting for a sending limit: {0}.").format(", ".join(sorted(held))))
	return " ".join(told)


def dispatch():
	"""Every minute: what is due leaves at its Send At, within each account's limits."""
	dispatcher.dispatch()


def sync_ledger():
	"""Every scheduler tick, as often as Frappe's own queue flush: the ledger says what was sent
	within minutes, and a permanent refusal stops Frappe's retries of that email."""
	ledger.sync_ledger_with_email_queue()
