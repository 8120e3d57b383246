# Copyright (c) 2026, email_campaign_app developers and contributors
# For license information, please see license.txt
"""Business days: "send after" counts the Campaign's sending days, across weekends and month ends."""

from datetime import date, timedelta

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import getdate

from email_campaign_app import tasks
from email_campaign_app.desk import figures
from email_campaign_app.desk import preview as desk
from email_campaign_app.sending import pausing
from email_campaign_app.tests.helpers import (
	ensure_outgoing_email_account,
	make_campaign,
	make_email_campaign,
	make_lead,
	make_template,
)

LEDGER = "Email Campaign Send Log"
FRIDAY = date(2027, 4, 30)  # the last day of April
MONDAY, TUESDAY = date(2027, 5, 3), date(2027, 5, 4)


def business_campaign(days=(0, 1, 2), **sending_days):
	campaign = make_campaign([(make_template().name, day) for day in days])
	campaign.business_days = 1
	campaign.update(sending_days)
	campaign.save()
	return campaign


def sent(email_campaign):
	return frappe.get_all(
		LEDGER,
		filters={"email_campaign": email_campaign},
		fields=["send_after_days", "send_date", "queued_on"],
		order_by="send_after_days",
	)


class TestBusinessDays(FrappeTestCase):
	def setUp(self):
		ensure_outgoing_email_account()

	def run_daily_on(self, day: date):
		with self.freeze_time(f"{day} 00:30:00"):
			tasks.daily()

	def test_steps_skip_the_weekend_across_the_month_end(self):
		campaign = business_campaign()
		with self.freeze_time(f"{FRIDAY} 08:00:00"):
			email_campaign = make_email_campaign(campaign.name, make_lead().name, start_date=FRIDAY)
			self.assertEqual(getdate(email_campaign.end_date), TUESDAY)
			self.assertEqual(
				[row["send_date"] for row in figures.schedule_view(email_campaign.name)],
				[FRIDAY, MONDAY, TUESDAY],
			)
			self.assertEqual(
				[row["send_date"] for row in desk.preview(email_campaign.name)], [FRIDAY, MONDAY, TUESDAY]
			)

		for day in (FRIDAY, FRIDAY + timedelta(days=1), FRIDAY + timedelta(days=2), MONDAY, TUESDAY):
			self.run_daily_on(day)
		self.assertEqual(
			[
				(row.send_after_days, getdate(row.send_date), getdate(row.queued_on))
				for row in sent(email_campaign.name)
			],
			[(0, FRIDAY, FRIDAY), (1, MONDAY, MONDAY), (2, TUESDAY, TUESDAY)],
		)

	def test_a_start_on_a_day_it_does_not_send_leaves_on_the_next_sending_day(self):
		campaign = business_campaign(days=(0, 1), send_on_monday=0, send_on_saturday=1)
		saturday, sunday = FRIDAY + timedelta(days=1), FRIDAY + timedelta(days=2)
		with self.freeze_time(f"{saturday} 08:00:00"):
			email_campaign = make_email_campaign(campaign.name, make_lead().name, start_date=sunday)
			self.assertEqual(getdate(email_campaign.end_date), date(2027, 5, 5))  # not on Sunday nor Monday
		for day in (sunday, MONDAY):
			self.run_daily_on(day)
		self.assertEqual(sent(email_campaign.name), [])
		self.run_daily_on(TUESDAY)
		self.assertEqual(
			[(row.send_after_days, getdate(row.queued_on)) for row in sent(email_campaign.name)],
			[(0, TUESDAY)],
		)

	def test_a_pause_over_the_weekend_shifts_by_the_sending_days_only(self):
		campaign = business_campaign(days=(0, 1, 5))
		with self.freeze_time(f"{FRIDAY} 08:00:00"):
			email_campaign = make_email_campaign(campaign.name, make_lead().name, start_date=FRIDAY)
			pausing.pause(email_campaign)
		with self.freeze_time(f"{TUESDAY} 08:00:00"):  # Monday and Tuesday: two sending days
			doc = frappe.get_doc("Email Campaign", email_campaign.name)
			self.assertEqual(pausing.resume(doc, pausing.SHIFT), 2)
			self.assertEqual(getdate(doc.end_date), date(2027, 5, 11))  # day 5 + 2: Tuesday a week later

	def test_changing_the_sending_days_moves_the_end_date_of_running_campaigns(self):
		campaign = make_campaign([(make_template().name, 0), (make_template().name, 3)])
		with self.freeze_time(f"{FRIDAY} 08:00:00"):
			email_campaign = make_email_campaign(campaign.name, make_lead().name, start_date=FRIDAY)
			self.assertEqual(getdate(email_campaign.end_date), FRIDAY + timedelta(days=3))
			campaign.reload()
			campaign.business_days = 1
			campaign.save()
			self.assertEqual(
				getdate(frappe.db.get_value("Email Campaign", email_campaign.name, "end_date")),
				date(2027, 5, 5),
			)

	def test_a_campaign_without_a_sending_day_is_refused(self):
		campaign = make_campaign()
		campaign.business_days = 1
		for fieldname in (
			"send_on_monday",
			"send_on_tuesday",
			"send_on_wednesday",
			"send_on_thursday",
			"send_on_friday",
		):
			campaign.set(fieldname, 0)
		with self.assertRaisesRegex(frappe.ValidationError, "Tick at least one day to send on"):
			campaign.save()
