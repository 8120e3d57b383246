# Copyright (c) 2026, email_campaign_app developers and contributors
# For license information, please see license.txt
"""What the Desk shows: previews, test sends, the schedule view and the performance report."""

import frappe
from frappe.utils import add_days, getdate, today

from email_campaign_app import tasks
from email_campaign_app.api import email_campaign as api
from email_campaign_app.desk import preview as desk
from email_campaign_app.email_campaign_app.report.email_campaign_performance.email_campaign_performance import (
	execute as performance_report,
)
from email_campaign_app.engagement.unsubscribe import unsubscribe_address
from email_campaign_app.tests.helpers import (
	IntegrationTestCase,
	ensure_outgoing_email_account,
	make_campaign,
	make_email_campaign,
	make_email_group,
	make_lead,
	make_template,
)

LEDGER = "Email Campaign Send Log"


class TestDesk(IntegrationTestCase):
	def setUp(self):
		ensure_outgoing_email_account()
		self.first = make_template(
			subject="Welcome {{ doc.first_name }}", response="<p>Hi {{ doc.first_name }}</p>"
		)
		self.second = make_template(subject="Still there, {{ doc.first_name }}?")
		self.campaign = make_campaign([(self.second.name, 3), (self.first.name, 0)])

	def test_preview_renders_every_step_for_the_lead(self):
		lead = make_lead(first_name="Ada")
		email_campaign = make_email_campaign(self.campaign.name, lead.name)
		steps = api.preview(email_campaign.name)
		self.assertEqual([s["send_after_days"] for s in steps], [0, 3])
		self.assertEqual([s["subject"] for s in steps], ["Welcome Ada", "Still there, Ada?"])
		self.assertIn("<p>Hi Ada</p>", steps[0]["body"])
		# a preview is not the recipient's email: no working unsubscribe link of theirs in it
		self.assertNotIn("email_campaign_app.api.unsubscribe", steps[0]["body"])
		self.assertIn("Test email", steps[0]["body"])
		self.assertEqual(getdate(steps[1]["send_date"]), getdate(add_days(today(), 3)))
		self.assertFalse(frappe.db.exists(LEDGER, {"email_campaign": email_campaign.name}))

	def test_preview_for_a_chosen_group_member(self):
		lead = make_lead(first_name="Grace")
		other = f"{frappe.generate_hash(length=8)}@example.com"
		group = make_email_group([other, lead.email_id])
		email_campaign = make_email_campaign(self.campaign.name, group.name, "Email Group")
		self.assertEqual(api.preview(email_campaign.name)[0]["recipient"], other)
		steps = api.preview(email_campaign.name, member=lead.email_id)
		self.assertEqual(steps[0]["subject"], "Welcome Grace")
		with self.assertRaises(frappe.ValidationError):
			api.preview(email_campaign.name, member="nobody@example.com")

	def test_send_test_email_goes_to_the_current_user_only(self):
		email_campaign = make_email_campaign(self.campaign.name, make_lead(first_name="Ada").name)
		manager = frappe.get_doc(
			{
				"doctype": "User",
				"email": f"{frappe.generate_hash(length=8)}@example.com",
				"first_name": "Manager",
				"roles": [{"role": "System Manager"}],
			}
		).insert(ignore_permissions=True)
		frappe.set_user(manager.name)
		self.addCleanup(frappe.set_user, "Administrator")
		self.assertEqual(api.send_test_email(email_campaign.name, self.second.name), manager.email)
		to, queue = desk.send_test_email(email_campaign.name, self.second.name)
		self.assertEqual([r.recipient for r in queue.recipients], [to])
		self.assertIn("Subject: [Test] Still there, Ada?", queue.message)
		# the tester's copy must not carry the real recipient's link (clicking it would unsubscribe them)
		self.assertNotIn("email_campaign_app.api.unsubscribe", queue.message)
		self.assertNotIn("List-Unsubscribe", queue.message)
		self.assertIn("Test email", queue.message)
		self.assertFalse(frappe.db.exists(LEDGER, {"email_campaign": email_campaign.name}))
		with self.assertRaisesRegex(frappe.ValidationError, "not in this campaign's schedule"):
			api.send_test_email(email_campaign.name, make_template().name)
		frappe.get_doc(
			{"doctype": "Email Unsubscribe", "email": manager.email, "global_unsubscribe": 1}
		).insert(ignore_permissions=True)
		with self.assertRaisesRegex(frappe.ValidationError, "has unsubscribed from all emails"):
			api.send_test_email(email_campaign.name, self.second.name)

	def test_schedule_view_and_report_count_what_happened(self):
		leaving, staying, failing = (f"{frappe.generate_hash(length=8)}@example.com" for _ in range(3))
		group = make_email_group([leaving, staying, failing])
		email_campaign = make_email_campaign(self.campaign.name, group.name, "Email Group")
		tasks.daily()
		rows = {
			r.recipient_email: r
			for r in frappe.get_all(
				LEDGER,
				filters={"email_campaign": email_campaign.name},
				fields=["recipient_email", "email_queue", "communication"],
			)
		}
		frappe.db.set_value("Email Queue", rows[staying].email_queue, "status", "Sent")
		frappe.db.set_value("Communication", rows[staying].communication, "read_by_recipient", 1)
		refusal = f"smtplib.SMTPRecipientsRefused: {{'{failing}': (550, b'5.1.1 No such user')}}"
		frappe.db.set_value("Email Queue", rows[failing].email_queue, {"status": "Error", "error": refusal})
		tasks.sync_ledger()
		unsubscribe_address(email_campaign.name, leaving)

		view = api.get_schedule_view(email_campaign.name)
		self.assertEqual(
			[(s["send_after_days"], s["email_template"]) for s in view],
			[(0, self.first.name), (3, self.second.name)],
		)
		day0, day3 = view
		self.assertEqual(
			{k: day0[k] for k in ("queued", "sent", "failed", "retrying", "opened", "unsubscribed")},
			{"queued": 3, "sent": 1, "failed": 1, "retrying": 0, "opened": 1, "unsubscribed": 1},
		)
		self.assertEqual(day0["failure_reason"], "SMTP 550 5.1.1 No such user (1)")
		self.assertEqual(day3["queued"], 0)
		self.assertEqual(getdate(day3["send_date"]), getdate(add_days(today(), 3)))

		columns, data, _message, chart = performance_report(
			{"campaign_name": self.campaign.name, "from_date": today(), "to_date": today()}
		)
		self.assertEqual(len(data), 2, "the day-3 step that sent nothing yet is shown too")
		self.assertEqual(
			(data[0].in_queue, data[0].sent, data[0].failed, data[0].opened, data[0].unsubscribed),
			(0, 1, 1, 1, 1),
		)
		self.assertEqual((data[0].open_rate, data[0].unsubscribe_rate), (100.0, 100.0))
		self.assertEqual((data[1].send_after_days, data[1].sent, data[1].open_rate), (3, 0, 0.0))
		self.assertEqual(chart["type"], "bar")
		self.assertIn("open_rate", [c["fieldname"] for c in columns])
		_c, [campaign], _m, _chart = performance_report(
			{"campaign_name": self.campaign.name, "group_by": "Campaign"}
		)
		self.assertEqual((campaign.steps, campaign.sent, campaign.open_rate), (2, 1, 100.0))
		_c, nothing, _m, _chart = performance_report(
			{
				"campaign_name": self.campaign.name,
				"from_date": add_days(today(), 1),
				"to_date": add_days(today(), 2),
			}
		)
		self.assertEqual([row.sent for row in nothing], [0, 0])  # its steps, nothing sent in those days

	def test_report_refuses_a_reversed_date_range(self):
		with self.assertRaisesRegex(frappe.ValidationError, "From Date must be before To Date"):
			performance_report({"from_date": today(), "to_date": add_days(today(), -1)})

	def test_the_report_refuses_filters_it_cannot_use_with_a_clear_error_over_http(self):
		from email_campaign_app.tests.http import http

		path = "/api/method/frappe.desk.query_report.run"
		# Frappe turns a report that once ran over 15 s into a prepared (background) report
		frappe.db.set_value(
			"Report", "Email Campaign Performance", "prepared_report", 0, update_modified=False
		)
		for filters in (
			{"campaign_name": ["in", [self.campaign.name]]},
			{"from_date": ["a"], "to_date": today()},
			{"from_date": "not a date"},
		):
			response = http(
				"GET",
				path,
				query_string={
					"report_name": "Email Campaign Performance",
					"filters": frappe.as_json(filters),
				},
			)
			self.assertEqual(response.status_code, 417, (filters, response.get_data(as_text=True)[:300]))
		fine = http(
			"GET",
			path,
			query_string={
				"report_name": "Email Campaign Performance",
				"filters": frappe.as_json({"campaign_name": self.campaign.name}),
			},
		)
		self.assertEqual(fine.status_code, 200)


class TestOpenTracking(IntegrationTestCase):
	"""With an Email Account that tracks email status, each email carries the app's own pixel:
	its Email Queue is not linked to the Communication, so Frappe's own pixel is not added."""

	def setUp(self):
		from email_campaign_app.tests.helpers import set_open_tracking

		ensure_outgoing_email_account()
		set_open_tracking(1)
		self.addCleanup(set_open_tracking, 0)

	def pixel_of(self, email_campaign):
		import re
		from email import message_from_string, policy

		queue = frappe.get_all("Email Queue", filters={"reference_name": email_campaign}, pluck="message")[0]
		html = (
			message_from_string(queue, policy=policy.default).get_body(preferencelist=("html",)).get_content()
		)
		[src] = re.findall(r'<img src="([^"]*email_campaign_app\.api\.email_opened[^"]*)"', html)
		return src.replace("&amp;", "&")

	def test_the_pixel_marks_the_email_opened_once_and_a_forged_one_changes_nothing(self):
		from urllib.parse import parse_qs, urlparse

		from email_campaign_app.tests.http import http

		email_campaign = make_email_campaign(make_campaign().name, make_lead().name)
		tasks.daily()
		pixel = urlparse(self.pixel_of(email_campaign.name))
		query = {key: values[0] for key, values in parse_qs(pixel.query).items()}
		communication = frappe.db.get_value(LEDGER, {"email_campaign": email_campaign.name}, "communication")

		forged = http("GET", pixel.path, user=None, query_string={**query, "token": "forged"})
		self.assertEqual(forged.status_code, 200)  # a pixel answers an image whatever happens
		self.assertEqual(frappe.db.get_value("Communication", communication, "read_by_recipient"), 0)

		opened = http("GET", pixel.path, user=None, query_string=query)
		self.assertEqual(opened.status_code, 200)
		self.assertEqual(frappe.db.get_value("Communication", communication, "read_by_recipient"), 1)
		[step] = api.get_schedule_view(email_campaign.name)
		self.assertEqual(step["opened"], 1)
