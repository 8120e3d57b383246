# Copyright (c) 2026, email_campaign_app developers and contributors
# For license information, please see license.txt
"""A fault soak: 30 simulated days of a mixed workload through real RQ workers and a real SMTP
server that refuses a share of messages, with a worker killed and database errors injected, and
addresses whose servers accept a message, then bounce it (or complain about it) through the
sender's mailbox.

Each day the test (frozen at 10:00 of that day) changes the workload as users would, then a
real worker (a fresh process, its clock frozen at the same day) runs what the scheduler
would enqueue: the daily job and the batches it fans out, Frappe's queue flush, the ledger
sync. At the end the invariants are checked on what the SMTP server received.
"""

import email
import json
import os
import signal
import subprocess
import sys
import time
import zlib
from collections import Counter
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import frappe
import pytz
from frappe.email.receive import InboundMail
from frappe.utils import add_days, get_datetime, getdate, today
from frappe.utils.data import get_system_timezone

from email_campaign_app.sending import email_links as links
from email_campaign_app.sending import limits
from email_campaign_app.tests.helpers import (
	IntegrationTestCase,
	bounce_sample,
	ensure_outgoing_email_account,
	make_campaign,
	make_contact,
	make_email_campaign,
	make_email_group,
	make_lead,
	make_template,
	warm_cache,
	worker_environment,
)
from email_campaign_app.tests.http import http
from email_campaign_app.tests.smtp_sink import SMTPSink

LEDGER = "Email Campaign Send Log"
DAYS = 30
FAULTY_DAYS = range(0, 20)  # the last ten days are quiet, so that every retry can settle
DB_ERROR_DAYS = (3, 14)  # days when the chosen addresses have an email due
WORKER_KILLED_ON = 7
# per site: soak runs of other sites (a second bench, CI beside a developer) must not see them
HANG_MARKER = "/tmp/email_campaign_soak_hang_{site}_{pid}"
WORKER_LOG = "/tmp/email_campaign_soak_workers_{site}.log"
SOAK_SENDER = "email-campaign-soak-sender@example.com"
SOAK_OUTBOX = "Email Campaign Soak Outbox"
PER_MINUTE = 25  # the soak account's limit: the busiest days' emails leave over two days
RECIPIENT_DAILY_CAP = 2
BOUNCE_INBOX = "Email Campaign Soak Bounce Inbox"


def clock() -> float:
	"""Seconds on a clock freezegun does not stop (the test freezes time.monotonic)."""
	return time.clock_gettime(time.CLOCK_MONOTONIC)


def worker_main():
	"""A real RQ worker in a fresh process, its clock frozen (ticking) at the simulated day,
	with the day's faults, where a batch writes its Email Queues (its transaction is open):
	a database error when the batch holds some addresses, or a hang on one (the test kills
	the worker there)."""
	from unittest.mock import patch

	import pymysql
	from frappe.utils.background_jobs import start_worker
	from freezegun import freeze_time

	from email_campaign_app.sending import writing

	queues, at_utc, faults = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
	real_write = writing.write_email_queues

	def faulty_write(emails):
		addresses = {email.send.recipient.email for email in emails}
		if addresses & set(faults.get("db_error_for", ())):
			raise pymysql.err.OperationalError(1205, "Lock wait timeout exceeded; try restarting transaction")
		if faults.get("hang_on") in addresses:
			Path(HANG_MARKER.format(site=frappe.local.site, pid=os.getpid())).touch()
			time.sleep(600)
		return real_write(emails)

	with (
		freeze_time(at_utc, tick=True),
		patch("email_campaign_app.sending.writing.write_email_queues", side_effect=faulty_write),
	):
		start_worker(queue=queues, burst=True)


def refusals(dead: set[str]):
	"""The SMTP server's answer: dead addresses always 550; any other one a 451 one attempt in
	seven (deterministic, so that a run can be replayed)."""
	attempts = Counter()

	def refuse(address: str) -> str | None:
		attempts[address] += 1
		if address in dead:
			return "550 5.1.1 No such user"
		if zlib.crc32(f"{address}:{attempts[address]}".encode()) % 7 == 0:
			return "451 4.3.0 Try again later"
		return None

	return refuse


class TestSoak(IntegrationTestCase):
	def setUp(self):
		self.sink = SMTPSink(refuse=None).start()
		self.addCleanup(self.sink.stop)
		ensure_outgoing_email_account(self.sink.port)
		self.addCleanup(ensure_outgoing_email_account)
		self.first_day = getdate(today())
		self.faults = Counter()
		self.unsubscribed: dict[tuple[str, str], object] = {}  # (email campaign, address): when
		self.removed: dict[tuple[str, str], object] = {}
		self.reported: dict[str, str] = {}  # address: the bounce sample its server sends back
		self.suppressed_on: dict[str, object] = {}  # address: the (simulated) day it was suppressed
		if not frappe.db.exists("Email Account", BOUNCE_INBOX):
			frappe.get_doc(
				{
					"doctype": "Email Account",
					"email_account_name": BOUNCE_INBOX,
					"email_id": "soak-bounces@example.com",
					"enable_incoming": 0,
				}
			).insert()
		# a few bounces among thirty members would pause the campaigns (health.py, tested on its
		# own): the soak keeps them running to check every other invariant
		frappe.db.set_single_value(
			"Email Campaign Settings", {"pause_hard_bounce_rate": 100, "pause_complaint_rate": 100}
		)
		# a sending limit and a per-recipient cap hold some emails back every busy day: they
		# must still all leave, once, in order, and no minute may carry more than the limit
		settings = frappe.get_single("Email Campaign Settings")
		self.sender = self.make_sender()
		settings.recipient_daily_cap = RECIPIENT_DAILY_CAP
		settings.sending_limits = []
		settings.append("sending_limits", {"email_account": SOAK_OUTBOX, "per_minute": PER_MINUTE})
		settings.save()
		self.addCleanup(self.lift_limits)
		frappe.cache.delete(limits.sent_key(SOAK_OUTBOX))  # counted from the first simulated day on
		frappe.cache.set(frappe.cache.make_key(f"email_campaign_app:seeded:{SOAK_OUTBOX}"), 1)

	def make_sender(self) -> str:
		"""A sales user sending from a mailbox of their own, with its limit: the soak's campaigns
		alone share it (the site's other Email Campaigns send from the default account)."""
		if not frappe.db.exists("User", SOAK_SENDER):
			frappe.get_doc(
				{
					"doctype": "User",
					"email": SOAK_SENDER,
					"first_name": "Soak",
					"roles": [{"role": "Sales Manager"}],
				}
			).insert(ignore_permissions=True)
		if not frappe.db.exists("Email Account", SOAK_OUTBOX):
			account = frappe.get_doc(
				{
					"doctype": "Email Account",
					"email_account_name": SOAK_OUTBOX,
					"email_id": SOAK_SENDER,
					"enable_outgoing": 1,
					"smtp_server": "127.0.0.1",
					"no_smtp_authentication": 1,
				}
			)
		else:
			account = frappe.get_doc("Email Account", SOAK_OUTBOX)
		account.smtp_port = self.sink.port
		account.flags.ignore_validate = True
		account.save(ignore_permissions=True)
		return SOAK_SENDER

	def lift_limits(self):
		settings = frappe.get_single("Email Campaign Settings")
		settings.recipient_daily_cap, settings.sending_limits = 0, []
		settings.save()
		frappe.db.commit()

	def day(self, n: int) -> str:
		return str(add_days(self.first_day, n))

	def at_10(self, n: int):
		return self.freeze_time(f"{self.day(n)} 10:00:00")

	def utc_10(self, n: int) -> str:
		local = pytz.timezone(get_system_timezone()).localize(get_datetime(f"{self.day(n)} 10:00:00"))
		return local.astimezone(pytz.utc).isoformat()

	def start_worker(self, n: int, queues: str, faults: dict) -> subprocess.Popen:
		frappe.db.commit()
		warm_cache()
		start = "from email_campaign_app.tests.test_soak import worker_main; worker_main()"
		return subprocess.Popen(
			[sys.executable, "-c", start, queues, self.utc_10(n), json.dumps(faults)],
			cwd=frappe.utils.get_bench_path() + "/sites",
			env=worker_environment(),
			stdout=open(
				WORKER_LOG.format(site=frappe.local.site), "a"
			),  # what the workers did, when the soak fails
			stderr=subprocess.STDOUT,
			start_new_session=True,
		)

	def run_the_scheduler(self, n: int, faults: dict):
		"""What the scheduler enqueues on a day, run by a real worker: the daily job (its batches
		go to the long queue, ahead of the default one), then Frappe's flushes and the sync."""
		frappe.enqueue("email_campaign_app.tasks.daily", queue="long")
		self.enqueue_delivery()
		worker = self.start_worker(n, "long,default", faults)
		if faults.get("hang_on"):
			self.kill_when_hanging(worker)
			# the supervisor starts a new worker: it delivers what was queued, and the emails the
			# killed batch did not queue wait for tomorrow's run
			worker = self.start_worker(n, "default", {})
		self.assertEqual(worker.wait(timeout=600), 0)
		frappe.db.rollback()

	def enqueue_delivery(self):
		for _ in range(4):  # a few scheduler ticks ("all" events): Frappe retries a 451 at each
			frappe.enqueue("frappe.email.queue.flush", queue="default")
			frappe.enqueue("email_campaign_app.tasks.sync_ledger", queue="default")

	def kill_when_hanging(self, worker: subprocess.Popen):
		"""SIGKILL the worker and its work horse (RQ runs each job in a child of its own session)
		while the horse is in the middle of an email."""
		deadline = clock() + 120
		pattern = Path(HANG_MARKER.format(site=frappe.local.site, pid="*")).name
		while clock() < deadline and not (markers := list(Path("/tmp").glob(pattern))):
			time.sleep(0.2)
		self.assertTrue(markers, "the worker never reached the email it hangs on")
		time.sleep(0.5)  # the email's transaction is open
		for marker in markers:
			os.kill(int(marker.name.rsplit("_", 1)[1]), signal.SIGKILL)
			marker.unlink()
		os.killpg(worker.pid, signal.SIGKILL)
		worker.wait()
		self.faults["worker killed"] += 1

	def bounce_what_was_accepted(self):
		"""The servers of the bouncing addresses accept each message, then send a report back to
		the sender's mailbox, which Frappe pulls (InboundMail) the same day."""
		for message in self.sink.messages:
			for recipient in message.recipients:
				sample = self.reported.get(recipient.lower())
				message_id = email.message_from_bytes(message.data).get("Message-Id", "").strip()
				if sample and (recipient, message_id) not in self.bounced:
					self.bounced.add((recipient, message_id))
					InboundMail(
						bounce_sample(sample, recipient, message_id),
						frappe.get_doc("Email Account", BOUNCE_INBOX),
					).process()
					self.suppressed_on.setdefault(recipient.lower(), getdate(today()))
		frappe.db.commit()

	def unsubscribe(self, email_campaign: str, email: str):
		query = parse_qs(urlparse(links.unsubscribe_url(email_campaign, email)).query)
		params = {key: values[0] for key, values in query.items()}
		response = http(
			"POST",
			"/api/method/email_campaign_app.api.unsubscribe",
			user=None,
			query_string=params,
			headers={"List-Unsubscribe": "One-Click"},
		)
		self.assertEqual(response.status_code, 200)
		self.unsubscribed[(email_campaign, email)] = frappe.utils.now_datetime()

	def test_thirty_days_of_faults_send_every_due_email_once(self):
		templates = [
			make_template(
				subject=f"S{i}: Hello {{{{ doc.first_name or '' }}}}",
				response=f"<p>Step {i} for {{{{ doc.first_name or doc.email }}}}</p>",
			)
			for i in range(6)
		]
		marker_of = {f"S{i}": t.name for i, t in enumerate(templates)}
		people_campaign = make_campaign(
			[(templates[0].name, 0), (templates[1].name, 2), (templates[2].name, 5), (templates[3].name, 9)]
		)
		group_campaign = make_campaign(
			[(templates[0].name, 0), (templates[4].name, 3), (templates[5].name, 7), (templates[3].name, 14)]
		)
		address = lambda: f"{frappe.generate_hash(length=10)}@example.com"  # noqa: E731
		members = [address() for _ in range(30)]
		dead = {members[3], members[17]}
		group = make_email_group(members)
		email_campaigns, people = [], []  # people: (Lead or Contact, its Email Campaign)
		self.sink.refuse = refusals(dead)
		# accepted, then bounced after acceptance; one recipient complains
		self.reported = {
			members[6]: "postfix_hard.eml",
			members[20]: "exchange_hard.eml",
			members[27]: "arf_complaint.eml",
		}
		self.bounced = set()

		for n in range(DAYS):
			with self.at_10(n):
				if n < 7:  # a few Leads and Contacts enrolled each morning of the first week
					for person in (make_lead(), make_lead(), make_contact()):
						people.append(
							(
								person,
								make_email_campaign(
									people_campaign.name, person.name, person.doctype, sender=self.sender
								).name,
							)
						)
						email_campaigns.append(people[-1][1])
				if n == 0:
					group_email_campaign = make_email_campaign(
						group_campaign.name, group.name, "Email Group", sender=self.sender
					).name
					email_campaigns.append(group_email_campaign)
				if n in (4, 11):  # members join while the campaign runs
					newcomers = [address() for _ in range(4)]
					for email_id in newcomers:
						frappe.get_doc(
							{"doctype": "Email Group Member", "email_group": group.name, "email": email_id}
						).insert()
					members += newcomers
				if n in (3, 8):  # a Lead or Contact and a member click "unsubscribe"
					person, email_campaign = people[0 if n == 3 else 4]
					self.unsubscribe(email_campaign, person.email_id)
					self.unsubscribe(group_email_campaign, members[5 if n == 3 else 22])
				if n == 10:  # a member removed from the group
					frappe.delete_doc(
						"Email Group Member",
						frappe.db.get_value(
							"Email Group Member", {"email_group": group.name, "email": members[9]}
						),
					)
					self.removed[(group_email_campaign, members[9])] = frappe.utils.now_datetime()
				if n == 6:  # a template edited while it is being sent
					template = frappe.get_doc("Email Template", templates[2].name)
					template.response = "<p>Step 2, edited, for {{ doc.first_name or '' }}</p>"
					template.save()
				faults = {}
				if n in DB_ERROR_DAYS:  # a group member's and a person's email of the day
					person = people[3 if n == 3 else 15][0]
					faults["db_error_for"] = [members[1 if n == 3 else 2], person.email_id]
				if n == WORKER_KILLED_ON:
					faults["hang_on"] = members[12]
				self.run_the_scheduler(n, faults)
				self.bounce_what_was_accepted()

		self.check_invariants(email_campaigns, marker_of, dead)

	def check_invariants(self, email_campaigns: list[str], marker_of: dict, dead: set[str]):
		received = self.received(set(email_campaigns), marker_of)
		rows = frappe.get_all(
			LEDGER,
			filters={"email_campaign": ("in", email_campaigns)},
			fields=[
				"email_campaign",
				"email_template",
				"send_after_days",
				"recipient_email",
				"status",
				"error",
				"email_queue",
				"creation",
			],
		)
		counts = Counter(received)
		duplicates = sum(count - 1 for count in counts.values())
		by_status = Counter(row.status for row in rows)
		# accepted by the server: Sent, or Bounced later (a complaint leaves the row Sent)
		sent = {
			(r.email_campaign, r.email_template, r.recipient_email.lower())
			for r in rows
			if r.status in ("Sent", "Bounced")
		}
		due = self.due_emails(email_campaigns)
		settled = {
			(r.email_campaign, r.email_template, r.recipient_email.lower())
			for r in rows
			if r.status in ("Sent", "Bounced", "Failed", "Skipped")
		}
		lost = due - settled
		refused = Counter(reply[:3] for _address, reply in self.sink.refused)
		self.faults["database errors"] = frappe.db.count(
			"Error Log", {"reference_name": ("in", email_campaigns), "error": ("like", "%Lock wait timeout%")}
		)
		print(
			f"\nsoak: {DAYS} days, {len(email_campaigns)} Email Campaigns, {len(rows)} ledger rows, "
			f"{len(received)} emails received by the SMTP server, {len(counts)} distinct (Email Campaign, step, address); "
			f"refused by the server: {refused.get('451', 0)} x 451, {refused.get('550', 0)} x 550; "
			f"faults injected: {self.faults['database errors']} database errors, {self.faults['worker killed']} worker killed; "
			f"bounced or complained after acceptance: {len(self.bounced)} reports for {len(self.suppressed_on)} addresses; "
			f"ledger: {dict(by_status)}; duplicates {duplicates}, lost {len(lost)}"
		)
		self.assertEqual(duplicates, 0)
		self.assertEqual(lost, set())
		self.assertEqual(set(counts), sent)  # what the server accepted is what the ledger says was sent
		self.assertEqual(set(by_status) - {"Sent", "Bounced", "Failed", "Skipped"}, set())
		self.assertEqual(by_status["Bounced"], 2)  # the two hard bounces' first emails; nothing after
		for address, suppressed_on in self.suppressed_on.items():
			self.assertTrue(frappe.db.exists("Email Campaign Suppression", address))
			after = [
				r
				for r in rows
				if r.recipient_email.lower() == address
				and getdate(r.creation) > suppressed_on
				and r.status != "Skipped"
			]
			self.assertEqual(after, [], f"{address} got emails after it was suppressed")
		for row in rows:
			if row.status in ("Sent", "Bounced"):
				self.assertEqual(frappe.db.get_value("Email Queue", row.email_queue, "status"), "Sent")
			if row.status == "Failed":
				self.assertTrue(row.error)
				self.assertIn(row.recipient_email, dead, row.error)  # a passing refusal never failed for good
		for (email_campaign, address), left_at in {**self.unsubscribed, **self.removed}.items():
			after = [
				r
				for r in rows
				if (r.email_campaign, r.recipient_email) == (email_campaign, address)
				and r.creation > left_at
				and r.status != "Skipped"
			]
			self.assertEqual(after, [], f"{address} got emails after leaving")
		self.assertEqual(self.faults["database errors"], 2 * len(DB_ERROR_DAYS))
		self.assertEqual(self.faults["worker killed"], 1)
		self.assertGreater(refused.get("451", 0), 0)
		self.assertEqual(refused.get("550", 0), by_status["Failed"])  # a permanent refusal is tried once
		# every email left from the sender's own mailbox, within its limit, also when the site's
		# other Email Campaigns (the default account's) are released in the same job
		most, accounts = self.most_sent_in_a_rolling_minute(rows)
		self.assertEqual(set(accounts), {SOAK_OUTBOX})
		self.assertLessEqual(most, PER_MINUTE)

	def most_sent_in_a_rolling_minute(self, rows) -> tuple[int, Counter]:
		"""On the workers' clock (the days are simulated): when each email left, the Email Queue's
		last change."""
		sent = frappe.get_all(
			"Email Queue",
			filters={"name": ("in", [r.email_queue for r in rows if r.email_queue]), "status": "Sent"},
			fields=["modified", "retry", "email_account"],
			order_by="modified asc",
		)
		moments = [get_datetime(row.modified).timestamp() for row in sent]
		first, most, busiest = 0, 0, (0, 0)
		for last, at in enumerate(moments):
			while at - moments[first] >= 60:
				first += 1
			if last - first + 1 > most:
				most, busiest = last - first + 1, (first, last)
		retried = sum(1 for row in sent[busiest[0] : busiest[1] + 1] if row.retry)
		accounts = Counter(row.email_account for row in sent)
		print(
			f"soak: at most {most} emails in any rolling minute (limit {PER_MINUTE}), "
			f"{retried} of them retries, from {sent[busiest[0]].modified if sent else None}; "
			f"sent from {dict(accounts)}"
		)
		return most, accounts

	def received(self, email_campaigns: set[str], marker_of: dict) -> list[tuple[str, str, str]]:
		"""(Email Campaign, Email Template, address) of each message the server accepted."""
		found = []
		for message in self.sink.messages:
			parsed = email.message_from_bytes(message.data)
			url = parsed.get("List-Unsubscribe", "").strip("<>")
			email_campaign = parse_qs(urlparse(url).query).get("email_campaign", [None])[0]
			if email_campaign in email_campaigns:
				marker = parsed["Subject"].split(":", 1)[0]
				found += [(email_campaign, marker_of[marker], rcpt.lower()) for rcpt in message.recipients]
		return found

	def due_emails(self, email_campaigns: list[str]) -> set[tuple[str, str, str]]:
		"""Every step whose day has come, for every recipient still subscribed at the end."""
		last_day = getdate(self.day(DAYS - 1))
		due = set()
		for name in email_campaigns:
			doc = frappe.get_doc("Email Campaign", name)
			if doc.email_campaign_for == "Email Group":
				recipients = frappe.get_all(
					"Email Group Member",
					filters={"email_group": doc.recipient, "unsubscribed": 0},
					pluck="email",
				)
			elif doc.status == "Unsubscribed":
				recipients = []
			else:
				recipients = [frappe.db.get_value(doc.email_campaign_for, doc.recipient, "email_id")]
			for step in doc.get_steps():
				if step.send_date(getdate(doc.start_date)) <= last_day:
					due |= {(name, step.email_template, email_id.lower()) for email_id in recipients}
		return due
