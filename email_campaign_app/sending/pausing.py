"""Pausing and resuming an Email Campaign.

A paused Email Campaign sends nothing: the daily job passes it by, and its emails already in
Frappe's Email Queue that have not left yet are withdrawn (the Email Queue entry, its
Communication and its ledger row go, so that the email is planned again after the resume).

On resume the user chooses: shift the remaining schedule by the days the campaign was paused
(its sending days, for a Campaign that counts business days), or catch up: the earliest missed
day's emails go now and the later ones one schedule day per calendar day, the daily job's rule.
"""

from datetime import date

import frappe
from frappe import _
from frappe.query_builder.functions import Count, Max, Min
from frappe.utils import getdate, now_datetime, today

from email_campaign_app.core import schedule, statuses
from email_campaign_app.core.sending_days import catch_up_dates
from email_campaign_app.sending import notes
from email_campaign_app.sending.ledger import LEDGER

SHIFT = "Shift"
CATCH_UP = "Catch Up"
RESUME_MODES = (SHIFT, CATCH_UP)
PAUSABLE = statuses.PAUSABLE


def pause(doc, why: str | None = None) -> int:
	"""Pause an Email Campaign; the number of its emails withdrawn from the Email Queue. `why`
	is what its note says when the app pauses it by itself (health.py)."""
	if doc.status not in PAUSABLE:
		frappe.throw(
			_(
				"Email Campaign {0} is {1}: only a Scheduled or In Progress Email Campaign can be paused."
			).format(frappe.bold(doc.name), _(doc.status)),
			title=_("Cannot Pause"),
		)
	withdrawn = withdraw_unsent_emails(doc.name)
	doc.db_set({"status": schedule.PAUSED, "paused_on": now_datetime()})
	notes.record(doc.name, notes.PAUSED, happened_on=doc.paused_on, withdrawn=withdrawn, reason=why)
	return withdrawn


def resume(doc, mode: str) -> int:
	"""Resume a paused Email Campaign; the schedule days its remaining emails moved by."""
	if doc.status != schedule.PAUSED:
		frappe.throw(
			_("Email Campaign {0} is {1}, not Paused: there is nothing to resume.").format(
				frappe.bold(doc.name), _(doc.status)
			),
			title=_("Cannot Resume"),
		)
	if mode not in RESUME_MODES:
		frappe.throw(
			_("Choose how to resume: {0} or {1}.").format(frappe.bold(_(SHIFT)), frappe.bold(_(CATCH_UP))),
			title=_("Cannot Resume"),
		)
	shift = paused_days(doc) if mode == SHIFT else 0
	doc.shifted_days = (doc.shifted_days or 0) + shift
	doc.catch_up_until = max(send_dates(doc).values(), default=None)
	doc.set_end_date()
	status = schedule.status_on(getdate(doc.start_date), getdate(doc.end_date), getdate(today()))
	doc.db_set(
		{
			"status": status,
			"paused_on": None,
			"shifted_days": doc.shifted_days,
			"catch_up_until": doc.catch_up_until,
			"end_date": doc.end_date,
			"all_steps_sent": 0,
			"dispatched_on": None,
		}
	)
	notes.record(doc.name, notes.RESUMED, resume_mode=mode, shifted_days=shift)
	return shift


def paused_days(doc) -> int:
	"""The schedule days the pause lasted: calendar days, or sending days for business days."""
	return doc.get_calendar().days_between(getdate(doc.paused_on), getdate(today()))


def withdraw_unsent_emails(email_campaign: str) -> int:
	"""Take back the emails of an Email Campaign that wait in the Email Queue: the Email Queue
	entries, their Communications and their ledger rows (a fixed number of queries)."""
	Ledger = frappe.qb.DocType(LEDGER)
	EmailQueue = frappe.qb.DocType("Email Queue")
	rows = (
		frappe.qb.from_(Ledger)
		.join(EmailQueue)
		.on(EmailQueue.name == Ledger.email_queue)
		.select(Ledger.name, EmailQueue.name, Ledger.communication)
		.where(
			(Ledger.email_campaign == email_campaign)
			& Ledger.status.isin((statuses.QUEUED, statuses.WAITING))
			& (EmailQueue.status == "Not Sent")
		)
		.for_update()
		.run()
	)
	if not rows:
		return 0
	ledger_rows, queued, communications = ([row[i] for row in rows] for i in range(3))
	communications = [name for name in communications if name]
	frappe.db.delete("Email Queue Recipient", {"parent": ("in", queued)})
	frappe.db.delete("Email Queue", {"name": ("in", queued)})
	if communications:
		frappe.db.delete("Communication Link", {"parent": ("in", communications)})
		frappe.db.delete("Communication", {"name": ("in", communications)})
	frappe.db.delete(LEDGER, {"name": ("in", ledger_rows)})
	return len(rows)


def send_dates(doc) -> dict[int, date]:
	"""The real date of each schedule day: the one it was sent for, or for what is not sent yet
	its own date or, when that has passed, the day the daily job catches it up (one schedule
	day per sending day)."""
	steps = schedule.in_schedule_order(doc.get_steps())
	done, sent_today = steps_done(doc.name)
	recipients = count_recipients(doc)
	left = [step.send_after_days for step in steps if done.get(step, (0, None))[0] < recipients]
	dates = {step.send_after_days: done[step][1] for step in steps if step in done and done[step][1]}
	return dates | catch_up_dates(
		doc.get_calendar(), getdate(doc.start_date), left, getdate(today()), sent_today
	)


def steps_done(email_campaign: str) -> tuple[dict[schedule.Step, tuple[int, date | None]], bool]:
	"""How many recipients each step went to (or was skipped for) and the date it was sent for,
	and whether any email went today."""
	Ledger = frappe.qb.DocType(LEDGER)
	rows = (
		frappe.qb.from_(Ledger)
		.select(
			Ledger.email_template,
			Ledger.send_after_days,
			Count("*"),
			Min(Ledger.send_date),
			Max(Ledger.queued_on),
		)
		.where((Ledger.email_campaign == email_campaign) & (Ledger.status != statuses.ERROR))
		.groupby(Ledger.email_template, Ledger.send_after_days)
		.run()
	)
	done = {
		schedule.Step(email_template, send_after_days or 0): (
			count,
			getdate(send_date) if send_date else None,
		)
		for email_template, send_after_days, count, send_date, _queued_on in rows
	}
	return done, any(queued_on and getdate(queued_on) == getdate(today()) for *_, queued_on in rows)


def count_recipients(doc) -> int:
	if doc.email_campaign_for != "Email Group":
		return 1
	return frappe.db.count("Email Group Member", {"email_group": doc.recipient, "unsubscribed": 0})
