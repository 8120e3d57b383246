# Copyright (c) 2026, email_campaign_app developers and contributors
# For license information, please see license.txt
"""Who sends a batch's emails, with real RQ workers and a real SMTP server on 127.0.0.1: the
batch's delivery job during the email's window, Frappe's flush after it, never both; and the
site's own mail waiting goes first."""

import subprocess
import sys
from collections import Counter

import frappe
from frappe.utils import add_to_date, get_datetime, now_datetime

from email_campaign_app import tasks
from email_campaign_app.sending import delivery
from email_campaign_app.tests.helpers import (
	IntegrationTestCase,
	ensure_outgoing_email_account,
	make_campaign,
	make_due_now,
	make_email_campaign,
	make_email_group,
	run_worker,
	warm_cache,
	worker_environment,
)
from email_campaign_app.tests.smtp_sink import SMTPSink

LEDGER = "Email Campaign Send Log"


def queue_group_step(members: int) -> tuple[list[str], list[str]]:
	"""A group step due now, queued by the daily job (tests deliver themselves): its members'
	addresses and its Email Queues."""
	addresses = [f"m{frappe.generate_hash(length=10)}@example.com" for _ in range(members)]
	email_campaign = make_email_campaign(
		make_campaign().name, make_email_group(addresses).name, "Email Group", send_at="00:00"
	)
	tasks.daily()
	email_queues = frappe.get_all(
		LEDGER, filters={"email_campaign": email_campaign.name}, pluck="email_queue", order_by="creation asc"
	)
	return addresses, email_queues


def enqueue_delivery(email_queues: list[str]):
	frappe.enqueue(
		"email_campaign_app.sending.batch.send_batch", queue="long", sends=[], email_queues=email_queues
	)


def received(sink: SMTPSink, addresses: list[str]) -> Counter:
	return Counter(r for message in sink.messages for r in message.recipients if r in addresses)


class TestWhoSendsABatch(IntegrationTestCase):
	def setUp(self):
		self.sink = SMTPSink().start()
		self.addCleanup(self.sink.stop)
		ensure_outgoing_email_account(self.sink.port)
		self.addCleanup(ensure_outgoing_email_account)

	def test_frappes_flush_leaves_a_batch_to_its_delivery_job_during_the_window(self):
		addresses, email_queues = queue_group_step(3)
		for send_after in frappe.get_all(
			"Email Queue", filters={"name": ("in", email_queues)}, pluck="send_after"
		):
			self.assertLessEqual(
				get_datetime(send_after),
				add_to_date(now_datetime(), minutes=delivery.DELIVERY_WINDOW_MINUTES),
			)
			self.assertGreater(get_datetime(send_after), now_datetime())

		frappe.enqueue("frappe.email.queue.flush", queue="short")
		run_worker("short")
		self.assertEqual(received(self.sink, addresses), Counter())

		enqueue_delivery(email_queues)
		run_worker("long")
		self.assertEqual(received(self.sink, addresses), Counter(addresses))

		enqueue_delivery(email_queues)  # a job run twice
		frappe.enqueue("frappe.email.queue.flush", queue="short")
		run_worker("short,long")
		self.assertEqual(received(self.sink, addresses), Counter(addresses))
		self.assertEqual(
			set(frappe.get_all(LEDGER, filters={"email_queue": ("in", email_queues)}, pluck="status")),
			{"Sent"},
		)

	def test_once_its_window_is_over_an_email_is_frappes_and_a_late_delivery_job_leaves_it(self):
		addresses, email_queues = queue_group_step(2)
		make_due_now([email_queues[0]])  # its window is over

		enqueue_delivery(email_queues)
		run_worker("long")
		self.assertEqual(received(self.sink, addresses), Counter({addresses[1]: 1}))

		frappe.enqueue("frappe.email.queue.flush", queue="short")
		enqueue_delivery(email_queues)
		run_worker("short,long")
		self.assertEqual(received(self.sink, addresses), Counter(addresses))

	def test_two_delivery_jobs_at_once_send_each_email_once(self):
		addresses, email_queues = queue_group_step(40)
		enqueue_delivery(email_queues)
		enqueue_delivery(email_queues)
		frappe.db.commit()
		warm_cache()
		start = (
			"from frappe.utils.background_jobs import start_worker; start_worker(queue='long', burst=True)"
		)
		workers = [
			subprocess.Popen(
				[sys.executable, "-c", start],
				cwd=frappe.utils.get_bench_path() + "/sites",
				env=worker_environment(),
				stdout=subprocess.DEVNULL,
				stderr=subprocess.DEVNULL,
			)
			for _ in range(2)
		]
		for worker in workers:
			self.assertEqual(worker.wait(timeout=300), 0)
		frappe.db.rollback()
		self.assertEqual(received(self.sink, addresses), Counter(addresses))

	def test_the_sites_own_mail_waiting_goes_first_and_the_campaign_goes_on_after_it(self):
		addresses, email_queues = queue_group_step(delivery.YIELD_CHECK_EVERY * 2 + 10)
		reset = f"reset{frappe.generate_hash(length=10)}@example.com"
		frappe.sendmail(recipients=[reset], subject="Password reset", message="<p>Your link</p>")
		make_due_now([frappe.db.get_value("Email Queue Recipient", {"recipient": reset}, "parent")])
		enqueue_delivery(email_queues)
		run_worker("short,default,long")

		order = [r for message in self.sink.messages for r in message.recipients if r in (*addresses, reset)]
		self.assertEqual(order.count(reset), 1)
		self.assertEqual(order.index(reset), delivery.YIELD_CHECK_EVERY)
		self.assertEqual(received(self.sink, addresses), Counter(addresses))
		self.assertEqual(
			set(frappe.get_all(LEDGER, filters={"email_queue": ("in", email_queues)}, pluck="status")),
			{"Sent"},
		)
