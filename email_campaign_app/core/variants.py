"""A/B variants of a schedule step. This module never imports frappe.

A step (an Email Template on a day) may have variants: other Email Templates on the same day,
each a row of the schedule marked "A/B Variant Of" the step's template. The step and its
variants are tested on a share of the step's recipients, split evenly among them; the others
wait. Once the decision delay has passed since the test's first email was written, the variant
with the best rate (opens, clicks or replies per email delivered) wins, and goes to every
recipient whose step comes after the decision. The test and its winner belong to the Campaign's
step: every Email Campaign of the Campaign shares them.

Who tests which variant is drawn, not stored: an Email Campaign's recipients are ranked by a
hash of (Email Campaign, step, address); the first `round(share x n)` test, and their rank,
turned by a hash of the Email Campaign, chooses the variant. A second run, a second worker or a
rerun after a crash draws the same recipients the same variants. The rounding is drawn too
(`floor(share x n + u)`, `u` from the Email Campaign's hash): a group of 200 at 20 % tests 40
exactly, and a Lead or Contact (one recipient) tests with a probability of 20 %.

The ledger keeps each email under its step (the send key, the conditions and the catch-up see
one step), with the variant it carried and whether it was part of the test.
"""

import hashlib
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple

from email_campaign_app.core.conditions import ALWAYS
from email_campaign_app.core.schedule import Send, Step

OPENS, CLICKS, REPLIES = "opens", "clicks", "replies"
RULES = (OPENS, CLICKS, REPLIES)
DEFAULT_SHARE, DEFAULT_RULE, DEFAULT_HOURS = 0.2, CLICKS, 24

# what validation refuses (the shell says it in the user's words)
NOT_A_STEP = "variant_of_missing_step"  # no row of that template on the same day
OF_A_VARIANT = "variant_of_a_variant"
OF_ITSELF = "variant_of_itself"
WITH_CONDITION = "variant_with_condition"  # a variant takes its step's condition
BAD_SHARE = "test_share_out_of_range"
BAD_HOURS = "decision_hours_too_few"
BAD_RULE = "unknown_winner_rule"


class Row(NamedTuple):
	"""A schedule row as the Campaign holds it, with what A/B testing reads."""

	step: Step
	variant_of: str | None = None  # the template of the step (same day) it is a variant of
	share: float = DEFAULT_SHARE  # of the step's recipients that test, 0 to 1 (on the step's row)
	rule: str = DEFAULT_RULE
	hours: int = DEFAULT_HOURS
	condition: str = ALWAYS


class ABTest(NamedTuple):
	"""One step's A/B test: its variants (the step's own template first), the share of its
	recipients that tests them, what decides the winner, and the hours before deciding."""

	variants: tuple[str, ...]
	share: float = DEFAULT_SHARE
	rule: str = DEFAULT_RULE
	hours: int = DEFAULT_HOURS


class State(NamedTuple):
	"""What is known of one Campaign step's test: when its first email was written, its winner."""

	started_at: datetime | None = None
	winner: str | None = None


class Figures(NamedTuple):
	"""One variant's test emails: delivered, and how many of those were opened, clicked, replied to."""

	delivered: int = 0
	opened: int = 0
	clicked: int = 0
	replied: int = 0

	def rate(self, rule: str) -> float:
		count = {OPENS: self.opened, CLICKS: self.clicked, REPLIES: self.replied}[rule]
		return count / self.delivered if self.delivered else 0.0


class Problem(NamedTuple):
	row: int  # 1-based, in the order given (the form's row number)
	code: str


def validate(rows: Sequence[Row]) -> list[Problem]:
	"""What is wrong with a schedule's variants, row by row (a step's test settings matter only
	when it has variants)."""
	steps = {row.step for row in rows if not row.variant_of}
	tested = {Step(row.variant_of, row.step.send_after_days) for row in rows if row.variant_of}
	problems = []
	for number, row in enumerate(rows, start=1):
		if row.variant_of:
			problems += [Problem(number, code) for code in variant_problems(row, rows, steps)]
		elif row.step not in tested:
			continue
		elif not 0 < row.share <= 1:
			problems.append(Problem(number, BAD_SHARE))
		elif row.hours < 1:
			problems.append(Problem(number, BAD_HOURS))
		elif row.rule not in RULES:
			problems.append(Problem(number, BAD_RULE))
	return problems


def variant_problems(row: Row, rows: Sequence[Row], steps: set[Step]) -> list[str]:
	of = Step(row.variant_of, row.step.send_after_days)
	if row.variant_of == row.step.email_template:
		return [OF_ITSELF]
	problems = []
	if of not in steps:
		is_variant = any(other.step == of and other.variant_of for other in rows)
		problems.append(OF_A_VARIANT if is_variant else NOT_A_STEP)
	if row.condition != ALWAYS:
		problems.append(WITH_CONDITION)
	return problems


def tests_of(rows: Iterable[Row]) -> dict[Step, ABTest]:
	"""The tests of a schedule's steps that have variants. A variant of a missing step is left
	out (validation names it)."""
	rows = list(rows)
	by_step = {row.step: row for row in rows if not row.variant_of}
	variants: dict[Step, list[str]] = {}
	for row in rows:
		of = Step(row.variant_of, row.step.send_after_days) if row.variant_of else None
		if of in by_step and row.step.email_template not in variants.get(of, [of.email_template]):
			variants.setdefault(of, [of.email_template]).append(row.step.email_template)
	tests = {
		step: ABTest(tuple(templates), by_step[step].share, by_step[step].rule, by_step[step].hours)
		for step, templates in variants.items()
	}
	return tests


def fraction(*parts: object) -> float:
	"""A number in [0, 1) drawn from `parts`, the same on every run."""
	raw = "\x1f".join(str(part) for part in parts).encode()
	return int.from_bytes(hashlib.sha256(raw).digest()[:8], "big") / 2**64


def draw(email_campaign: str, step: Step, emails: Iterable[str], test: ABTest) -> dict[str, str]:
	"""The recipients of one Email Campaign that test the step (lower-cased address: the variant
	it receives): the first floor(share x n + u) of them in hash order, the variants in turn."""
	ranked = sorted(
		{email.strip().lower() for email in emails},
		key=lambda email: fraction(email_campaign, step, email),
	)
	testing = math.floor(test.share * len(ranked) + fraction(email_campaign, step, "rounding"))
	turn = int(fraction(email_campaign, step, "turn") * len(test.variants))
	return {
		email: test.variants[(rank + turn) % len(test.variants)]
		for rank, email in enumerate(ranked[:testing])
	}


def decision_due(test: ABTest, state: State | None, now: datetime) -> bool:
	"""The test has started, has no winner, and its hours have passed."""
	return bool(
		state
		and state.started_at
		and not state.winner
		and now >= state.started_at + timedelta(hours=test.hours)
	)


def decide_at(test: ABTest, state: State | None) -> datetime | None:
	return state.started_at + timedelta(hours=test.hours) if state and state.started_at else None


def winner(test: ABTest, figures: Mapping[str, Figures]) -> str:
	"""The variant with the best rate by the test's rule; a tie (nothing delivered or engaged
	included) goes to the earlier variant, the step's own template first."""
	best = test.variants[0]
	for variant in test.variants[1:]:
		if figures.get(variant, Figures()).rate(test.rule) > figures.get(best, Figures()).rate(test.rule):
			best = variant
	return best


@dataclass
class Assignments:
	"""The due sends, sorted: those that go now (a send of a tested step carries its variant),
	and those that wait for their step's decision, with when it is due (None: the test has not
	started)."""

	go: list[Send] = field(default_factory=list)
	waiting: list[tuple[Send, datetime | None]] = field(default_factory=list)


def assign(
	sends: Iterable[Send],
	tests_of: Mapping[str, tuple[str, Mapping[Step, ABTest]]],
	states: Mapping[tuple[str, Step], State],
	recipients_of: Mapping[str, Sequence[str]],
) -> Assignments:
	"""`tests_of`: {Email Campaign: (its Campaign, its steps' tests)}; `states`: {(Campaign,
	step): State}; `recipients_of`: {Email Campaign: its recipients' addresses today} (the draw
	ranks them all, sent or not, so it does not change as emails leave).

	Before the decision, a recipient drawn to test gets their variant. The other members of an
	Email Group wait for the winner, unless nothing would start the test for them (no test email
	written yet for the step and none drawn in their group, too small for one): they get the
	step's own template then, rather than wait for ever. A Lead or Contact not drawn never
	waits: it gets the step's own template until the decision, the winner after it."""
	result, draws = Assignments(), {}
	for send in sends:
		campaign, tests = tests_of.get(send.email_campaign, (None, {}))
		test = tests.get(send.step)
		if not test:
			result.go.append(send)
			continue
		state = states.get((campaign, send.step)) or State()
		if state.winner:
			result.go.append(send._replace(variant=state.winner, in_test=False))
			continue
		key = (send.email_campaign, send.step)
		if key not in draws:
			draws[key] = draw(
				send.email_campaign, send.step, recipients_of.get(send.email_campaign, ()), test
			)
		if variant := draws[key].get(send.recipient.email.strip().lower()):
			result.go.append(send._replace(variant=variant, in_test=True))
		elif len(recipients_of.get(send.email_campaign, ())) > 1 and (state.started_at or draws[key]):
			result.waiting.append((send, decide_at(test, state)))
		else:
			result.go.append(send._replace(variant=send.step.email_template, in_test=False))
	return result
