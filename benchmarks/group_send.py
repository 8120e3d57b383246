"""Benchmark: one email to every member of an Email Group, this app against Frappe's Newsletter.

Run it with the bench's Python on a throwaway site that has the app installed (it writes
thousands of records, and points the site's default outgoing Email Account at an SMTP server
it starts on 127.0.0.1):

    cd ~/frappe-bench/sites
    ../env/bin/python ../apps/email_campaign_app/benchmarks/group_send.py --site bench.localhost

Two identical Email Groups (`--members`, 5,000 by default) get the same ~2 KB HTML email, each
member's copy rendered for that member. Measured two ways, each system on its own:

- loop: everything runs in this process. Queueing: the app's planning and batch jobs, the
  Newsletter's `queue_all`, with Frappe's queue suspended. Delivery: the app's delivery jobs
  (then Frappe's flush for anything left), the Newsletter through Frappe's flush called in a
  loop until the SMTP server has every message. A transactional email (priority 1) queued
  with the step must be the next one Frappe's flush sends.
- production: one real RQ worker and Frappe's scheduler process at their default settings;
  the app's daily job is enqueued as the scheduler enqueues it, the Newsletter is sent
  through its normal path (`send_emails`); the clock stops when the SMTP server has every
  message. A transactional email is queued while the group step is being sent.

The SMTP server runs in a process of its own. It prints per system: queueing and delivery seconds, ms and queries per email, errors,
messages received, distinct recipients, duplicates; then the ratios (app / Newsletter).
"""

import argparse
import os
import subprocess
import sys
import time
from collections import Counter
from unittest.mock import patch

import frappe
from frappe.utils import today

sys.path.insert(0, os.path.dirname(__file__))
import send_at
from daily_run import QueryCounter

from email_campaign_app.core import schedule
from email_campaign_app.sending import batch as sending
from email_campaign_app.sending import delivery, planning, releasing

ACCOUNT = "Group Send Benchmark Outbox"
BODY = (
	"<h2>Hello {{ doc.first_name or doc.email }}</h2>"
	+ "<p>Our spring catalogue is out: new products, better prices, and a few surprises for "
	"our most loyal customers. Read on for the details of what is new this season.</p>"
	* 8
	+ "<table><tr><td>Product</td><td>Price</td></tr><tr><td>Widget</td><td>12 EUR</td></tr></table>"
	+ "<p>Kind regards,<br>The team</p>"
)


def make_group(label: str, run: str, members: int) -> str:
	group = frappe.get_doc({"doctype": "Email Group", "title": f"{label} {run}"}).insert(
		ignore_permissions=True
	)
	stamp, user = frappe.utils.now(), frappe.session.user
	frappe.db.bulk_insert(
		"Email Group Member",
		("name", "creation", "modified", "owner", "modified_by", "email_group", "email", "unsubscribed"),
		[
			(
				frappe.generate_hash(length=10),
				stamp,
				stamp,
				user,
				user,
				group.name,
				f"{label.lower()}.{run}.{i}@example.com",
				0,
			)
			for i in range(members)
		],
	)
	frappe.db.commit()
	return group.name


def make_app_step(group: str, run: str, body: str = BODY, track_clicks: int = 0) -> str:
	template = frappe.get_doc(
		{
			"doctype": "Email Template",
			"name": f"Spring {run}",
			"subject": "Spring catalogue for {{ doc.email }}",
			"response": body,
		}
	).insert(ignore_permissions=True)
	campaign = frappe.get_doc(
		{
			"doctype": "Campaign",
			"campaign_name": f"Spring {run}",
			"track_clicks": track_clicks,
			"campaign_schedules": [{"email_template": template.name, "send_after_days": 0}],
		}
	).insert(ignore_permissions=True)
	email_campaign = frappe.get_doc(
		{
			"doctype": "Email Campaign",
			"campaign_name": campaign.name,
			"email_campaign_for": "Email Group",
			"recipient": group,
			"sender": "Administrator",
			"start_date": today(),
			"send_at": "00:00",
		}
	).insert(ignore_permissions=True)
	frappe.db.commit()
	return email_campaign.name


def make_newsletter(group: str, run: str):
	newsletter = frappe.get_doc(
		{
			"doctype": "Newsletter",
			"subject": f"Spring catalogue {run}",
			"sender_email": "admin@example.com",
			"send_from": "Administrator <admin@example.com>",
			"content_type": "Rich Text",
			"message": BODY.replace("{{ doc.first_name or doc.email }}", "{{ doc.subject }}"),
			"send_unsubscribe_link": 1,
			"email_group": [{"email_group": group}],
		}
	).insert(ignore_permissions=True)
	frappe.db.commit()
	return newsletter


def point_outbox_at(port: int):
	if not frappe.db.exists("Email Account", ACCOUNT):
		frappe.get_doc(
			{
				"doctype": "Email Account",
				"email_account_name": ACCOUNT,
				"email_id": "group-send-benchmark@example.com",
				"enable_outgoing": 1,
				"default_outgoing": 1,
				"smtp_server": "127.0.0.1",
				"smtp_port": port,
				"no_smtp_authentication": 1,
			}
		).insert(ignore_permissions=True)
	frappe.db.set_value("Email Account", {"name": ("!=", ACCOUNT)}, "default_outgoing", 0)
	account = frappe.get_doc("Email Account", ACCOUNT)
	account.default_outgoing, account.smtp_port = 1, port
	account.save(ignore_permissions=True)
	frappe.db.commit()


class Sink:
	"""The SMTP server in a process of its own (see smtp_sink.serve), read through its log."""

	def __init__(self, port: int = 2799):
		self.port, self.log = port, f"/tmp/group_send_sink_{port}.log"
		open(self.log, "w").close()
		self.process = subprocess.Popen(
			[
				sys.executable,
				"-m",
				"email_campaign_app.tests.smtp_sink",
				"--port",
				str(port),
				"--log",
				self.log,
			],
			stderr=subprocess.PIPE,
			text=True,
		)
		self.process.stderr.readline()  # listening

	def recipients(self) -> list[str]:
		return [recipient for _at, recipient in self.arrivals()]

	def arrivals(self) -> list[tuple[float, str]]:
		"""(seconds since the epoch, recipient) of every message accepted, in order."""
		with open(self.log) as log:
			return [
				(float(at), recipient) for at, recipient in (line.split() for line in log if line.strip())
			]

	def clear(self):
		open(self.log, "w").close()

	def stop(self):
		self.process.terminate()
		self.process.wait()


def counts(sink: Sink, prefix: str) -> Counter:
	"""Messages received per recipient whose address starts with `prefix` ("app.RUN.", ...)."""
	return Counter(r for r in sink.recipients() if r.startswith(prefix))


def wait_for(sink: Sink, prefix: str, members: int, timeout: float) -> float:
	deadline = time.perf_counter() + timeout
	while sum(counts(sink, prefix).values()) < members and time.perf_counter() < deadline:
		time.sleep(0.2)
	return time.perf_counter()


def errors_of(reference_doctype: str, reference_name: str) -> int:
	return frappe.db.count(
		"Email Queue",
		{"reference_doctype": reference_doctype, "reference_name": reference_name, "status": "Error"},
	)


def flush_until_received(sink, prefix, members, counter) -> float:
	started = time.perf_counter()
	with counter.counting():
		while sum(counts(sink, prefix).values()) < members:
			before = len(sink.recipients())
			frappe.email.queue.flush()
			frappe.db.commit()
			if len(sink.recipients()) == before:
				break  # nothing left that Frappe would send
	return time.perf_counter() - started


def queue_app_step(email_campaign: str) -> list[list[str]]:
	"""What the daily job and its batch jobs do; the batches' delivery jobs, returned."""
	deliveries = []
	with patch(
		"email_campaign_app.sending.batch.deliver", side_effect=lambda queued: deliveries.append(queued) or []
	):
		due = planning.plan_due_emails([email_campaign])
		for batch in schedule.batches(due.sends, releasing.BATCH_SIZE):
			sending.send_batch([sending.as_job_arg(send) for send in batch])
	return deliveries


def deliver_app_step(deliveries, counter) -> float:
	"""The batches' deliveries, as the worker runs them, after the transactional email: the
	app's delivery makes way for it, and Frappe's flush sends it first."""
	started = time.perf_counter()
	with counter.counting():
		frappe.email.queue.flush()
		for email_queues in deliveries:
			left = delivery.send_now(email_queues)
			assert not left, "the site's own mail was still waiting after Frappe's flush"
	return time.perf_counter() - started


def run_loop(sink, members, run):
	results = {}
	app_group, nl_group = make_group("App", run, members), make_group("News", run, members)
	email_campaign, newsletter = make_app_step(app_group, run), make_newsletter(nl_group, run)
	frappe.db.set_default("suspend_email_queue", 1)
	frappe.db.commit()

	counter = QueryCounter()
	started = time.perf_counter()
	with counter.counting():
		deliveries = queue_app_step(email_campaign)
	results["app"] = {"queueing": time.perf_counter() - started, "queue queries": counter.count}
	frappe.sendmail(
		recipients=["transactional@example.com"], subject="Password reset", message="<p>Your link</p>"
	)
	frappe.db.set_default("suspend_email_queue", 0)
	frappe.db.commit()
	next_in_queue = frappe.db.get_value(
		"Email Queue", frappe.email.queue.get_queue()[0].name, "reference_doctype"
	)
	results["next email Frappe's flush sends, with the step queued"] = (
		next_in_queue or "a transactional email"
	)
	counter = QueryCounter()
	results["app"]["delivery"] = deliver_app_step(deliveries, counter)
	results["app"]["delivery"] += flush_until_received(
		sink, f"app.{run}.", members, counter
	)  # what is left, if any
	results["app"]["delivery queries"] = counter.count

	frappe.db.set_default("suspend_email_queue", 1)
	frappe.db.commit()
	counter = QueryCounter()
	started = time.perf_counter()
	with counter.counting():
		frappe.flags.in_test = True  # Frappe's queue_all runs its jobs in this process then
		try:
			newsletter.queue_all()
		finally:
			frappe.flags.in_test = False
		frappe.db.commit()
	results["newsletter"] = {"queueing": time.perf_counter() - started, "queue queries": counter.count}
	frappe.db.set_default("suspend_email_queue", 0)
	frappe.db.commit()
	counter = QueryCounter()
	results["newsletter"]["delivery"] = flush_until_received(sink, f"news.{run}.", members, counter)
	results["newsletter"]["delivery queries"] = counter.count
	finish(results, sink, members, run, email_campaign, newsletter.name)
	return results


def start_processes(site: str) -> list[subprocess.Popen]:
	"""One RQ worker and Frappe's scheduler, as `bench start` runs them."""
	sites = frappe.utils.get_bench_path() + "/sites"
	frappe.db.set_single_value("System Settings", "enable_scheduler", 1)
	# Frappe's scheduler runs a site nobody used for days once a day only: this one is in use
	frappe.get_doc(
		{
			"doctype": "Activity Log",
			"subject": "Administrator logged in",
			"operation": "Login",
			"status": "Success",
			"user": "Administrator",
		}
	).insert(ignore_permissions=True)
	frappe.db.commit()
	python = [sys.executable, "-m", "frappe.utils.bench_helper", "frappe"]
	log = open("/tmp/group_send_worker.log", "w")
	return [
		subprocess.Popen(
			[*python, "worker"], cwd=sites, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
		),
		subprocess.Popen(
			[*python, "schedule"],
			cwd=sites,
			stdout=subprocess.DEVNULL,
			stderr=subprocess.DEVNULL,
			start_new_session=True,
		),
	]


def stop_processes(processes):
	for process in processes:
		os.killpg(process.pid, 15)
		process.wait()
	frappe.db.set_single_value("System Settings", "enable_scheduler", 0)
	frappe.db.commit()


def run_production(sink, members, run, site):
	results = {}
	app_group, nl_group = make_group("App", run, members), make_group("News", run, members)
	email_campaign, newsletter = make_app_step(app_group, run), make_newsletter(nl_group, run)
	processes = start_processes(site)
	try:
		time.sleep(5)  # the worker and the scheduler are up
		started = time.perf_counter()
		frappe.enqueue("email_campaign_app.tasks.dispatch", queue="default")
		frappe.db.commit()
		while sum(counts(sink, f"app.{run}.").values()) < members // 10:
			time.sleep(0.2)
		frappe.sendmail(
			recipients=["transactional@example.com"], subject="Password reset", message="<p>Your link</p>"
		)
		frappe.db.commit()
		transactional_at = time.perf_counter()
		transactional_sent, done, deadline = None, None, started + 3600
		while done is None and time.perf_counter() < deadline:
			if transactional_sent is None and "transactional@example.com" in sink.recipients():
				transactional_sent = time.perf_counter()
			if sum(counts(sink, f"app.{run}.").values()) >= members:
				done = time.perf_counter()
			time.sleep(0.1)
		results["app"] = {"end to end": (done or deadline) - started}
		transactional_sent = transactional_sent or wait_for(sink, "transactional", 1, 300)
		received = sink.recipients()
		arrived = [i for i, r in enumerate(received) if r == "transactional@example.com"]
		if arrived:
			results["transactional email: seconds from queued to sent"] = (
				transactional_sent - transactional_at
			)
			results["campaign emails sent after it"] = sum(
				1 for r in received[arrived[0] :] if r.startswith(f"app.{run}.")
			)
		else:
			results["transactional email"] = "not sent within 5 minutes"
		started = time.perf_counter()
		frappe.get_doc("Newsletter", newsletter.name).send_emails()
		frappe.db.commit()
		results["newsletter"] = {"end to end": wait_for(sink, f"news.{run}.", members, 3600) - started}
	finally:
		stop_processes(processes)
	frappe.db.rollback()
	finish(results, sink, members, run, email_campaign, newsletter.name)
	return results


def finish(results, sink, members, run, email_campaign, newsletter):
	for system, prefix, reference in (
		("app", f"app.{run}.", ("Email Campaign", email_campaign)),
		("newsletter", f"news.{run}.", ("Newsletter", newsletter)),
	):
		received = counts(sink, prefix)
		results[system].update(
			{
				"received": sum(received.values()),
				"distinct": len(received),
				"duplicates": sum(n - 1 for n in received.values()),
				"missing": members - len(received),
				"errors": errors_of(*reference),
			}
		)


def forget_earlier_runs(site: str):
	"""A throwaway site: what an earlier run left unsent would be sent in this one's time."""
	frappe.db.set_value(
		"Email Queue", {"status": ("in", ("Not Sent", "Partially Sent"))}, "status", "Cancelled"
	)
	frappe.db.commit()
	drop_queued_jobs(site)


def drop_queued_jobs(site: str):
	"""This site's jobs still waiting in RQ (an interrupted run's) would run in this one's time."""
	from frappe.utils.background_jobs import get_queues

	for queue in get_queues():
		for job in queue.get_jobs():
			if job.kwargs.get("site") == site:
				job.delete()


def report(mode, results, members):
	print(f"\n== {mode}, {members:,} members")
	for system in ("app", "newsletter"):
		r = results[system]
		figures = [
			f"{key} {value:.1f} s ({value / members * 1000:.1f} ms/email)"
			for key, value in r.items()
			if key in ("queueing", "delivery", "end to end")
		]
		figures += [
			f"{key} {value / members:.1f}/email" for key, value in r.items() if key.endswith("queries")
		]
		figures += [f"{key} {r[key]}" for key in ("received", "distinct", "duplicates", "missing", "errors")]
		print(f"{system:>10}: " + ", ".join(figures))
	app, news = results["app"], results["newsletter"]
	if "queueing" in app:
		total = (app["queueing"] + app["delivery"]) / (news["queueing"] + news["delivery"])
		print(
			f"    ratios: queueing {app['queueing'] / news['queueing']:.2f}, delivery {app['delivery'] / news['delivery']:.2f}, end to end {total:.2f}"
		)
	else:
		print(f"    ratio: end to end {app['end to end'] / news['end to end']:.2f}")
	for key, value in results.items():
		if key not in ("app", "newsletter"):
			print(f"    {key}: {value:.1f}" if isinstance(value, float) else f"    {key}: {value}")


def main():
	parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
	parser.add_argument("--site", required=True)
	parser.add_argument("--members", type=int, default=5000)
	parser.add_argument("--modes", default="loop,production")
	parser.add_argument(
		"--send-at", action="store_true", help="the production path with Send At a minute ahead (send_at.py)"
	)
	parser.add_argument("--limit-per-minute", type=int, help="with --send-at: the account's limit")
	parser.add_argument("--newsletter-minutes", type=int, default=10, help="with --send-at")
	args = parser.parse_args()
	if args.send_at:
		args.modes = "send-at"
	frappe.init(site=args.site)
	frappe.connect()
	frappe.set_user("Administrator")
	sink = Sink()
	try:
		point_outbox_at(sink.port)
		for mode in args.modes.split(","):
			sink.clear()
			forget_earlier_runs(args.site)
			run = frappe.generate_hash(length=6)
			if mode == "send-at":
				results = send_at.run_send_at(
					sys.modules[__name__],
					sink,
					args.members,
					run,
					args.site,
					args.limit_per_minute,
					args.newsletter_minutes,
				)
				send_at.report(results, args.members, args.limit_per_minute)
				continue
			results = (
				run_loop(sink, args.members, run)
				if mode == "loop"
				else run_production(sink, args.members, run, args.site)
			)
			report(mode, results, args.members)
	finally:
		sink.stop()
	frappe.destroy()


if __name__ == "__main__":
	main()
