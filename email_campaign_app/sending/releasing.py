"""Which of the emails due now leave now, and handing them over to be written and delivered.

The planner says what is due; here they are put in order (send date, Send At, step), held to
each address's cap across campaigns (Email Campaign Settings) and to each outgoing Email
Account's limits, its backoff and its stop (limits.py). What does not fit waits: nothing is
written for it, and the dispatcher asks again on its next run. What waits, and why, is kept
per Email Campaign and step for the Desk (`waiting_of`).
"""

import json
from collections import Counter
from typing import NamedTuple

import frappe
from frappe import _
from frappe.query_builder.functions import Count, Lower, Sum
from frappe.utils import cint, getdate, now_datetime
from pypika.terms import Case
from redis import Redis  # the plain commands: Frappe's wrapper pickles hash values

from email_campaign_app.core import release, schedule, statuses
from email_campaign_app.sending import batch, limits, senders
from email_campaign_app.sending.ledger import LEDGER

BATCH_SIZE = 2500  # emails per job: each job pays a fresh work horse (~0.6 s), so few, large jobs
DEFAULT_SEND_AT = "09:00"
COUNTED = (statuses.QUEUED, statuses.WAITING, *statuses.ACCEPTED)  # what a cap counts


class Release(NamedTuple):
	sends: list[schedule.Send]  # leaving now
	waiting: dict[str, Counter]  # Email Campaign: {(step, why): emails}
	later_today: set[str]  # Email Campaigns with emails that may leave later today
	held_accounts: set[str]  # the accounts those wait for
	grants: dict[str, limits.Grant]  # Email Account: the places its sends took
	by_account: dict[str, list[schedule.Send]]  # those leaving, by Email Account


def choose(sends: list[schedule.Send], now=None) -> Release:
	now = now or now_datetime()
	campaigns = email_campaign_rows({send.email_campaign for send in sends})
	ordered = release.in_release_order(sends, lambda name: campaigns[name].send_at or DEFAULT_SEND_AT)
	fit, over_cap = release.within_caps(ordered, *recipient_counts(getdate(now)), recipient_caps())
	waiting: dict[str, Counter] = {}
	hold(waiting, over_cap, _("the recipient's daily or weekly cap"))
	rows, accounts = limits.settings_rows(), {}
	for send in fit:
		accounts.setdefault(account_of(campaigns[send.email_campaign].sender), []).append(send)
	leaving, later_today, held_accounts, grants, by_account = [], set(), set(), {}, {}
	for account, group in accounts.items():
		row = rows.get(account)
		if row and row.sending_stopped:
			hold(waiting, group, _("Email Account {0} stopped sending").format(account))
			continue
		if account and limits.backoff_ends_at(account, now):
			hold(waiting, group, _("Email Account {0} slowing down at the server's request").format(account))
			later_today.update(send.email_campaign for send in group)
			held_accounts.add(account)
			continue
		taken = limits.grant(account, limits.limits_of(row), len(group), now)
		grants[account] = taken
		leaving += group[: taken.count]
		if taken.count:
			by_account[account] = group[: taken.count]
		if rest := group[taken.count :]:
			hold(waiting, rest, _("the sending limits of Email Account {0}").format(account))
			if not release.held_for_the_day(limits.limits_of(row), limits.usage(account, now)):
				later_today.update(send.email_campaign for send in rest)
				held_accounts.add(account)
	return Release(leaving, waiting, later_today, held_accounts, grants, by_account)


def hold(waiting: dict[str, Counter], sends: list[schedule.Send], why: str):
	for send in sends:
		waiting.setdefault(send.email_campaign, Counter())[(send.step, why)] += 1


def hand_over(chosen: Release):
	"""Unlimited accounts' emails go to workers in large batches; a limited account's are sent
	by this process when it is a job (its next places are counted from when they left)."""
	for account, sends in chosen.by_account.items():
		taken = chosen.grants.get(account)
		if taken and taken.id and (frappe.job or frappe.flags.in_test):
			batch.send_batch([batch.as_job_arg(send) for send in sends], grants=[taken])
			continue
		for part in schedule.batches(sends, BATCH_SIZE):
			batch.enqueue_batch(
				[batch.as_job_arg(send) for send in part],
				job_id="".join(send.key for send in part),
				grants=[taken] if taken and taken.id else None,
			)


def email_campaign_rows(names: set[str]) -> dict[str, frappe._dict]:
	if not names:
		return {}
	return {
		row.name: row
		for row in frappe.get_all(
			"Email Campaign",
			filters={"name": ("in", list(names))},
			fields=["name", "sender", "send_at", "campaign_name"],
		)
	}


def account_of(user: str) -> str | None:
	"""The outgoing Email Account that sends `user`'s campaign emails (None: the site config's)."""
	cache = frappe.local.flags.setdefault("email_campaign_accounts", {})  # per request or job
	if user not in cache:
		email = frappe.db.get_value("User", user, "email")
		account = senders.outgoing_account(email) if email else None
		cache[user] = account.name if account and account.is_exists_in_db() else None
	return cache[user]


def recipient_caps() -> release.Caps:
	values = frappe.db.get_values(
		"Email Campaign Settings",
		"Email Campaign Settings",
		["recipient_daily_cap", "recipient_weekly_cap"],
		as_dict=True,
	)
	row = values[0] if values else {}
	return release.Caps(cint(row.get("recipient_daily_cap")), cint(row.get("recipient_weekly_cap")))


def recipient_counts(today) -> tuple[Counter, Counter]:
	"""Campaign emails per address today and in the last 7 days (one query; none without caps)."""
	if not any(recipient_caps()):
		return Counter(), Counter()
	Ledger = frappe.qb.DocType(LEDGER)
	rows = (
		frappe.qb.from_(Ledger)
		.select(
			Lower(Ledger.recipient_email),
			Sum(Case().when(Ledger.queued_on == today, 1).else_(0)),
			Count("*"),
		)
		.where((Ledger.queued_on >= release.week_start(today)) & Ledger.status.isin(COUNTED))
		.groupby(Lower(Ledger.recipient_email))
		.run()
	)
	return Counter({row[0]: cint(row[1]) for row in rows}), Counter({row[0]: cint(row[2]) for row in rows})


# What waits, per Email Campaign and step, for the Desk (until the end of the day)


def waiting_key(campaign_name: str) -> bytes:
	return frappe.cache.make_key(f"email_campaign_app:waiting:{campaign_name}")


def remember_waiting(planned: list[str], waiting: dict[str, Counter]):
	"""For each Email Campaign planned, what waits now (its entry is removed when nothing does)."""
	campaigns = email_campaign_rows(set(planned))
	for name in planned:
		if name not in campaigns:
			continue
		key = waiting_key(campaigns[name].campaign_name)
		held = waiting.get(name)
		if held:
			value = [
				[step.email_template, step.send_after_days, why, count] for (step, why), count in held.items()
			]
			Redis.hset(frappe.cache, key, name, json.dumps(value))
			frappe.cache.expire(key, 24 * 3600)
		else:
			Redis.hdel(frappe.cache, key, name)


def waiting_of(campaign_name: str, email_campaign: str | None = None) -> list[list]:
	"""[email template, send after days, why, emails] that wait, for one Email Campaign or all
	of the Campaign's."""
	key = waiting_key(campaign_name)
	if email_campaign:
		values = [Redis.hget(frappe.cache, key, email_campaign)]
	else:
		values = Redis.hvals(frappe.cache, key)
	return [entry for value in values if value for entry in json.loads(value)]
