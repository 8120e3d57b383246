"""A/B variants in the shell: a step's tests read from the Campaign's schedule, their state
(Campaign Variant Test: started when its first test email is written, decided once its hours
have passed), the decision on the test emails' figures, and the due sends given their
variant or held until the decision (core/variants.py decides).

A test is one Campaign step with its variants: the record's name is a hash of the three, so
that a step given other variants starts a new test.
"""

import hashlib
import json

import frappe
from frappe import _
from frappe.query_builder.functions import Coalesce, Sum
from frappe.utils import cint, flt, format_datetime, get_datetime, now, now_datetime
from pypika.terms import Case

from email_campaign_app.core import schedule, statuses, variants
from email_campaign_app.core.conditions import ALWAYS
from email_campaign_app.sending import schedules
from email_campaign_app.sending.ledger import LEDGER
from email_campaign_app.utils import insert_rows

TEST = "Campaign Variant Test"
RULES = {"Opens": variants.OPENS, "Clicks": variants.CLICKS, "Replies": variants.REPLIES}
RULE_LABELS = {code: label for label, code in RULES.items()}


def variant_row(row, condition: str = ALWAYS) -> variants.Row:
	"""A Campaign Email Schedule row (a document or a dict) for the core; `condition` its code."""
	share, hours = row.get("test_share"), row.get("decision_hours")  # a form sends "20" for 20
	rule = row.get("winner_by") or "Clicks"
	return variants.Row(
		schedule.Step(row.get("email_template"), cint(row.get("send_after_days"))),
		row.get("variant_of") or None,
		variants.DEFAULT_SHARE if share in (None, "") else flt(share) / 100,
		RULES.get(rule, rule),
		variants.DEFAULT_HOURS if hours in (None, "") else cint(hours),
		condition,
	)


def split(rows: list) -> tuple[list, dict[schedule.Step, variants.ABTest]]:
	"""A Campaign's schedule rows that are steps (not variants), and its steps' tests."""
	tests = variants.tests_of(variant_row(row) for row in rows)
	return [row for row in rows if not row.get("variant_of")], tests


def tests_of_campaigns(campaigns: set[str]) -> dict[str, dict[schedule.Step, variants.ABTest]]:
	return {campaign: split(rows)[1] for campaign, rows in schedules.read(campaigns).items()}


def test_name(campaign: str, step: schedule.Step, test: variants.ABTest) -> str:
	raw = "\x1f".join((campaign, str(step.send_after_days), step.email_template, *test.variants))
	return hashlib.sha256(raw.encode()).hexdigest()[:20]


def get_states(tests_of: dict) -> dict[tuple[str, schedule.Step], variants.State]:
	"""The state of every test of the planned Email Campaigns' Campaigns (one query)."""
	names = {
		test_name(campaign, step, test): (campaign, step)
		for campaign, tests in tests_of.values()
		for step, test in tests.items()
	}
	if not names:
		return {}
	rows = frappe.get_all(
		TEST, filters={"name": ("in", list(names))}, fields=["name", "started_on", "winner"]
	)
	return {names[row.name]: variants.State(get_datetime(row.started_on), row.winner) for row in rows}


def assign(decided, candidates: list[schedule.Candidate], tests_of: dict, now=None):
	"""The planner's Decided with its sends given their variant, and the sends of groups that
	wait for a decision in `awaiting_winner`; the decisions due now are taken first."""
	if not tests_of:
		return decided
	now = now or now_datetime()
	states = decide_due(tests_of, get_states(tests_of), now)
	recipients_of = {
		candidate.name: [recipient.email for recipient in candidate.recipients]
		for candidate in candidates
		if candidate.name in tests_of
	}
	assignments = variants.assign(decided.sends, tests_of, states, recipients_of)
	decided.sends, decided.awaiting_winner = assignments.go, assignments.waiting
	return decided


def decide_due(tests_of: dict, states: dict, now) -> dict:
	"""Decide every test whose hours have passed; the states with their winners."""
	by_campaign = dict(tests_of.values())  # Email Campaigns of one Campaign share its tests
	for campaign, tests in by_campaign.items():
		for step, test in tests.items():
			if variants.decision_due(test, states.get((campaign, step)), now):
				winner = decide(campaign, step, test, now)
				states[(campaign, step)] = states[(campaign, step)]._replace(winner=winner)
	return states


def decide(campaign: str, step: schedule.Step, test: variants.ABTest, now) -> str:
	"""Record the winner (a concurrent run's, if it was first) and return it."""
	figures = figures_of(campaign, step, test)
	winner = variants.winner(test, figures)
	Test = frappe.qb.DocType(TEST)
	name = test_name(campaign, step, test)
	frappe.qb.update(Test).set(Test.winner, winner).set(Test.decided_on, now).set(
		Test.winner_by, RULE_LABELS[test.rule]
	).set(Test.figures, describe(test, figures)).where((Test.name == name) & Test.winner.isnull()).run()
	return frappe.db.get_value(TEST, name, "winner")


def figures_of(campaign: str, step: schedule.Step, test: variants.ABTest) -> dict[str, variants.Figures]:
	"""Each variant's test emails: delivered (Sent, or engaged with), opened, clicked, replied."""
	Ledger = frappe.qb.DocType(LEDGER)
	Communication = frappe.qb.DocType("Communication")
	opened = Coalesce(Communication.read_by_recipient, 0) == 1
	clicked, replied = Ledger.clicks > 0, Ledger.replied_on.isnotnull()
	delivered = (Ledger.status == statuses.SENT) | opened | clicked | replied
	rows = (
		frappe.qb.from_(Ledger)
		.left_join(Communication)
		.on(Communication.name == Ledger.communication)
		.select(
			Ledger.variant,
			*(Sum(Case().when(fact, 1).else_(0)) for fact in (delivered, opened, clicked, replied)),
		)
		.where(
			(Ledger.campaign_name == campaign)
			& (Ledger.email_template == step.email_template)
			& (Ledger.send_after_days == step.send_after_days)
			& (Ledger.in_test == 1)
			& Ledger.variant.isin(test.variants)
		)
		.groupby(Ledger.variant)
		.run()
	)
	return {variant: variants.Figures(*(int(value or 0) for value in values)) for variant, *values in rows}


def describe(test: variants.ABTest, figures: dict) -> str:
	"""What the decision was made on, per variant (the Campaign form tells it in the reader's
	language)."""
	return json.dumps(
		{variant: figures.get(variant, variants.Figures())._asdict() for variant in test.variants}
	)


def record_started(emails: list) -> None:
	"""The tests of the claimed emails that are test emails start now, unless they have."""
	testing = [email for email in emails if email.send.in_test]
	if not testing:
		return
	tests = tests_of_campaigns({email.campaign.campaign_name for email in testing})
	started = {}
	for email in testing:
		if test := tests.get(email.campaign.campaign_name, {}).get(email.send.step):
			started[test_name(email.campaign.campaign_name, email.send.step, test)] = (email, test)
	if not started:
		return
	stamp, user = now(), frappe.session.user
	rows = [
		(name, stamp, stamp, user, user, 0, email.campaign.campaign_name, email.send.step.email_template,
		 email.send.step.send_after_days, stamp, RULE_LABELS[test.rule])
		for name, (email, test) in started.items()
	]  # fmt: skip
	insert_rows(
		TEST,
		("name", "creation", "modified", "owner", "modified_by", "docstatus",
		 "campaign", "email_template", "send_after_days", "started_on", "winner_by"),
		rows,
		ignore_duplicates=True,
	)  # fmt: skip


def waiting_reason(decide_at) -> str:
	"""Why a group's recipient waits, for the schedule view."""
	if not decide_at:
		return _("the A/B test's first emails")
	return _("the A/B test's winner, decided at {0}").format(format_datetime(decide_at, "HH:mm"))


def look_again(awaiting: list, now) -> set[str]:
	"""The Email Campaigns to plan again today: a decision due before midnight, or a test not
	started yet (its first emails are on their way)."""
	today = now.date()
	return {send.email_campaign for send, decide_at in awaiting if not decide_at or decide_at.date() <= today}
