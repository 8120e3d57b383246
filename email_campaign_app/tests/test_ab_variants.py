"""A/B variants on the real send path (issue 24): an Email Group of 200 split into the test and
the rest, clicks through the tracked links over HTTP deciding the winner, the winner to the
rest and nothing sent twice; a pause during the decision delay; Lead campaigns drawn one by
one; and what the Campaign form refuses."""

import email
import json
from collections import Counter

import frappe
from frappe.utils import get_datetime, today

from email_campaign_app import tasks
from email_campaign_app.core.variants import REPLIES, ABTest
from email_campaign_app.desk import figures
from email_campaign_app.email_campaign_app.doctype.email_campaign.test_tracking import (
	path_of,
	sent_html,
	tracked_links,
)
from email_campaign_app.email_campaign_app.report.email_campaign_performance.email_campaign_performance import (
	execute,
)
from email_campaign_app.sending import pausing
from email_campaign_app.tests.helpers import (
	IntegrationTestCase,
	ensure_outgoing_email_account,
	make_email_campaign,
	make_email_group,
	make_lead,
	make_template,
	unique,
)
from email_campaign_app.tests.http import Client, ensure_user, http
from email_campaign_app.tests.test_dispatcher import DispatcherTestCase, as_utc, start_worker

LEDGER = "Email Campaign Send Log"
TEST = "Campaign Variant Test"
BODY = '<p>See <a href="{}">our offer</a>.</p>'


def make_ab_campaign(a: str, b: str, share=20, winner_by="Clicks", hours=4, **extra):
	return frappe.get_doc(
		{
			"doctype": "Campaign",
			"campaign_name": unique("Campaign"),
			"track_clicks": 1,
			"campaign_schedules": [
				{
					"email_template": a,
					"send_after_days": 0,
					"test_share": share,
					"winner_by": winner_by,
					"decision_hours": hours,
				},
				{"email_template": b, "send_after_days": 0, "variant_of": a},
			],
			**extra,
		}
	).insert(ignore_permissions=True)


def ledger_rows(**filters):
	return frappe.get_all(
		LEDGER,
		filters=filters,
		fields=["name", "recipient_email", "variant", "in_test", "status", "email_queue", "communication"],
	)


def click(row):
	[link] = tracked_links(sent_html(row))
	response = http("GET", path_of(link), user=None)  # the recipient clicks, as a guest
	assert response.status_code == 302, response.status_code


def mark_sent(rows):
	queued = [row.email_queue for row in rows if row.email_queue]
	frappe.db.set_value("Email Queue", {"name": ("in", queued), "status": "Not Sent"}, "status", "Sent")


class TestAnABTestOnAGroupOf200(IntegrationTestCase):
	def setUp(self):
		ensure_outgoing_email_account()
		self.a = make_template(subject="Offer A", response=BODY.format("https://shop.example.com/a")).name
		self.b = make_template(subject="Offer B", response=BODY.format("https://shop.example.com/b")).name
		self.campaign = make_ab_campaign(self.a, self.b)
		domain = unique("group").lower().replace(" ", "-") + ".example.com"
		self.group = make_email_group([f"member{i}@{domain}" for i in range(200)])
		self.email_campaign = make_email_campaign(self.campaign.name, self.group.name, "Email Group")
		self.morning = f"{today()} 09:30:00"

	def run_at(self, time):
		with self.freeze_time(time):
			tasks.daily()

	def test_the_test_the_decision_and_the_winner_to_the_rest_each_member_once(self):
		self.run_at(self.morning)
		tested = ledger_rows(email_campaign=self.email_campaign.name)
		self.assertEqual(len(tested), 40)  # 20 % of 200
		self.assertEqual(Counter(row.variant for row in tested), {self.a: 20, self.b: 20})
		self.assertTrue(all(row.in_test for row in tested))
		subjects = Counter(
			frappe.db.get_value("Communication", row.communication, "subject") for row in tested
		)
		self.assertEqual(subjects, {"Offer A": 20, "Offer B": 20})  # each carried its variant
		test = frappe.get_doc(TEST, {"campaign": self.campaign.name})
		self.assertEqual(test.started_on, get_datetime(self.morning))
		self.assertFalse(test.winner)

		self.run_at(f"{today()} 10:00:00")  # before the decision: the rest waits, nothing twice
		self.assertEqual(len(ledger_rows(email_campaign=self.email_campaign.name)), 40)

		mark_sent(tested)
		by_variant = {
			variant: [row for row in tested if row.variant == variant] for variant in (self.a, self.b)
		}
		for row in by_variant[self.b][:3] + by_variant[self.a][:1]:
			click(row)

		self.run_at(f"{today()} 13:31:00")  # four hours after the first test email
		test.reload()
		self.assertEqual(test.winner, self.b)  # 3 of 20 clicked B, 1 of 20 A
		self.assertEqual(test.winner_by, "Clicks")
		self.assertEqual(
			json.loads(test.figures)[self.b], {"delivered": 20, "opened": 0, "clicked": 3, "replied": 0}
		)
		rows = ledger_rows(email_campaign=self.email_campaign.name)
		self.assertEqual(len(rows), 200)
		self.assertEqual(len({row.recipient_email for row in rows}), 200)
		rest = [row for row in rows if not row.in_test]
		self.assertEqual(len(rest), 160)
		self.assertEqual({row.variant for row in rest}, {self.b})
		self.assertEqual(frappe.db.count("Email Queue", {"reference_name": self.email_campaign.name}), 200)

		self.run_at(f"{today()} 13:45:00")  # once more: nothing sent twice
		self.assertEqual(frappe.db.count("Email Queue", {"reference_name": self.email_campaign.name}), 200)
		self.check_the_figures_per_variant()

	def check_the_figures_per_variant(self):
		view = figures.schedule_view(self.email_campaign.name)
		self.assertEqual([row.get("variant_of") for row in view], [None, self.a, self.a])
		step, a, b = view
		self.assertEqual((step["queued"], step["clicked"]), (200, 4))
		self.assertEqual(
			(a["email_template"], a["test_emails"], a["queued"], a["clicked"]), (self.a, 20, 20, 1)
		)
		self.assertEqual(
			(b["email_template"], b["test_emails"], b["queued"], b["clicked"]), (self.b, 20, 180, 3)
		)
		_columns, data, *_rest = execute({"campaign_name": self.campaign.name})
		self.assertEqual(data[0].get("variant"), None)  # the step first, then its variants
		self.assertEqual(
			{(row.email_template, row.get("variant"), int(row.queued)) for row in data},
			{(self.a, None, 200), (self.a, self.a, 20), (self.a, self.b, 180)},
		)

	def test_a_pause_during_the_decision_delay_holds_the_decision_until_the_resume(self):
		self.run_at(self.morning)
		tested = ledger_rows(email_campaign=self.email_campaign.name)
		mark_sent(tested)
		click(next(row for row in tested if row.variant == self.a))
		with self.freeze_time(f"{today()} 10:00:00"):
			pausing.pause(frappe.get_doc("Email Campaign", self.email_campaign.name))

		self.run_at(f"{today()} 14:00:00")  # the hours passed while paused: nothing decided, nothing sent
		self.assertFalse(frappe.db.get_value(TEST, {"campaign": self.campaign.name}, "winner"))
		self.assertEqual(len(ledger_rows(email_campaign=self.email_campaign.name)), 40)

		with self.freeze_time(f"{today()} 15:00:00"):
			pausing.resume(frappe.get_doc("Email Campaign", self.email_campaign.name), pausing.SHIFT)
		self.run_at(f"{today()} 15:01:00")
		self.assertEqual(frappe.db.get_value(TEST, {"campaign": self.campaign.name}, "winner"), self.a)
		rows = ledger_rows(email_campaign=self.email_campaign.name)
		self.assertEqual(len(rows), 200)
		self.assertEqual({row.variant for row in rows if not row.in_test}, {self.a})


class TestABVariantsForLeads(IntegrationTestCase):
	"""One recipient per Email Campaign: each is drawn, none waits, the winner goes to those
	whose step comes after the decision."""

	def test_leads_are_drawn_one_by_one_and_the_winner_applies_after_the_decision(self):
		ensure_outgoing_email_account()
		a = make_template(subject="Hello A", response=BODY.format("https://shop.example.com/a")).name
		b = make_template(subject="Hello B", response=BODY.format("https://shop.example.com/b")).name
		campaign = make_ab_campaign(a, b, share=50, hours=2)
		names = [make_email_campaign(campaign.name, make_lead().name).name for _ in range(24)]
		with self.freeze_time(f"{today()} 09:30:00"):
			tasks.daily()
		rows = ledger_rows(email_campaign=("in", names))
		self.assertEqual(len(rows), 24)  # nobody waits
		tested = [row for row in rows if row.in_test]
		self.assertTrue(0 < len(tested) < 24, len(tested))
		self.assertEqual({row.variant for row in rows if not row.in_test}, {a})  # the step's own
		mark_sent(rows)
		for row in [row for row in tested if row.variant == b][:2]:
			click(row)

		late = make_email_campaign(campaign.name, make_lead().name)
		with self.freeze_time(f"{today()} 11:31:00"):
			tasks.daily()
		self.assertEqual(frappe.db.get_value(TEST, {"campaign": campaign.name}, "winner"), b)
		[row] = ledger_rows(email_campaign=late.name)
		self.assertEqual((row.variant, row.in_test), (b, 0))


class TestTheFormRefusesVariantsThatCannotWork(IntegrationTestCase):
	def test_a_variant_of_a_missing_step_or_with_a_condition_and_a_share_of_0(self):
		a, b = make_template().name, make_template().name
		campaign = make_ab_campaign(a, b)
		campaign.campaign_schedules[1].send_after_days = 2
		with self.assertRaisesRegex(frappe.ValidationError, "day 2 has no row for"):
			campaign.save()
		campaign.reload()
		campaign.campaign_schedules[0].test_share = 0
		with self.assertRaisesRegex(frappe.ValidationError, "Test Share"):
			campaign.save()
		campaign.reload()
		campaign.append("campaign_schedules", {"email_template": make_template().name, "send_after_days": 3})
		campaign.campaign_schedules[1].condition = "Clicked"
		with self.assertRaisesRegex(frappe.ValidationError, "Choose Always"):
			campaign.save()

	def test_a_form_that_sends_its_numbers_as_text_saves(self):
		"""The Desk sends a Percent's default as "20": the form's rules read it as 20."""
		a, b = make_template().name, make_template().name
		campaign = make_ab_campaign(a, b, share="20", hours="6")
		self.assertEqual(next(iter(campaign.get_tests().values())).share, 0.2)
		self.assertEqual(next(iter(campaign.get_tests().values())).hours, 6)

	def test_the_variant_rows_are_not_steps_of_their_own(self):
		a, b = make_template().name, make_template().name
		campaign = make_ab_campaign(a, b)
		self.assertEqual([step.email_template for step in campaign.get_steps()], [a])
		self.assertEqual(next(iter(campaign.get_tests().values())).variants, (a, b))


class TestABTestsOverHTTP(IntegrationTestCase):
	"""A Sales Manager designs an A/B test over REST, held to what the form enforces; a Sales
	User may not; the schedule view says why the rest of a group waits."""

	def test_a_sales_manager_designs_one_and_a_sales_user_may_not(self):
		a, b = make_template().name, make_template().name
		rows = [
			{"email_template": a, "send_after_days": 0, "test_share": 30, "winner_by": "Replies"},
			{"email_template": b, "send_after_days": 0, "variant_of": a},
		]
		body = {"campaign_name": unique("Campaign"), "campaign_schedules": rows}
		manager = Client(ensure_user("ec-ab-sales-manager@example.com", ("Sales Manager",)))
		user = Client(ensure_user("ec-ab-sales-user@example.com", ("Sales User",)))

		self.assertEqual(user.post(user.resource("Campaign"), json=body).status_code, 403)
		refused = manager.post(
			manager.resource("Campaign"),
			json={**body, "campaign_schedules": [rows[0], {**rows[1], "send_after_days": 1}]},
		)
		self.assertEqual(refused.status_code, 417)
		self.assertIn("day 1 has no row for", refused.json["exception"])
		created = manager.post(manager.resource("Campaign"), json=body)
		self.assertEqual(created.status_code, 200)
		tests = frappe.get_doc("Campaign", created.json["data"]["name"]).get_tests()
		self.assertEqual(list(tests.values()), [ABTest((a, b), share=0.3, rule=REPLIES, hours=24)])

	def test_the_schedule_view_says_the_rest_waits_for_the_winner(self):
		ensure_outgoing_email_account()
		a = make_template(subject="Offer A").name
		b = make_template(subject="Offer B").name
		campaign = make_ab_campaign(a, b, hours=4)
		domain = unique("view").lower().replace(" ", "-") + ".example.com"
		group = make_email_group([f"m{i}@{domain}" for i in range(20)])
		email_campaign = make_email_campaign(campaign.name, group.name, "Email Group")
		# before the run: saving a user clears the site's cache, where what waits is kept
		manager = Client(ensure_user("ec-ab-sales-manager@example.com", ("Sales Manager",)))

		def view():
			response = manager.method("email_campaign.get_schedule_view", email_campaign=email_campaign.name)
			self.assertEqual(response.status_code, 200)
			return response.json["message"]

		with self.freeze_time(f"{today()} 09:30:00"):
			tasks.daily()  # the test emails leave; the others wait for them to be written
			step, *variant_rows = view()
		self.assertEqual((step["queued"], step["waiting"]), (4, 16))
		self.assertEqual(step["waiting_reason"], "the A/B test's first emails")
		self.assertEqual([row["test_emails"] for row in variant_rows], [2, 2])
		with self.freeze_time(f"{today()} 09:31:00"):
			tasks.daily()
			step, *_variants = view()
		self.assertEqual((step["queued"], step["waiting"]), (4, 16))
		self.assertEqual(step["waiting_reason"], "the A/B test's winner, decided at 13:30")


class TestPreviewAndTestEmailOfVariants(IntegrationTestCase):
	def test_preview_shows_each_variant_and_a_test_email_can_be_sent_of_each(self):
		from email_campaign_app.api import email_campaign as api
		from email_campaign_app.desk import preview

		ensure_outgoing_email_account()
		a = make_template(subject="Hello {{ doc.first_name }}, version A").name
		b = make_template(subject="Hello {{ doc.first_name }}, version B").name
		campaign = make_ab_campaign(a, b)
		email_campaign = make_email_campaign(campaign.name, make_lead(first_name="Ada").name)
		shown = api.preview(email_campaign.name)
		self.assertEqual(
			[(row["email_template"], row["variant_of"], row["subject"]) for row in shown],
			[(a, None, "Hello Ada, version A"), (b, a, "Hello Ada, version B")],
		)
		frappe.set_user(ensure_user("ec-ab-tester@example.com", ("Sales Manager",)))
		self.addCleanup(frappe.set_user, "Administrator")
		to, queue = preview.send_test_email(email_campaign.name, b)
		self.assertEqual([r.recipient for r in queue.recipients], [to])
		self.assertIn("Subject: [Test] Hello Ada, version B", queue.message)
		offered = {row["email_template"] for row in figures.schedule_view(email_campaign.name)}
		self.assertEqual(offered, {a, b})  # what Send test email offers


class TestAnABTestThroughRealWorkers(DispatcherTestCase):
	"""As production runs it: the dispatcher in a real RQ worker on a warm site, at a Send At
	ahead (10:00), the test emails received by the SMTP server; four hours later another worker
	decides and sends the winner to the rest of the group."""

	def test_the_test_leaves_at_send_at_and_the_winner_four_hours_later_each_member_once(self):
		a = make_template(subject="Offer A").name
		b = make_template(subject="Offer B").name
		campaign = make_ab_campaign(a, b, hours=4)
		addresses = [f"w{frappe.generate_hash(length=10)}@example.com" for _ in range(50)]
		email_campaign = make_email_campaign(
			campaign.name, make_email_group(addresses).name, "Email Group", send_at="10:00"
		)

		self.dispatch_in_a_worker_at(f"{today()} 09:59:55")
		self.assertEqual(sorted(self.subjects(addresses).values()), ["Offer A"] * 5 + ["Offer B"] * 5)
		started_on = frappe.db.get_value(TEST, {"campaign": campaign.name}, "started_on")
		self.assertGreaterEqual(get_datetime(started_on), get_datetime(f"{today()} 10:00:00"))

		self.dispatch_in_a_worker_at(f"{today()} 14:01:00")
		received = self.subjects(addresses)
		self.assertEqual(self.received(addresses), Counter(addresses))  # each member once
		self.assertEqual(frappe.db.get_value(TEST, {"campaign": campaign.name}, "winner"), a)  # a tie: A
		rest = [row.recipient_email for row in ledger_rows(email_campaign=email_campaign.name, in_test=0)]
		self.assertEqual(len(rest), 40)
		self.assertEqual({received[address] for address in rest}, {"Offer A"})

	def dispatch_in_a_worker_at(self, local_time: str):
		frappe.enqueue("email_campaign_app.tasks.dispatch", queue="default")
		worker = start_worker(clock_at=as_utc(local_time))
		self.assertEqual(worker.wait(timeout=300), 0)
		frappe.db.rollback()

	def subjects(self, addresses) -> dict[str, str]:
		"""What each address received, by subject, as the SMTP server got it."""
		wanted, found = set(addresses), {}
		for message in self.sink.messages:
			subject = email.message_from_bytes(message.data).get("Subject", "")
			found.update({recipient: subject for recipient in message.recipients if recipient in wanted})
		return found
