"""Conditional schedule rows in the core (no Frappe): which due sends go, are skipped or wait,
and what the Campaign form refuses."""

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from email_campaign_app.core import conditions, statuses
from email_campaign_app.core.conditions import (
	ALWAYS,
	CLICKED,
	NOT_CLICKED,
	NOT_OPENED,
	OPENED,
	OPPOSITE,
	REPLIED,
	Condition,
	Problem,
	ScheduleRow,
	StepFacts,
	decide,
	fact_key,
	resolve,
	validate,
)
from email_campaign_app.core.schedule import Candidate, LedgerEntry, Recipient, Send, Step, plan

START = date(2026, 3, 2)
A, B, C, D = Step("A", 0), Step("B", 3), Step("C", 3), Step("D", 5)
# day 0: A; day 3: B if A was clicked, C if it was not (a branch)
BRANCH = (ScheduleRow(A), ScheduleRow(B, CLICKED), ScheduleRow(C, NOT_CLICKED))


def send(step, email="r@example.com", email_campaign="EC"):
	return Send(email_campaign, step, Recipient(email), START + timedelta(days=step.send_after_days))


def facts_of_a(email="r@example.com", **values):
	return {fact_key("EC", A, email): StepFacts(**values)}


def decide_branch(facts, email="r@example.com"):
	return decide([send(B, email), send(C, email)], {"EC": resolve(BRANCH)}, facts)


# Deciding


def test_a_branch_sends_the_clickers_one_way_and_the_others_the_other():
	clicked = decide_branch(facts_of_a(status=statuses.SENT, clicked=True))
	assert clicked.go == [send(B)]
	assert clicked.skipped == [(send(C), conditions.NOT_MET)]
	not_clicked = decide_branch(facts_of_a(status=statuses.SENT))
	assert not_clicked.go == [send(C)]
	assert not_clicked.skipped == [(send(B), conditions.NOT_MET)]


@pytest.mark.parametrize(
	"status",
	[statuses.SKIPPED, statuses.FAILED, statuses.BOUNCED, statuses.MAY_HAVE_BEEN_SENT, statuses.ERROR],
)
def test_a_condition_on_an_email_not_delivered_is_not_met_whatever_it_says(status):
	decisions = decide_branch(facts_of_a(status=status))
	assert decisions.go == []
	assert decisions.skipped == [(send(B), conditions.NOT_DELIVERED), (send(C), conditions.NOT_DELIVERED)]


def test_a_condition_on_an_email_never_sent_is_not_met():
	assert decide_branch({}).skipped == [
		(send(B), conditions.NOT_DELIVERED),
		(send(C), conditions.NOT_DELIVERED),
	]


@pytest.mark.parametrize("status", [statuses.QUEUED, statuses.WAITING])
def test_a_condition_on_an_email_still_on_its_way_waits(status):
	decisions = decide_branch(facts_of_a(status=status))
	assert (decisions.go, decisions.skipped) == ([], [])
	assert decisions.waiting == [(send(B), conditions.PENDING), (send(C), conditions.PENDING)]


def test_engagement_proves_delivery_whatever_the_status_says():
	# a click on an email its worker lost track of: it did arrive
	decisions = decide_branch(facts_of_a(status=statuses.MAY_HAVE_BEEN_SENT, clicked=True))
	assert decisions.go == [send(B)]


def test_facts_are_found_whatever_the_address_case():
	decisions = decide_branch(facts_of_a(" R@Example.com ", status=statuses.SENT, clicked=True))
	assert decisions.go == [send(B)]


def test_each_recipient_and_email_campaign_is_decided_on_its_own_facts():
	facts = {
		fact_key("EC", A, "a@example.com"): StepFacts(statuses.SENT, clicked=True),
		fact_key("EC-2", A, "b@example.com"): StepFacts(statuses.SENT, clicked=True),
	}
	sends = [send(B, "a@example.com"), send(B, "b@example.com"), send(B, "b@example.com", "EC-2")]
	decisions = decide(sends, {"EC": resolve(BRANCH), "EC-2": resolve(BRANCH)}, facts)
	assert decisions.go == [sends[0], sends[2]]
	assert decisions.skipped == [(sends[1], conditions.NOT_DELIVERED)]


def test_steps_without_condition_and_email_campaigns_without_conditions_go():
	sends = [send(A), send(D), send(B, email_campaign="EC-2")]
	assert decide(sends, {"EC": resolve(BRANCH)}, {}).go == sends


def test_a_condition_that_cannot_be_resolved_waits_rather_than_send_or_skip():
	decisions = decide([send(B)], {"EC": {B: Condition(CLICKED, None)}}, {})
	assert decisions.waiting == [(send(B), conditions.INVALID)]


@pytest.mark.parametrize(
	"kind,fact,met",
	[
		(OPENED, "opened", True),
		(NOT_OPENED, "opened", False),
		(REPLIED, "replied", True),
		(conditions.NOT_REPLIED, "replied", False),
	],
)
def test_opens_and_replies(kind, fact, met):
	rows = (ScheduleRow(A), ScheduleRow(B, kind))
	for value in (True, False):
		decisions = decide(
			[send(B)], {"EC": resolve(rows)}, facts_of_a(status=statuses.SENT, **{fact: value})
		)
		assert (decisions.go == [send(B)]) == (value == met)


# Resolving: which step a condition is on


def test_the_default_step_is_the_last_row_of_the_closest_earlier_day():
	rows = (
		ScheduleRow(A),
		ScheduleRow(Step("A2", 0)),
		ScheduleRow(B, CLICKED),
		ScheduleRow(C, NOT_CLICKED),
		ScheduleRow(D, OPENED),
	)
	assert resolve(rows) == {
		B: Condition(CLICKED, Step("A2", 0)),
		C: Condition(NOT_CLICKED, Step("A2", 0)),
		D: Condition(OPENED, C),
	}


def test_a_named_step_is_kept_and_always_rows_are_left_out():
	rows = (ScheduleRow(A), ScheduleRow(B), ScheduleRow(D, OPENED, on=A))
	assert resolve(rows) == {D: Condition(OPENED, A)}


def test_a_condition_validation_refuses_resolves_to_nothing():
	rows = (ScheduleRow(A, CLICKED), ScheduleRow(B, CLICKED, on=D), ScheduleRow(D, "bought"))
	assert resolve(rows) == {
		A: Condition(CLICKED, None),
		B: Condition(CLICKED, None),
		D: Condition("bought", None),
	}


# Validating a Campaign's schedule


def test_a_branch_is_valid():
	assert validate(BRANCH) == ([], [])


@pytest.mark.parametrize(
	"rows,expected",
	[
		((ScheduleRow(A), ScheduleRow(B, CLICKED, on=D), ScheduleRow(D)), conditions.NOT_EARLIER),
		((ScheduleRow(A), ScheduleRow(B, CLICKED, on=C), ScheduleRow(C)), conditions.NOT_EARLIER),
		((ScheduleRow(A), ScheduleRow(B, CLICKED, on=B)), conditions.NOT_EARLIER),
		((ScheduleRow(A), ScheduleRow(B, CLICKED, on=Step("Z", 0))), conditions.MISSING_STEP),
		((ScheduleRow(A), ScheduleRow(B, "bought")), conditions.UNKNOWN_CONDITION),
	],
	ids=["later", "same day", "itself", "missing", "unknown"],
)
def test_a_condition_on_a_step_that_is_not_earlier_or_missing_is_refused(rows, expected):
	assert validate(rows) == ([Problem(2, expected)], [])


def test_the_first_day_has_no_previous_step():
	assert validate((ScheduleRow(A, CLICKED), ScheduleRow(B))) == (
		[Problem(1, conditions.NO_EARLIER_STEP)],
		[],
	)


def test_replied_is_refused_when_a_reply_stops_the_sequence():
	rows = (ScheduleRow(A), ScheduleRow(B, REPLIED), ScheduleRow(C, conditions.NOT_REPLIED))
	assert validate(rows) == ([], [])
	assert validate(rows, stop_on_reply=True) == ([Problem(2, conditions.REPLIED_STOPS)], [])


def test_opens_are_approximate():
	rows = (ScheduleRow(A), ScheduleRow(B, OPENED), ScheduleRow(C, NOT_OPENED))
	assert validate(rows) == (
		[],
		[Problem(2, conditions.OPENS_ARE_APPROXIMATE), Problem(3, conditions.OPENS_ARE_APPROXIMATE)],
	)


def test_the_previous_step_after_a_branch_is_its_last_row_and_the_form_says_so():
	rows = (*BRANCH, ScheduleRow(D, CLICKED), ScheduleRow(Step("E", 5), CLICKED, on=B))
	assert validate(rows) == ([], [Problem(4, conditions.PREVIOUS_DAY_BRANCHES)])


def test_the_row_numbers_are_the_rows_order_and_every_problem_is_told():
	rows = (ScheduleRow(B, CLICKED, on=D), ScheduleRow(A, OPENED), ScheduleRow(D))
	errors, warnings = validate(rows)
	assert errors == [Problem(1, conditions.NOT_EARLIER), Problem(2, conditions.NO_EARLIER_STEP)]
	assert warnings == [Problem(2, conditions.OPENS_ARE_APPROXIMATE)]


# Properties

facts_strategy = st.none() | st.builds(
	StepFacts,
	st.sampled_from(
		[
			statuses.QUEUED,
			statuses.WAITING,
			statuses.SENT,
			statuses.ERROR,
			statuses.FAILED,
			statuses.SKIPPED,
			statuses.BOUNCED,
			statuses.MAY_HAVE_BEEN_SENT,
		]
	),
	st.booleans(),
	st.booleans(),
	st.booleans(),
)
kinds = st.sampled_from(sorted(conditions.TESTS))


@settings(max_examples=300, deadline=None)
@given(kinds, facts_strategy)
def test_a_branch_never_sends_both_rows_and_sends_one_when_the_earlier_email_was_delivered(kind, earlier):
	rows = (ScheduleRow(A), ScheduleRow(B, kind), ScheduleRow(C, OPPOSITE[kind]))
	facts = {} if earlier is None else {fact_key("EC", A, "r@example.com"): earlier}
	decisions = decide([send(B), send(C)], {"EC": resolve(rows)}, facts)
	assert len(decisions.go) <= 1
	delivery = conditions.delivery_of(earlier)
	assert (len(decisions.go) == 1) == (delivery == conditions.DELIVERED)
	assert (len(decisions.waiting) == 2) == (delivery == conditions.ON_ITS_WAY)
	assert len(decisions.go) + len(decisions.skipped) + len(decisions.waiting) == 2


steps_strategy = st.lists(
	st.builds(Step, st.sampled_from(["T1", "T2", "T3"]), st.integers(min_value=0, max_value=6)),
	min_size=1,
	max_size=6,
	unique=True,
)
emails = st.lists(
	st.sampled_from(["a@example.com", "B@example.com", "c@example.com"]), unique=True, max_size=3
)


@settings(max_examples=200, deadline=None)
@given(steps_strategy, emails, st.integers(min_value=0, max_value=10), st.data())
def test_always_never_changes_the_plan(steps, recipients, day, data):
	candidate = Candidate("EC", START, tuple(steps), tuple(Recipient(e) for e in recipients))
	sends = plan([candidate], [], START + timedelta(days=day)).sends
	rows = [ScheduleRow(step, ALWAYS, data.draw(st.sampled_from([None, *steps]))) for step in steps]
	facts = {fact_key("EC", s, e): data.draw(facts_strategy) for s in steps for e in recipients}
	for conditions_of in ({}, {"EC": resolve(rows)}):
		decisions = decide(sends, conditions_of, facts)
		assert decisions.go == sends and decisions.skipped == decisions.waiting == []


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(kinds, facts_strategy, st.sampled_from([B, C])), max_size=12))
def test_each_send_is_decided_on_its_own_facts_and_the_same_facts_give_the_same_answer(cases):
	sends, conditions_of, facts = [], {}, {}
	for number, (kind, earlier, step) in enumerate(cases):
		email_campaign = f"EC-{number}"
		sends.append(send(step, email_campaign=email_campaign))
		conditions_of[email_campaign] = {step: Condition(kind, A)}
		if earlier is not None:
			facts[fact_key(email_campaign, A, "r@example.com")] = earlier
	together = decide(sends, conditions_of, facts)
	assert together == decide(sends, conditions_of, facts)
	one_by_one = [decide([s], conditions_of, facts) for s in sends]
	assert together.go == [s for d in one_by_one for s in d.go]
	assert together.skipped == [s for d in one_by_one for s in d.skipped]
	assert together.waiting == [s for d in one_by_one for s in d.waiting]


# Days of a branch through the planner: what goes or is skipped is on the ledger, never offered again

FOLLOW_UP = Step("F", 4)
BRANCH_AND_FOLLOW_UP = (*BRANCH, ScheduleRow(FOLLOW_UP))
PEOPLE = ("a@example.com", "b@example.com", "c@example.com")
outcome_strategy = st.tuples(
	st.sampled_from([statuses.SENT, statuses.FAILED, statuses.BOUNCED, statuses.QUEUED]),
	st.integers(min_value=0, max_value=3),  # the days a Queued email takes to be Sent
	st.none() | st.integers(min_value=0, max_value=8),  # the day it is clicked, if it is
)


def simulate_branch(run_offsets, outcomes):
	"""Run plan then decide on the given days; a send that goes or is skipped goes to the ledger."""
	candidate = Candidate(
		"EC", START, tuple(row.step for row in BRANCH_AND_FOLLOW_UP), tuple(map(Recipient, PEOPLE))
	)
	conditions_of = {"EC": resolve(BRANCH_AND_FOLLOW_UP)}
	ledger: dict[tuple[Step, str], tuple[str, int]] = {}  # (step, email): (what became of it, the day)
	decided = []  # every decision, to see that none is made twice
	for offset in sorted(set(run_offsets)):
		entries = [
			LedgerEntry("EC", step, email, day == offset) for (step, email), (_s, day) in ledger.items()
		]
		decisions = decide(
			plan([candidate], entries, START + timedelta(days=offset)).sends,
			conditions_of,
			facts_on(offset, ledger, outcomes),
		)
		for send_, outcome in [(s, "went") for s in decisions.go] + [
			(s, statuses.SKIPPED) for s, _r in decisions.skipped
		]:
			ledger[send_.step, send_.recipient.email] = (outcome, offset)
			decided.append((send_.step, send_.recipient.email))
	assert len(decided) == len(set(decided))
	return ledger


def facts_on(offset, ledger, outcomes):
	"""What the ledger says on day `offset` about each recipient's email A."""
	facts = {}
	for email, (status, days_queued, click_day) in zip(PEOPLE, outcomes, strict=True):
		if (A, email) in ledger:
			sent_on = ledger[A, email][1]
			if status == statuses.QUEUED and offset >= sent_on + days_queued:
				status = statuses.SENT
			clicked = status == statuses.SENT and click_day is not None and click_day <= offset
			facts[fact_key("EC", A, email)] = StepFacts(status, clicked=clicked)
	return facts


@settings(max_examples=200, deadline=None)
@given(
	st.lists(st.integers(min_value=0, max_value=12), min_size=1, max_size=12),
	st.tuples(*[outcome_strategy] * 3),
)
def test_a_branch_through_the_planner_decides_once_and_sends_one_way_to_the_delivered(run_offsets, outcomes):
	ledger = simulate_branch([*run_offsets, *range(12, 20)], outcomes)  # daily runs at the end
	for email, (status, _days_queued, click_day) in zip(PEOPLE, outcomes, strict=True):
		went = {step for step in (B, C) if ledger[step, email][0] == "went"}
		if status in (statuses.SENT, statuses.QUEUED):  # delivered, maybe late: one way of the branch
			decided_on = ledger[B, email][1]
			assert went == ({B} if click_day is not None and click_day <= decided_on else {C})
		else:
			assert went == set() and ledger[B, email][0] == ledger[C, email][0] == statuses.SKIPPED
		assert ledger[FOLLOW_UP, email][0] == "went"  # the sequence goes on after the branch
