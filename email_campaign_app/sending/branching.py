"""Conditional schedule rows in the shell: a row's Send Only If, read from the Campaign's
schedule, decided by the core (core/conditions.py) on the facts the planner's ledger query
already reads, and the sends whose condition is not met written as Skipped, in bulk.

The rows' Select holds English labels; the core speaks codes: CODES maps one to the other.
An empty condition (a row saved before the field existed) is Always.
"""

from dataclasses import dataclass, field

import frappe
from frappe import _
from frappe.query_builder.functions import Coalesce
from frappe.utils import now, today
from pypika.terms import Case

from email_campaign_app import utils
from email_campaign_app.core import conditions, schedule, statuses, variants
from email_campaign_app.sending import ab_testing, releasing, schedules
from email_campaign_app.sending.ledger import LEDGER
from email_campaign_app.sending.writing import LEDGER_FIELDS
from email_campaign_app.utils import insert_rows

CODES = {
	"Always": conditions.ALWAYS,
	"Opened": conditions.OPENED,
	"Not Opened": conditions.NOT_OPENED,
	"Clicked": conditions.CLICKED,
	"Not Clicked": conditions.NOT_CLICKED,
	"Replied": conditions.REPLIED,
	"Not Replied": conditions.NOT_REPLIED,
}
LABELS = {code: label for label, code in CODES.items()}


def schedule_row(row) -> conditions.ScheduleRow:
	"""A Campaign Email Schedule row (a document or a dict of schedules.FIELDS) for the core."""
	on = None
	if row.get("condition_template"):
		on = schedule.Step(row.get("condition_template"), row.get("condition_after_days") or 0)
	label = row.get("condition") or "Always"
	return conditions.ScheduleRow(
		schedule.Step(row.get("email_template"), row.get("send_after_days") or 0),
		CODES.get(label, label),  # an unknown label stays unknown: validation names it
		on,
	)


def label_of(code: str) -> str:
	return _(LABELS.get(code, code))


OPENED_BIT, CLICKED_BIT, REPLIED_BIT = 1, 2, 4


def with_facts(query, Ledger, conditions_of: dict):
	"""The ledger query joined to each email's Communication (where its open is recorded), and
	two columns of its facts (facts_of): its status, and opened, clicked and replied to as bits.
	Only the rows of the Email Templates some condition is on probe the Communication and carry
	them (the others read two NULLs): a site's other campaigns cost no more with conditions on."""
	referenced = sorted(referenced_templates(conditions_of)) or [""]
	needs_facts = Ledger.email_template.isin(referenced)
	Communication = frappe.qb.DocType("Communication")
	query = query.left_join(Communication).on((Communication.name == Ledger.communication) & needs_facts)
	bits = (
		Coalesce(Communication.read_by_recipient, 0) * OPENED_BIT
		+ Case().when(Ledger.clicks > 0, CLICKED_BIT).else_(0)
		+ Case().when(Ledger.replied_on.isnotnull(), REPLIED_BIT).else_(0)
	)
	return query, (Case().when(needs_facts, Ledger.status), Case().when(needs_facts, bits))


def referenced_templates(conditions_of: dict) -> set[str]:
	"""The Email Templates of the steps the conditions are on (each Campaign's once)."""
	per_campaign = {id(of): of for of in conditions_of.values()}.values()  # shared, not copied
	return {c.on.email_template for of in per_campaign for c in of.values() if c.on}


def facts_of(status, bits) -> conditions.StepFacts | None:
	"""None for a row no condition reads."""
	if status is None:
		return None
	bits = int(bits or 0)
	return conditions.StepFacts(
		status, bool(bits & OPENED_BIT), bool(bits & CLICKED_BIT), bool(bits & REPLIED_BIT)
	)


def skip_reason(send: schedule.Send, reason: str, condition: conditions.Condition | None) -> str:
	"""What the ledger row's Error says about a send skipped for its condition."""
	on = condition.on if condition and condition.on else schedule.Step("?", 0)
	if reason == conditions.NOT_DELIVERED:
		return _("Not sent: its condition is on {0} (day {1}), which did not reach this address.").format(
			on.email_template, on.send_after_days
		)
	return _("Not sent: its condition ({0} {1}, day {2}) was not met.").format(
		label_of(condition.kind if condition else ""), on.email_template, on.send_after_days
	)


def write_skipped(
	skipped: list[tuple[schedule.Send, str]],
	conditions_of: dict[str, dict[schedule.Step, conditions.Condition]],
) -> set[str]:
	"""Skipped ledger rows, in one INSERT IGNORE on the send key (a row a concurrent run wrote
	stays as it is); queued today, so the recipient's next schedule day waits for tomorrow, as
	after an email sent. A skip takes no place in any sending limit. The Email Campaigns written."""
	if not skipped:
		return set()
	names = list({send.email_campaign for send, _reason in skipped})
	campaign_of = dict(
		frappe.get_all(
			"Email Campaign", filters={"name": ("in", names)}, fields=["name", "campaign_name"], as_list=True
		)
	)
	stamp, user, day, claim = now(), frappe.session.user, today(), frappe.generate_hash(length=12)
	rows = []
	for send, reason in skipped:
		condition = conditions_of.get(send.email_campaign, {}).get(send.step)
		rows.append(
			skipped_row(send, campaign_of, stamp, user, day, claim, skip_reason(send, reason, condition))
		)
	insert_rows(LEDGER, LEDGER_FIELDS, rows, ignore_duplicates=True)
	return set(names)


def skipped_row(send: schedule.Send, campaign_of: dict, stamp, user, day, claim, reason: str) -> tuple:
	"""A Skipped ledger row, in writing.LEDGER_FIELDS' order."""
	return (
		send.key, stamp, stamp, user, user, 0,
		send.email_campaign, campaign_of.get(send.email_campaign), send.step.email_template, send.step.send_after_days, send.send_date,
		send.recipient.email, send.recipient.doctype, send.recipient.name,
		statuses.SKIPPED, 0, claim, None, None, day, reason, None,
		None, 0,
	)  # fmt: skip


def hold_waiting(
	waiting: dict,
	held: list[tuple[schedule.Send, str]],
	conditions_of: dict[str, dict[schedule.Step, conditions.Condition]],
) -> set[str]:
	"""What waits on a condition, put beside what waits for a limit (`releasing.Release.waiting`)
	so that the Desk says why (releasing.remember_waiting); the Email Campaigns waiting for an
	email on its way, looked at again on the dispatcher's next run."""
	for send, why in held:
		condition = conditions_of.get(send.email_campaign, {}).get(send.step)
		releasing.hold(waiting, [send], waiting_reason(why, condition))
	return {send.email_campaign for send, why in held if why == conditions.PENDING}


def waiting_reason(why: str, condition: conditions.Condition | None) -> str:
	if why == conditions.PENDING and condition and condition.on:
		return _("the email its condition is on ({0}, day {1}) to be sent").format(
			condition.on.email_template, condition.on.send_after_days
		)
	return _("a correction of its condition in the Campaign's schedule")


def report_invalid(waiting: list[tuple[schedule.Send, str]]):
	"""A stored schedule the form would refuse (a row written around it, a template renamed
	without its reference): its conditional sends wait; say so once a day."""
	for email_campaign in sorted({send.email_campaign for send, why in waiting if why == conditions.INVALID}):
		message = _(
			"A condition of its Campaign's schedule is on a step that is missing or not earlier: "
			"those emails wait until the Campaign's schedule is corrected."
		)
		utils.report_once_a_day(
			_("Email Campaign {0}: a condition of its schedule is invalid").format(email_campaign),
			message,
			"Email Campaign",
			email_campaign,
			comment=True,
		)


def get_schedules(
	campaigns: set[str],
) -> tuple[
	dict[str, list[schedule.Step]],
	dict[str, dict[schedule.Step, conditions.Condition]],
	dict[str, dict[schedule.Step, variants.ABTest]],
]:
	"""The Campaigns' steps in schedule order (day, then row), the conditional steps of those
	that have some, resolved, and the A/B tests of those with variants (one query)."""
	steps, conditional, tests = {}, {}, {}
	for campaign, rows in schedules.read(campaigns).items():
		step_rows, tests[campaign] = ab_testing.split(rows)
		resolved = [schedule_row(row) for row in step_rows]
		steps[campaign] = [row.step for row in resolved]
		conditional[campaign] = conditions.resolve(resolved)
	return (
		steps,
		{campaign: of for campaign, of in conditional.items() if of},
		{campaign: of for campaign, of in tests.items() if of},
	)


@dataclass
class Decided(schedule.Plan):
	"""What is due, once conditions are decided: `sends` go on; `skipped` are written as
	Skipped; `waiting` are looked at again (the earlier email on its way) or reported (a
	schedule the form would refuse)."""

	skipped: list = field(default_factory=list)
	waiting: list = field(default_factory=list)
	conditions_of: dict = field(default_factory=dict)
	awaiting_winner: list = field(default_factory=list)  # (send, decision time): see ab_testing


def decide(due: schedule.Plan, conditions_of: dict, facts: dict) -> Decided:
	if not conditions_of:
		return Decided(due.sends, due.finished, due.candidates)
	decisions = conditions.decide(due.sends, conditions_of, facts)
	return Decided(
		decisions.go, due.finished, due.candidates, decisions.skipped, decisions.waiting, conditions_of
	)
