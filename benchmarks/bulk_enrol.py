"""Benchmark of bulk enrolment: 1,000 Leads added to a Campaign from the Lead list, in one job.

Run it with the bench's Python, on a throwaway site (it writes a thousand Leads and Email
Campaigns and deletes them at the end):

    cd ~/frappe-bench/sites
    ../env/bin/python ../apps/email_campaign_app/benchmarks/bulk_enrol.py --site bench.localhost

As a Sales User, it calls what Actions > Add to Email Campaign calls for 1,000 selected Leads,
checks that exactly one background job was queued, takes that job off the RQ queue and runs it
the way a worker does (`execute_job`), and prints:
  - the request: queries, seconds;
  - the job: queries, seconds, per Lead, progress messages sent, Email Campaigns created;
  - the floor: the same 1,000 Email Campaigns inserted one by one with a bare `doc.insert()`
    (what 1,000 saved forms cost the database), and the ratio between the two.
"""

import argparse
import sys
import time
from pathlib import Path
from unittest.mock import patch

import frappe
from frappe.utils import today

sys.path.insert(0, str(Path(__file__).resolve().parent))
from daily_run import LEAD_FIELDS, measured  # the same query counter as the daily run benchmark

PREFIX = "BENCH-ENROL"
SALES_USER = "bench-sales-user@example.com"
JOB = "email_campaign_app.enrolment.bulk.enrol_in_background"


def make_campaign() -> str:
	templates = []
	for i in range(3):
		name = f"{PREFIX} Template {i}"
		if not frappe.db.exists("Email Template", name):
			frappe.get_doc(
				{
					"doctype": "Email Template",
					"name": name,
					"subject": f"Step {i}",
					"response": "<p>Hello {{ doc.first_name }}</p>",
				}
			).insert()
		templates.append(name)
	name = f"{PREFIX} Campaign"
	if not frappe.db.exists("Campaign", name):
		frappe.get_doc(
			{
				"doctype": "Campaign",
				"campaign_name": name,
				"campaign_schedules": [
					{"email_template": t, "send_after_days": 2 * i} for i, t in enumerate(templates)
				],
			}
		).insert()
	return name


def make_sales_user():
	from email_campaign_app.tests.http import ensure_user

	return ensure_user(SALES_USER, ("Sales User",))


def bulk_leads(count: int) -> list[str]:
	now = frappe.utils.now()
	rows = [
		(f"{PREFIX}-LEAD-{i:06d}", "Ada", f"Lead {i}", f"Ada Lead {i}", f"enrol{i}@example.com", "Lead", 0, now, now, "Administrator", "Administrator")
		for i in range(count)
	]  # fmt: skip
	frappe.db.bulk_insert(
		"Lead",
		LEAD_FIELDS,
		rows,
	)
	frappe.db.commit()
	return [row[0] for row in rows]


def delete_email_campaigns(campaign: str):
	frappe.db.delete("Email Campaign", {"campaign_name": campaign})
	frappe.db.commit()


def clean_up(campaign: str):
	delete_email_campaigns(campaign)
	frappe.db.delete("Lead", {"name": ("like", f"{PREFIX}-%")})
	frappe.db.commit()


def queued_enrolment_jobs(campaign: str):
	from frappe.utils.background_jobs import get_queue

	return [
		job
		for job in get_queue("long").get_jobs()
		if job.kwargs.get("method") == JOB and job.kwargs["kwargs"]["values"]["campaign_name"] == campaign
	]


def run_job_as_a_worker_does(job):
	"""A worker's code path (execute_job: the method, then commit), without forking."""
	from frappe.utils.background_jobs import execute_job

	job.delete()  # off the queue, so that no worker runs it too
	return execute_job(**{**job.kwargs, "is_async": False})


def bare_inserts(campaign: str, leads: list[str]):
	for lead in leads:
		frappe.get_doc(
			{
				"doctype": "Email Campaign",
				"campaign_name": campaign,
				"email_campaign_for": "Lead",
				"recipient": lead,
				"sender": SALES_USER,
				"start_date": today(),
			}
		).insert()
	frappe.db.commit()


def run(count: int):
	from email_campaign_app.api import enrolment as api

	campaign = make_campaign()
	make_sales_user()
	clean_up(campaign)
	leads = bulk_leads(count)
	frappe.set_user(SALES_USER)
	results = {}
	progress = []
	real_publish_progress = frappe.publish_progress

	with measured("request", results):
		answer = api.add_to_email_campaign("Lead", leads, campaign, today(), "09:00")
		frappe.db.commit()
	jobs = queued_enrolment_jobs(campaign)
	assert answer == {"queued": count}, answer
	assert len(jobs) == 1, f"{len(jobs)} jobs queued"

	def publish_progress(percent, **kwargs):
		progress.append(percent)
		real_publish_progress(percent, **kwargs)

	with patch("frappe.publish_progress", publish_progress), measured("job", results):
		summary = run_job_as_a_worker_does(jobs[0])
	created = len(summary["created"])
	assert created == count, summary

	delete_email_campaigns(campaign)
	with measured("bare", results):
		bare_inserts(campaign, leads)
	report(count, results, created, progress)
	frappe.set_user("Administrator")
	clean_up(campaign)


def report(count, results, created, progress):
	request, job, bare = results["request"], results["job"], results["bare"]
	print(f"\n== {count:,} Leads added to one Campaign (Actions > Add to Email Campaign, as a Sales User)")
	print(f"{'':34} {'queries':>9} {'seconds':>9} {'ms/Lead':>8} {'queries/Lead':>13}")
	print(f"{'request (checks, queues the job)':34} {request['queries']:9d} {request['seconds']:9.3f}")
	for label, figures in (("background job (1 job)", job), ("floor: bare doc.insert() x count", bare)):
		print(
			f"{label:34} {figures['queries']:9d} {figures['seconds']:9.3f} "
			f"{1000 * figures['seconds'] / count:8.2f} {figures['queries'] / count:13.1f}"
		)
	print(
		f"{'ratio (job / floor)':34} {job['queries'] / bare['queries']:8.2f}x {job['seconds'] / bare['seconds']:8.2f}x"
	)
	print(
		f"Email Campaigns created: {created:,}; progress messages: {len(progress)} (last {progress[-1]:.0f}%)"
	)


def main():
	parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
	parser.add_argument("--site", required=True)
	parser.add_argument("--count", type=int, default=1000)
	args = parser.parse_args()
	frappe.init(site=args.site)
	frappe.connect()
	try:
		frappe.set_user("Administrator")
		started = time.perf_counter()
		run(args.count)
		print(f"(benchmark took {time.perf_counter() - started:.0f} s)")
	finally:
		frappe.destroy()


if __name__ == "__main__":
	main()
