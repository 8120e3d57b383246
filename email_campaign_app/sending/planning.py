"""Finding what is due now across all Email Campaigns, and handing it over.

Set-based: a fixed number of queries whatever the number of Email Campaigns, then the core
(`schedule.plan`) decides what is due, and releasing.py what may leave now. The dispatcher
(dispatcher.py) runs this every minute; an Email Campaign with nothing more to send today is
marked and left alone until tomorrow, or until it changes.
"""

import frappe
from frappe import _
from frappe.query_builder.functions import Coalesce
from frappe.utils import getdate, now_datetime

from email_campaign_app import utils
from email_campaign_app.core import conditions, schedule, statuses
from email_campaign_app.core.sending_days import EVERY_DAY
from email_campaign_app.sending import ab_testing, branching, email_links, recipients, releasing
from email_campaign_app.sending.calendars import get_calendars
from email_campaign_app.sending.ledger import LEDGER


def queue_due_emails(email_campaigns: list[str] | None = None, now=None) -> releasing.Release:
	"""Release every email due now: those whose day has come and whose Send At has passed
	(`email_campaigns`: those Email Campaigns' emails due today, whatever their Send At)."""
	now = now or now_datetime()
	if problem := email_links.public_address_problem():
		email_links.log_public_address_problem(problem)
		return releasing.Release([], {}, set(), set(), {}, {})  # nothing leaves: its links would lead nowhere
	unreachable: dict[str, str] = {}
	due = plan_due_emails(email_campaigns, unreachable, now)
	mark_finished(due.finished)
	for email_campaign, problem in unreachable.items():
		report_unreachable(email_campaign, problem)
	branching.write_skipped(due.skipped, due.conditions_of)  # a condition not met: no limit's place
	branching.report_invalid(due.waiting)
	chosen = releasing.choose(due.sends, now)
	for send, decide_at in due.awaiting_winner:  # the Desk says why they wait
		releasing.hold(chosen.waiting, [send], ab_testing.waiting_reason(decide_at))
	# looked at again next minute: what was released (until its rows are written), what waits (a
	# limit, the email a condition is on, an A/B decision), what cannot be sent yet
	again = {send.email_campaign for send in chosen.sends} | chosen.later_today | set(unreachable)
	again |= branching.hold_waiting(chosen.waiting, due.waiting, due.conditions_of)
	again |= ab_testing.look_again(due.awaiting_winner, now)
	mark_dispatched(set(due.candidates) - again, getdate(now))
	releasing.remember_waiting(due.candidates, chosen.waiting)
	frappe.db.commit()
	releasing.hand_over(chosen)
	return chosen


def plan_due_emails(
	email_campaigns: list[str] | None = None, unreachable: dict | None = None, now=None
) -> branching.Decided:
	"""Six queries whatever the number of Email Campaigns: the Email Campaigns with their Lead
	or Contact, the Email Group members, the schedules, the Campaigns counting business days,
	the recipients who replied, the ledger (with what each email became: the facts conditions
	read); then the core decides what is due, which conditional rows go, and A/B variants (one
	query more for their state when a candidate's Campaign has some, one per decision taken).

	Email Campaigns whose Lead or Contact is gone or has no email go into `unreachable`."""
	now = now or now_datetime()
	today = getdate(now)
	EmailCampaign = frappe.qb.DocType("Email Campaign")
	candidate = running_on(EmailCampaign, today)
	if email_campaigns is not None:
		candidate &= EmailCampaign.name.isin(email_campaigns or [""])
	else:  # the dispatcher: those whose Send At has come and that may have more to send today
		send_at = Coalesce(EmailCampaign.send_at, releasing.DEFAULT_SEND_AT)
		candidate &= (send_at <= now.strftime("%H:%M")) & not_dispatched_on(EmailCampaign, today)
	conditions_of: dict = {}  # Email Campaign: its Campaign's conditional steps
	tests_of: dict = {}  # Email Campaign: (its Campaign, its steps' A/B tests)
	candidates = get_candidates(
		EmailCampaign, candidate, {} if unreachable is None else unreachable, conditions_of, tests_of
	)
	candidates = without_replied(candidates, EmailCampaign, candidate)  # stop on reply
	entries, facts = get_ledger(EmailCampaign, candidate, today, conditions_of)
	decided = branching.decide(schedule.plan(candidates, entries, today), conditions_of, facts)
	return ab_testing.assign(decided, candidates, tests_of, now)


def running_on(EmailCampaign, today):
	"""Email Campaigns that may send on `today`: started, not Unsubscribed, Paused nor Replied,
	with steps left."""
	return (
		(EmailCampaign.start_date <= today)
		& EmailCampaign.status.notin(schedule.KEPT_STATUSES)
		& (EmailCampaign.all_steps_sent == 0)
	)


def not_dispatched_on(EmailCampaign, today):
	return EmailCampaign.dispatched_on.isnull() | (EmailCampaign.dispatched_on != today)


def get_candidates(
	EmailCampaign, candidate, unreachable: dict, conditions_of: dict, tests_of: dict
) -> list[schedule.Candidate]:
	"""Every Email Campaign that may have something to send today, with its steps and recipients
	(and in `conditions_of` and `tests_of`, its Campaign's conditional steps and A/B tests)."""
	rows = get_email_campaigns_with_people(EmailCampaign, candidate)
	members = get_email_group_members(EmailCampaign, candidate)
	steps, conditional, tests = branching.get_schedules({row[1] for row in rows})
	calendars = get_calendars({row[1] for row in rows})  # business days
	candidates = []
	for row in rows:
		name, campaign_name, email_campaign_for, recipient, start_date, person, email, unsubscribed, shift = (
			row
		)
		if campaign_name in conditional:
			conditions_of[name] = conditional[campaign_name]  # shared, not copied
		if campaign_name in tests:
			tests_of[name] = (campaign_name, tests[campaign_name])
		recipients = ()
		if email_campaign_for == "Email Group":
			recipients = members.get(name, ())
		elif not person:
			unreachable[name] = _("{0} {1} no longer exists.").format(_(email_campaign_for), recipient)
		elif unsubscribed:
			pass  # they chose to receive nothing
		elif not email:
			unreachable[name] = _("{0} {1} has no email address. Set its email address first.").format(
				_(email_campaign_for), recipient
			)
		else:
			recipients = (schedule.Recipient(email.strip(), email_campaign_for, recipient),)
		candidates.append(
			schedule.Candidate(
				name,
				getdate(start_date),
				tuple(steps.get(campaign_name, ())),
				tuple(recipients),
				calendars.get(campaign_name, EVERY_DAY).shifted(shift or 0),
			)
		)
	return candidates


def get_email_campaigns_with_people(EmailCampaign, candidate):
	"""(name, campaign, for, recipient, start date, and the Lead's, Contact's or CRM Lead's
	name, email and unsubscribed flag; the three are None for an Email Group or a deleted
	recipient; the days pauses shifted it by)."""
	query, (names, emails, unsubscribed) = recipients.join_people(
		frappe.qb.from_(EmailCampaign), EmailCampaign
	)
	return (
		query.select(
			EmailCampaign.name,
			EmailCampaign.campaign_name,
			EmailCampaign.email_campaign_for,
			EmailCampaign.recipient,
			EmailCampaign.start_date,
			Coalesce(*names),
			Coalesce(*emails),
			Coalesce(*unsubscribed),
			EmailCampaign.shifted_days,
		)
		.where(candidate)
		.orderby(EmailCampaign.start_date)
		.orderby(EmailCampaign.name)
		.run()
	)


def get_email_group_members(EmailCampaign, candidate) -> dict[str, list[schedule.Recipient]]:
	Member = frappe.qb.DocType("Email Group Member")
	rows = (
		frappe.qb.from_(EmailCampaign)
		.join(Member)
		.on(
			(EmailCampaign.email_campaign_for == "Email Group")
			& (Member.email_group == EmailCampaign.recipient)
		)
		.select(EmailCampaign.name, Member.email)
		.where(candidate & (Member.unsubscribed == 0) & Member.email.isnotnull() & (Member.email != ""))
		.orderby(Member.creation)
		.run()
	)
	members: dict[str, list[schedule.Recipient]] = {}
	for email_campaign, email in rows:
		members.setdefault(email_campaign, []).append(schedule.Recipient(email.strip()))
	return members


def get_ledger(
	EmailCampaign, candidate, today, conditions_of: dict
) -> tuple[list[schedule.LedgerEntry], dict]:
	"""The candidates' ledger rows that need no more sending today (a row in Error is retried
	on the day after its attempt), and the facts of the emails of the Email Campaigns in
	`conditions_of` (status, opened: its Communication read, clicked, replied to), read in the
	same query (the Communication joined only when some Campaign has conditions)."""
	Ledger = frappe.qb.DocType(LEDGER)
	query = frappe.qb.from_(Ledger).join(EmailCampaign).on(Ledger.email_campaign == EmailCampaign.name)
	query, fact_columns = branching.with_facts(query, Ledger, conditions_of) if conditions_of else (query, ())
	rows = (
		query.select(
			Ledger.email_campaign,
			Ledger.email_template,
			Ledger.send_after_days,
			Ledger.recipient_email,
			(Ledger.queued_on == today).as_("queued_today"),  # an int is cheaper to read than a date
			*fact_columns,
		)
		.where(candidate & ((Ledger.status != statuses.ERROR) | (Ledger.queued_on == today)))
		.run()
	)
	entries, facts = [], {}
	for email_campaign, email_template, send_after_days, email, queued_today, *fact in rows:
		step = schedule.Step(email_template, send_after_days or 0)
		entries.append(schedule.LedgerEntry(email_campaign, step, email, bool(queued_today)))
		if fact and email_campaign in conditions_of and (of := branching.facts_of(*fact)):
			facts[conditions.fact_key(email_campaign, step, email)] = of
	return entries, facts


def report_unreachable(email_campaign: str, problem: str):
	"""Say once a day, in the Error Log and on the Email Campaign, why nothing can be sent."""
	message = _("Nothing can be sent today: {0}").format(problem)
	utils.report_once_a_day(
		_("Email Campaign {0}: {1}").format(email_campaign, problem),
		message,
		"Email Campaign",
		email_campaign,
		comment=True,
	)


def mark_dispatched(email_campaigns: set[str], today):
	"""Nothing more leaves today for these (nothing was due, or what waits waits for tomorrow):
	the dispatcher leaves them alone until tomorrow, or until a save, a resume or a retry."""
	if email_campaigns:
		EmailCampaign = frappe.qb.DocType("Email Campaign")
		frappe.qb.update(EmailCampaign).set(EmailCampaign.dispatched_on, today).where(
			EmailCampaign.name.isin(list(email_campaigns))
		).run()


def mark_finished(email_campaigns: list[str]):
	if email_campaigns:
		EmailCampaign = frappe.qb.DocType("Email Campaign")
		frappe.qb.update(EmailCampaign).set(EmailCampaign.all_steps_sent, 1).where(
			EmailCampaign.name.isin(email_campaigns)
		).run()


def without_replied(
	candidates: list[schedule.Candidate], EmailCampaign, candidate
) -> list[schedule.Candidate]:
	"""The planner's candidates without the recipients who replied to a Campaign that stops on
	reply (one query: the replies among the candidates' ledger rows; see engagement/replies.py)."""
	Ledger = frappe.qb.DocType(LEDGER)
	Campaign = frappe.qb.DocType("Campaign")
	rows = (
		frappe.qb.from_(Ledger)
		.join(EmailCampaign)
		.on(Ledger.email_campaign == EmailCampaign.name)
		.join(Campaign)
		.on(Campaign.name == EmailCampaign.campaign_name)
		.select(Ledger.email_campaign, Ledger.recipient_email)
		.distinct()
		.where(candidate & Ledger.replied_on.isnotnull() & (Campaign.stop_on_reply == 1))
		.run()
	)
	if not rows:
		return candidates
	replied = {(name, email.strip().lower()) for name, email in rows}
	names = {name for name, _email in replied}
	return [
		c._replace(
			recipients=tuple(r for r in c.recipients if (c.name, r.email.strip().lower()) not in replied)
		)
		if c.name in names
		else c
		for c in candidates
	]


def update_statuses():
	"""Set every unfinished Email Campaign's status from its dates: one UPDATE per status; how
	many changed."""
	rows = frappe.get_all(
		"Email Campaign",
		filters={"status": ("not in", (schedule.COMPLETED, *schedule.KEPT_STATUSES))},
		fields=["name", "start_date", "end_date", "status"],
	)
	by_status: dict[str, list[str]] = {}
	for row in rows:
		status = schedule.status_on(
			getdate(row.start_date), getdate(row.end_date), getdate(now_datetime()), row.status
		)
		if status != row.status:
			by_status.setdefault(status, []).append(row.name)
	EmailCampaign = frappe.qb.DocType("Email Campaign")
	for status, names in by_status.items():
		frappe.qb.update(EmailCampaign).set(EmailCampaign.status, status).where(
			EmailCampaign.name.isin(names)
		).run()
	return sum(len(names) for names in by_status.values())
