# Copyright (c) 2026, email_campaign_app developers and contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document
from frappe.utils import escape_html, getdate, today

from email_campaign_app.core import conditions, schedule, statuses, variants
from email_campaign_app.core.sending_days import Calendar
from email_campaign_app.enrolment import rules as enrolment_rules
from email_campaign_app.sending import ab_testing, branching, rendering
from email_campaign_app.sending import calendars as sequence_settings


class Campaign(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		from email_campaign_app.email_campaign_app.doctype.campaign_email_schedule.campaign_email_schedule import (
			CampaignEmailSchedule,
		)
		from email_campaign_app.email_campaign_app.doctype.campaign_enrolment_rule.campaign_enrolment_rule import (
			CampaignEnrolmentRule,
		)

		business_days: DF.Check
		campaign_name: DF.Data
		campaign_schedules: DF.Table[CampaignEmailSchedule]
		description: DF.Text | None
		enrolment_rules: DF.Table[CampaignEnrolmentRule]
		send_on_friday: DF.Check
		send_on_monday: DF.Check
		send_on_saturday: DF.Check
		send_on_sunday: DF.Check
		send_on_thursday: DF.Check
		send_on_tuesday: DF.Check
		send_on_wednesday: DF.Check
		stop_on_reply: DF.Check
		track_clicks: DF.Check
	# end: auto-generated types

	def validate(self):
		self.validate_schedule()
		self.validate_variants()  # before sorting: the row numbers the user sees
		self.validate_conditions()
		self.validate_sending_days()
		self.sort_schedule_by_day()
		enrolment_rules.validate_rules(self)

	def validate_schedule(self):
		for row in self.campaign_schedules:
			if row.send_after_days is None or row.send_after_days < 0:
				frappe.throw(
					_("Row #{0}: Send After (days) must be 0 or more.").format(row.idx),
					title=_("Invalid Schedule"),
				)
		for email_template in {row.email_template for row in self.campaign_schedules if row.email_template}:
			if frappe.db.exists("Email Template", email_template):  # else Frappe's link check names it
				template = frappe.get_cached_doc("Email Template", email_template)
				rendering.validate_template(email_template, template.subject, template.response_)
		for step in schedule.duplicate_steps(self.get_steps()):
			frappe.throw(
				_("Email Template {0} is scheduled twice on day {1}. Remove one of the two rows.").format(
					bold(step.email_template), step.send_after_days
				),
				title=_("Invalid Schedule"),
			)

	def validate_conditions(self):
		"""Refuse a condition on a later, same-day or missing step (naming the row and what to
		change); say that opens are approximate, and which step "the previous step" is."""
		for row in self.campaign_schedules:
			row.condition = row.condition or "Always"
			if row.condition == "Always":
				row.condition_template, row.condition_after_days = None, 0  # no hidden reference
		step_rows = [row for row in self.campaign_schedules if not row.variant_of]
		rows = [branching.schedule_row(row) for row in step_rows]
		errors, warnings = conditions.validate(rows, bool(self.stop_on_reply))
		previous_day = conditions.rows_of_previous_day(rows)
		messages = [
			condition_message(
				problem._replace(row=step_rows[problem.row - 1].idx), rows[problem.row - 1], previous_day
			)
			for problem in errors + warnings
		]
		if errors:
			frappe.throw("<br>".join(messages[: len(errors)]), title=_("Invalid Schedule"))
		if warnings:
			frappe.msgprint("<br>".join(messages[len(errors) :]), title=_("Send Only If"), indicator="orange")

	def validate_variants(self):
		"""Refuse a variant of a missing step, of a variant or with a condition of its own, and a
		test share, rule or decision delay out of range, naming the row; say that opens are
		approximate when they decide."""
		rows = [
			ab_testing.variant_row(row, branching.schedule_row(row).condition)
			for row in self.campaign_schedules
		]
		if problems := variants.validate(rows):
			frappe.throw(
				"<br>".join(variant_message(problem, rows[problem.row - 1]) for problem in problems),
				title=_("Invalid Schedule"),
			)
		if any(test.rule == variants.OPENS for test in variants.tests_of(rows).values()):
			frappe.msgprint(
				_(
					"A/B variants decided by opens: opens are approximate. Image proxies and privacy "
					"features open emails nobody read, and mail clients that block images hide real opens."
				),
				title=_("A/B Variants"),
				indicator="orange",
			)

	def get_tests(self) -> dict:
		"""{step: its A/B test} for the steps with variants."""
		return variants.tests_of(ab_testing.variant_row(row) for row in self.campaign_schedules)

	def on_trash(self):
		frappe.db.delete(ab_testing.TEST, {"campaign": self.name})

	def sort_schedule_by_day(self):
		self.campaign_schedules.sort(key=lambda row: (row.send_after_days, row.idx))
		for idx, row in enumerate(self.campaign_schedules, start=1):
			row.idx = idx

	def get_steps(self) -> list[schedule.Step]:
		"""Its steps: the schedule's rows that are not A/B variants."""
		return [
			schedule.Step(row.email_template, row.send_after_days or 0)
			for row in self.campaign_schedules
			if not row.variant_of
		]

	def get_calendar(self) -> Calendar:
		"""The days its "send after" counts: every day, or the weekdays it sends on."""
		try:
			return sequence_settings.calendar_of(self)
		except ValueError:
			return Calendar()  # validate_sending_days refuses to save it so

	def validate_sending_days(self):
		if self.business_days and not any(
			self.get(fieldname) for fieldname in sequence_settings.WEEKDAY_FIELDS
		):
			frappe.throw(
				_("Tick at least one day to send on, or untick Count in Business Days."),
				title=_("No Sending Day"),
			)

	def on_update(self):
		self.update_running_email_campaigns()

	def update_running_email_campaigns(self):
		"""A new schedule moves the end date of the Email Campaigns that are not finished yet."""
		days = [step.send_after_days for step in self.get_steps()]
		if not days:
			return
		running = frappe.get_all(
			"Email Campaign",
			filters={
				"campaign_name": self.name,
				"status": ("in", statuses.RUNNING),
			},
			fields=["name", "start_date", "status", "shifted_days", "catch_up_until"],
		)
		calendar = self.get_calendar()
		for row in running:
			end_date = schedule.end_date(
				getdate(row.start_date), days, calendar.shifted(row.shifted_days or 0)
			)
			end_date = max(end_date, getdate(row.catch_up_until or end_date))
			frappe.db.set_value(
				"Email Campaign",
				row.name,
				{
					"end_date": end_date,
					"status": schedule.status_on(
						getdate(row.start_date), end_date, getdate(today()), row.status
					),
					"all_steps_sent": 0,
				},
			)


def condition_message(problem: conditions.Problem, row: conditions.ScheduleRow, previous_day) -> str:
	"""What the form says about a row's condition (its row number is the form's)."""
	on = conditions.step_referenced(row, previous_day)
	if problem.code == conditions.NOT_EARLIER:
		return _("Row #{0}: its condition must be on a step of an earlier day.").format(problem.row)
	if problem.code == conditions.MISSING_STEP:
		return _("Row #{0}: its condition is on {1} on day {2}, which is not in the schedule.").format(
			problem.row, bold(on.email_template), on.send_after_days
		)
	if problem.code == conditions.NO_EARLIER_STEP:
		return _("Row #{0}: a step of the first day has no earlier step to depend on. Choose Always.").format(
			problem.row
		)
	if problem.code == conditions.REPLIED_STOPS:
		return _(
			"Row #{0}: with Stop on Reply, whoever replies receives nothing more, so this condition "
			"would never be met. Untick Stop on Reply or choose another condition."
		).format(problem.row)
	if problem.code == conditions.OPENS_ARE_APPROXIMATE:
		return _(
			"Row #{0}: opens are approximate. Image proxies and privacy features open emails nobody "
			"read, and mail clients that block images hide real opens."
		).format(problem.row)
	if problem.code == conditions.PREVIOUS_DAY_BRANCHES:
		return _(
			"Row #{0}: the previous day has several steps; its condition is on the last of them, {1}. "
			"Choose the step if you meant another."
		).format(problem.row, bold(on.email_template))
	return _("Row #{0}: unknown condition {1}.").format(problem.row, bold(row.condition))


def variant_message(problem: variants.Problem, row: variants.Row) -> str:
	"""What the form says about a row's A/B variant or test (its row number is the form's)."""
	if problem.code == variants.OF_ITSELF:
		return _("Row #{0}: a row cannot be an A/B variant of its own Email Template.").format(problem.row)
	if problem.code == variants.OF_A_VARIANT:
		return _("Row #{0}: {1} is itself an A/B variant. Choose the step it is a variant of.").format(
			problem.row, bold(row.variant_of)
		)
	if problem.code == variants.NOT_A_STEP:
		return _(
			"Row #{0}: A/B Variant Of must name a step of the same day; day {1} has no row for {2}."
		).format(problem.row, row.step.send_after_days, bold(row.variant_of))
	if problem.code == variants.WITH_CONDITION:
		return _("Row #{0}: an A/B variant is sent under its step's condition. Choose Always.").format(
			problem.row
		)
	if problem.code == variants.BAD_SHARE:
		return _("Row #{0}: Test Share (%) must be more than 0 and at most 100.").format(problem.row)
	if problem.code == variants.BAD_HOURS:
		return _("Row #{0}: Decide After (hours) must be at least 1.").format(problem.row)
	return _("Row #{0}: unknown Winner By {1}.").format(problem.row, bold(row.rule))


def bold(value) -> str:
	"""A value a user typed (a template's name, a condition), escaped and in bold in a message."""
	return frappe.bold(escape_html(str(value)))
