"""Which days a Campaign's "send after" counts, on plain values: every day, or business days.

A Campaign that counts in business days sends only on the weekdays it chose (Monday to Friday
by default): "send after 3 days" is the third sending day after the first one, and a start on
another day leaves on the next sending day. A pause that shifts the remaining schedule adds
its paused (sending) days to every step. This module never imports frappe.
"""

from collections.abc import Iterable
from datetime import date, timedelta
from typing import NamedTuple

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
ALL_WEEK = frozenset(range(7))
MONDAY_TO_FRIDAY = frozenset(range(5))


class Calendar(NamedTuple):
	"""The days an Email Campaign's schedule counts, and the schedule days a pause shifted it by.

	`weekdays` are date.weekday() numbers (Monday is 0)."""

	weekdays: frozenset[int] = ALL_WEEK
	shift: int = 0

	@property
	def every_day(self) -> bool:
		return self.weekdays == ALL_WEEK

	def send_date(self, start_date: date, send_after_days: int) -> date:
		"""The date of schedule day `send_after_days` for a schedule starting on `start_date`."""
		days = send_after_days + self.shift
		if self.every_day:
			return start_date + timedelta(days=days)
		return add_sending_days(next_sending_day(start_date, self.weekdays), days, self.weekdays)

	def days_elapsed(self, start_date: date, today: date) -> int:
		"""The schedule day `today` is: a step is due when its "send after" is at most this.

		Negative before the first sending day. send_date(start, n) <= today exactly when
		n <= days_elapsed(start, today)."""
		if self.every_day:
			return (today - start_date).days - self.shift
		first = next_sending_day(start_date, self.weekdays)
		if today < first:
			return -1 - self.shift
		return count_sending_days(first, today, self.weekdays) - self.shift

	def days_between(self, earlier: date, later: date) -> int:
		"""The schedule days from `earlier` to `later`: what a pause over them shifts by."""
		if later <= earlier:
			return 0
		if self.every_day:
			return (later - earlier).days
		return count_sending_days(earlier, later, self.weekdays)

	def shifted(self, days: int) -> "Calendar":
		return self._replace(shift=self.shift + days)

	def sends_on(self, day: date) -> bool:
		return day.weekday() in self.weekdays

	def next_sending_day(self, day: date) -> date:
		return next_sending_day(day, self.weekdays)


def catch_up_dates(
	calendar: Calendar, start_date: date, days_left: Iterable[int], today: date, sent_today: bool = False
) -> dict[int, date]:
	"""When the schedule days not sent yet go, from `today` on: each on its own date, or, when
	that has passed, on the sending day after the previous one (the first one today, unless an
	email already went today): the daily job sends one schedule day per sending day while it
	catches up."""
	earliest = calendar.next_sending_day(today + timedelta(days=1) if sent_today else today)
	dates = {}
	for day in sorted(set(days_left)):
		when = max(calendar.send_date(start_date, day), earliest)
		dates[day] = when
		earliest = calendar.next_sending_day(when + timedelta(days=1))
	return dates


EVERY_DAY = Calendar()


def calendar_for(business_days: bool, weekdays: Iterable[int] = MONDAY_TO_FRIDAY, shift: int = 0) -> Calendar:
	"""A Campaign's calendar; ValueError when business days are on and no weekday is chosen."""
	if not business_days:
		return Calendar(ALL_WEEK, shift)
	chosen = frozenset(weekdays)
	if not chosen:
		raise ValueError("no sending day")
	if not chosen <= ALL_WEEK:
		raise ValueError(f"not weekdays: {sorted(chosen - ALL_WEEK)}")
	return Calendar(chosen, shift)


def next_sending_day(day: date, weekdays: frozenset[int]) -> date:
	"""`day` itself when it is a sending day, else the next one."""
	if not weekdays:
		raise ValueError("no sending day")
	while day.weekday() not in weekdays:
		day += timedelta(days=1)
	return day


def add_sending_days(day: date, days: int, weekdays: frozenset[int]) -> date:
	"""The `days`-th sending day after `day` (itself a sending day), whole weeks at once."""
	if days < 0:
		raise ValueError("days must be 0 or more")
	weeks, rest = divmod(days, len(weekdays))
	day += timedelta(weeks=weeks)
	for _ in range(rest):
		day = next_sending_day(day + timedelta(days=1), weekdays)
	return day


def count_sending_days(earlier: date, later: date, weekdays: frozenset[int]) -> int:
	"""The sending days after `earlier`, up to and including `later`."""
	if later <= earlier:
		return 0
	weeks, rest = divmod((later - earlier).days, 7)
	count = weeks * len(weekdays)
	first_weekday = (earlier + timedelta(weeks=weeks)).weekday()
	return count + sum(1 for offset in range(1, rest + 1) if (first_weekday + offset) % 7 in weekdays)
