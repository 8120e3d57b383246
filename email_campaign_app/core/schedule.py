"""Scheduling decisions of an Email Campaign, on plain values.

This module never imports frappe: the Frappe shell reads the database in bulk, asks these
functions what to do, and writes the result.
"""

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import NamedTuple

from email_campaign_app.core.sending_days import EVERY_DAY, Calendar
from email_campaign_app.core.statuses import (  # re-exported: schedule.PAUSED reads naturally
	COMPLETED,
	IN_PROGRESS,
	KEPT_STATUSES,
	PAUSED,
	REPLIED,
	SCHEDULED,
	UNSUBSCRIBED,
)

# Value types are NamedTuples: planning builds tens of thousands of them per run.


class Step(NamedTuple):
	"""One row of a Campaign's schedule: an Email Template sent N days after the start date."""

	email_template: str
	send_after_days: int

	def send_date(self, start_date: date, calendar: Calendar | None = None) -> date:
		return (calendar or EVERY_DAY).send_date(start_date, self.send_after_days)


class Recipient(NamedTuple):
	"""Who receives an Email Campaign's emails: a Lead, a Contact or one Email Group member."""

	email: str
	doctype: str | None = None
	name: str | None = None


class Send(NamedTuple):
	"""One email to queue: a schedule step for one recipient of one Email Campaign."""

	email_campaign: str
	step: Step
	recipient: Recipient
	send_date: date
	variant: str | None = None  # the Email Template it carries when its step has A/B variants
	in_test: bool = False  # one of its step's A/B test emails

	@property
	def key(self) -> str:
		return send_key(self.email_campaign, self.step, self.recipient.email)

	@property
	def email_template(self) -> str:
		return self.variant or self.step.email_template


def send_key(email_campaign: str, step: Step, email: str) -> str:
	"""The ledger's unique key: one email per Email Campaign, step and recipient address."""
	raw = f"{email_campaign}\x1f{step.send_after_days}\x1f{step.email_template}\x1f{email.strip().lower()}"
	return hashlib.sha256(raw.encode()).hexdigest()[:40]


def end_date(start_date: date, send_after_days: Iterable[int], calendar: Calendar | None = None) -> date:
	"""Start date + the largest "send after" day; ValueError when the schedule is empty."""
	days = list(send_after_days)
	if not days:
		raise ValueError("empty schedule")
	return (calendar or EVERY_DAY).send_date(start_date, max(days))


def status_on(start_date: date, end: date, today: date, current: str | None = None) -> str:
	"""The status an Email Campaign has on `today`; Unsubscribed, Paused and Replied are kept."""
	if current in KEPT_STATUSES:
		return current
	if today < start_date:
		return SCHEDULED
	if today <= end:
		return IN_PROGRESS
	return COMPLETED


def duplicate_steps(steps: Iterable[Step]) -> list[Step]:
	"""Steps that repeat an earlier one (same template on the same day), in schedule order."""
	seen, duplicates = set(), []
	for step in steps:
		if step in seen:
			duplicates.append(step)
		seen.add(step)
	return duplicates


def in_schedule_order(steps: Iterable[Step]) -> tuple[Step, ...]:
	return tuple(sorted(set(steps), key=lambda step: (step.send_after_days, step.email_template)))


def due_in_order(
	ordered: tuple[Step, ...], days_elapsed: int, done: set[Step], queued_today: bool
) -> list[Step]:
	"""The steps to send to one recipient today, of `ordered` (in schedule order).

	A step is due once its day has come (`days_elapsed`: schedule days since the start, -1 on a
	day that does not send) and it is not done yet. When days were missed, the recipient gets
	the earliest missed day's steps now and the later ones on later runs, one schedule day per
	calendar day (per sending day, for business days): the sequence keeps its order and never
	arrives as a burst. `queued_today` says this recipient was already queued an email of this
	campaign today."""
	first_day, earliest = None, []
	for step in ordered:
		if step.send_after_days > days_elapsed or (
			first_day is not None and step.send_after_days != first_day
		):
			break
		if step not in done:
			first_day = step.send_after_days
			earliest.append(step)
	if earliest and queued_today and not any(step.send_after_days == first_day for step in done):
		return []
	return earliest


class Candidate(NamedTuple):
	"""An Email Campaign that may have something to send, with what it needs to decide."""

	name: str
	start_date: date
	steps: tuple[Step, ...]
	recipients: tuple[Recipient, ...]
	calendar: Calendar = EVERY_DAY


class LedgerEntry(NamedTuple):
	"""A ledger row that needs no more sending: a step queued, sent or skipped for one address.

	Rows in Error are not entries: they are retried like emails never tried.
	"""

	email_campaign: str
	step: Step
	email: str
	queued_today: bool = False


@dataclass
class Plan:
	sends: list[Send]
	finished: list[str]
	candidates: list[str] = field(default_factory=list)  # every Email Campaign looked at


def plan(candidates: Iterable[Candidate], ledger: Iterable[LedgerEntry], today: date) -> Plan:
	"""Every email due today across all candidates, and the Email Campaigns with nothing left.

	An Email Campaign is finished when its last day has come and every recipient has every
	step done; for an Email Group, "every recipient" is the members subscribed today. One with
	no recipient today is never finished: an email address added later must still be served.
	"""
	done: dict[tuple[str, str], set[Step]] = {}
	queued_today: set[tuple[str, str]] = set()
	for entry in ledger:
		key = (entry.email_campaign, entry.email.strip().lower())
		done.setdefault(key, set()).add(entry.step)
		if entry.queued_today:
			queued_today.add(key)

	result = Plan(sends=[], finished=[])
	orders: dict[tuple[Step, ...], tuple[Step, ...]] = {}
	for candidate in candidates:
		result.candidates.append(candidate.name)
		ordered = orders.get(candidate.steps) or orders.setdefault(
			candidate.steps, in_schedule_order(candidate.steps)
		)
		days_elapsed = candidate.calendar.days_elapsed(candidate.start_date, today)
		due_through = days_elapsed if candidate.calendar.sends_on(today) else -1  # not a sending day
		# with nobody to write to (no email yet, everyone unsubscribed) it waits, never finished
		finished = bool(ordered and candidate.recipients) and ordered[-1].send_after_days <= days_elapsed
		for recipient in candidate.recipients:
			key = (candidate.name, recipient.email.strip().lower())
			recipient_done = done.get(key, set())
			for step in due_in_order(ordered, due_through, recipient_done, key in queued_today):
				result.sends.append(
					Send(
						candidate.name,
						step,
						recipient,
						step.send_date(candidate.start_date, candidate.calendar),
					)
				)
			finished = finished and recipient_done.issuperset(ordered)
		if finished:
			result.finished.append(candidate.name)
	return result


def batches(items: list, size: int) -> list[list]:
	"""Split a list into consecutive chunks of at most `size` items."""
	if size < 1:
		raise ValueError("batch size must be positive")
	return [items[i : i + size] for i in range(0, len(items), size)]
