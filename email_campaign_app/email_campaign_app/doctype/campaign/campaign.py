# Copyright (c) 2026, email_campaign_app developers and contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document
from frappe.utils import getdate, today

from email_campaign_app.core import schedule, statuses
from email_campaign_app.core.sending_days import Calendar
from email_campaign_app.enrolment import rules as enrolment_rules
from email_campaign_app.sending import calendars as sequence_settings
from email_campaign_app.sending import rendering


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
					frappe.bold(step.email_template), step.send_after_days
				),
				title=_("Invalid Schedule"),
			)

	def sort_schedule_by_day(self):
		self.campaign_schedules.sort(key=lambda row: (row.send_after_days, row.idx))
		for idx, row in enumerate(self.campaign_schedules, start=1):
			row.idx = idx

	def get_steps(self) -> list[schedule.Step]:
		return [
			schedule.Step(row.email_template, row.send_after_days or 0) for row in self.campaign_schedules
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
