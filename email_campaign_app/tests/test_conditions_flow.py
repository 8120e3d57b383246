"""Conditional schedule rows on the real send path (issue 24): a branch on a click made through
the tracked link over HTTP, the Skipped rows and their reason, a condition waiting on an email
still on its way, and the Campaign form's refusals and warnings."""

import html
import re

import frappe
from frappe.utils import add_days, today

from email_campaign_app import tasks
from email_campaign_app.email_campaign_app.doctype.email_campaign.test_tracking import (
	path_of,
	sent_html,
	tracked_links,
)
from email_campaign_app.sending import ledger, planning
from email_campaign_app.tests.helpers import (
	IntegrationTestCase,
	ensure_outgoing_email_account,
	make_contact,
	make_email_campaign,
	make_email_group,
	make_lead,
	make_template,
	set_open_tracking,
	unique,
)
from email_campaign_app.tests.http import http

LEDGER = "Email Campaign Send Log"
OFFER = "https://shop.example.com/offer"
BODY = f'<p>See <a href="{html.escape(OFFER)}">our offer</a>.</p>'


def make_conditional_campaign(rows, track_clicks=1, stop_on_reply=0):
	"""rows: [(template, day, condition, (template, day) it is on or None)]."""
	return frappe.get_doc(
		{
			"doctype": "Campaign",
			"campaign_name": unique("Campaign"),
			"track_clicks": track_clicks,
			"stop_on_reply": stop_on_reply,
			"campaign_schedules": [
				{
					"email_template": template,
					"send_after_days": day,
					"condition": condition,
					"condition_template": on[0] if on else None,
					"condition_after_days": on[1] if on else 0,
				}
				for template, day, condition, on in rows
			],
		}
	).insert(ignore_permissions=True)


def ledger_of(email_campaign):
	return {
		(row.email_template, row.send_after_days): row
		for row in frappe.get_all(
			LEDGER,
			filters={"email_campaign": email_campaign},
			fields=[
				"name",
				"email_template",
				"send_after_days",
				"status",
				"error",
				"email_queue",
				"queued_on",
			],
		)
	}


def mark_sent(email_campaign):
	"""The emails queued so far left (Frappe's flush does not run in tests); the next sync says so."""
	queued = [row.email_queue for row in ledger_of(email_campaign).values() if row.email_queue]
	frappe.db.set_value("Email Queue", {"name": ("in", queued), "status": "Not Sent"}, "status", "Sent")


class ClickBranch(IntegrationTestCase):
	"""Day 0: the offer (A); day 3: B to whoever clicked its link, C to whoever did not."""

	def setUp(self):
		ensure_outgoing_email_account()
		self.a = make_template(response=BODY).name
		self.b, self.c = make_template().name, make_template().name
		self.campaign = make_conditional_campaign(
			[(self.a, 0, "Always", None), (self.b, 3, "Clicked", None), (self.c, 3, "Not Clicked", None)]
		)


class TestABranchOnAClick(ClickBranch):
	"""A Lead who clicks through the tracked link over HTTP, and one who does not."""

	def day_three(self):
		with self.freeze_time(f"{add_days(today(), 3)} 00:30:00"):
			tasks.daily()

	def test_who_clicks_gets_one_branch_and_who_does_not_the_other(self):
		clicker = make_email_campaign(self.campaign.name, make_lead().name)
		other = make_email_campaign(self.campaign.name, make_lead().name)
		tasks.daily()  # day 0 to both
		first = ledger_of(clicker.name)[(self.a, 0)]
		[link] = tracked_links(sent_html(first))
		response = http("GET", path_of(link), user=None)  # the recipient clicks, as a guest
		self.assertEqual(response.status_code, 302)
		mark_sent(clicker.name)
		mark_sent(other.name)

		self.day_three()

		clicked = ledger_of(clicker.name)
		self.assertEqual(clicked[(self.b, 3)].status, "Queued")
		self.assertTrue(clicked[(self.b, 3)].email_queue)
		self.assertEqual(clicked[(self.c, 3)].status, "Skipped")
		self.assertIsNone(clicked[(self.c, 3)].email_queue)
		self.assertEqual(
			clicked[(self.c, 3)].error, f"Not sent: its condition (Not Clicked {self.a}, day 0) was not met."
		)
		did_not = ledger_of(other.name)
		self.assertEqual(did_not[(self.c, 3)].status, "Queued")
		self.assertEqual(did_not[(self.b, 3)].status, "Skipped")
		self.assertIn("(Clicked", did_not[(self.b, 3)].error)

		# skipped is final: a click after the decision sends nothing more, and nothing is written twice
		[late] = tracked_links(sent_html(ledger_of(other.name)[(self.a, 0)]))
		http("GET", path_of(late), user=None)
		self.day_three()
		self.assertEqual(ledger_of(other.name)[(self.b, 3)].status, "Skipped")
		self.assertEqual(len(ledger_of(other.name)), 3)
		self.assertEqual(frappe.db.count("Email Queue", {"reference_name": other.name}), 2)

	def test_a_condition_on_an_email_still_on_its_way_waits_then_is_decided(self):
		email_campaign = make_email_campaign(self.campaign.name, make_lead().name)
		tasks.daily()  # day 0 is Queued, not yet Sent

		self.day_three()
		rows = ledger_of(email_campaign.name)
		self.assertEqual(set(rows), {(self.a, 0)})  # nothing written for day 3
		self.assertNotEqual(
			str(frappe.db.get_value("Email Campaign", email_campaign.name, "dispatched_on")),
			add_days(today(), 3),
		)  # looked at again the next minute

		mark_sent(email_campaign.name)
		self.day_three()
		rows = ledger_of(email_campaign.name)
		self.assertEqual((rows[(self.b, 3)].status, rows[(self.c, 3)].status), ("Skipped", "Queued"))

	def test_a_condition_on_an_email_that_failed_skips_both_branches(self):
		email_campaign = make_email_campaign(self.campaign.name, make_lead().name)
		tasks.daily()
		frappe.db.set_value(LEDGER, ledger_of(email_campaign.name)[(self.a, 0)].name, "status", "Failed")

		self.day_three()
		rows = ledger_of(email_campaign.name)
		self.assertEqual((rows[(self.b, 3)].status, rows[(self.c, 3)].status), ("Skipped", "Skipped"))
		self.assertEqual(
			rows[(self.b, 3)].error,
			f"Not sent: its condition is on {self.a} (day 0), which did not reach this address.",
		)


class TestABranchOnAnOpen(IntegrationTestCase):
	"""Day 0 with the app's pixel (an Email Account that tracks email status); day 2: B to whoever
	opened it, C to whoever did not."""

	def setUp(self):
		ensure_outgoing_email_account()
		set_open_tracking(1)
		self.addCleanup(set_open_tracking, 0)
		self.a, self.b, self.c = (make_template().name for _ in range(3))
		self.campaign = make_conditional_campaign(
			[(self.a, 0, "Always", None), (self.b, 2, "Opened", (self.a, 0)), (self.c, 2, "Not Opened", None)]
		)

	def pixel_of(self, email_campaign):
		from email import message_from_string, policy

		message = frappe.get_all("Email Queue", filters={"reference_name": email_campaign}, pluck="message")[
			0
		]
		body = message_from_string(message, policy=policy.default).get_body(preferencelist=("html",))
		[src] = re.findall(
			r'<img src="([^"]*email_campaign_app\.api\.email_opened[^"]*)"', body.get_content()
		)
		return path_of(html.unescape(src))

	def test_who_opens_through_the_pixel_gets_one_branch_and_who_does_not_the_other(self):
		reader = make_email_campaign(self.campaign.name, make_lead().name)
		other = make_email_campaign(self.campaign.name, make_lead().name)
		tasks.daily()
		self.assertEqual(http("GET", self.pixel_of(reader.name), user=None).status_code, 200)
		mark_sent(reader.name)
		mark_sent(other.name)

		with self.freeze_time(f"{add_days(today(), 2)} 00:30:00"):
			tasks.daily()
		opened, not_opened = ledger_of(reader.name), ledger_of(other.name)
		self.assertEqual((opened[(self.b, 2)].status, opened[(self.c, 2)].status), ("Queued", "Skipped"))
		self.assertEqual(
			(not_opened[(self.b, 2)].status, not_opened[(self.c, 2)].status), ("Skipped", "Queued")
		)
		self.assertEqual(
			not_opened[(self.b, 2)].error, f"Not sent: its condition (Opened {self.a}, day 0) was not met."
		)


class TestThePlannersQueries(IntegrationTestCase):
	def test_deciding_conditions_costs_the_same_queries_for_few_and_many_email_campaigns(self):
		ensure_outgoing_email_account()
		a, b, c = (make_template().name for _ in range(3))
		campaign = make_conditional_campaign(
			[(a, 0, "Always", None), (b, 3, "Clicked", None), (c, 3, "Not Clicked", None)]
		)

		def plan_on_day_three(count):
			names = [make_email_campaign(campaign.name, make_lead().name).name for _ in range(count)]
			planning.queue_due_emails(names)
			for name in names:
				mark_sent(name)
			ledger.sync_ledger_with_email_queue()
			statements = []
			real_sql = frappe.db.sql

			def counted(*args, **kwargs):
				statements.append(args[0])
				return real_sql(*args, **kwargs)

			with self.freeze_time(f"{add_days(today(), 3)} 00:30:00"):
				frappe.db.sql = counted
				try:
					due = planning.plan_due_emails(names)
				finally:
					frappe.db.sql = real_sql
			self.assertEqual((len(due.sends), len(due.skipped)), (count, count))  # C goes, B is skipped
			return len(statements)

		self.assertEqual(plan_on_day_three(2), plan_on_day_three(12))


class TestTheFormsConditions(IntegrationTestCase):
	def setUp(self):
		self.a, self.b, self.c = (make_template().name for _ in range(3))

	def test_a_condition_on_a_later_step_is_refused_naming_the_row(self):
		with self.assertRaisesRegex(
			frappe.ValidationError, r"Row #1: its condition must be on a step of an earlier day"
		):
			make_conditional_campaign([(self.a, 0, "Clicked", (self.b, 3)), (self.b, 3, "Always", None)])

	def test_a_condition_on_a_step_of_the_same_day_or_missing_is_refused(self):
		with self.assertRaisesRegex(
			frappe.ValidationError, r"Row #3: its condition must be on a step of an earlier day"
		):
			make_conditional_campaign(
				[
					(self.a, 0, "Always", None),
					(self.b, 3, "Always", None),
					(self.c, 3, "Clicked", (self.b, 3)),
				]
			)
		with self.assertRaisesRegex(
			frappe.ValidationError, r"Row #2: its condition is on .* on day 1, which is not in the schedule"
		):
			make_conditional_campaign([(self.a, 0, "Always", None), (self.b, 3, "Opened", (self.a, 1))])

	def test_the_first_day_and_replied_with_stop_on_reply_are_refused(self):
		with self.assertRaisesRegex(
			frappe.ValidationError, r"Row #1: a step of the first day has no earlier step"
		):
			make_conditional_campaign([(self.a, 0, "Not Opened", None)])
		with self.assertRaisesRegex(frappe.ValidationError, r"Row #2: with Stop on Reply"):
			make_conditional_campaign(
				[(self.a, 0, "Always", None), (self.b, 2, "Replied", None)], stop_on_reply=1
			)

	def test_opened_saves_with_a_warning_and_french_speaks_french(self):
		frappe.clear_messages()
		campaign = make_conditional_campaign([(self.a, 0, "Always", None), (self.b, 2, "Opened", None)])
		self.assertEqual(campaign.campaign_schedules[1].condition, "Opened")
		[message] = [frappe.parse_json(m) for m in frappe.message_log]
		self.assertIn("Row #2: opens are approximate", message["message"])
		self.assertEqual(message["indicator"], "orange")

		frappe.local.lang = "fr"
		try:
			with self.assertRaisesRegex(frappe.ValidationError, r"Ligne n° 1 : sa condition doit porter"):
				make_conditional_campaign([(self.a, 0, "Clicked", (self.b, 3)), (self.b, 3, "Always", None)])
		finally:
			frappe.local.lang = "en"


def on_day(test, days: int, action=tasks.daily):
	"""`action` run at 00:30 on the start date plus `days` (the dispatcher's day)."""
	with test.freeze_time(f"{add_days(today(), days)} 00:30:00"):
		return action()


def click_first_email(row):
	"""The recipient of that ledger row clicks its email's tracked link, as a guest."""
	[link] = tracked_links(sent_html(row))
	return http("GET", path_of(link), user=None)


class TestAConditionOnASkippedStep(IntegrationTestCase):
	"""Day 0: A; day 2: B to whoever clicked A; day 4: C to whoever did not click B (on B, the
	previous day's step) and D to everyone. Whoever did not click A never received B: C, whose
	condition is on B, is skipped too (not delivered), and D goes."""

	def test_a_condition_on_a_skipped_step_is_skipped_in_turn(self):
		ensure_outgoing_email_account()
		a, b, c, d = make_template(response=BODY).name, *(make_template().name for _ in range(3))
		campaign = make_conditional_campaign(
			[
				(a, 0, "Always", None),
				(b, 2, "Clicked", None),
				(c, 4, "Not Clicked", None),
				(d, 4, "Always", None),
			]
		)
		email_campaign = make_email_campaign(campaign.name, make_lead().name)
		tasks.daily()
		mark_sent(email_campaign.name)

		on_day(self, 2)
		self.assertEqual(ledger_of(email_campaign.name)[(b, 2)].status, "Skipped")
		on_day(self, 4)
		rows = ledger_of(email_campaign.name)
		self.assertEqual((rows[(c, 4)].status, rows[(d, 4)].status), ("Skipped", "Queued"))
		self.assertEqual(
			rows[(c, 4)].error,
			f"Not sent: its condition is on {b} (day 2), which did not reach this address.",
		)
		self.assertEqual(frappe.db.count("Email Queue", {"reference_name": email_campaign.name}), 2)


class TestPausingWhileAConditionWaits(IntegrationTestCase):
	"""Day 0: A with a link; day 3: B if clicked, C if not. On day 3 A is still in the Email
	Queue, so B and C wait for it; the user pauses then. Pausing withdraws A (not sent, it is
	planned again), so nothing is decided on an email the recipient never had: after the resume
	A goes first, and B or C is decided on what the recipient did with that A, the day after."""

	def test_a_pause_while_a_condition_waits_withdraws_the_earlier_email_and_decides_after_resume(self):
		from email_campaign_app.sending import pausing

		ensure_outgoing_email_account()
		a, b, c = make_template(response=BODY).name, make_template().name, make_template().name
		campaign = make_conditional_campaign(
			[(a, 0, "Always", None), (b, 3, "Clicked", None), (c, 3, "Not Clicked", None)]
		)
		email_campaign = make_email_campaign(campaign.name, make_lead().name)
		tasks.daily()  # A queued, not sent yet

		def wait_then_pause():
			tasks.daily()
			self.assertEqual(set(ledger_of(email_campaign.name)), {(a, 0)})  # B and C wait for A
			return pausing.pause(frappe.get_doc("Email Campaign", email_campaign.name))

		self.assertEqual(on_day(self, 3, wait_then_pause), 1)  # A withdrawn from the Email Queue
		self.assertEqual(ledger_of(email_campaign.name), {})

		def resume_and_run():
			pausing.resume(frappe.get_doc("Email Campaign", email_campaign.name), pausing.CATCH_UP)
			tasks.daily()

		on_day(self, 5, resume_and_run)
		rows = ledger_of(email_campaign.name)
		self.assertEqual(set(rows), {(a, 0)})  # A again, alone: B and C come on a later day
		self.assertEqual(str(rows[(a, 0)].queued_on), add_days(today(), 5))
		self.assertEqual(click_first_email(rows[(a, 0)]).status_code, 302)
		mark_sent(email_campaign.name)

		on_day(self, 6)
		rows = ledger_of(email_campaign.name)
		self.assertEqual((rows[(b, 3)].status, rows[(c, 3)].status), ("Queued", "Skipped"))
		self.assertEqual(frappe.db.count("Email Queue", {"reference_name": email_campaign.name}), 2)


class TestAScheduleTheFormWouldRefuse(IntegrationTestCase):
	"""A condition written around the form (here on day 5 of a schedule that has no day 5):
	its sends wait, neither sent nor skipped, and the Error Log and the Email Campaign say so
	once a day; once the schedule is corrected, the condition is decided."""

	def test_its_sends_wait_and_it_is_reported_once_a_day(self):
		ensure_outgoing_email_account()
		a, b = make_template(response=BODY).name, make_template().name
		campaign = make_conditional_campaign([(a, 0, "Always", None), (b, 3, "Clicked", (a, 0))])
		row = campaign.campaign_schedules[1].name
		frappe.db.set_value("Campaign Email Schedule", row, "condition_after_days", 5)
		email_campaign = make_email_campaign(campaign.name, make_lead().name)
		tasks.daily()
		click_first_email(ledger_of(email_campaign.name)[(a, 0)])
		mark_sent(email_campaign.name)

		def run_twice():
			tasks.daily()
			frappe.db.set_value("Email Campaign", email_campaign.name, "dispatched_on", None)
			tasks.daily()

		on_day(self, 3, run_twice)
		self.assertEqual(set(ledger_of(email_campaign.name)), {(a, 0)})  # B neither sent nor skipped
		reported = {"reference_doctype": "Email Campaign", "reference_name": email_campaign.name}
		[logged] = frappe.get_all("Error Log", filters=reported, pluck="error")
		self.assertIn("A condition of its Campaign's schedule is on a step that is missing", logged)
		self.assertEqual(frappe.db.count("Comment", {**reported, "comment_type": "Comment"}), 1)

		frappe.db.set_value("Campaign Email Schedule", row, "condition_after_days", 0)
		on_day(self, 4)
		self.assertEqual(ledger_of(email_campaign.name)[(b, 3)].status, "Queued")


class TestConditionsForAContactAndAnEmailGroup(ClickBranch):
	"""The day-0/day-3 click branch for a Contact, and per member of an Email Group: each member
	is decided on their own email, a member whose email is still on its way waits alone."""

	def test_a_contact_who_clicks_gets_the_clicked_branch(self):
		contact = make_contact()
		email_campaign = make_email_campaign(self.campaign.name, contact.name, "Contact")
		tasks.daily()
		click_first_email(ledger_of(email_campaign.name)[(self.a, 0)])
		mark_sent(email_campaign.name)

		on_day(self, 3)
		rows = ledger_of(email_campaign.name)
		self.assertEqual((rows[(self.b, 3)].status, rows[(self.c, 3)].status), ("Queued", "Skipped"))
		self.assertEqual(
			frappe.db.get_value(LEDGER, rows[(self.b, 3)].name, ["recipient_doctype", "recipient_name"]),
			("Contact", contact.name),
		)

	def test_each_member_of_a_group_is_decided_on_their_own_email(self):
		clicker, other, late = (f"{frappe.generate_hash(length=10)}@example.com" for _ in range(3))
		group = make_email_group([clicker, other, late])
		email_campaign = make_email_campaign(self.campaign.name, group.name, "Email Group")
		tasks.daily()
		day_zero = self.by_member(email_campaign.name)
		click_first_email(day_zero[(clicker, self.a)])
		queued = [day_zero[(email, self.a)].email_queue for email in (clicker, other)]
		frappe.db.set_value("Email Queue", {"name": ("in", queued)}, "status", "Sent")  # late's is not

		on_day(self, 3)
		rows = self.by_member(email_campaign.name)
		self.assertEqual(
			(rows[(clicker, self.b)].status, rows[(clicker, self.c)].status), ("Queued", "Skipped")
		)
		self.assertEqual((rows[(other, self.b)].status, rows[(other, self.c)].status), ("Skipped", "Queued"))
		self.assertNotIn((late, self.b), rows)  # waits for its day-0 email
		self.assertNotIn((late, self.c), rows)

	def by_member(self, email_campaign):
		return {
			(row.recipient_email, row.email_template): row
			for row in frappe.get_all(
				LEDGER,
				filters={"email_campaign": email_campaign},
				fields=["name", "recipient_email", "email_template", "status", "email_queue"],
			)
		}


class TestABranchOnAReply(IntegrationTestCase):
	"""Without Stop on Reply: day 3 B to whoever replied to A, C to whoever did not. The reply
	comes through Frappe's own inbound path, threaded to A."""

	def test_who_replies_gets_one_branch_and_who_does_not_the_other(self):
		from email_campaign_app.email_campaign_app.doctype.email_campaign.test_replies import (
			ensure_incoming_email_account,
			message_id_of,
			raw_reply,
			receive,
		)

		ensure_outgoing_email_account()
		ensure_incoming_email_account()
		a, b, c = (make_template().name for _ in range(3))
		campaign = make_conditional_campaign(
			[(a, 0, "Always", None), (b, 3, "Replied", None), (c, 3, "Not Replied", None)], stop_on_reply=0
		)
		replier, silent = make_lead(), make_lead()
		answered = make_email_campaign(campaign.name, replier.name)
		unanswered = make_email_campaign(campaign.name, silent.name)
		tasks.daily()
		email_queue = ledger_of(answered.name)[(a, 0)].email_queue
		receive(raw_reply(replier.email_id, in_reply_to=message_id_of(email_queue)))
		mark_sent(answered.name)
		mark_sent(unanswered.name)

		on_day(self, 3)
		replied, silent_rows = ledger_of(answered.name), ledger_of(unanswered.name)
		self.assertEqual((replied[(b, 3)].status, replied[(c, 3)].status), ("Queued", "Skipped"))
		self.assertEqual((silent_rows[(b, 3)].status, silent_rows[(c, 3)].status), ("Skipped", "Queued"))
		self.assertEqual(
			replied[(c, 3)].error, f"Not sent: its condition (Not Replied {a}, day 0) was not met."
		)
		self.assertEqual(frappe.db.get_value("Email Campaign", answered.name, "status"), "In Progress")


class TestWhatTheDeskSaysOfConditions(IntegrationTestCase):
	"""The schedule view (over HTTP, as a Sales Manager) says that a row waits for the email its
	condition is on, then counts the row skipped; the performance report counts it too."""

	def test_the_schedule_view_shows_the_wait_then_the_skipped_row(self):
		from email_campaign_app.email_campaign_app.report.email_campaign_performance.email_campaign_performance import (
			execute as performance_report,
		)
		from email_campaign_app.tests.http import Client, ensure_user

		ensure_outgoing_email_account()
		a, b, c = make_template(response=BODY).name, make_template().name, make_template().name
		campaign = make_conditional_campaign(
			[(a, 0, "Always", None), (b, 3, "Clicked", None), (c, 3, "Not Clicked", None)]
		)
		email_campaign = make_email_campaign(campaign.name, make_lead().name)
		manager = Client(ensure_user("ec-cond-sales-manager@example.com", ("Sales Manager",)))

		def view():
			response = manager.method("email_campaign.get_schedule_view", email_campaign=email_campaign.name)
			self.assertEqual(response.status_code, 200)
			return {row["email_template"]: row for row in response.json["message"]}

		tasks.daily()
		on_day(self, 3)  # A still in the Email Queue: B and C wait for it
		rows = view()
		waits_for = f"the email its condition is on ({a}, day 0) to be sent"
		self.assertEqual(
			[(rows[t]["waiting"], rows[t]["waiting_reason"]) for t in (b, c)], [(1, waits_for)] * 2
		)
		self.assertEqual(rows[b]["skipped"], 0)

		mark_sent(email_campaign.name)
		on_day(self, 3)
		rows = view()
		self.assertEqual(
			[(rows[t]["skipped"], rows[t]["waiting"]) for t in (a, b, c)], [(0, 0), (1, 0), (0, 0)]
		)
		columns, data, *_ = performance_report({"campaign_name": campaign.name})
		# the report orders a day's rows by template name: compare by template
		self.assertEqual({row.email_template: row.skipped for row in data}, {a: 0, b: 1, c: 0})
		self.assertIn("Skipped", [column["label"] for column in columns])
