from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from schedule_oracle import due_steps

from email_campaign_app.core import schedule
from email_campaign_app.core.schedule import (
	Candidate,
	LedgerEntry,
	Recipient,
	Step,
	end_date,
	plan,
	status_on,
)

START = date(2019, 7, 22)


def test_end_date_is_start_plus_largest_day():
	assert end_date(START, [0, 4, 2]) == date(2019, 7, 26)


def test_end_date_of_empty_schedule_is_an_error():
	with pytest.raises(ValueError):
		end_date(START, [])


@pytest.mark.parametrize(
	"today,expected",
	[
		(date(2019, 7, 21), "Scheduled"),
		(date(2019, 7, 22), "In Progress"),
		(date(2019, 7, 26), "In Progress"),
		(date(2019, 7, 27), "Completed"),
	],
)
def test_status_from_dates(today, expected):
	assert status_on(START, date(2019, 7, 26), today) == expected


@pytest.mark.parametrize("today", [date(2019, 7, 1), date(2019, 7, 23), date(2020, 1, 1)])
def test_unsubscribed_is_never_overwritten(today):
	assert status_on(START, date(2019, 7, 26), today, "Unsubscribed") == "Unsubscribed"


def test_duplicate_steps_are_the_same_template_on_the_same_day():
	steps = [Step("A", 0), Step("A", 1), Step("B", 0), Step("A", 0)]
	assert schedule.duplicate_steps(steps) == [Step("A", 0)]


def test_nothing_is_due_before_its_day():
	assert due_steps(START, [Step("A", 1)], START, set()) == []
	assert due_steps(START, [Step("A", 1)], START + timedelta(days=1), set()) == [Step("A", 1)]


def test_a_step_done_is_never_due_again():
	assert due_steps(START, [Step("A", 0)], START + timedelta(days=3), {Step("A", 0)}) == []


def test_steps_of_the_same_day_go_together():
	steps = [Step("A", 0), Step("B", 0), Step("C", 2)]
	assert due_steps(START, steps, START, set()) == [Step("A", 0), Step("B", 0)]


def test_missed_days_are_caught_up_in_order_one_day_at_a_time():
	steps = [Step("A", 0), Step("B", 1), Step("C", 2)]
	three_days_late = START + timedelta(days=3)
	assert due_steps(START, steps, three_days_late, set()) == [Step("A", 0)]
	# the same day, once A is queued, B waits for tomorrow
	assert due_steps(START, steps, three_days_late, {Step("A", 0)}, queued_today=True) == []
	next_day = three_days_late + timedelta(days=1)
	assert due_steps(START, steps, next_day, {Step("A", 0)}, queued_today=False) == [Step("B", 1)]


def test_a_failed_step_is_retried_the_same_day_as_its_siblings():
	steps = [Step("A", 0), Step("B", 0)]
	assert due_steps(START, steps, START, {Step("A", 0)}, queued_today=True) == [Step("B", 0)]


TWO_STEPS = (Step("A", 0), Step("B", 2))


def candidate(name="EC-1", recipients=("a@example.com",), steps=TWO_STEPS):
	return Candidate(name, START, tuple(steps), tuple(Recipient(e) for e in recipients))


def test_plan_sends_each_group_member_individually():
	result = plan([candidate(recipients=("a@example.com", "b@example.com"))], [], START)
	assert [(s.recipient.email, s.step) for s in result.sends] == [
		("a@example.com", Step("A", 0)),
		("b@example.com", Step("A", 0)),
	]
	assert result.finished == []


def test_plan_skips_what_the_ledger_has_whatever_the_address_case():
	ledger = [LedgerEntry("EC-1", Step("A", 0), "A@example.com", queued_today=True)]
	result = plan([candidate(recipients=("a@example.com", "b@example.com"))], ledger, START)
	assert [s.recipient.email for s in result.sends] == ["b@example.com"]


def test_plan_marks_finished_only_when_every_step_is_done_for_everyone():
	done = [
		LedgerEntry("EC-1", step, "a@example.com", queued_today=False)
		for step in (Step("A", 0), Step("B", 2))
	]
	later = START + timedelta(days=5)
	assert plan([candidate()], done, later).finished == ["EC-1"]
	assert plan([candidate(recipients=("a@example.com", "b@example.com"))], done, later).finished == []
	assert plan([candidate()], done[:1], later).finished == []


def test_plan_without_recipient_today_is_not_finished():
	assert plan([candidate(recipients=())], [], START + timedelta(days=9)) == schedule.Plan([], [], ["EC-1"])


def test_plan_without_schedule_is_never_finished():
	assert plan([candidate(steps=())], [], START + timedelta(days=9)).finished == []


def test_send_keys_ignore_address_case_and_differ_per_step_campaign_and_address():
	key = schedule.send_key("EC-1", Step("A", 0), "a@example.com")
	assert key == schedule.send_key("EC-1", Step("A", 0), " A@Example.com ")
	others = {
		schedule.send_key("EC-2", Step("A", 0), "a@example.com"),
		schedule.send_key("EC-1", Step("A", 1), "a@example.com"),
		schedule.send_key("EC-1", Step("B", 0), "a@example.com"),
		schedule.send_key("EC-1", Step("A", 0), "b@example.com"),
	}
	assert key not in others and len(others) == 4
	assert len(key) == 40


def test_batches():
	assert schedule.batches(list(range(5)), 2) == [[0, 1], [2, 3], [4]]
	assert schedule.batches([], 3) == []
	with pytest.raises(ValueError):
		schedule.batches([1], 0)


# Properties: whatever the days the job runs on, each step is sent once and never before its day.

steps_strategy = st.lists(
	st.builds(Step, st.sampled_from(["T1", "T2", "T3"]), st.integers(min_value=0, max_value=10)),
	min_size=1,
	max_size=6,
	unique=True,
)
run_days_strategy = st.lists(st.integers(min_value=0, max_value=40), min_size=1, max_size=30)


def simulate(steps, run_offsets, runs_per_day=1):
	"""Run the plan on the given days; what it sends goes to the ledger with its day."""
	sent_on: dict[Step, list[date]] = {}
	cand = Candidate("EC", START, tuple(steps), (Recipient("r@example.com"),))
	for offset in sorted(run_offsets):
		today = START + timedelta(days=offset)
		for _run in range(runs_per_day):
			ledger = [
				LedgerEntry("EC", step, "r@example.com", queued_today=days[0] == today)
				for step, days in sent_on.items()
			]
			for send in plan([cand], ledger, today).sends:
				sent_on.setdefault(send.step, []).append(today)
	return sent_on


@settings(max_examples=300, deadline=None)
@given(steps_strategy, run_days_strategy, st.integers(min_value=1, max_value=3))
def test_each_step_is_sent_at_most_once_and_never_early(steps, run_offsets, runs_per_day):
	for step, days in simulate(steps, run_offsets, runs_per_day).items():
		assert len(days) == 1
		assert days[0] >= step.send_date(START)


@settings(max_examples=300, deadline=None)
@given(steps_strategy, run_days_strategy)
def test_every_step_is_sent_once_the_job_runs_daily_long_enough(steps, run_offsets):
	# once every step's day (10 at most) has come, six daily runs clear the six days at most
	last_run = max(run_offsets)
	daily_afterwards = set(run_offsets) | set(range(last_run, max(last_run, 10) + 6))
	assert set(simulate(steps, daily_afterwards)) == set(steps)


@settings(max_examples=200, deadline=None)
@given(steps_strategy, run_days_strategy)
def test_steps_arrive_in_schedule_order_one_day_per_calendar_day(steps, run_offsets):
	sent = simulate(steps, run_offsets, runs_per_day=2)
	by_day: dict[date, set[int]] = {}
	for step, days in sent.items():
		by_day.setdefault(days[0], set()).add(step.send_after_days)
	assert all(len(schedule_days) == 1 for schedule_days in by_day.values())
	order = sorted(sent, key=lambda step: sent[step][0])
	assert [s.send_after_days for s in order] == sorted(s.send_after_days for s in order)
