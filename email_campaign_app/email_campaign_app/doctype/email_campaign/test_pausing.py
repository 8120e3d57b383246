# Copyright (c) 2026, email_campaign_app developers and contributors
# For license information, please see license.txt
"""Pause and resume: a paused Email Campaign sends nothing; resuming shifts or catches up."""

from datetime import timedelta

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_days, add_to_date, getdate, now_datetime, today

from email_campaign_app import tasks
from email_campaign_app.api import email_campaign as api
from email_campaign_app.desk import figures
from email_campaign_app.sending import batch as sending
from email_campaign_app.sending import pausing, planning
from email_campaign_app.sending.planning import update_statuses
from email_campaign_app.tests.helpers import (
	ensure_outgoing_email_account,
	make_campaign,
	make_email_campaign,
	make_email_group,
	make_lead,
	make_template,
	started_days_ago,
)
from email_campaign_app.tests.http import Client, ensure_user

LEDGER = "Email Campaign Send Log"
SALES_USER = "ec-pause-sales-user@example.com"
OTHER_SALES_USER = "ec-pause-other-sales-user@example.com"
SALES_MANAGER = "ec-pause-sales-manager@example.com"


def sent_steps(email_campaign):
	return frappe.get_all(
		LEDGER,
		filters={"email_campaign": email_campaign},
		pluck="send_after_days",
		order_by="send_after_days",
	)


def mark_sent(email_campaign):
	"""The emails queued so far left (Frappe's queue flush does not run in tests)."""
	queued = frappe.get_all(LEDGER, filters={"email_campaign": email_campaign}, pluck="email_queue")
	frappe.db.set_value("Email Queue", {"name": ("in", queued)}, "status", "Sent")


def status_of(email_campaign):
	return frappe.db.get_value("Email Campaign", email_campaign, "status")


class TestPauseAndResume(FrappeTestCase):
	def setUp(self):
		ensure_outgoing_email_account()
		self.campaign = make_campaign([(make_template().name, day) for day in (0, 2, 4, 8)])

	def start(self, recipient=None, email_campaign_for="Lead"):
		email_campaign = make_email_campaign(
			self.campaign.name, recipient or make_lead().name, email_campaign_for
		)
		tasks.daily()  # day 0 goes
		mark_sent(email_campaign.name)
		return email_campaign

	def paused_days_ago(self, email_campaign, started: int, paused: int):
		"""Started `started` days ago, paused `paused` days ago (day 0 sent before the pause)."""
		doc = started_days_ago(email_campaign.name, started)
		started_on = add_days(today(), -started)
		frappe.db.set_value(
			LEDGER, {"email_campaign": doc.name}, {"queued_on": started_on, "send_date": started_on}
		)
		doc.db_set("status", "In Progress")  # as it was on the day it was paused
		pausing.pause(doc)
		frappe.db.set_value(
			"Email Campaign", doc.name, "paused_on", add_to_date(now_datetime(), days=-paused)
		)
		return frappe.get_doc("Email Campaign", doc.name)

	def test_a_paused_email_campaign_sends_nothing_and_keeps_its_status(self):
		email_campaign = self.start()
		started_days_ago(email_campaign.name, 2)
		pausing.pause(frappe.get_doc("Email Campaign", email_campaign.name))
		self.assertEqual(status_of(email_campaign.name), "Paused")

		tasks.daily()
		update_statuses()
		self.assertEqual(sent_steps(email_campaign.name), [0])
		self.assertEqual(status_of(email_campaign.name), "Paused")
		doc = frappe.get_doc("Email Campaign", email_campaign.name)
		doc.send_at = "11:00"
		doc.save()
		self.assertEqual(doc.status, "Paused")
		self.assertEqual(api.send_due_emails_now(email_campaign.name), 0)

	def test_pausing_withdraws_the_emails_waiting_in_the_email_queue(self):
		group = make_email_group(["one@example.com", "two@example.com"])
		email_campaign = make_email_campaign(self.campaign.name, group.name, "Email Group", send_at="23:30")
		with self.freeze_time(f"{today()} 23:30:05"):  # released at Send At, not delivered yet
			tasks.daily()
		rows = frappe.get_all(
			LEDGER, filters={"email_campaign": email_campaign.name}, fields=["email_queue", "communication"]
		)
		self.assertEqual(len(rows), 2)
		sent = rows[0]
		frappe.db.set_value("Email Queue", sent.email_queue, "status", "Sent")  # that one already left

		self.assertEqual(pausing.pause(frappe.get_doc("Email Campaign", email_campaign.name)), 1)
		[kept] = frappe.get_all(
			LEDGER, filters={"email_campaign": email_campaign.name}, fields=["email_queue", "communication"]
		)
		self.assertEqual(kept, sent)
		withdrawn = rows[1]
		self.assertFalse(frappe.db.exists("Email Queue", withdrawn.email_queue))
		self.assertFalse(frappe.db.exists("Email Queue Recipient", {"parent": withdrawn.email_queue}))
		self.assertFalse(frappe.db.exists("Communication", withdrawn.communication))

		pausing.resume(frappe.get_doc("Email Campaign", email_campaign.name), pausing.CATCH_UP)
		planning.queue_due_emails([email_campaign.name])
		self.assertEqual(len(sent_steps(email_campaign.name)), 2)  # the withdrawn email goes again

	def test_a_batch_planned_before_the_pause_sends_nothing_after_it(self):
		email_campaign = make_email_campaign(self.campaign.name, make_lead().name)
		sends = [sending.as_job_arg(send) for send in planning.plan_due_emails([email_campaign.name]).sends]
		pausing.pause(frappe.get_doc("Email Campaign", email_campaign.name))
		sending.send_batch(sends)
		self.assertEqual(sent_steps(email_campaign.name), [])

	def test_resume_shifts_the_remaining_schedule_by_the_paused_days(self):
		email_campaign = self.start()
		doc = self.paused_days_ago(email_campaign, started=3, paused=2)  # paused on day 1, day 2 missed
		start = getdate(doc.start_date)

		self.assertEqual(pausing.resume(doc, pausing.SHIFT), 2)
		doc.reload()
		self.assertEqual((doc.status, doc.shifted_days, doc.paused_on), ("In Progress", 2, None))
		self.assertEqual(getdate(doc.end_date), getdate(add_days(start, 10)))
		self.assertEqual(
			[row["send_date"] for row in figures.schedule_view(doc.name)],
			[getdate(add_days(start, day)) for day in (0, 4, 6, 10)],
		)
		tasks.daily()
		self.assertEqual(sent_steps(doc.name), [0])  # day 2 now falls tomorrow
		with self.freeze_time(f"{add_days(today(), 1)} 00:30:00"):
			tasks.daily()
		self.assertEqual(sent_steps(doc.name), [0, 2])

	def test_resume_catches_up_one_schedule_day_per_day(self):
		email_campaign = self.start()
		doc = self.paused_days_ago(email_campaign, started=9, paused=8)  # days 2, 4 and 8 missed
		start, tomorrow = getdate(doc.start_date), getdate(add_days(today(), 1))

		result = api.resume_email_campaign(doc.name, "Catch Up")
		self.assertEqual((result["status"], result["shifted_days"], result["queued"]), ("In Progress", 0, 1))
		doc.reload()
		self.assertEqual(sent_steps(doc.name), [0, 2])  # the earliest missed day at once
		self.assertEqual(getdate(doc.end_date), getdate(add_days(today(), 2)))  # not Completed yesterday
		self.assertEqual(getdate(doc.catch_up_until), getdate(doc.end_date))
		self.assertEqual(
			[row["send_date"] for row in figures.schedule_view(doc.name)],
			[start, start + timedelta(days=2), tomorrow, tomorrow + timedelta(days=1)],
		)
		update_statuses()
		doc.save()  # a save keeps the catch-up end date
		self.assertEqual((doc.status, getdate(doc.end_date)), ("In Progress", getdate(add_days(today(), 2))))
		with self.freeze_time(f"{add_days(today(), 1)} 00:30:00"):
			tasks.daily()
		self.assertEqual(sent_steps(doc.name), [0, 2, 4])

	def test_only_running_campaigns_pause_and_only_paused_ones_resume(self):
		email_campaign = make_email_campaign(self.campaign.name, make_lead().name)
		with self.assertRaisesRegex(frappe.ValidationError, "not Paused: there is nothing to resume"):
			pausing.resume(email_campaign, pausing.SHIFT)
		pausing.pause(email_campaign)
		with self.assertRaisesRegex(
			frappe.ValidationError, "only a Scheduled or In Progress Email Campaign can be paused"
		):
			pausing.pause(email_campaign)
		with self.assertRaisesRegex(frappe.ValidationError, "Choose how to resume"):
			pausing.resume(email_campaign, "Later")
		self.assertEqual(status_of(email_campaign.name), "Paused")

	def test_a_paused_campaign_still_blocks_a_duplicate_and_keeps_its_recipient(self):
		lead = make_lead().name
		email_campaign = make_email_campaign(self.campaign.name, lead)
		pausing.pause(email_campaign)
		with self.assertRaisesRegex(frappe.ValidationError, "already runs Campaign"):
			make_email_campaign(self.campaign.name, lead, start_date=add_days(today(), 3))
		doc = frappe.get_doc("Email Campaign", email_campaign.name)
		doc.recipient = make_lead().name
		with self.assertRaisesRegex(frappe.ValidationError, "cannot change once"):
			doc.save()


class TestWhoMayPause(FrappeTestCase):
	"""Sales Managers, System Managers and the Email Campaign's owner; over HTTP, 403 otherwise."""

	def setUp(self):
		ensure_user(SALES_USER, ("Sales User",))
		ensure_user(OTHER_SALES_USER, ("Sales User",))
		ensure_user(SALES_MANAGER, ("Sales Manager",))
		campaign = make_campaign([(make_template().name, 0), (make_template().name, 3)])
		frappe.set_user(SALES_USER)
		try:
			self.email_campaign = make_email_campaign(
				campaign.name, make_lead().name, sender=SALES_USER, start_date=add_days(today(), 1)
			)
		finally:
			frappe.set_user("Administrator")

	def call(self, user, method, **args):
		return Client(user).method(
			f"email_campaign.{method}", email_campaign=self.email_campaign.name, **args
		)

	def test_another_sales_user_may_not_pause_nor_resume(self):
		self.assertEqual(self.call(OTHER_SALES_USER, "pause_email_campaign").status_code, 403)
		self.assertEqual(status_of(self.email_campaign.name), "Scheduled")
		pausing.pause(self.email_campaign)
		self.assertEqual(self.call(OTHER_SALES_USER, "resume_email_campaign", mode="Shift").status_code, 403)
		self.assertEqual(status_of(self.email_campaign.name), "Paused")

	def test_the_owner_may_pause_and_resume(self):
		response = self.call(SALES_USER, "pause_email_campaign")
		self.assertEqual(response.status_code, 200, response.get_data(as_text=True))
		self.assertEqual(status_of(self.email_campaign.name), "Paused")
		response = self.call(SALES_USER, "resume_email_campaign", mode="Shift")
		self.assertEqual(response.status_code, 200, response.get_data(as_text=True))
		self.assertEqual(status_of(self.email_campaign.name), "Scheduled")

	def test_a_sales_manager_may_pause_and_resume(self):
		self.assertEqual(self.call(SALES_MANAGER, "pause_email_campaign").status_code, 200)
		self.assertEqual(self.call(SALES_MANAGER, "resume_email_campaign", mode="Catch Up").status_code, 200)
		self.assertEqual(status_of(self.email_campaign.name), "Scheduled")

	def test_a_get_is_refused(self):
		response = Client(SALES_MANAGER).get(
			"/api/method/email_campaign_app.api.email_campaign.pause_email_campaign",
			query={"email_campaign": self.email_campaign.name},
		)
		self.assertNotEqual(response.status_code, 200)
		self.assertEqual(status_of(self.email_campaign.name), "Scheduled")
