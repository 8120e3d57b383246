# Copyright (c) 2026, email_campaign_app developers and contributors
# For license information, please see license.txt
"""Faults and bad input on a real site: a worker killed mid-batch, a database error on one
email, and every field a user can type filled wrong."""

import multiprocessing
import os
import signal
import time
from unittest.mock import patch

import frappe
import pymysql
from frappe.utils import add_days, add_to_date, now_datetime, today

from email_campaign_app import tasks
from email_campaign_app.sending import batch as sending
from email_campaign_app.sending import composing, delivery, planning, writing
from email_campaign_app.sending.ledger import STALLED_AFTER_MINUTES
from email_campaign_app.tests.helpers import (
	IntegrationTestCase,
	ensure_outgoing_email_account,
	make_campaign,
	make_email_campaign,
	make_email_group,
	make_lead,
	make_template,
	unique,
)
from email_campaign_app.tests.http import Client, ensure_user
from email_campaign_app.tests.smtp_sink import SMTPSink

LEDGER = "Email Campaign Send Log"
UNCERTAIN_MANAGER = "ec-rel-sales-manager@example.com"
UNCERTAIN_USER = "ec-rel-sales-user@example.com"


def ledger_statuses(email_campaign):
	return {
		row.recipient_email: row.status
		for row in frappe.get_all(
			LEDGER, filters={"email_campaign": email_campaign}, fields=["recipient_email", "status"]
		)
	}


def queued_recipients(email_campaign):
	queues = frappe.get_all("Email Queue", filters={"reference_name": email_campaign}, pluck="name")
	return sorted(
		frappe.get_all("Email Queue Recipient", filters={"parent": ("in", queues or [""])}, pluck="recipient")
	)


def send_slowly_in_a_worker(site, sends, third_started):
	"""A worker process that composes two emails, then hangs in the third until it is killed."""
	frappe.init(site=site)
	frappe.connect()
	real_compose = composing.compose_email
	calls = []

	def slow_third(send, context):
		calls.append(1)
		if len(calls) == 3:
			third_started.set()
			time.sleep(600)
		return real_compose(send, context)

	with patch("email_campaign_app.sending.composing.compose_email", side_effect=slow_third):
		sending.send_batch(sends)


DELIVER_THEN_HANG = """
import smtplib, sys, time
import frappe
from email_campaign_app.sending import delivery

site, *email_queues = sys.argv[1:]
frappe.init(site=site)
frappe.connect()
real_sendmail = smtplib.SMTP.sendmail

def deliver_then_hang(self, *args, **kwargs):
	real_sendmail(self, *args, **kwargs)
	print("delivered", flush=True)
	time.sleep(600)

smtplib.SMTP.sendmail = deliver_then_hang
delivery.send_now(email_queues)
"""


def deliver_then_die_in_a_worker(email_queues: list[str]):
	"""A delivery job's process: the first email reaches the SMTP server, then the process is
	killed before it could write so."""
	import subprocess
	import sys

	worker = subprocess.Popen(
		[sys.executable, "-c", DELIVER_THEN_HANG, frappe.local.site, *email_queues],
		cwd=frappe.utils.get_bench_path() + "/sites",
		stdout=subprocess.PIPE,
		text=True,
	)
	try:
		return worker.stdout.readline().strip()  # "delivered", or "" if the worker ended first
	finally:
		worker.kill()
		worker.wait()


class TestReliability(IntegrationTestCase):
	def setUp(self):
		ensure_outgoing_email_account()

	def test_a_worker_killed_mid_batch_loses_nothing_and_sends_nothing_twice(self):
		members = [f"{frappe.generate_hash(length=8)}@example.com" for _ in range(5)]
		email_campaign = make_email_campaign(
			make_campaign().name, make_email_group(members).name, "Email Group"
		)
		sends = [sending.as_job_arg(s) for s in planning.plan_due_emails([email_campaign.name]).sends]
		frappe.db.commit()

		context = multiprocessing.get_context("fork")
		third_started = context.Event()
		worker = context.Process(
			target=send_slowly_in_a_worker, args=(frappe.local.site, sends, third_started)
		)
		worker.start()
		self.assertTrue(third_started.wait(60))
		os.kill(worker.pid, signal.SIGKILL)
		worker.join()
		frappe.db.rollback()
		self.assertEqual(ledger_statuses(email_campaign.name), {})  # nothing of the batch was written

		tasks.daily()
		self.assertEqual(sorted(ledger_statuses(email_campaign.name)), sorted(members))
		self.assertEqual(set(ledger_statuses(email_campaign.name).values()), {"Queued"})
		self.assertEqual(queued_recipients(email_campaign.name), sorted(members))

	def test_a_worker_killed_while_sending_leaves_it_may_have_been_sent_and_a_manager_decides(self):
		members = [f"{frappe.generate_hash(length=8)}@example.com" for _ in range(3)]
		email_campaign = make_email_campaign(
			make_campaign().name, make_email_group(members).name, "Email Group"
		)
		tasks.daily()  # written to the Email Queue (tests deliver themselves)
		email_queues = frappe.get_all(
			"Email Queue", filters={"reference_name": email_campaign.name}, pluck="name", order_by="creation"
		)
		with SMTPSink() as sink:
			ensure_outgoing_email_account(sink.port)
			self.addCleanup(ensure_outgoing_email_account)
			frappe.db.commit()
			self.assertEqual(deliver_then_die_in_a_worker(email_queues), "delivered")
			frappe.db.rollback()
			[delivered] = [message.recipients[0] for message in sink.messages]
			statuses = ledger_statuses(email_campaign.name)
			self.assertEqual(statuses[delivered], "Queued")  # the worker died before it could say

			tasks.sync_ledger()  # within the grace period: it may still be sending
			self.assertEqual(ledger_statuses(email_campaign.name)[delivered], "Queued")
			sending_since = add_to_date(now_datetime(), minutes=-STALLED_AFTER_MINUTES - 1)
			frappe.db.set_value(
				"Email Queue",
				{"name": ("in", email_queues), "status": "Sending"},
				"modified",
				sending_since,
				update_modified=False,
			)
			tasks.sync_ledger()
			tasks.daily()
			self.assertEqual(ledger_statuses(email_campaign.name)[delivered], "May Have Been Sent")
			self.assertTrue(
				frappe.db.exists(
					"Error Log",
					{"reference_name": email_campaign.name, "method": ("like", "%may have been sent%")},
				)
			)
			self.assertEqual(len(sink.messages), 1)  # nothing was sent again by itself

		manager, user = (
			ensure_user(UNCERTAIN_MANAGER, ("Sales Manager",)),
			ensure_user(UNCERTAIN_USER, ("Sales User",)),
		)
		resend = {"email_campaign": email_campaign.name, "resend": 1}
		self.assertEqual(
			Client(user).method("email_campaign.decide_on_uncertain_emails", **resend).status_code, 403
		)
		self.assertEqual(ledger_statuses(email_campaign.name)[delivered], "May Have Been Sent")
		response = Client(manager).method("email_campaign.decide_on_uncertain_emails", **resend)
		self.assertEqual(response.status_code, 200, response.get_data(as_text=True))
		self.assertEqual(ledger_statuses(email_campaign.name)[delivered], "Error")  # sent on the next run

	def test_a_database_error_on_one_email_is_retried_on_the_next_run(self):
		members = [f"{frappe.generate_hash(length=8)}@example.com" for _ in range(4)]
		email_campaign = make_email_campaign(
			make_campaign().name, make_email_group(members).name, "Email Group"
		)
		unlucky = members[1]
		real_write = writing.write_email_queues

		def lock_timeout_with_one(emails):
			if unlucky in [email.send.recipient.email for email in emails]:
				raise pymysql.err.OperationalError(
					1205, "Lock wait timeout exceeded; try restarting transaction"
				)
			return real_write(emails)

		with patch(
			"email_campaign_app.sending.writing.write_email_queues", side_effect=lock_timeout_with_one
		):
			tasks.daily()
		statuses = ledger_statuses(email_campaign.name)
		self.assertEqual(statuses.pop(unlucky), "Error")
		self.assertEqual(set(statuses.values()), {"Queued"})
		self.assertEqual(queued_recipients(email_campaign.name), sorted(set(members) - {unlucky}))

		with self.freeze_time(f"{add_days(today(), 1)} 00:30:00"):  # the next day's run retries it
			tasks.daily()
		self.assertEqual(set(ledger_statuses(email_campaign.name).values()), {"Queued"})
		self.assertEqual(queued_recipients(email_campaign.name), sorted(members))

	def test_a_template_reaching_for_python_internals_is_an_error_not_a_leak(self):
		template = make_template()
		frappe.db.set_value(
			"Email Template", template.name, "response", "{{ doc.__class__.__mro__[1].__subclasses__() }}"
		)
		email_campaign = make_email_campaign(make_campaign([(template.name, 0)]).name, make_lead().name)
		tasks.daily()
		[row] = frappe.get_all(
			LEDGER, filters={"email_campaign": email_campaign.name}, fields=["status", "error"]
		)
		self.assertEqual(row.status, "Error")
		self.assertIn("cannot be rendered", row.error)
		self.assertIn("unsafe", row.error)
		self.assertFalse(queued_recipients(email_campaign.name))

	def test_email_template_with_a_jinja_error_is_refused_on_save(self):
		with self.assertRaises(frappe.ValidationError):
			make_template(response="{% if doc.first_name %}unclosed")


class TestTemplateSandbox(IntegrationTestCase):
	"""Campaign templates see doc and formatting helpers; never the database nor the site config."""

	READS_THE_AUTH_TABLE = '{{ frappe.db.sql("select name, password from __Auth") }}'

	def setUp(self):
		ensure_outgoing_email_account()

	def test_a_schedule_whose_template_reads_the_database_is_refused_on_save(self):
		template = make_template(response=self.READS_THE_AUTH_TABLE)  # other Frappe features may use frappe.*
		with self.assertRaisesRegex(frappe.ValidationError, "uses frappe, which campaign emails cannot use"):
			make_campaign([(template.name, 0)])
		with self.assertRaisesRegex(frappe.ValidationError, "uses conf"):
			make_campaign([(make_template(subject="{{ conf.db_password }}").name, 0)])

	def test_a_template_of_a_campaign_cannot_be_edited_to_read_the_database(self):
		template = make_template()
		make_campaign([(template.name, 0)])
		template.response = self.READS_THE_AUTH_TABLE
		with self.assertRaisesRegex(frappe.ValidationError, "uses frappe"):
			template.save()

	def test_at_send_time_and_in_preview_such_a_template_fails_and_leaks_nothing(self):
		from email_campaign_app.api import email_campaign as api

		template = make_template()
		email_campaign = make_email_campaign(make_campaign([(template.name, 0)]).name, make_lead().name)
		frappe.db.set_value(
			"Email Template", template.name, "response", self.READS_THE_AUTH_TABLE
		)  # an older record
		frappe.clear_document_cache("Email Template", template.name)
		with self.assertRaisesRegex(frappe.ValidationError, "uses frappe"):
			api.preview(email_campaign.name)
		tasks.daily()
		[row] = frappe.get_all(
			LEDGER, filters={"email_campaign": email_campaign.name}, fields=["status", "error"]
		)
		self.assertEqual(row.status, "Error")
		self.assertIn("uses frappe", row.error)
		self.assertFalse(queued_recipients(email_campaign.name))
		self.assertFalse(frappe.get_all("Communication", filters={"reference_name": email_campaign.name}))
		self.assertTrue(frappe.db.exists("Error Log", {"reference_name": email_campaign.name}))

	def test_the_helpers_people_use_in_emails_work(self):
		template = make_template(
			subject="{{ _('Hello') }} {{ doc.first_name | upper }}",
			response="<p>{{ format_date('2026-07-22') }} · {{ fmt_money(1234.5, currency='EUR') }} · {{ doc.company_name or '' }}</p>",
		)
		email_campaign = make_email_campaign(
			make_campaign([(template.name, 0)]).name, make_lead(first_name="Ada").name
		)
		from email_campaign_app.api import email_campaign as api

		[step] = api.preview(email_campaign.name)
		self.assertEqual(step["subject"], "Hello ADA")
		self.assertIn("1,234.50", step["body"])
		self.assertIn(frappe.utils.format_date("2026-07-22"), step["body"])


class TestBadInput(IntegrationTestCase):
	"""Every field a user can type, filled wrong: a clear error, and nothing saved."""

	def setUp(self):
		self.campaign = make_campaign()
		self.lead = make_lead()

	def assert_refused(self, doc, message=None, exc=frappe.ValidationError):
		count = frappe.db.count(doc["doctype"])
		with self.assertRaises(exc) as raised:
			frappe.get_doc(doc).insert()
		if message:
			self.assertRegex(str(raised.exception), message)
		self.assertEqual(frappe.db.count(doc["doctype"]), count)

	def email_campaign(self, **values):
		return {
			"doctype": "Email Campaign",
			"campaign_name": self.campaign.name,
			"email_campaign_for": "Lead",
			"recipient": self.lead.name,
			"sender": "Administrator",
			"start_date": today(),
			**values,
		}

	def test_email_campaign_fields(self):
		self.assert_refused(self.email_campaign(campaign_name=""), "campaign_name", frappe.MandatoryError)
		self.assert_refused(
			self.email_campaign(campaign_name="No such campaign"),
			"Could not find Campaign|does not exist",
			(frappe.LinkValidationError, frappe.ValidationError),
		)
		self.assert_refused(self.email_campaign(email_campaign_for="Customer"), "Customer")
		self.assert_refused(self.email_campaign(recipient=""), "recipient", frappe.MandatoryError)
		self.assert_refused(
			self.email_campaign(recipient="x" * 200), None, (frappe.ValidationError, frappe.PermissionError)
		)
		self.assert_refused(self.email_campaign(sender="nobody@example.com"), "Sender|User")
		self.assert_refused(self.email_campaign(start_date="not a date"), None, Exception)
		self.assert_refused(self.email_campaign(send_at="25:99"), "Send At")

	def test_campaign_fields(self):
		template = make_template().name
		self.assert_refused({"doctype": "Campaign", "campaign_name": ""}, "Campaign Name is required")
		self.assert_refused({"doctype": "Campaign", "campaign_name": "x" * 200}, None, Exception)
		self.assert_refused(
			{
				"doctype": "Campaign",
				"campaign_name": unique("C"),
				"campaign_schedules": [{"email_template": template, "send_after_days": "abc"}],
			},
			None,
			Exception,
		)
		self.assert_refused(
			{
				"doctype": "Campaign",
				"campaign_name": unique("C"),
				"campaign_schedules": [{"email_template": "", "send_after_days": 1}],
			},
			"email_template",
			frappe.MandatoryError,
		)
		self.assert_refused(
			{
				"doctype": "Campaign",
				"campaign_name": unique("C"),
				"campaign_schedules": [{"email_template": "No such template", "send_after_days": 1}],
			},
			"Email Template",
			(frappe.LinkValidationError, frappe.ValidationError),
		)

	def test_lead_fields(self):
		self.assert_refused(
			{"doctype": "Lead", "first_name": "Ada", "email_id": "ada@"},
			"not a valid Email",
			frappe.InvalidEmailAddressError,
		)
		self.assert_refused({"doctype": "Lead", "first_name": "A" * 200}, None, Exception)
		self.assert_refused({"doctype": "Lead", "first_name": "Ada", "status": "Maybe"}, "Status")
