"""Each outgoing Email Account's sending limits and health, shared by every process of the site.

The emails an account sent are kept in a Redis sorted set, one member per email, scored by the
time it left: one count for all workers and jobs, which a grant reads and adds to atomically
(a Lua script), so that two dispatchers never both take the last free place. A grant's members
count as "leaving now" until the delivery that sent them settles them at the time it finished:
the next grant of a rolling minute then waits for the last email of the previous one, whatever
the delivery took. When Redis lost the set (a restart), it is rebuilt from the Email Queue.

An account the server asked to slow down (a 421, a 4.7.x) backs off for a while that grows with
each deferral in a row (Redis); one the server refused as a sender stops until a manager clears
it in Email Campaign Settings (the database: it must survive a restart).
"""

import calendar
import json
from datetime import datetime, timedelta
from typing import NamedTuple

import frappe
from frappe import _
from frappe.desk.doctype.notification_log.notification_log import enqueue_create_notification
from frappe.utils import add_to_date, escape_html, get_datetime, getdate, now_datetime

from email_campaign_app import utils
from email_campaign_app.core import failures
from email_campaign_app.core.release import HOUR, MINUTE, Limits, Usage
from email_campaign_app.permissions import SALES_MANAGER

SETTINGS = "Email Campaign Settings"
KEPT_SECONDS = 2 * 24 * 3600
EPOCH = datetime(1970, 1, 1)
PENDING_SECONDS = 600  # a grant nobody settled (its worker died) frees its places after this

GRANT = """
local key = KEYS[1]
local now, wanted = tonumber(ARGV[1]), tonumber(ARGV[2])
local limits = {{tonumber(ARGV[3]), '(' .. ARGV[6]}, {tonumber(ARGV[4]), '(' .. ARGV[7]}, {tonumber(ARGV[5]), ARGV[8]}}
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - tonumber(ARGV[11]))
local granted = wanted
for _, limit in ipairs(limits) do
  if limit[1] > 0 then
    granted = math.min(granted, limit[1] - redis.call('ZCOUNT', key, limit[2], ARGV[10]))
  end
end
if granted < 0 then granted = 0 end
for i = 1, granted do redis.call('ZADD', key, ARGV[10], ARGV[9] .. ':' .. i) end
redis.call('EXPIRE', key, ARGV[11])
return granted
"""

SETTLE = """
for i = 1, tonumber(ARGV[2]) do redis.call('ZADD', KEYS[1], 'XX', ARGV[1], ARGV[3] .. ':' .. i) end
return 1
"""


class Grant(NamedTuple):
	account: str
	id: str
	count: int


def stamp(moment: datetime) -> float:
	"""Seconds of the site's clock (naive datetimes in the site's time zone, as Frappe keeps them)."""
	return calendar.timegm(moment.timetuple()) + moment.microsecond / 1e6


def sent_key(account: str) -> bytes:
	return frappe.cache.make_key(f"email_campaign_app:sent:{account}")


def settings_rows() -> dict[str, frappe._dict]:
	"""Email Account: its row of Email Campaign Settings (limits, stopped)."""
	return {
		row.email_account: row
		for row in frappe.get_all(
			"Email Campaign Sending Limit",
			filters={"parenttype": SETTINGS, "parent": SETTINGS},
			fields=[
				"email_account",
				"per_minute",
				"per_hour",
				"per_day",
				"sending_stopped",
				"stopped_reason",
			],
		)
	}


def limits_of(row: frappe._dict | None) -> Limits:
	return Limits(row.per_minute, row.per_hour, row.per_day) if row else Limits()


def grant(account: str, limits: Limits, wanted: int, now: datetime | None = None) -> Grant:
	"""Take up to `wanted` places in the account's windows now; the places taken."""
	now = now or now_datetime()
	if not limits or wanted <= 0:
		return Grant(account, "", wanted if not limits else 0)
	seed_from_email_queue(account, now)
	grant_id = frappe.generate_hash(length=10)
	at = stamp(now)
	count = frappe.cache.register_script(GRANT)(
		keys=[sent_key(account)],
		args=[
			at, wanted, limits.per_minute or 0, limits.per_hour or 0, limits.per_day or 0,
			at - MINUTE, at - HOUR, stamp(get_datetime(getdate(now))),
			grant_id, at + PENDING_SECONDS, KEPT_SECONDS,
		],
	)  # fmt: skip
	return Grant(account, grant_id, int(count))


def take_one(account: str) -> Grant | bool | None:
	"""A place for one email sent outside the dispatcher (Frappe's flush): the grant, None when
	nothing limits the account, False when it may not send now."""
	row = settings_rows().get(account)
	if (row and row.sending_stopped) or backoff_ends_at(account):
		return False
	if not limits_of(row):
		return None
	taken = grant(account, limits_of(row), 1)
	return taken if taken.count else False


def settle(grants: list[Grant], finished: datetime | None = None):
	"""The grants' emails left by `finished`: they count from then on."""
	at = stamp(finished or now_datetime())
	script = frappe.cache.register_script(SETTLE)
	for taken in grants:
		if taken.id and taken.count:
			script(keys=[sent_key(taken.account)], args=[at, taken.count, taken.id])


def usage(account: str, now: datetime | None = None) -> Usage:
	"""Counted up to the grants still pending (a later time is another clock's: not counted)."""
	now = now or now_datetime()
	key, at = sent_key(account), stamp(now)
	until = at + PENDING_SECONDS
	return Usage(
		frappe.cache.zcount(key, f"({at - MINUTE}", until),
		frappe.cache.zcount(key, f"({at - HOUR}", until),
		frappe.cache.zcount(key, stamp(get_datetime(getdate(now))), until),
	)


def room_again_at(account: str, limits: Limits, now: datetime | None = None) -> datetime | None:
	"""When the first place frees in a full minute or hour window; None when the day is full
	(or nothing is): the next places then come tomorrow."""
	now = now or now_datetime()
	used = usage(account, now)
	if limits.per_day and used.today >= limits.per_day:
		return None
	key, at = sent_key(account), stamp(now)
	for limit, used_in_window, window in (
		(limits.per_minute, used.last_minute, MINUTE),
		(limits.per_hour, used.last_hour, HOUR),
	):
		if limit and used_in_window >= limit:
			oldest = frappe.cache.zrangebyscore(
				key, f"({at - window}", at + PENDING_SECONDS, start=0, num=1, withscores=True
			)
			if oldest:
				return now + timedelta(seconds=max(0.0, oldest[0][1] + window - at))
	return None


def seed_from_email_queue(account: str, now: datetime):
	"""After Redis lost the account's count: the campaign emails it sent today and in the last
	hour, from the Email Queue (once per two days, or after the next loss)."""
	seeded = frappe.cache.make_key(f"email_campaign_app:seeded:{account}")
	if frappe.cache.get(seeded):
		return
	since = min(get_datetime(getdate(now)), add_to_date(now, hours=-1))
	rows = frappe.db.sql(
		"""select name, modified from `tabEmail Queue`
		where email_account = %s and reference_doctype = 'Email Campaign' and status = 'Sent'
		and modified >= %s and modified <= %s""",
		(account, since, now),
	)
	if rows:
		frappe.cache.zadd(sent_key(account), {f"eq:{name}": stamp(modified) for name, modified in rows})
		frappe.cache.expire(sent_key(account), KEPT_SECONDS)
	frappe.cache.set(seeded, 1, ex=KEPT_SECONDS)


# The account's health: slowed down by the server (Redis), or stopped (the database)


def backoff_key(account: str) -> bytes:
	return frappe.cache.make_key(f"email_campaign_app:backoff:{account}")


def backoff_of(account: str) -> dict:
	value = frappe.cache.get(backoff_key(account))
	return json.loads(value) if value else {}


def slow_down(account: str, reason: str, now: datetime | None = None) -> datetime:
	"""The server deferred the account: it waits 1, 2, 4 … 60 minutes, longer at each
	deferral in a row (the count is forgotten two hours after the last one)."""
	now = now or now_datetime()
	in_a_row = backoff_of(account).get("in_a_row", 0) + 1
	until = now + timedelta(minutes=failures.backoff_minutes(in_a_row))
	state = {"in_a_row": in_a_row, "until": stamp(until), "reason": reason[:300]}
	frappe.cache.set(
		backoff_key(account), json.dumps(state), ex=int((until - now).total_seconds()) + 2 * HOUR
	)
	return until


def backoff_ends_at(account: str, now: datetime | None = None) -> datetime | None:
	"""When the account may send again after a deferral; None when it may now."""
	until = backoff_of(account).get("until")
	if until and until > stamp(now or now_datetime()):
		return EPOCH + timedelta(seconds=until)
	return None


def stop_sending(account: str, reason: str):
	"""The server refused the account as a sender: its campaign mail stops (what is due waits)
	until a manager clears Sending Stopped; the System and Sales Managers are told."""
	settings = frappe.get_single(SETTINGS)
	row = next((row for row in settings.sending_limits if row.email_account == account), None)
	if row and row.sending_stopped:
		return
	row = row or settings.append("sending_limits", {"email_account": account})
	row.sending_stopped, row.stopped_on, row.stopped_reason = 1, now_datetime(), reason[:1000]
	settings.flags.ignore_permissions = True
	settings.save()
	tell_managers(account, reason)


def tell_managers(account: str, reason: str):
	why = _(
		"The mail server refused Email Account {0} as a sender: {1}. Campaign emails from it wait. Fix the account (its password, its domain's SPF, DKIM and DMARC records, its right to send as the sender), then clear Sending Stopped in Email Campaign Settings."
	).format(escape_html(account), escape_html(reason))  # the notification is shown as HTML
	enqueue_create_notification(
		sorted(utils.emails_of_role_holders((SALES_MANAGER, "System Manager"))),
		{
			"type": "Alert",
			"document_type": SETTINGS,
			"document_name": SETTINGS,
			"subject": _("Campaign emails from {0} stopped: the mail server refused the account").format(
				escape_html(account)
			),
			"email_content": why,
		},
	)
	frappe.log_error(title=_("Campaign emails from {0} stopped").format(account), message=why)
