"""Business days and pause shifts in the scheduling core (no Frappe)."""

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
from email_campaign_app.core.sending_days import (
	ALL_WEEK,
	MONDAY_TO_FRIDAY,
	Calendar,
	add_sending_days,
	calendar_for,
	count_sending_days,
	next_sending_day,
)

FRIDAY = date(2026, 1, 30)  # the last day of January
SATURDAY, SUNDAY, MONDAY = FRIDAY + timedelta(days=1), FRIDAY + timedelta(days=2), FRIDAY + timedelta(days=3)
BUSINESS = Calendar(MONDAY_TO_FRIDAY)


def test_the_dates_are_what_the_tests_say():
	assert (FRIDAY.weekday(), SATURDAY.weekday(), MONDAY.weekday()) == (4, 5, 0)
	assert MONDAY == date(2026, 2, 2)


def test_every_day_counts_calendar_days():
	assert Calendar().send_date(FRIDAY, 3) == MONDAY
	assert Calendar().days_elapsed(FRIDAY, MONDAY) == 3


@pytest.mark.parametrize(
	"days,expected",
	[(0, FRIDAY), (1, MONDAY), (2, date(2026, 2, 3)), (5, date(2026, 2, 6)), (6, date(2026, 2, 9))],
)
def test_business_days_skip_the_weekend_across_the_month_end(days, expected):
	assert BUSINESS.send_date(FRIDAY, days) == expected


def test_a_start_on_the_weekend_leaves_on_the_next_sending_day():
	assert BUSINESS.send_date(SATURDAY, 0) == MONDAY
	assert BUSINESS.send_date(SUNDAY, 1) == MONDAY + timedelta(days=1)
	assert BUSINESS.days_elapsed(SATURDAY, SUNDAY) < 0
	assert BUSINESS.days_elapsed(SATURDAY, MONDAY) == 0


def test_the_weekdays_are_configurable():
	tuesday_thursday = Calendar(frozenset({1, 3}))
	assert [tuesday_thursday.send_date(FRIDAY, n) for n in range(3)] == [
		date(2026, 2, 3),
		date(2026, 2, 5),
		date(2026, 2, 10),
	]


def test_end_date_and_due_steps_follow_the_calendar():
	steps = [Step("A", 0), Step("B", 1), Step("C", 3)]
	assert end_date(FRIDAY, [0, 1, 3], BUSINESS) == date(2026, 2, 4)
	assert due_steps(FRIDAY, steps, SATURDAY, {Step("A", 0)}, calendar=BUSINESS) == []
	assert due_steps(FRIDAY, steps, MONDAY, {Step("A", 0)}, calendar=BUSINESS) == [Step("B", 1)]


def test_plan_sends_on_sending_days_only():
	candidate = Candidate("EC", FRIDAY, (Step("A", 0), Step("B", 1)), (Recipient("r@example.com"),), BUSINESS)
	done = [LedgerEntry("EC", Step("A", 0), "r@example.com")]
	assert plan([candidate], done, SUNDAY).sends == []
	[send] = plan([candidate], done, MONDAY).sends
	assert (send.step, send.send_date) == (Step("B", 1), MONDAY)


def test_a_shift_moves_every_step_by_schedule_days():
	shifted = Calendar(ALL_WEEK, shift=4)
	assert shifted.send_date(FRIDAY, 1) == FRIDAY + timedelta(days=5)
	assert shifted.days_elapsed(FRIDAY, FRIDAY + timedelta(days=5)) == 1
	assert Calendar(MONDAY_TO_FRIDAY, shift=1).send_date(FRIDAY, 0) == MONDAY
	assert BUSINESS.shifted(2).shift == 2


def test_a_pause_shifts_by_the_sending_days_it_lasted():
	assert Calendar().days_between(FRIDAY, MONDAY) == 3
	assert BUSINESS.days_between(FRIDAY, MONDAY) == 1  # Saturday and Sunday are not sending days
	assert BUSINESS.days_between(MONDAY, FRIDAY) == 0


def test_calendar_for_refuses_no_weekday():
	assert calendar_for(False, []) == Calendar()
	assert calendar_for(True) == BUSINESS
	with pytest.raises(ValueError):
		calendar_for(True, [])
	with pytest.raises(ValueError):
		calendar_for(True, [7])


@pytest.mark.parametrize("kept", ["Unsubscribed", "Paused"])
def test_statuses_set_by_an_action_are_never_overwritten(kept):
	assert status_on(FRIDAY, MONDAY, MONDAY + timedelta(days=9), kept) == kept
	assert kept in schedule.KEPT_STATUSES


# Properties

weekdays_strategy = st.frozensets(st.integers(min_value=0, max_value=6), min_size=1)
dates_strategy = st.dates(min_value=date(2024, 1, 1), max_value=date(2030, 12, 31))
days_strategy = st.integers(min_value=0, max_value=400)


@settings(max_examples=500, deadline=None)
@given(weekdays_strategy, dates_strategy, days_strategy, st.integers(min_value=0, max_value=30))
def test_a_step_is_due_exactly_from_its_send_date(weekdays, start, days, shift):
	calendar = Calendar(weekdays, shift)
	send_date = calendar.send_date(start, days)
	assert send_date.weekday() in weekdays
	assert send_date >= start
	assert calendar.days_elapsed(start, send_date) == days
	assert calendar.days_elapsed(start, send_date - timedelta(days=1)) < days


@settings(max_examples=500, deadline=None)
@given(weekdays_strategy, dates_strategy, days_strategy)
def test_send_dates_match_counting_one_day_at_a_time(weekdays, start, days):
	day = start
	while day.weekday() not in weekdays:
		day += timedelta(days=1)
	for _ in range(days):
		day += timedelta(days=1)
		while day.weekday() not in weekdays:
			day += timedelta(days=1)
	assert Calendar(weekdays).send_date(start, days) == day


@settings(max_examples=300, deadline=None)
@given(weekdays_strategy, dates_strategy, st.integers(min_value=0, max_value=60))
def test_counting_sending_days_undoes_adding_them(weekdays, start, days):
	first = next_sending_day(start, weekdays)
	later = add_sending_days(first, days, weekdays)
	assert count_sending_days(first, later, weekdays) == days
	brute = sum(
		1 for n in range(1, (later - first).days + 1) if (first + timedelta(days=n)).weekday() in weekdays
	)
	assert brute == days


@settings(max_examples=200, deadline=None)
@given(dates_strategy, days_strategy)
def test_every_weekday_chosen_is_calendar_days(start, days):
	assert Calendar(frozenset(range(7))).send_date(start, days) == start + timedelta(days=days)
	assert calendar_for(True, range(7)).send_date(start, days) == start + timedelta(days=days)


def test_catching_up_sends_the_missed_days_one_per_sending_day():
	from email_campaign_app.core.sending_days import catch_up_dates

	# days 2, 4 and 9 left on day 5 (a Friday, 2026-01-30, for a start on 2026-01-25)
	start = date(2026, 1, 25)
	assert catch_up_dates(Calendar(), start, [4, 2, 9], FRIDAY) == {
		2: FRIDAY,
		4: SATURDAY,
		9: date(2026, 2, 3),  # its own date, later than the day after Saturday
	}
	assert catch_up_dates(Calendar(), start, [2], FRIDAY, sent_today=True) == {2: SATURDAY}
	assert catch_up_dates(BUSINESS, FRIDAY - timedelta(days=7), [1, 2], FRIDAY) == {1: FRIDAY, 2: MONDAY}


def test_nothing_leaves_on_a_day_the_campaign_does_not_send():
	overdue = Candidate(
		"EC",
		FRIDAY - timedelta(days=7),
		(Step("A", 0), Step("B", 1)),
		(Recipient("r@example.com"),),
		BUSINESS,
	)
	assert plan([overdue], [], SATURDAY).sends == []
	assert [send.step for send in plan([overdue], [], MONDAY).sends] == [Step("A", 0)]
	assert due_steps(FRIDAY, [Step("A", 0)], SUNDAY, set(), calendar=BUSINESS) == []


@settings(max_examples=200, deadline=None)
@given(
	weekdays_strategy,
	st.lists(st.integers(min_value=0, max_value=12), min_size=1, max_size=5, unique=True),
	st.lists(st.integers(min_value=0, max_value=40), min_size=1, max_size=30),
)
def test_business_day_sequences_go_once_in_order_on_sending_days_only(weekdays, days, run_offsets):
	calendar = Calendar(weekdays)
	steps = tuple(Step(f"T{day}", day) for day in days)
	candidate = Candidate("EC", FRIDAY, steps, (Recipient("r@example.com"),), calendar)
	sent: dict[Step, date] = {}
	for offset in sorted(set(run_offsets)):
		today = FRIDAY + timedelta(days=offset)
		ledger = [
			LedgerEntry("EC", step, "r@example.com", queued_today=day == today) for step, day in sent.items()
		]
		for send in plan([candidate], ledger, today).sends:
			assert send.step not in sent
			assert today.weekday() in weekdays
			assert today >= send.send_date == calendar.send_date(FRIDAY, send.step.send_after_days)
			sent[send.step] = today
	order = sorted(sent, key=sent.get)
	assert [step.send_after_days for step in order] == sorted(step.send_after_days for step in order)
