"""Which of the emails due now may leave now, on plain values: their order, each mailbox's
sending limits and each address's cap across campaigns. This module never imports frappe.

What does not fit waits (it is never dropped): the dispatcher asks again on its next run.
"""

from collections import Counter
from collections.abc import Callable, Iterable
from datetime import date, timedelta
from typing import NamedTuple

from email_campaign_app.core.schedule import Send

MINUTE, HOUR = 60, 3600


class Limits(NamedTuple):
	"""A mailbox's sending limits; 0 or None means no limit. A day runs from midnight."""

	per_minute: int | None = None
	per_hour: int | None = None
	per_day: int | None = None

	def __bool__(self) -> bool:
		return any(self)


class Usage(NamedTuple):
	"""Emails sent (or on their way) in the last 60 s, the last hour and since midnight."""

	last_minute: int = 0
	last_hour: int = 0
	today: int = 0


def room(limits: Limits, usage: Usage) -> int | None:
	"""How many more emails may leave now; None when nothing limits them."""
	left = [limit - used for limit, used in zip(limits, usage, strict=True) if limit]
	return max(0, min(left)) if left else None


def held_for_the_day(limits: Limits, usage: Usage) -> bool:
	"""The day's limit is reached: what waits leaves tomorrow, not in a minute."""
	return bool(limits.per_day) and usage.today >= limits.per_day


def in_release_order(sends: Iterable[Send], send_at_of: Callable[[str], str]) -> list[Send]:
	"""Oldest send date first, then the earliest Send At, then the earliest step."""
	return sorted(
		sends,
		key=lambda send: (
			send.send_date,
			send_at_of(send.email_campaign),
			send.step.send_after_days,
			send.step.email_template,
			send.email_campaign,
		),
	)


class Caps(NamedTuple):
	"""At most so many campaign emails per address per day and per 7 days; 0 or None: no cap."""

	per_day: int | None = None
	per_week: int | None = None


def within_caps(
	sends: list[Send], today_counts: Counter, week_counts: Counter, caps: Caps
) -> tuple[list[Send], list[Send]]:
	"""(those that fit, those that wait for a later day), in the order given. The counts are
	each address's campaign emails today and in the last 7 days (lower-case addresses)."""
	if not any(caps):
		return list(sends), []
	today_counts, week_counts = Counter(today_counts), Counter(week_counts)
	fit, wait = [], []
	for send in sends:
		address = send.recipient.email.strip().lower()
		if (caps.per_day and today_counts[address] >= caps.per_day) or (
			caps.per_week and week_counts[address] >= caps.per_week
		):
			wait.append(send)
			continue
		today_counts[address] += 1
		week_counts[address] += 1
		fit.append(send)
	return fit, wait


def week_start(today: date) -> date:
	"""The first day of the 7 days a weekly cap counts (today included)."""
	return today - timedelta(days=6)


# What the providers publish for one mailbox (Google Workspace: 2,000 messages a day per user;
# Microsoft 365: 30 messages a minute and 10,000 recipients a day)
PRESETS = {
	"Google Workspace": Limits(per_day=2000),
	"Microsoft 365": Limits(per_minute=30, per_day=10000),
}
