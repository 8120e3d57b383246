"""Benchmark of the daily run on a real site, against the per-campaign loop ERPNext ships.

Run it with the bench's Python, on a throwaway site (it writes thousands of records and
deletes them at the end):

    cd ~/frappe-bench/sites
    ../env/bin/python ../apps/email_campaign_app/benchmarks/daily_run.py --site bench.localhost

It prints, for 1,000 and 10,000 active Email Campaigns on 5-step Campaigns (each with one step
due today), for the same 10,000 with the rows of days 1-4 conditional on the previous step
(issue 24: with and without conditions, side by side), and for one Email Group of 10,000 members;
then both again with an A/B variant on every step (issue 24: with and without variants):
  - finding what is due: queries issued, wall time (best of 3 runs), peak Python memory,
    emails found;
  - the same through a straightforward per-campaign loop (load each Email Campaign and its
    Campaign document, check each step's exact day), and the ratio between the two;
  - sending: emails queued per second by our send path, against the floor of a bare
    Communication + frappe.sendmail for the same message, and the ratio between the two.
"""

import argparse
import time
import tracemalloc
from contextlib import contextmanager

import frappe
from frappe.utils import add_days, getdate, today

PREFIX = "BENCH"
STEPS = 5
CAMPAIGNS = 10

# the columns of the fixture rows written in bulk (here and in bulk_enrol.py)
LEAD_FIELDS = (
	"name", "first_name", "last_name", "lead_name", "email_id", "status", "unsubscribed",
	"creation", "modified", "owner", "modified_by",
)  # fmt: skip
EMAIL_CAMPAIGN_FIELDS = (
	"name", "campaign_name", "email_campaign_for", "recipient", "sender", "start_date", "send_at",
	"end_date", "status", "all_steps_sent", "creation", "modified", "owner", "modified_by",
)  # fmt: skip


class QueryCounter:
	"""Counts the SQL statements frappe.db.sql runs while active."""

	def __init__(self):
		self.count = 0

	@contextmanager
	def counting(self):
		real_sql = frappe.db.sql

		def counted(*args, **kwargs):
			self.count += 1
			return real_sql(*args, **kwargs)

		frappe.db.sql = counted
		try:
			yield self
		finally:
			frappe.db.sql = real_sql


@contextmanager
def measured(label, results):
	"""Wall time and queries; tracemalloc stays off here, as it slows Python several times."""
	counter = QueryCounter()
	started = time.perf_counter()
	with counter.counting():
		yield
	results[label] = {"seconds": time.perf_counter() - started, "queries": counter.count}


def measured_best_of(runs, label, results, function, *args):
	"""The fastest of a few runs: what the code costs, without the machine's passing noise."""
	best = None
	for _ in range(runs):
		attempt = {}
		with measured(label, attempt):
			answer = function(*args)
		if best is None or attempt[label]["seconds"] < best["seconds"]:
			best = attempt[label]
	results[label] = best
	return answer


def peak_mib(function, *args):
	tracemalloc.start()
	function(*args)
	_, peak = tracemalloc.get_traced_memory()
	tracemalloc.stop()
	return peak / 2**20


# Data: bulk inserted, so that building 10,000 campaigns takes seconds, not hours


def make_templates_and_campaigns():
	templates = []
	for i in range(STEPS):
		name = f"{PREFIX} Template {i}"
		if not frappe.db.exists("Email Template", name):
			frappe.get_doc(
				{
					"doctype": "Email Template",
					"name": name,
					"subject": f"Step {i} for {{{{ doc.first_name }}}}",
					"response": f"<p>Hello {{{{ doc.first_name }}}}, this is step {i}.</p>",
				}
			).insert()
		templates.append(name)
	campaigns = []
	for c in range(CAMPAIGNS):
		name = f"{PREFIX} Campaign {c}"
		if not frappe.db.exists("Campaign", name):
			frappe.get_doc(
				{
					"doctype": "Campaign",
					"campaign_name": name,
					"campaign_schedules": [
						{"email_template": templates[i], "send_after_days": i} for i in range(STEPS)
					],
				}
			).insert()
		campaigns.append(name)
	return campaigns


def bulk_email_campaigns(count, campaigns, offset=0):
	"""`count` Leads, each with an Email Campaign started 0-4 days ago: one step due today each."""
	now = frappe.utils.now()
	leads, email_campaigns = [], []
	for i in range(offset, offset + count):
		lead = f"{PREFIX}-LEAD-{i:06d}"
		leads.append(
			(
				lead,
				"Ada",
				f"Lead {i}",
				f"Ada Lead {i}",
				f"bench{i}@example.com",
				"Lead",
				0,
				now,
				now,
				"Administrator",
				"Administrator",
			)
		)
		start = add_days(today(), -(i % STEPS))
		email_campaigns.append(
			(f"{PREFIX}-EC-{i:06d}", campaigns[i % len(campaigns)], "Lead", lead, "Administrator", start, "09:00",
			 add_days(start, STEPS - 1), "In Progress", 0, now, now, "Administrator", "Administrator")
		)  # fmt: skip
	frappe.db.bulk_insert(
		"Lead",
		LEAD_FIELDS,
		leads,
	)
	frappe.db.bulk_insert(
		"Email Campaign",
		EMAIL_CAMPAIGN_FIELDS,
		email_campaigns,
	)
	frappe.db.commit()


def bulk_ledger_of_previous_days(count, campaigns):
	"""What earlier runs left: a Sent ledger row for every step before today's, so that each
	Email Campaign has exactly its exact-day step due, as the per-campaign loop assumes."""
	from email_campaign_app.core import schedule

	now = frappe.utils.now()
	rows = []
	for i in range(count):
		email_campaign, email, days_ago = f"{PREFIX}-EC-{i:06d}", f"bench{i}@example.com", i % STEPS
		for day in range(days_ago):
			template = f"{PREFIX} Template {day}"
			key = schedule.send_key(email_campaign, schedule.Step(template, day), email)
			rows.append((key, email_campaign, campaigns[i % len(campaigns)], template, day, add_days(today(), day - days_ago),
				email, "Lead", f"{PREFIX}-LEAD-{i:06d}", "Sent", add_days(today(), day - days_ago), now, now, "Administrator", "Administrator"))  # fmt: skip
	frappe.db.bulk_insert(
		"Email Campaign Send Log",
		[
			"name",
			"email_campaign",
			"campaign_name",
			"email_template",
			"send_after_days",
			"send_date",
			"recipient_email",
			"recipient_doctype",
			"recipient_name",
			"status",
			"queued_on",
			"creation",
			"modified",
			"owner",
			"modified_by",
		],
		rows,
	)
	frappe.db.commit()
	return len(rows)


def bulk_email_group(members, campaign):
	group = f"{PREFIX} Group"
	if not frappe.db.exists("Email Group", group):
		frappe.get_doc({"doctype": "Email Group", "title": group}).insert()
	now = frappe.utils.now()
	frappe.db.bulk_insert(
		"Email Group Member",
		["name", "email_group", "email", "unsubscribed", "creation", "modified", "owner", "modified_by"],
		[
			(
				f"{PREFIX}-M-{i:06d}",
				group,
				f"member{i}@example.com",
				0,
				now,
				now,
				"Administrator",
				"Administrator",
			)
			for i in range(members)
		],
	)
	frappe.db.bulk_insert(
		"Email Campaign",
		EMAIL_CAMPAIGN_FIELDS,
		[
			(
				f"{PREFIX}-EC-GROUP",
				campaign,
				"Email Group",
				group,
				"Administrator",
				today(),
				"09:00",
				add_days(today(), STEPS - 1),
				"In Progress",
				0,
				now,
				now,
				"Administrator",
				"Administrator",
			)
		],
	)
	frappe.db.commit()


def clean_up():
	for doctype, field in (
		("Email Campaign Send Log", "email_campaign"),
		("Email Campaign", "name"),
		("Lead", "name"),
		("Email Group Member", "name"),
	):
		frappe.db.delete(doctype, {field: ("like", f"{PREFIX}-%")})
	bench_refs = {"reference_doctype": "Email Campaign", "reference_name": ("like", f"{PREFIX}-%")}
	queues = frappe.get_all("Email Queue", filters=bench_refs, pluck="name")
	frappe.db.delete("Email Queue Recipient", {"parent": ("in", queues or [""])})
	communications = frappe.get_all("Communication", filters=bench_refs, pluck="name")
	frappe.db.delete("Communication Link", {"parent": ("in", communications or [""])})
	for doctype in ("Communication", "Email Queue"):
		frappe.db.delete(doctype, bench_refs)
	frappe.db.commit()


# The two ways of finding what is due


def find_with_app(names=None):
	from email_campaign_app.sending import planning

	return planning.plan_due_emails(names).sends


def find_with_loop():
	"""ERPNext's send_email_to_leads_or_contacts, without sending: what a naive loop costs."""
	due = []
	for row in frappe.get_all(
		"Email Campaign", filters={"status": ("not in", ["Unsubscribed", "Completed", "Scheduled"])}
	):
		email_campaign = frappe.get_doc("Email Campaign", row.name)
		campaign = frappe.get_cached_doc("Campaign", email_campaign.campaign_name)
		for entry in campaign.get("campaign_schedules"):
			if getdate(add_days(email_campaign.start_date, entry.send_after_days)) == getdate(today()):
				if email_campaign.email_campaign_for == "Email Group":
					members = frappe.get_all(
						"Email Group Member",
						filters={"email_group": email_campaign.recipient, "unsubscribed": 0},
						pluck="email",
					)
				else:
					members = [
						frappe.db.get_value(
							email_campaign.email_campaign_for, email_campaign.recipient, "email_id"
						)
					]
				due.extend((email_campaign.name, entry.email_template, email) for email in members)
	return due


# Sending: our path against the bare floor


def send_with_app(sends):
	from email_campaign_app.sending import batch as sending

	sending.send_batch([sending.as_job_arg(send) for send in sends])


def send_bare(sends):
	"""The floor: render the template, one Communication and one frappe.sendmail per email."""
	for send in sends:
		template = frappe.get_cached_doc("Email Template", send.step.email_template)
		doc = frappe.get_doc(send.recipient.doctype, send.recipient.name)
		subject = frappe.render_template(template.subject, {"doc": doc})
		body = frappe.render_template(template.response, {"doc": doc})
		communication = frappe.get_doc(
			{
				"doctype": "Communication",
				"communication_medium": "Email",
				"sent_or_received": "Sent",
				"subject": subject,
				"content": body,
				"sender": "admin@example.com",
				"recipients": send.recipient.email,
				"reference_doctype": "Email Campaign",
				"reference_name": send.email_campaign,
			}
		).insert(ignore_permissions=True)
		frappe.sendmail(
			recipients=[send.recipient.email],
			sender="admin@example.com",
			subject=subject,
			message=body,
			reference_doctype="Email Campaign",
			reference_name=send.email_campaign,
			communication=communication.name,
		)
		frappe.db.commit()


def per_email_costs(sample):
	results = {}
	half = len(sample) // 2
	with measured("bare", results):
		send_bare(sample[:half])
	with measured("app", results):
		send_with_app(sample[half:])
	return {
		name: {
			**figures,
			"ms_per_email": 1000 * figures["seconds"] / half,
			"queries_per_email": figures["queries"] / half,
		}
		for name, figures in results.items()
	}


def run(sizes, sample_size):
	from email_campaign_app.tests.helpers import ensure_outgoing_email_account

	ensure_outgoing_email_account()
	clean_up()
	campaigns = make_templates_and_campaigns()
	frappe.db.commit()
	made = 0
	for size in sizes:
		bulk_email_campaigns(size - made, campaigns, offset=made)
		made = size
		find_with_app()  # warm the metadata caches, as on any day after the first
		results = {}
		app_due = measured_best_of(3, "app", results, find_with_app)
		with measured("loop", results):
			loop_due = find_with_loop()
		results["app"]["peak_mib"] = peak_mib(find_with_app)
		print(f"\n== {size:,} active Email Campaigns (5-step Campaigns, one step due today each)")
		report_finding(results, len(app_due), len(loop_due))

	rows = bulk_ledger_of_previous_days(made, campaigns)
	results = {}
	app_due = measured_best_of(3, "app", results, find_with_app)
	with measured("loop", results):
		loop_due = find_with_loop()
	results["app"]["peak_mib"] = peak_mib(find_with_app)
	print(f"\n== the same {made:,} Email Campaigns with the ledger earlier days left ({rows:,} rows)")
	report_finding(results, len(app_due), len(loop_due))

	conditions_side_by_side(campaigns, made)

	bulk_email_group(10_000, campaigns[0])
	results = {}
	group = [f"{PREFIX}-EC-GROUP"]
	group_due = measured_best_of(3, "app", results, find_with_app, group)
	with measured("loop", results):
		loop_group = [d for d in find_with_loop() if d[0] == group[0]]
	results["app"]["peak_mib"] = peak_mib(find_with_app, group)
	print("\n== one Email Group of 10,000 members (its day-0 step due today)")
	report_finding(results, len(group_due), len(loop_group))
	variants_side_by_side(campaigns, made)

	sample = [s for s in find_with_app() if s.recipient.doctype == "Lead"][: 2 * sample_size]
	costs = per_email_costs(sample)
	print(f"\n== sending {sample_size} emails each way (render, Communication, Email Queue, commit)")
	for name, label in (
		("bare", "bare Communication + frappe.sendmail (floor)"),
		("app", "email_campaign_app send path"),
	):
		c = costs[name]
		print(
			f"{label:48} {c['ms_per_email']:7.1f} ms/email  {1000 / c['ms_per_email']:6.1f} emails/s  {c['queries_per_email']:5.1f} queries/email"
		)
	print(
		f"{'per-email cost ratio (app / floor)':48} {costs['app']['ms_per_email'] / costs['bare']['ms_per_email']:7.2f}x"
	)
	clean_up()


# Conditional rows (issue 24): the same due recipients, with and without conditions

# each day's row is conditional on the previous day's step (its default): every email due today
# but day 0's is decided on the recipient's earlier email
CONDITIONS = {1: "Opened", 2: "Not Clicked", 3: "Clicked", 4: "Not Replied"}


def set_conditions(campaigns, on: bool):
	"""The bench Campaigns' rows of days 1-4 conditional (or Always again), written as the form
	saves them (a condition on the previous step leaves the reference empty)."""
	Schedule = frappe.qb.DocType("Campaign Email Schedule")
	for day, condition in CONDITIONS.items():
		frappe.qb.update(Schedule).set(Schedule.condition, condition if on else "Always").where(
			Schedule.parent.isin(campaigns) & (Schedule.send_after_days == day)
		).run()
	frappe.db.commit()


def bulk_engagement():
	"""Every earlier email of the bench's ledger gets its Communication (where an open is
	recorded: the join the planner makes when conditions are on), a third of them opened; a
	quarter clicked, a tenth replied to. How many Communications."""
	now = frappe.utils.now()
	Ledger = frappe.qb.DocType("Email Campaign Send Log")
	rows = (
		frappe.qb.from_(Ledger)
		.select(Ledger.name, Ledger.email_campaign, Ledger.recipient_email)
		.where(Ledger.email_campaign.like(f"{PREFIX}-%"))
		.run()
	)
	frappe.db.bulk_insert(
		"Communication",
		["name", "communication_type", "communication_medium", "sent_or_received", "subject",
		 "recipients", "reference_doctype", "reference_name", "read_by_recipient", "creation",
		 "modified", "owner", "modified_by"],
		[
			(f"{PREFIX}-C-{name}", "Communication", "Email", "Sent", "Step", email, "Email Campaign",
			 email_campaign, int(i % 3 == 0), now, now, "Administrator", "Administrator")
			for i, (name, email_campaign, email) in enumerate(rows)
		],
	)  # fmt: skip
	frappe.db.sql(
		"""update `tabEmail Campaign Send Log`
		set communication = concat(%(prefix)s, name), clicks = if(crc32(name) %% 4 = 0, 1, 0),
			replied_on = if(crc32(name) %% 10 = 0, now(), null)
		where email_campaign like %(like)s""",
		{"prefix": f"{PREFIX}-C-", "like": f"{PREFIX}-%"},
	)
	frappe.db.commit()
	return len(rows)


def find_decided(names=None):
	from email_campaign_app.sending import planning

	return planning.plan_due_emails(names)


def conditions_side_by_side(campaigns, made):
	"""Finding what is due for the same Email Campaigns without and with conditions, for a
	tenth of them (named, as a Save does) and all (the dispatcher's own query): the queries must
	not grow with the recipients."""
	communications = bulk_engagement()
	print(
		f"\n== conditions: the same {made:,} Email Campaigns, their {communications:,} earlier emails each"
		" with a Communication (a third opened, a quarter clicked, a tenth replied to)"
	)
	print(
		f"{'':30} {'queries':>8} {'seconds':>8} {'peak MiB':>9} {'due':>7} {'go':>7} {'skipped':>8}"
		f" {'waiting':>8}   (best of 3 runs)"
	)
	tenth = [f"{PREFIX}-EC-{i:06d}" for i in range(made // 10)]
	try:
		for on in (False, True):
			set_conditions(campaigns, on)
			for names, size in ((tenth, len(tenth)), (None, made)):
				find_decided(names)  # warm
				results = {}
				decided = measured_best_of(3, "app", results, find_decided, names)
				figures = results["app"]
				label = f"{'with' if on else 'without'} conditions, {size:,}"
				due = len(decided.sends) + len(decided.skipped) + len(decided.waiting)
				print(
					f"{label:30} {figures['queries']:8d} {figures['seconds']:8.3f}"
					f" {peak_mib(find_decided, names):9.1f} {due:7,d} {len(decided.sends):7,d}"
					f" {len(decided.skipped):8,d} {len(decided.waiting):8,d}"
				)
	finally:
		set_conditions(campaigns, False)


# A/B variants (issue 24): the same due recipients, with and without a variant on every step


def set_variants(campaigns, on: bool):
	"""Each step of the bench Campaigns gets a variant (another template on its day, 20 % tested,
	decided on clicks after 24 hours), written as the form saves it; or loses it."""
	Schedule = frappe.qb.DocType("Campaign Email Schedule")
	frappe.qb.from_(Schedule).delete().where(
		Schedule.parent.isin(campaigns) & Schedule.variant_of.isnotnull()
	).run()
	if on:
		now = frappe.utils.now()
		rows = []
		for campaign in campaigns:
			for day in range(STEPS):
				variant = f"{PREFIX} Variant {day}"
				if not frappe.db.exists("Email Template", variant):
					frappe.get_doc({"doctype": "Email Template", "name": variant, "subject": f"Variant {day}",
						"response": "<p>Hello {{ doc.first_name }}, another way to say it.</p>"}).insert()  # fmt: skip
				rows.append((frappe.generate_hash(length=10), campaign, "Campaign", "campaign_schedules", STEPS + day + 1,
					variant, day, "Always", f"{PREFIX} Template {day}", now, now, "Administrator", "Administrator"))  # fmt: skip
		frappe.db.bulk_insert(
			"Campaign Email Schedule",
			["name", "parent", "parenttype", "parentfield", "idx", "email_template", "send_after_days", "condition",
			 "variant_of", "creation", "modified", "owner", "modified_by"],
			rows,
		)  # fmt: skip
	frappe.db.commit()


def variants_side_by_side(campaigns, made):
	"""Finding what is due without and with a variant on every step: the dispatcher's run (the
	Leads' Email Campaigns, each drawn on its own and none waiting, and the Email Group of
	10,000, 20 % tested and the others waiting for the winner), and the group alone."""
	print(
		f"\n== A/B variants: every step with a variant, 20 % tested ({made:,} Leads' Email Campaigns and the group)"
	)
	print(
		f"{'':34} {'queries':>8} {'seconds':>8} {'peak MiB':>9} {'go':>7} {'testing':>8} {'waiting':>8}"
		"   (best of 3 runs)"
	)
	group = [f"{PREFIX}-EC-GROUP"]
	try:
		for on in (False, True):
			set_variants(campaigns, on)
			for names, what in ((None, "the dispatcher's run"), (group, "the group alone")):
				find_decided(names)  # warm
				results = {}
				decided = measured_best_of(3, "app", results, find_decided, names)
				figures = results["app"]
				testing = sum(1 for send in decided.sends if send.in_test)
				label = f"{'with' if on else 'without'} variants, {what}"
				print(
					f"{label:34} {figures['queries']:8d} {figures['seconds']:8.3f}"
					f" {peak_mib(find_decided, names):9.1f} {len(decided.sends):7,d} {testing:8,d}"
					f" {len(decided.awaiting_winner):8,d}"
				)
	finally:
		set_variants(campaigns, False)


def report_finding(results, app_count, loop_count):
	app, loop = results["app"], results["loop"]
	print(f"{'':22} {'queries':>9} {'seconds':>9} {'peak MiB':>9} {'emails due':>11}   (app: best of 3 runs)")
	print(
		f"{'email_campaign_app':22} {app['queries']:9d} {app['seconds']:9.3f} {app['peak_mib']:9.1f} {app_count:11,d}"
	)
	print(f"{'per-campaign loop':22} {loop['queries']:9d} {loop['seconds']:9.3f} {'':>9} {loop_count:11,d}")
	print(
		f"{'ratio (loop / app)':22} {loop['queries'] / app['queries']:8.0f}x {loop['seconds'] / app['seconds']:8.0f}x"
	)


def main():
	parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
	parser.add_argument("--site", required=True)
	parser.add_argument("--sizes", default="1000,10000")
	parser.add_argument("--sample", type=int, default=300, help="emails sent each way for the per-email cost")
	args = parser.parse_args()
	frappe.init(site=args.site)
	frappe.connect()
	try:
		frappe.set_user("Administrator")
		run([int(s) for s in args.sizes.split(",")], args.sample)
	finally:
		frappe.destroy()


if __name__ == "__main__":
	main()
