"""A/B variants in the core (no Frappe): the draw, the decision, who waits, what the form refuses."""

from collections import Counter
from datetime import date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from email_campaign_app.core import variants
from email_campaign_app.core.conditions import CLICKED
from email_campaign_app.core.schedule import Recipient, Send, Step
from email_campaign_app.core.variants import (
	CLICKS,
	OPENS,
	REPLIES,
	ABTest,
	Figures,
	Problem,
	Row,
	State,
	assign,
	decision_due,
	draw,
	validate,
	winner,
)

DAY0 = Step("Welcome A", 0)
TEST = ABTest(("Welcome A", "Welcome B"), share=0.2, rule=CLICKS, hours=24)
NOW = datetime(2026, 3, 2, 9, 0)


def members(count: int, domain: str = "example.com") -> list[str]:
	return [f"member{i}@{domain}" for i in range(count)]


def sends_to(email_campaign: str, emails: list[str], step: Step = DAY0) -> list[Send]:
	return [Send(email_campaign, step, Recipient(email), date(2026, 3, 2)) for email in emails]


# The draw


def test_a_group_of_200_at_20_percent_tests_40_split_evenly():
	drawn = draw("EC-1", DAY0, members(200), TEST)
	assert len(drawn) == 40
	assert Counter(drawn.values()) == {"Welcome A": 20, "Welcome B": 20}


def test_the_draw_is_the_same_on_every_run_and_whatever_the_order_or_case():
	emails = members(200)
	shuffled = [email.upper() for email in reversed(emails)]
	assert draw("EC-1", DAY0, emails, TEST) == draw("EC-1", DAY0, shuffled, TEST)


def test_another_email_campaign_or_step_draws_other_recipients():
	emails = members(200)
	assert set(draw("EC-1", DAY0, emails, TEST)) != set(draw("EC-2", DAY0, emails, TEST))
	assert set(draw("EC-1", DAY0, emails, TEST)) != set(draw("EC-1", Step("Welcome A", 3), emails, TEST))


@settings(max_examples=200, deadline=None)
@given(
	count=st.integers(min_value=0, max_value=400),
	share=st.floats(min_value=0.01, max_value=1.0),
	variant_count=st.integers(min_value=2, max_value=5),
	email_campaign=st.text(min_size=1, max_size=8),
)
def test_the_test_share_is_rounded_up_or_down_and_split_within_one(
	count, share, variant_count, email_campaign
):
	test = ABTest(tuple(f"T{i}" for i in range(variant_count)), share=share)
	drawn = draw(email_campaign, DAY0, members(count), test)
	assert int(share * count) <= len(drawn) <= int(share * count) + 1
	split = Counter(drawn.values())
	assert max(split.values(), default=0) - min((split[v] for v in test.variants), default=0) <= 1


def test_one_recipient_tests_at_about_the_share_and_every_variant_is_drawn():
	"""Lead and Contact campaigns: one recipient each, drawn with the share's probability."""
	drawn = [draw(f"EC-{i}", DAY0, ["lead@example.com"], TEST) for i in range(2000)]
	testing = [d["lead@example.com"] for d in drawn if d]
	assert 0.16 < len(testing) / 2000 < 0.24
	assert 0.4 < Counter(testing)["Welcome B"] / len(testing) < 0.6


# Who goes, with what, and who waits


def with_tests(*email_campaigns: str, campaign: str = "Onboarding") -> dict:
	return {name: (campaign, {DAY0: TEST}) for name in email_campaigns}


def test_before_the_decision_the_drawn_test_and_the_rest_of_the_group_waits():
	emails = members(200)
	result = assign(sends_to("EC-1", emails), with_tests("EC-1"), {}, {"EC-1": emails})
	assert len(result.go) == 40 and all(send.in_test for send in result.go)
	assert {send.variant for send in result.go} == {"Welcome A", "Welcome B"}
	assert len(result.waiting) == 160
	assert all(decide_at is None for _send, decide_at in result.waiting)  # not started yet


def test_once_started_the_rest_waits_until_the_decision_time():
	emails = members(200)
	states = {("Onboarding", DAY0): State(started_at=NOW)}
	result = assign(sends_to("EC-1", emails), with_tests("EC-1"), states, {"EC-1": emails})
	assert {decide_at for _send, decide_at in result.waiting} == {NOW + timedelta(hours=24)}


def test_after_the_decision_everyone_due_gets_the_winner_outside_the_test():
	emails = members(200)
	states = {("Onboarding", DAY0): State(started_at=NOW, winner="Welcome B")}
	result = assign(sends_to("EC-1", emails), with_tests("EC-1"), states, {"EC-1": emails})
	assert not result.waiting
	assert {(send.variant, send.in_test) for send in result.go} == {("Welcome B", False)}


def test_the_draw_ranks_every_recipient_so_the_rest_is_not_drawn_again_after_the_test_left():
	emails = members(200)
	first = assign(sends_to("EC-1", emails), with_tests("EC-1"), {}, {"EC-1": emails})
	drawn = {send.recipient.email for send in first.go}
	rest = [email for email in emails if email not in drawn]
	again = assign(sends_to("EC-1", rest), with_tests("EC-1"), {}, {"EC-1": emails})
	assert not again.go and len(again.waiting) == 160


def test_a_lead_not_drawn_gets_the_step_template_and_never_waits():
	names = [f"EC-{i}" for i in range(300)]
	sends = [send for name in names for send in sends_to(name, ["lead@example.com"])]
	result = assign(sends, with_tests(*names), {}, {name: ["lead@example.com"] for name in names})
	assert not result.waiting
	control = [send for send in result.go if not send.in_test]
	assert control and {send.variant for send in control} == {"Welcome A"}
	assert {send.variant for send in result.go if send.in_test} == {"Welcome A", "Welcome B"}


def test_a_group_too_small_to_test_does_not_wait_for_a_test_that_never_starts():
	emails = members(2)
	test = ABTest(("Welcome A", "Welcome B"), share=0.01)
	result = assign(sends_to("EC-1", emails), {"EC-1": ("Onboarding", {DAY0: test})}, {}, {"EC-1": emails})
	assert [send.variant for send in result.go] == ["Welcome A", "Welcome A"] and not result.waiting


def test_sends_of_steps_without_variants_go_unchanged():
	other = sends_to("EC-1", ["a@example.com"], Step("Reminder", 3))
	result = assign(other, with_tests("EC-1"), {}, {"EC-1": ["a@example.com"]})
	assert result.go == other and other[0].email_template == "Reminder"


# The decision


def test_the_decision_is_due_once_its_hours_have_passed_since_the_first_test_email():
	assert not decision_due(TEST, None, NOW)
	assert not decision_due(TEST, State(), NOW)
	assert not decision_due(TEST, State(started_at=NOW), NOW + timedelta(hours=23, minutes=59))
	assert decision_due(TEST, State(started_at=NOW), NOW + timedelta(hours=24))
	assert not decision_due(TEST, State(started_at=NOW, winner="Welcome A"), NOW + timedelta(days=3))


def test_the_best_rate_by_the_rule_wins_and_a_tie_goes_to_the_earlier_variant():
	figures = {"Welcome A": Figures(20, opened=15, clicked=2, replied=1), "Welcome B": Figures(10, 4, 3, 0)}
	assert winner(TEST._replace(rule=CLICKS), figures) == "Welcome B"  # 30 % against 10 %
	assert winner(TEST._replace(rule=OPENS), figures) == "Welcome A"
	assert winner(TEST._replace(rule=REPLIES), figures) == "Welcome A"
	assert winner(TEST, {"Welcome A": Figures(20, 0, 2), "Welcome B": Figures(20, 0, 2)}) == "Welcome A"
	assert winner(TEST, {}) == "Welcome A"  # nothing delivered


# What the Campaign form refuses, and the schedule read as steps and tests


def rows_with_variant(**variant_row) -> list[Row]:
	return [Row(DAY0), Row(Step("Welcome B", 0), **variant_row), Row(Step("Reminder", 3))]


def test_a_valid_schedule_with_a_variant_gives_one_test_on_its_step():
	rows = rows_with_variant(variant_of="Welcome A")
	assert validate(rows) == []
	assert variants.tests_of(rows) == {DAY0: ABTest(("Welcome A", "Welcome B"))}


def test_the_form_refuses_a_variant_of_a_missing_step_a_variant_or_itself_or_with_a_condition():
	assert validate([Row(DAY0), Row(Step("Welcome B", 3), variant_of="Welcome A")]) == [
		Problem(2, variants.NOT_A_STEP)
	]
	assert validate(
		[Row(DAY0), Row(Step("B", 0), variant_of="Welcome A"), Row(Step("C", 0), variant_of="B")]
	) == [Problem(3, variants.OF_A_VARIANT)]
	assert validate([Row(DAY0, variant_of="Welcome A")]) == [Problem(1, variants.OF_ITSELF)]
	assert validate(rows_with_variant(variant_of="Welcome A", condition=CLICKED)) == [
		Problem(2, variants.WITH_CONDITION)
	]


def test_the_form_refuses_a_share_outside_1_to_100_percent_and_less_than_an_hour():
	variant = Row(Step("Welcome B", 0), variant_of="Welcome A")
	assert validate([Row(DAY0, share=0), variant]) == [Problem(1, variants.BAD_SHARE)]
	assert validate([Row(DAY0, share=1.5), variant]) == [Problem(1, variants.BAD_SHARE)]
	assert validate([Row(DAY0, hours=0), variant]) == [Problem(1, variants.BAD_HOURS)]
	assert validate([Row(DAY0, rule="sales"), variant]) == [Problem(1, variants.BAD_RULE)]
	assert validate([Row(DAY0, share=1.0, hours=1), variant]) == []


def test_a_step_without_variants_is_not_held_to_its_test_settings():
	assert validate([Row(DAY0, share=0, hours=0, rule="")]) == []


@settings(max_examples=150, deadline=None)
@given(
	group=st.integers(min_value=1, max_value=60),
	leads=st.integers(min_value=0, max_value=20),
	share=st.floats(min_value=0.01, max_value=1.0),
	started=st.booleans(),
	winner=st.sampled_from([None, "Welcome A", "Welcome B"]),
)
def test_every_due_send_goes_once_or_waits_and_only_a_group_waits(group, leads, share, started, winner):
	test = ABTest(("Welcome A", "Welcome B"), share=share)
	emails = members(group)
	names = [f"EC-L{i}" for i in range(leads)]
	sends = sends_to("EC-G", emails) + [s for name in names for s in sends_to(name, [f"{name}@example.com"])]
	tests_of = {name: ("Onboarding", {DAY0: test}) for name in ["EC-G", *names]}
	recipients = {"EC-G": emails, **{name: [f"{name}@example.com"] for name in names}}
	state = State(started_at=NOW if started or winner else None, winner=winner)
	result = assign(sends, tests_of, {("Onboarding", DAY0): state}, recipients)

	gone = [(s.email_campaign, s.recipient.email) for s in result.go]
	waiting = [(s.email_campaign, s.recipient.email) for s, _at in result.waiting]
	assert sorted(gone + waiting) == sorted((s.email_campaign, s.recipient.email) for s in sends)
	assert all(name == "EC-G" for name, _email in waiting)  # a Lead never waits
	assert all(s.variant in test.variants for s in result.go)
	if winner:
		assert not waiting and {(s.variant, s.in_test) for s in result.go} == {(winner, False)}
	controls = [s for s in result.go if not s.in_test and not winner]
	assert all(s.variant == "Welcome A" for s in controls)  # not drawn, before the decision: the step's own
