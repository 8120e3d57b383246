"""Conditional schedule rows: send a step only if the recipient did (or did not) open, click or
reply to an earlier step of the same Campaign. This module never imports frappe.

A row's condition is on an earlier step, named by its Step (template and day, as the ledger
keys it), or by default on "the previous step": the last row, in the schedule's order, of the
closest earlier day (a branch on the previous day: name the step, or the last branch is used).
Conditions sit beside the steps (a mapping Step -> Condition), not in Step: a Step is what the
ledger, the send key and the planner's sets compare, and a Step read from the ledger has no
condition.

The planner's `schedule.plan` finds what is due as it always did; `decide` then sorts the due
sends into those that go, those skipped for good (the shell writes a Skipped ledger row, so the
plan never offers them again) and those that wait for the earlier email to settle. What the
earlier email became decides first, whatever the condition:

- delivered (its ledger row is Sent, or it was opened, clicked or replied to: that proves it
  arrived): the condition is tested on its facts. Two rows with opposite conditions on it
  (clicked / not clicked) make a branch: exactly one of them goes.
- still on its way (Queued or Waiting, with no engagement yet): the send waits, neither sent
  nor skipped, and is decided again on a later run. Until then the recipient's later days wait
  too, as they wait for any step not done.
- not delivered (Skipped, Failed, Bounced, May Have Been Sent, Error, or no ledger row): every
  condition but `always` is not met, the negative ones too ("did not click" an email never
  received would be a follow-up to nothing): the send is skipped with NOT_DELIVERED, and both
  rows of a branch are skipped. A May Have Been Sent email counts as not delivered: waiting
  for a user to settle it could hold the recipient's sequence for ever.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import NamedTuple

from email_campaign_app.core.schedule import Send, Step
from email_campaign_app.core.statuses import QUEUED, SENT, WAITING

ALWAYS = "always"
OPENED, NOT_OPENED = "opened", "not_opened"
CLICKED, NOT_CLICKED = "clicked", "not_clicked"
REPLIED, NOT_REPLIED = "replied", "not_replied"
# each condition: the fact it reads, and the value that meets it
TESTS = {
	OPENED: ("opened", True),
	NOT_OPENED: ("opened", False),
	CLICKED: ("clicked", True),
	NOT_CLICKED: ("clicked", False),
	REPLIED: ("replied", True),
	NOT_REPLIED: ("replied", False),
}
CONDITIONS = (ALWAYS, *TESTS)
OPPOSITE = {
	OPENED: NOT_OPENED,
	NOT_OPENED: OPENED,
	CLICKED: NOT_CLICKED,
	NOT_CLICKED: CLICKED,
	REPLIED: NOT_REPLIED,
	NOT_REPLIED: REPLIED,
}

# why a due send is skipped or waits (the shell translates them)
NOT_MET = "condition_not_met"
NOT_DELIVERED = "earlier_step_not_delivered"
PENDING = "earlier_step_on_its_way"
INVALID = "condition_invalid"  # a stored schedule that validation would refuse

# what the earlier email became
DELIVERED, ON_ITS_WAY, UNDELIVERED = "delivered", "on its way", "not delivered"


class ScheduleRow(NamedTuple):
	"""A schedule row as the Campaign holds it: its step, its condition, and the step the
	condition is on (None: the previous step)."""

	step: Step
	condition: str = ALWAYS
	on: Step | None = None


class Condition(NamedTuple):
	"""A row's condition with the step it is on resolved (None: it could not be)."""

	kind: str
	on: Step | None


class StepFacts(NamedTuple):
	"""What the ledger holds about one email (one step, one recipient): its status, and whether
	it was opened, clicked or replied to."""

	status: str
	opened: bool = False
	clicked: bool = False
	replied: bool = False


def fact_key(email_campaign: str, step: Step, email: str) -> tuple[str, Step, str]:
	"""How `decide` finds an email's facts: per Email Campaign, step and address (any case)."""
	return (email_campaign, step, email.strip().lower())


def delivery_of(facts: StepFacts | None) -> str:
	if facts is None:
		return UNDELIVERED
	if facts.opened or facts.clicked or facts.replied or facts.status == SENT:
		return DELIVERED
	return ON_ITS_WAY if facts.status in (QUEUED, WAITING) else UNDELIVERED


def is_met(kind: str, facts: StepFacts) -> bool:
	fact, wanted = TESTS[kind]
	return getattr(facts, fact) == wanted


@dataclass
class Decisions:
	go: list[Send] = field(default_factory=list)
	skipped: list[tuple[Send, str]] = field(default_factory=list)  # final, with the reason
	waiting: list[tuple[Send, str]] = field(default_factory=list)  # decided again on a later run


def decide(
	sends: Iterable[Send],
	conditions: Mapping[str, Mapping[Step, Condition]],
	facts: Mapping[tuple[str, Step, str], StepFacts],
) -> Decisions:
	"""Which due sends go, which are skipped for good and which wait, in the plan's order.

	`conditions`: per Email Campaign, its Campaign's conditional steps (`resolve`); a step
	without one goes. `facts`: what the ledger holds, by `fact_key`. One look-up per send."""
	decisions = Decisions()
	for send in sends:
		condition = conditions.get(send.email_campaign, {}).get(send.step)
		earlier = None
		if condition and condition.on:
			earlier = facts.get(fact_key(send.email_campaign, condition.on, send.recipient.email))
		reason = verdict(condition, earlier)
		if reason is None:
			decisions.go.append(send)
		elif reason in (PENDING, INVALID):
			decisions.waiting.append((send, reason))
		else:
			decisions.skipped.append((send, reason))
	return decisions


def verdict(condition: Condition | None, earlier: StepFacts | None) -> str | None:
	"""None when the send goes, else why not: PENDING or INVALID (it waits), NOT_DELIVERED or
	NOT_MET (it is skipped)."""
	if condition is None or condition.kind == ALWAYS:
		return None
	if condition.on is None or condition.kind not in TESTS:
		return INVALID
	delivery = delivery_of(earlier)
	if delivery == ON_ITS_WAY:
		return PENDING
	if delivery == UNDELIVERED:
		return NOT_DELIVERED
	return None if is_met(condition.kind, earlier) else NOT_MET


# what validation says about a row (the shell translates them)
UNKNOWN_CONDITION = "unknown_condition"
NO_EARLIER_STEP = "no_earlier_step"  # on the previous step, on the schedule's first day
MISSING_STEP = "missing_step"  # on a step the schedule does not have
NOT_EARLIER = "not_earlier"  # on itself, or on a step of the same or a later day
REPLIED_STOPS = "replied_with_stop_on_reply"  # whoever replied gets nothing more: never met
# warnings
OPENS_ARE_APPROXIMATE = "opens_are_approximate"  # image proxies open emails, privacy features hide opens
PREVIOUS_DAY_BRANCHES = "previous_day_branches"  # "the previous step" is the last of several rows


class Problem(NamedTuple):
	row: int  # from 1, in the order the rows were given: the form's row number
	code: str


def rows_of_previous_day(rows: Sequence[ScheduleRow]) -> dict[int, list[Step]]:
	"""For each day of the schedule, the steps of the closest earlier day (in the rows' order)."""
	by_day: dict[int, list[Step]] = {}
	for row in rows:
		by_day.setdefault(row.step.send_after_days, []).append(row.step)
	days = sorted(by_day)
	previous = {days[0]: []} if days else {}
	for earlier, day in pairwise(days):
		previous[day] = by_day[earlier]
	return previous


def step_referenced(row: ScheduleRow, previous_day: Mapping[int, list[Step]]) -> Step | None:
	if row.on is not None:
		return row.on
	steps = previous_day.get(row.step.send_after_days)
	return steps[-1] if steps else None


def reference_problem(row: ScheduleRow, on: Step | None, steps: set[Step]) -> str | None:
	if on is None:
		return NO_EARLIER_STEP
	if on not in steps:
		return MISSING_STEP
	return NOT_EARLIER if on.send_after_days >= row.step.send_after_days else None


def resolve(rows: Sequence[ScheduleRow]) -> dict[Step, Condition]:
	"""A schedule's conditional steps (rows in the schedule's order), each with the step it is
	on. A condition validation would refuse resolves to `on=None`: its sends wait (INVALID)
	rather than go or be skipped on a schedule nobody meant."""
	previous_day, steps = rows_of_previous_day(rows), {row.step for row in rows}
	resolved = {}
	for row in rows:
		if row.condition == ALWAYS:
			continue
		on = step_referenced(row, previous_day)
		valid = row.condition in TESTS and reference_problem(row, on, steps) is None
		resolved[row.step] = Condition(row.condition, on if valid else None)
	return resolved


def validate(rows: Sequence[ScheduleRow], stop_on_reply: bool = False) -> tuple[list[Problem], list[Problem]]:
	"""What the Campaign form refuses (errors) and what it tells (warnings) about conditions."""
	previous_day, steps = rows_of_previous_day(rows), {row.step for row in rows}
	errors, warnings = [], []
	for number, row in enumerate(rows, start=1):
		if row.condition == ALWAYS:
			continue
		if row.condition not in TESTS:
			errors.append(Problem(number, UNKNOWN_CONDITION))
			continue
		if problem := reference_problem(row, step_referenced(row, previous_day), steps):
			errors.append(Problem(number, problem))
		if row.condition == REPLIED and stop_on_reply:
			errors.append(Problem(number, REPLIED_STOPS))
		if row.condition in (OPENED, NOT_OPENED):
			warnings.append(Problem(number, OPENS_ARE_APPROXIMATE))
		if row.on is None and len(previous_day.get(row.step.send_after_days, ())) > 1:
			warnings.append(Problem(number, PREVIOUS_DAY_BRANCHES))
	return errors, warnings
