# Copyright (c) 2026, email_campaign_app developers and contributors
# For license information, please see license.txt
"""The dispatcher through real RQ workers and a real SMTP server on 127.0.0.1: emails leave at
their Send At through the app's own delivery, within each account's sending limits, with
Frappe's flush and a second worker beside it, each email once."""

import json
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta

import frappe
import pytz
from frappe.utils import add_days, get_datetime, now_datetime, today
from frappe.utils.data import get_system_timezone

from email_campaign_app.core.release import Limits
from email_campaign_app.sending import delivery, dispatcher, limits, releasing
from email_campaign_app.tests.helpers import (
	OUTBOX,
	IntegrationTestCase,
	ensure_outgoing_email_account,
	make_campaign,
	make_email_campaign,
	make_email_group,
	make_lead,
	warm_cache,
	worker_environment,
)
from email_campaign_app.tests.http import Client, ensure_user
from email_campaign_app.tests.smtp_sink import SMTPSink

LEDGER = "Email Campaign Send Log"
SETTINGS = "Email Campaign Settings"
WORKER_LOG = "/tmp/email_campaign_dispatcher_test_worker.log"


def worker_main():
	"""A real RQ worker in a fresh process whose clock starts at argv[2] (UTC) and ticks."""
	from frappe.utils.background_jobs import start_worker
	from freezegun import freeze_time

	with freeze_time(sys.argv[2], tick=True):
		start_worker(queue=sys.argv[1], burst=True)


def start_worker(queues="short,default,long", clock_at: str | None = None) -> subprocess.Popen:
	frappe.db.commit()
	warm_cache()
	if clock_at:
		start = "from email_campaign_app.tests.test_dispatcher import worker_main; worker_main()"
		args = [sys.executable, "-c", start, queues, clock_at]
	else:
		start = "import sys; from frappe.utils.background_jobs import start_worker; start_worker(queue=sys.argv[1], burst=True)"
		args = [sys.executable, "-c", start, queues]
	log = open(WORKER_LOG, "a")  # what the worker did, when a test fails
	return subprocess.Popen(
		args,
		cwd=frappe.utils.get_bench_path() + "/sites",
		env=worker_environment(),
		stdout=log,
		stderr=subprocess.STDOUT,
	)


def as_utc(local: str) -> str:
	moment = pytz.timezone(get_system_timezone()).localize(get_datetime(local))
	return moment.astimezone(pytz.utc).isoformat()


def group_campaign(members: int, send_at="00:00", **extra):
	addresses = [f"d{frappe.generate_hash(length=10)}@example.com" for _ in range(members)]
	group = make_email_group(addresses)
	email_campaign = make_email_campaign(
		make_campaign().name, group.name, "Email Group", send_at=send_at, **extra
	)
	return email_campaign, addresses


def set_limits(**values):
	settings = frappe.get_single(SETTINGS)
	settings.sending_limits = []
	if values:
		settings.append("sending_limits", {"email_account": OUTBOX, **values})
	settings.save(ignore_permissions=True)


def lift_limits_and_caps():
	"""Committed: the dispatcher commits what it does, so a rollback would not undo a limit."""
	set_limits()
	frappe.db.set_single_value(SETTINGS, {"recipient_daily_cap": 0, "recipient_weekly_cap": 0})
	frappe.db.commit()


def forget_counts():
	"""The test account's count starts empty (the other tests' emails of today are not counted)."""
	frappe.cache.delete(limits.sent_key(OUTBOX), limits.backoff_key(OUTBOX))
	frappe.cache.set(frappe.cache.make_key(f"email_campaign_app:seeded:{OUTBOX}"), 1)


def own_mailbox(user: str, smtp_port: int) -> str:
	"""An outgoing Email Account of the user's own address (not the default one)."""
	name = "Email Campaign Own Mailbox Test"
	if frappe.db.exists("Email Account", name):
		account = frappe.get_doc("Email Account", name)
	else:
		account = frappe.get_doc(
			{
				"doctype": "Email Account",
				"email_account_name": name,
				"email_id": frappe.db.get_value("User", user, "email"),
				"enable_outgoing": 1,
				"smtp_server": "127.0.0.1",
				"no_smtp_authentication": 1,
			}
		)
	account.smtp_port = smtp_port
	account.flags.ignore_validate = True
	account.save(ignore_permissions=True)
	return account.name


class DispatcherTestCase(IntegrationTestCase):
	refuse = None

	def setUp(self):
		self.sink = SMTPSink(refuse=self.refuse).start()
		self.arrived: list[tuple[float, str]] = []
		self.addCleanup(self.sink.stop)
		ensure_outgoing_email_account(self.sink.port)
		self.addCleanup(ensure_outgoing_email_account)
		forget_counts()
		self.addCleanup(forget_counts)
		self.addCleanup(lift_limits_and_caps)
		self.stamp_arrivals()

	def stamp_arrivals(self):
		"""Each accepted message's arrival time, as the server sees it."""
		messages, arrived = self.sink.messages, self.arrived

		class Stamped(list):
			def append(self, message):
				arrived.extend((time.time(), recipient) for recipient in message.recipients)
				super().append(message)

		self.sink.messages = Stamped(messages)

	def arrivals(self, addresses) -> list[float]:
		return sorted(at for at, recipient in self.arrived if recipient in addresses)

	def received(self, addresses) -> Counter:
		return Counter(recipient for _at, recipient in self.arrived if recipient in addresses)

	def statuses(self, email_campaign) -> Counter:
		return Counter(frappe.get_all(LEDGER, filters={"email_campaign": email_campaign}, pluck="status"))


class TestSendAt(DispatcherTestCase):
	def test_emails_due_seconds_ahead_leave_then_through_the_apps_path_and_not_before(self):
		email_campaign, addresses = group_campaign(30, send_at="10:00")
		frappe.enqueue("frappe.email.queue.flush", queue="default")
		frappe.enqueue("email_campaign_app.tasks.dispatch", queue="default")
		worker = start_worker(clock_at=as_utc(f"{today()} 09:59:55"))
		send_at = time.time() + 5  # the worker's 10:00:00, in the real clock
		self.assertEqual(worker.wait(timeout=300), 0)
		frappe.db.rollback()

		self.assertEqual(self.received(addresses), Counter(addresses))
		first, last = min(self.arrivals(addresses)), max(self.arrivals(addresses))
		self.assertGreaterEqual(first, send_at - 1.0)  # the worker started a little after the stamp
		self.assertLess(first - send_at, 10)
		self.assertLess(last - send_at, 30)
		self.assertEqual(self.statuses(email_campaign.name), Counter({"Sent": 30}))
		queues = frappe.get_all(LEDGER, filters={"email_campaign": email_campaign.name}, pluck="email_queue")
		# the app's delivery took them in their window: Frappe's flush never listed them
		self.assertEqual(
			set(frappe.get_all("Email Queue", filters={"name": ("in", queues)}, pluck="status")), {"Sent"}
		)

	def test_nothing_is_written_before_send_at_and_a_change_of_send_at_moves_it(self):
		email_campaign, _addresses = group_campaign(3, send_at="14:00")
		with self.freeze_time(f"{today()} 10:00:00"):
			dispatcher.dispatch()
		self.assertEqual(self.statuses(email_campaign.name), Counter())
		self.assertEqual(
			dispatcher.next_send_at(get_datetime(f"{today()} 13:59:30")), get_datetime(f"{today()} 14:00")
		)

		doc = frappe.get_doc("Email Campaign", email_campaign.name)
		doc.send_at = "11:00"
		doc.save(ignore_permissions=True)
		with self.freeze_time(f"{today()} 10:59:00"):
			dispatcher.dispatch()
		self.assertEqual(self.statuses(email_campaign.name), Counter())
		with self.freeze_time(f"{today()} 11:00:10"):
			dispatcher.dispatch()
		self.assertEqual(self.statuses(email_campaign.name), Counter({"Queued": 3}))

	def test_someone_enrolled_after_send_at_gets_the_days_email_within_the_minute(self):
		with self.freeze_time(f"{today()} 15:00:00"):
			email_campaign, _addresses = group_campaign(2, send_at="09:00")
			dispatcher.dispatch()
		self.assertEqual(self.statuses(email_campaign.name), Counter({"Queued": 2}))

	def test_a_catch_up_leaves_at_the_next_send_at_not_at_midnight(self):
		email_campaign, _addresses = group_campaign(2, send_at="09:00")
		frappe.db.set_value("Email Campaign", email_campaign.name, "start_date", add_days(today(), -1))
		with self.freeze_time(f"{today()} 00:01:00"):
			dispatcher.dispatch()
		self.assertEqual(self.statuses(email_campaign.name), Counter())
		with self.freeze_time(f"{today()} 09:00:05"):
			dispatcher.dispatch()
		self.assertEqual(self.statuses(email_campaign.name), Counter({"Queued": 2}))

	def test_flush_and_two_workers_beside_the_dispatcher_send_each_email_once(self):
		email_campaign, addresses = group_campaign(60)
		for _ in range(2):
			frappe.enqueue("email_campaign_app.tasks.dispatch", queue="default")
			frappe.enqueue("frappe.email.queue.flush", queue="short")
			frappe.enqueue("email_campaign_app.tasks.sync_ledger", queue="short")
		workers = [start_worker(), start_worker()]
		for worker in workers:
			self.assertEqual(worker.wait(timeout=300), 0)
		frappe.enqueue("frappe.email.queue.flush", queue="short")
		frappe.enqueue("email_campaign_app.tasks.dispatch", queue="default")
		self.assertEqual(start_worker().wait(timeout=300), 0)
		frappe.db.rollback()
		self.assertEqual(self.received(addresses), Counter(addresses))
		self.assertEqual(self.statuses(email_campaign.name), Counter({"Sent": 60}))


def within_any_rolling_minute(moments: list[float]) -> int:
	"""The most arrivals in any 60 seconds."""
	moments = sorted(moments)
	return max(
		(sum(1 for other in moments[i:] if other < at + 60) for i, at in enumerate(moments)), default=0
	)


class TestSendingLimits(DispatcherTestCase):
	def test_a_per_minute_limit_holds_in_every_rolling_minute_and_everything_arrives(self):
		set_limits(per_minute=4)
		email_campaign, addresses = group_campaign(8)
		frappe.enqueue("email_campaign_app.tasks.dispatch", queue="default")
		self.assertEqual(start_worker().wait(timeout=300), 0)
		frappe.db.rollback()
		self.assertEqual(sum(self.received(addresses).values()), 4)
		self.assertEqual(self.statuses(email_campaign.name), Counter({"Sent": 4}))
		waiting = releasing.waiting_of(email_campaign.campaign_name, email_campaign.name)
		self.assertEqual(sum(entry[3] for entry in waiting), 4)
		self.assertIn(OUTBOX, waiting[0][2])

		# the next tick comes 50 s later: the dispatcher waits for the first place and sends
		time.sleep(max(0.0, min(self.arrivals(addresses)) + 50 - time.time()))
		frappe.enqueue("email_campaign_app.tasks.dispatch", queue="default")
		self.assertEqual(start_worker().wait(timeout=300), 0)
		frappe.db.rollback()
		self.assertEqual(self.received(addresses), Counter(addresses))
		arrivals = self.arrivals(addresses)
		self.assertLessEqual(within_any_rolling_minute(arrivals), 4)
		gap = arrivals[4] - arrivals[3]
		self.assertLess(gap, 60 + 6)  # the next four left as soon as the window allowed

	def test_a_day_limit_spills_into_the_next_day(self):
		set_limits(per_day=3)
		email_campaign, _addresses = group_campaign(5)
		with self.freeze_time(f"{today()} 10:00:00"):
			dispatcher.dispatch()
			self.assertEqual(self.statuses(email_campaign.name), Counter({"Queued": 3}))
			dispatcher.dispatch()  # a minute later: what waits, waits for tomorrow
			self.assertEqual(
				frappe.db.get_value("Email Campaign", email_campaign.name, "dispatched_on"),
				get_datetime(today()).date(),
			)
		with self.freeze_time(f"{today()} 16:00:00"):
			dispatcher.dispatch()
			self.assertEqual(self.statuses(email_campaign.name), Counter({"Queued": 3}))
		with self.freeze_time(f"{add_days(today(), 1)} 00:00:30"):
			dispatcher.dispatch()
			self.assertEqual(self.statuses(email_campaign.name), Counter({"Queued": 5}))

	def test_one_address_in_three_campaigns_gets_one_a_day_in_order(self):
		frappe.db.set_single_value(SETTINGS, "recipient_daily_cap", 1)
		lead = make_lead()
		names = [
			make_email_campaign(make_campaign().name, lead.name, send_at=send_at).name
			for send_at in ("10:00", "08:00", "09:00")
		]
		for day, expected in enumerate((names[1], names[2], names[0])):
			with self.freeze_time(f"{add_days(today(), day)} 11:00:00"):
				dispatcher.dispatch()
			queued = frappe.get_all(
				LEDGER, filters={"email_campaign": ("in", names)}, fields=["email_campaign", "queued_on"]
			)
			self.assertEqual(len(queued), day + 1)
			self.assertIn(
				expected,
				[row.email_campaign for row in queued if str(row.queued_on) == str(add_days(today(), day))],
			)

	def test_a_senders_own_mailbox_and_its_limit_hold_when_the_default_accounts_emails_go_first(self):
		"""Frappe's find_outgoing answers, per process, the default account for every address once
		one address fell back to it: a sales user's emails released after the Administrator's in
		the same run must still leave from their own mailbox, within its limit."""
		user = ensure_user("ec-own-mailbox@example.com", ("Sales Manager",))
		account = own_mailbox(user, self.sink.port)
		settings = frappe.get_single(SETTINGS)
		settings.sending_limits = []
		settings.append("sending_limits", {"email_account": account, "per_minute": 3})
		settings.save(ignore_permissions=True)
		frappe.cache.delete(limits.sent_key(account))
		frappe.cache.set(frappe.cache.make_key(f"email_campaign_app:seeded:{account}"), 1)
		self.addCleanup(frappe.cache.delete, limits.sent_key(account))
		first, _addresses = group_campaign(2, send_at="00:00")  # the Administrator's: the default account
		own, _addresses = group_campaign(5, send_at="00:30", sender=user)
		frappe.local.outgoing_email_account = {}  # as in a fresh job
		with self.freeze_time(f"{today()} 10:00:00"):
			dispatcher.dispatch()
		self.assertEqual(self.statuses(first.name), Counter({"Queued": 2}))
		self.assertEqual(self.statuses(own.name), Counter({"Queued": 3}))
		queues = frappe.get_all(LEDGER, filters={"email_campaign": own.name}, pluck="email_queue")
		self.assertEqual(
			set(frappe.get_all("Email Queue", filters={"name": ("in", queues)}, pluck="email_account")),
			{account},
		)

	def test_a_count_redis_lost_is_rebuilt_from_the_email_queue(self):
		frappe.cache.delete(
			limits.sent_key(OUTBOX), frappe.cache.make_key(f"email_campaign_app:seeded:{OUTBOX}")
		)
		now = now_datetime()
		sent_today = frappe.db.count(
			"Email Queue",
			{
				"email_account": OUTBOX,
				"reference_doctype": "Email Campaign",
				"status": "Sent",
				"modified": ("between", [get_datetime(today()), now]),
			},
		)
		self.assertEqual(limits.grant(OUTBOX, Limits(per_day=sent_today + 2), 5, now).count, 2)
		self.assertEqual(limits.usage(OUTBOX, now).today, sent_today + 2)


class TestDeferrals(DispatcherTestCase):
	refusals = 3

	def refuse(self, address):
		"""The server defers the first messages as too many, then accepts."""
		if self.refusals:
			self.refusals -= 1
			return "421 4.7.0 Too many messages from this account, slow down"
		return None

	def setUp(self):
		super().setUp()
		frappe.flags.testing_email = True
		self.addCleanup(setattr, frappe.flags, "testing_email", False)

	def deliver(self, email_campaign):
		queues = frappe.get_all(LEDGER, filters={"email_campaign": email_campaign}, pluck="email_queue")
		delivery.send_now(queues)

	def test_a_421_burst_backs_the_account_off_longer_each_time_and_fails_nobody(self):
		email_campaign, addresses = group_campaign(5)
		start = get_datetime(f"{today()} 10:00:00")
		waits = []
		with self.freeze_time(start):
			dispatcher.dispatch()
			self.deliver(email_campaign.name)
			self.assertEqual(self.statuses(email_campaign.name), Counter({"Waiting": 5}))
			self.assertEqual(
				set(
					frappe.get_all(LEDGER, filters={"email_campaign": email_campaign.name}, pluck="attempts")
				),
				{0},
			)
			waits.append(limits.backoff_ends_at(OUTBOX) - start)
			dispatcher.dispatch()  # backing off: nothing leaves
		self.assertEqual(self.received(addresses), Counter())
		moment = start
		for _ in range(3):
			moment = limits.backoff_ends_at(OUTBOX, moment) + timedelta(seconds=1)
			with self.freeze_time(moment):
				dispatcher.dispatch()
				if ends := limits.backoff_ends_at(OUTBOX, moment):
					waits.append(ends - moment)
		self.assertEqual([round(w.total_seconds() / 60) for w in waits], [1, 2, 4])
		self.assertEqual(self.received(addresses), Counter(addresses))
		self.assertEqual(self.statuses(email_campaign.name), Counter({"Sent": 5}))


class TestSenderRefused(DispatcherTestCase):
	accept = False

	def setUp(self):
		self.refuse = lambda address: (
			None
			if self.accept
			else (
				"550 5.7.515 Access denied, sending domain example.com does not meet the required authentication level"
			)
		)
		super().setUp()
		frappe.flags.testing_email = True
		self.addCleanup(setattr, frappe.flags, "testing_email", False)

	def test_a_sender_refusal_stops_the_account_tells_the_managers_and_resumes_when_cleared(self):
		email_campaign, addresses = group_campaign(3)
		dispatcher.dispatch()
		queues = frappe.get_all(LEDGER, filters={"email_campaign": email_campaign.name}, pluck="email_queue")
		delivery.send_now(queues)
		self.assertEqual(self.statuses(email_campaign.name), Counter({"Waiting": 3}))
		settings = frappe.get_single(SETTINGS)
		row = next(row for row in settings.sending_limits if row.email_account == OUTBOX)
		self.assertEqual(row.sending_stopped, 1)
		self.assertIn("5.7.515", row.stopped_reason)
		self.assertTrue(
			frappe.db.exists(
				"Notification Log",
				{"for_user": "Administrator", "document_type": SETTINGS, "subject": ("like", f"%{OUTBOX}%")},
			)
		)
		dispatcher.dispatch()
		self.assertEqual(self.statuses(email_campaign.name), Counter({"Waiting": 3}))

		self.accept = True
		row.sending_stopped = 0
		settings.save(ignore_permissions=True)
		dispatcher.dispatch()
		self.assertEqual(self.received(addresses), Counter(addresses))
		self.assertEqual(self.statuses(email_campaign.name), Counter({"Sent": 3}))


class TestServerSize(DispatcherTestCase):
	def setUp(self):
		super().setUp()
		self.sink.stop()
		self.sink = SMTPSink(size_limit=2000).start()  # smaller than any campaign email
		self.addCleanup(self.sink.stop)
		self.stamp_arrivals()
		ensure_outgoing_email_account(self.sink.port)
		frappe.flags.testing_email = True
		self.addCleanup(setattr, frappe.flags, "testing_email", False)

	def test_an_email_larger_than_the_servers_size_fails_for_good_before_it_is_sent(self):
		email_campaign, addresses = group_campaign(1)
		dispatcher.dispatch()
		queues = frappe.get_all(LEDGER, filters={"email_campaign": email_campaign.name}, pluck="email_queue")
		delivery.send_now(queues)
		self.assertEqual(self.received(addresses), Counter())
		[row] = frappe.get_all(
			LEDGER, filters={"email_campaign": email_campaign.name}, fields=["status", "error"]
		)
		self.assertEqual(row.status, "Failed")
		self.assertIn("size limit", row.error)


class TestWhoSetsLimits(DispatcherTestCase):
	def test_a_sales_manager_sets_a_preset_over_rest_and_a_sales_user_may_not(self):
		manager = ensure_user("ec-limits-manager@example.com", ("Sales Manager",))
		sales_user = ensure_user("ec-limits-user@example.com", ("Sales User",))
		limit = {"sending_limits": [{"email_account": OUTBOX, "preset": "Microsoft 365"}]}
		path = f"/api/resource/{SETTINGS}/{SETTINGS}"
		self.assertEqual(Client(sales_user).put(path, json=limit).status_code, 403)
		saved = Client(manager).put(path, json=limit)
		self.assertEqual(saved.status_code, 200, saved.get_data(as_text=True)[:300])
		frappe.db.rollback()  # the request's own commit, read afresh
		self.assertEqual(limits.limits_of(limits.settings_rows()[OUTBOX]), Limits(30, 0, 10000))
