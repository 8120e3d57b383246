"""The dispatcher: every campaign email leaves at its Send At, through the app's own delivery.

Frappe's scheduler enqueues `dispatch` every minute (a cron event), at whatever second its
tick falls on. A run releases what is due now (planning.py), then waits for what becomes due
before the next tick would start one: a Send At, a place freeing in a limited account's
window, the end of an account's backoff. So a step at 09:00 leaves at 09:00, not up to a tick
later, and a limited account sends as fast as its limits allow. It waits only while no other
job waits for a worker (else it makes way, and goes on in a job queued after theirs), and
ends before the next tick (Frappe does not enqueue a scheduled job that is still running; two
runs at once would be harmless: the ledger's key and the shared count hold each email once).

Emails parked by a deferral (deferrals.py) are sent first, in their order, once their account
may send again.
"""

import time
from datetime import datetime, timedelta

import frappe
from frappe.utils import cint, get_datetime, getdate, now_datetime
from frappe.utils.background_jobs import get_queue

from email_campaign_app.core import statuses
from email_campaign_app.sending import delivery, limits, planning
from email_campaign_app.sending.ledger import LEDGER

TICK_MARGIN_SECONDS = 2  # the run waits for what comes before the next tick, less this
POLL_SECONDS = 0.25
QUEUES = ("short", "default", "long")


def dispatch(wait: bool | None = None):
	"""Release what is due now, then what becomes due within the horizon (tests do not wait)."""
	wait = not frappe.flags.in_test if wait is None else wait
	deadline = now_datetime() + timedelta(seconds=horizon_seconds())
	held = release_due(now_datetime())
	while wait and (at := next_release_at(now_datetime(), held)) and at <= deadline:
		if not wait_until(at):
			go_on_after_the_others()
			break
		held = release_due(now_datetime())


def horizon_seconds() -> int:
	"""Until just before the scheduler's next tick (Frappe enqueues this job at each tick)."""
	return (cint(frappe.get_conf().scheduler_tick_interval) or 60) - TICK_MARGIN_SECONDS


def release_due(now: datetime) -> set[str]:
	"""The accounts whose emails wait for a place or a backoff's end (later today)."""
	still_parked = send_waiting(now)
	return planning.queue_due_emails(now=now).held_accounts | still_parked


def dispatch_again_today():
	"""Every Email Campaign is looked at again today (new limits, an account allowed to send)."""
	EmailCampaign = frappe.qb.DocType("Email Campaign")
	frappe.qb.update(EmailCampaign).set(EmailCampaign.dispatched_on, None).where(
		EmailCampaign.dispatched_on.isnotnull()
	).run()


def next_release_at(now: datetime, held_accounts: set[str]) -> datetime | None:
	"""The first moment something more may leave today: a Send At, a limit's place, the end
	of a backoff."""
	moments = [next_send_at(now)]
	rows = limits.settings_rows()
	for account in held_accounts:
		moments.append(limits.backoff_ends_at(account, now))
		moments.append(limits.room_again_at(account, limits.limits_of(rows.get(account)), now))
	moments = [moment for moment in moments if moment and moment > now]
	return min(moments) if moments else None


def next_send_at(now: datetime) -> datetime | None:
	EmailCampaign = frappe.qb.DocType("Email Campaign")
	today = getdate(now)
	send_at = (
		frappe.qb.from_(EmailCampaign)
		.select(EmailCampaign.send_at)
		.where(
			planning.running_on(EmailCampaign, today)
			& planning.not_dispatched_on(EmailCampaign, today)
			& (EmailCampaign.send_at > now.strftime("%H:%M"))
		)
		.orderby(EmailCampaign.send_at)
		.limit(1)
		.run()
	)
	return get_datetime(f"{today} {send_at[0][0]}") if send_at else None


def go_on_after_the_others():
	"""Other jobs wait for this worker: the dispatcher makes way and goes on after them."""
	frappe.enqueue("email_campaign_app.tasks.dispatch", queue="default")


def wait_until(at: datetime) -> bool:
	"""Sleep until `at`; False, at once, when another job is waiting for this worker."""
	while now_datetime() < at:
		if others_waiting():
			return False
		time.sleep(min(POLL_SECONDS, max(0.0, (at - now_datetime()).total_seconds())))
	return True


def others_waiting() -> bool:
	return any(get_queue(name).count for name in QUEUES)


def parked_by_account() -> dict[str, list[str]]:
	"""The parked emails (ledger Waiting) by account, oldest send date first."""
	Ledger = frappe.qb.DocType(LEDGER)
	EmailQueue = frappe.qb.DocType("Email Queue")
	rows = (
		frappe.qb.from_(Ledger)
		.join(EmailQueue)
		.on(EmailQueue.name == Ledger.email_queue)
		.select(EmailQueue.email_account, EmailQueue.name)
		.where((Ledger.status == statuses.WAITING) & (EmailQueue.status == "Not Sent"))
		.orderby(Ledger.send_date)
		.orderby(EmailQueue.creation)
		.run()
	)
	parked: dict[str, list[str]] = {}
	for account, name in rows:
		parked.setdefault(account, []).append(name)
	return parked


def send_waiting(now: datetime) -> set[str]:
	"""The parked emails of each account that may send again, within its limits; the accounts
	with emails still parked."""
	rows, still_parked = limits.settings_rows(), set()
	for account, parked in parked_by_account().items():
		row = rows.get(account)
		if (row and row.sending_stopped) or limits.backoff_ends_at(account, now):
			still_parked.add(account)
			continue
		taken = limits.grant(account, limits.limits_of(row), len(parked), now)
		names = parked[: taken.count]
		if len(names) < len(parked):
			still_parked.add(account)
		if not names:
			continue
		Ledger = frappe.qb.DocType(LEDGER)
		frappe.qb.update(Ledger).set(Ledger.status, statuses.QUEUED).set(Ledger.error, None).where(
			Ledger.email_queue.isin(names) & (Ledger.status == statuses.WAITING)
		).run()
		frappe.db.commit()
		delivery.send_now(names)
		limits.settle([taken])
		if limits.backoff_ends_at(account):  # deferred again: parked again
			still_parked.add(account)
	return still_parked
