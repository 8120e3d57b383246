# Copyright (c) 2026, email_campaign_app developers and contributors
# For license information, please see license.txt
"""The daily job on a real site: what is queued, to whom, once, and what survives failures."""

import threading
from unittest.mock import patch

import frappe
from frappe.utils import add_days, add_to_date, get_datetime, getdate, now_datetime, today

from email_campaign_app import tasks
from email_campaign_app.api.email_campaign import send_due_emails_now
from email_campaign_app.sending import batch as sending
from email_campaign_app.sending import composing, delivery, planning, rendering
from email_campaign_app.sending import email_links as links
from email_campaign_app.tests.helpers import (
	IntegrationTestCase,
	ensure_outgoing_email_account,
	make_campaign,
	make_contact,
	make_email_campaign,
	make_email_group,
	make_lead,
	make_template,
	started_days_ago,
)

LEDGER = "Email Campaign Send Log"


def ledger_rows(email_campaign, **filters):
	return frappe.get_all(
		LEDGER,
		filters={"email_campaign": email_campaign, **filters},
		fields=[
			"name",
			"status",
			"recipient_email",
			"email_template",
			"send_after_days",
			"communication",
			"email_queue",
			"error",
		],
		order_by="send_after_days asc, recipient_email asc",
	)


def queues_of(email_campaign):
	return frappe.get_all(
		"Email Queue",
		filters={"reference_doctype": "Email Campaign", "reference_name": email_campaign},
		fields=[
			"name",
			"sender",
			"message",
			"message_id",
			"communication",
			"send_after",
			"status",
			"priority",
		],
		order_by="creation asc",
	)


def recipients_of(email_queue):
	return frappe.get_all("Email Queue Recipient", filters={"parent": email_queue}, pluck="recipient")


class TestDailySending(IntegrationTestCase):
	def setUp(self):
		ensure_outgoing_email_account()

	def test_a_lead_gets_its_email_as_a_linked_communication_through_the_email_queue(self):
		template = make_template(
			subject="Hello {{ doc.first_name }}",
			response="<p>Dear {{ doc.first_name }} of {{ doc.company_name }}</p>",
		)
		lead = make_lead(first_name="Ada", company_name="Engines")
		email_campaign = make_email_campaign(make_campaign([(template.name, 0)]).name, lead.name)

		tasks.daily()

		[row] = ledger_rows(email_campaign.name)
		self.assertEqual((row.status, row.recipient_email), ("Queued", lead.email_id))
		communication = frappe.get_doc("Communication", row.communication)
		self.assertEqual(
			(communication.reference_doctype, communication.reference_name),
			("Email Campaign", email_campaign.name),
		)
		self.assertEqual(communication.email_template, template.name)
		self.assertEqual(communication.subject, "Hello Ada")
		self.assertIn("admin@example.com", communication.sender)
		self.assertEqual(communication.recipients, lead.email_id)
		self.assertIn(
			("Lead", lead.name), [(l.link_doctype, l.link_name) for l in communication.timeline_links]
		)

		[queue] = queues_of(email_campaign.name)
		self.assertEqual(queue.name, row.email_queue)
		self.assertEqual(queue.message_id, communication.message_id)  # a reply finds the Communication
		self.assertIn(f"Message-Id: <{communication.message_id}>", queue.message)
		self.assertEqual(recipients_of(queue.name), [lead.email_id])
		self.assertIn("admin@example.com", queue.sender)
		self.assertIn("Dear Ada of Engines", queue.message)
		self.assertIn("email_campaign_app.api.unsubscribe", queue.message)
		self.assertIn("List-Unsubscribe-Post: List-Unsubscribe=One-Click", queue.message)
		url = links.unsubscribe_url(email_campaign.name, lead.email_id)
		self.assertIn(f"List-Unsubscribe: <{url}>\n", queue.message.replace("\r\n", "\n"))

	def test_running_the_job_twice_sends_once(self):
		email_campaign = make_email_campaign(make_campaign().name, make_lead().name)
		tasks.daily()
		tasks.daily()
		self.assertEqual(len(ledger_rows(email_campaign.name)), 1)
		self.assertEqual(len(queues_of(email_campaign.name)), 1)

	def test_contact_fields_render_in_the_template(self):
		template = make_template(subject="Hi {{ doc.first_name }} {{ doc.last_name }}")
		contact = make_contact(first_name="Grace")
		email_campaign = make_email_campaign(
			make_campaign([(template.name, 0)]).name, contact.name, "Contact"
		)
		tasks.daily()
		[row] = ledger_rows(email_campaign.name)
		self.assertEqual(
			frappe.db.get_value("Communication", row.communication, "subject"), "Hi Grace Hopper"
		)
		links = frappe.get_all(
			"Communication Link", filters={"parent": row.communication}, fields=["link_doctype", "link_name"]
		)
		self.assertIn({"link_doctype": "Contact", "link_name": contact.name}, [dict(l) for l in links])

	def test_values_from_doc_cannot_inject_html(self):
		lead = make_lead(first_name='<img src=x onerror="alert(1)">')
		email_campaign = make_email_campaign(make_campaign().name, lead.name)
		tasks.daily()
		[queue] = queues_of(email_campaign.name)
		self.assertNotIn("<img src=x", queue.message)
		self.assertIn("&lt;img", queue.message)

	def test_each_group_member_gets_an_individual_email_with_their_own_data(self):
		template = make_template(subject="Hi {{ doc.first_name or doc.email }}")
		contact = make_contact(first_name="Grace")
		lead = make_lead(first_name="Ada")
		bare = f"{frappe.generate_hash(length=8)}@example.com"
		gone = f"{frappe.generate_hash(length=8)}@example.com"
		group = make_email_group([contact.email_id, lead.email_id, bare, gone], unsubscribed=[gone])
		email_campaign = make_email_campaign(
			make_campaign([(template.name, 0)]).name, group.name, "Email Group"
		)

		tasks.daily()

		rows = ledger_rows(email_campaign.name)
		self.assertEqual(
			sorted(r.recipient_email for r in rows), sorted([contact.email_id, lead.email_id, bare])
		)
		subjects = {
			r.recipient_email: frappe.db.get_value("Communication", r.communication, "subject") for r in rows
		}
		self.assertEqual(
			subjects, {contact.email_id: "Hi Grace", lead.email_id: "Hi Ada", bare: f"Hi {bare}"}
		)
		for queue in queues_of(email_campaign.name):
			self.assertEqual(len(recipients_of(queue.name)), 1)

	def test_a_three_day_outage_is_caught_up_in_order_one_schedule_day_per_day(self):
		steps = [(make_template().name, 0), (make_template().name, 1), (make_template().name, 2)]
		email_campaign = make_email_campaign(make_campaign(steps).name, make_lead().name)
		started_days_ago(email_campaign.name, 3)

		tasks.daily()
		tasks.daily()
		rows = ledger_rows(email_campaign.name)
		self.assertEqual([r.send_after_days for r in rows], [0])
		[queue] = queues_of(email_campaign.name)
		# overdue: leaves at once, with the batch's delivery job (Frappe's flush after its window)
		self.assertIsNone(frappe.db.get_value("Communication", rows[0].communication, "send_after"))
		self.assertLessEqual(
			get_datetime(queue.send_after),
			add_to_date(now_datetime(), minutes=delivery.DELIVERY_WINDOW_MINUTES),
		)

		for day in (1, 2, 3):
			with self.freeze_time(f"{add_days(today(), day)} 00:30:00"):
				tasks.daily()
		self.assertEqual([r.send_after_days for r in ledger_rows(email_campaign.name)], [0, 1, 2])
		self.assertEqual(frappe.db.get_value("Email Campaign", email_campaign.name, "all_steps_sent"), 1)

	def test_todays_emails_leave_at_the_send_at_time(self):
		email_campaign = make_email_campaign(make_campaign().name, make_lead().name, send_at="09:30")
		with self.freeze_time(f"{today()} 00:15:00"):
			tasks.daily()
		self.assertEqual(queues_of(email_campaign.name), [])  # nothing is written before Send At
		with self.freeze_time(f"{today()} 09:30:02"):
			tasks.daily()
			[queue] = queues_of(email_campaign.name)
			# written at Send At, in the delivery job's window (Frappe's flush keeps off it)
			self.assertGreater(get_datetime(queue.send_after), now_datetime())

	def test_a_crash_halfway_through_a_batch_loses_nothing_and_sends_nothing_twice(self):
		members = [f"{frappe.generate_hash(length=8)}@example.com" for _ in range(5)]
		group = make_email_group(members)
		email_campaign = make_email_campaign(make_campaign().name, group.name, "Email Group")
		real_compose = composing.compose_email
		calls = []

		def dies_on_third(send, context):
			calls.append(send)
			if len(calls) == 3:
				raise SystemExit("worker killed")
			return real_compose(send, context)

		with patch("email_campaign_app.sending.composing.compose_email", side_effect=dies_on_third):
			with self.assertRaises(SystemExit):
				tasks.daily()
		frappe.db.rollback()  # what the database does to a dead worker's open transaction
		self.assertEqual(len(ledger_rows(email_campaign.name)), 0)  # a batch is written whole or not at all

		tasks.daily()
		rows = ledger_rows(email_campaign.name)
		self.assertEqual(sorted(r.recipient_email for r in rows), sorted(members))
		self.assertEqual({r.status for r in rows}, {"Queued"})
		queued = [recipients_of(q.name)[0] for q in queues_of(email_campaign.name)]
		self.assertEqual(sorted(queued), sorted(members))

	def test_a_broken_template_is_logged_and_does_not_stop_the_others(self):
		broken = make_template()
		bad = make_email_campaign(make_campaign([(broken.name, 0)]).name, make_lead().name)
		frappe.db.set_value(
			"Email Template", broken.name, "response", "{{ doc.first_name("
		)  # an older record
		frappe.clear_document_cache("Email Template", broken.name)
		good = make_email_campaign(make_campaign().name, make_lead().name)

		tasks.daily()

		[row] = ledger_rows(bad.name)
		self.assertEqual(row.status, "Error")
		self.assertTrue(row.error)
		self.assertFalse(queues_of(bad.name))
		self.assertTrue(
			frappe.db.exists("Error Log", {"reference_doctype": "Email Campaign", "reference_name": bad.name})
		)
		self.assertTrue(
			frappe.db.exists(
				"Comment",
				{
					"reference_doctype": "Email Campaign",
					"reference_name": bad.name,
					"comment_type": "Comment",
				},
			)
		)
		self.assertEqual([r.status for r in ledger_rows(good.name)], ["Queued"])

		frappe.db.set_value("Email Template", broken.name, "response", "<p>Fixed {{ doc.first_name }}</p>")
		frappe.clear_document_cache("Email Template", broken.name)
		with self.freeze_time(f"{add_days(today(), 1)} 00:30:00"):  # an error is retried the next day
			tasks.daily()
		[row] = ledger_rows(bad.name)
		self.assertEqual(row.status, "Queued")
		self.assertIn("Fixed", queues_of(bad.name)[0].message)

	def test_a_disabled_sender_is_an_error_until_enabled_again(self):
		user = frappe.get_doc(
			{
				"doctype": "User",
				"email": f"{frappe.generate_hash(length=8)}@example.com",
				"first_name": "Sender",
				"roles": [{"role": "Sales User"}],
			}
		).insert(ignore_permissions=True)
		email_campaign = make_email_campaign(make_campaign().name, make_lead().name, sender=user.name)
		frappe.db.set_value("User", user.name, "enabled", 0)
		tasks.daily()
		self.assertEqual([r.status for r in ledger_rows(email_campaign.name)], ["Error"])
		frappe.db.set_value("User", user.name, "enabled", 1)
		tasks.daily()  # the same day: an error waits for the next day
		self.assertEqual([r.status for r in ledger_rows(email_campaign.name)], ["Error"])
		with self.freeze_time(f"{add_days(today(), 1)} 00:30:00"):
			tasks.daily()
		self.assertEqual([r.status for r in ledger_rows(email_campaign.name)], ["Queued"])
		self.assertIn(user.name, queues_of(email_campaign.name)[0].sender)

	def test_a_lead_that_lost_its_email_is_reported_once_a_day_and_stops_nobody(self):
		lead = make_lead()
		broken = make_email_campaign(make_campaign().name, lead.name)
		good = make_email_campaign(make_campaign().name, make_lead().name)
		frappe.db.set_value("Lead", lead.name, "email_id", "")
		tasks.daily()
		tasks.daily()
		self.assertFalse(ledger_rows(broken.name))
		comments = frappe.get_all(
			"Comment",
			filters={
				"reference_doctype": "Email Campaign",
				"reference_name": broken.name,
				"comment_type": "Comment",
			},
			pluck="content",
		)
		self.assertEqual(len(comments), 1)
		self.assertIn("has no email address", comments[0])
		self.assertTrue(
			frappe.db.exists(
				"Error Log", {"reference_doctype": "Email Campaign", "reference_name": broken.name}
			)
		)
		self.assertEqual([r.status for r in ledger_rows(good.name)], ["Queued"])

		frappe.db.set_value("Lead", lead.name, "email_id", f"{frappe.generate_hash(length=8)}@example.com")
		tasks.daily()
		self.assertEqual([r.status for r in ledger_rows(broken.name)], ["Queued"])

	def test_nothing_is_sent_before_the_start_date_or_when_unsubscribed(self):
		later = make_email_campaign(make_campaign().name, make_lead().name, start_date=add_days(today(), 1))
		unsubscribed = make_email_campaign(make_campaign().name, make_lead().name)
		frappe.db.set_value("Email Campaign", unsubscribed.name, "status", "Unsubscribed")
		tasks.daily()
		self.assertFalse(ledger_rows(later.name))
		self.assertFalse(ledger_rows(unsubscribed.name))

	def test_sent_emails_are_marked_sent_in_the_ledger(self):
		email_campaign = make_email_campaign(make_campaign().name, make_lead().name)
		tasks.daily()
		[queue] = queues_of(email_campaign.name)
		frappe.get_doc("Email Queue", queue.name).send()
		tasks.daily()
		self.assertEqual([r.status for r in ledger_rows(email_campaign.name)], ["Sent"])

	def test_send_due_emails_now_runs_the_same_code_for_one_email_campaign(self):
		mine = make_email_campaign(make_campaign().name, make_lead().name)
		other = make_email_campaign(make_campaign().name, make_lead().name)
		self.assertEqual(send_due_emails_now(mine.name), 1)
		self.assertEqual(len(ledger_rows(mine.name)), 1)
		self.assertFalse(ledger_rows(other.name))
		self.assertEqual(send_due_emails_now(mine.name), 0)

	def test_two_workers_sending_the_same_batch_at_once_send_each_email_once(self):
		members = [f"{frappe.generate_hash(length=8)}@example.com" for _ in range(6)]
		email_campaign = make_email_campaign(
			make_campaign().name, make_email_group(members).name, "Email Group"
		)
		sends = [sending.as_job_arg(send) for send in planning.plan_due_emails([email_campaign.name]).sends]
		self.assertEqual(len(sends), 6)
		frappe.db.commit()
		site, errors = frappe.local.site, []

		def worker():
			frappe.init(site=site)
			frappe.connect()
			try:
				frappe.flags.in_test = True
				sending.send_batch(sends)
			except Exception as e:
				errors.append(e)
			finally:
				frappe.destroy()

		threads = [threading.Thread(target=worker) for _ in range(2)]
		for thread in threads:
			thread.start()
		for thread in threads:
			thread.join()
		frappe.db.rollback()
		self.assertEqual(errors, [])
		rows = ledger_rows(email_campaign.name)
		self.assertEqual(sorted(r.recipient_email for r in rows), sorted(members))
		self.assertEqual({r.status for r in rows}, {"Queued"})
		self.assertEqual(len(queues_of(email_campaign.name)), 6)


class TestFailuresEnd(IntegrationTestCase):
	"""A failing email is tried at most three runs, a permanent SMTP refusal once; then it is
	Failed, with its reason, until a user retries it."""

	def setUp(self):
		ensure_outgoing_email_account()

	def row(self, email_campaign, email=None):
		filters = {"email_campaign": email_campaign, **({"recipient_email": email} if email else {})}
		return frappe.db.get_value(LEDGER, filters, ["status", "attempts", "error"], as_dict=True)

	def test_an_email_that_keeps_failing_is_tried_three_runs_then_never_again_unless_retried(self):
		from email_campaign_app.api import email_campaign as api

		broken = make_template()
		email_campaign = make_email_campaign(make_campaign([(broken.name, 0)]).name, make_lead().name)
		frappe.db.set_value("Email Template", broken.name, "response", "{{ doc.first_name(")
		frappe.clear_document_cache("Email Template", broken.name)
		attempts = []
		for day in range(5):
			with self.freeze_time(f"{add_days(today(), day)} 10:00:00"):
				tasks.daily()
			row = self.row(email_campaign.name)
			attempts.append((row.status, row.attempts))
		self.assertEqual(attempts, [("Error", 1), ("Error", 2), ("Failed", 3), ("Failed", 3), ("Failed", 3)])
		self.assertIn("has a syntax error", row.error)
		self.assertEqual(frappe.db.count("Error Log", {"reference_name": email_campaign.name}), 3)
		self.assertFalse(queues_of(email_campaign.name))
		[view] = api.get_schedule_view(email_campaign.name)
		self.assertEqual((view["failed"], view["retrying"]), (1, 0))
		self.assertIn("has a syntax error", view["failure_reason"])

		frappe.db.set_value("Email Template", broken.name, "response", "<p>Fixed</p>")
		frappe.clear_document_cache("Email Template", broken.name)
		tasks.daily()
		self.assertEqual(self.row(email_campaign.name).status, "Failed")  # fixing is not retrying
		self.assertEqual(api.retry_failed_emails(email_campaign.name), 1)
		tasks.daily()
		self.assertEqual(self.row(email_campaign.name).status, "Queued")
		self.assertIn("Fixed", queues_of(email_campaign.name)[0].message)

	def test_a_permanent_smtp_refusal_fails_at_once_and_a_passing_one_is_retried(self):
		from email_campaign_app.tests.helpers import make_due_now, run_worker
		from email_campaign_app.tests.smtp_sink import SMTPSink

		ok, dead, busy = (f"{frappe.generate_hash(length=8)}@example.com" for _ in range(3))
		replies = {dead: "550 5.1.1 No such user", busy: "451 4.3.0 Try again later"}
		email_campaign = make_email_campaign(
			make_campaign().name, make_email_group([ok, dead, busy]).name, "Email Group"
		)
		with SMTPSink(refuse=replies.get) as sink:
			ensure_outgoing_email_account(sink.port)
			self.addCleanup(ensure_outgoing_email_account)
			tasks.daily()
			ours = [queue.name for queue in queues_of(email_campaign.name)]
			make_due_now(ours)
			# first in Frappe's flush, whatever earlier tests left unsent on the site (a flush
			# that does not reach them would leave the refusal to the retries below)
			frappe.db.set_value("Email Queue", {"name": ("in", ours)}, "priority", 100, update_modified=False)
			frappe.enqueue("frappe.email.queue.flush", queue="short")
			run_worker("short")
			tasks.sync_ledger()
			for _ in range(3):  # Frappe's own retries of the passing refusal, until it gives up
				frappe.enqueue("frappe.email.queue.flush", queue="short")
			run_worker("short")
			tasks.sync_ledger()
			refused = [address for address, _reply in sink.refused]

		self.assertEqual(self.row(email_campaign.name, ok).status, "Sent")
		self.assertEqual(
			dict(self.row(email_campaign.name, dead)),
			{"status": "Failed", "attempts": 1, "error": "SMTP 550 5.1.1 No such user"},
		)
		self.assertEqual(refused.count(dead), 1)  # never tried again: its Email Queue was cancelled
		self.assertEqual(
			dict(self.row(email_campaign.name, busy)),
			{"status": "Error", "attempts": 1, "error": "SMTP 451 4.3.0 Try again later"},
		)
		self.assertEqual(refused.count(busy), 4)

		with self.freeze_time(f"{add_days(today(), 1)} 10:00:00"):
			tasks.daily()
		self.assertEqual(self.row(email_campaign.name, busy).status, "Queued")  # the app's second attempt
		self.assertEqual(self.row(email_campaign.name, dead).status, "Failed")


def html_part(message: str) -> str:
	from email import message_from_string, policy

	parsed = message_from_string(message, policy=policy.default)
	return parsed.get_body(preferencelist=("html",)).get_content()


class TestStepEmailBuiltOnce(IntegrationTestCase):
	"""A step's email is CSS-inlined once and personalised per recipient: it must say what the
	email built the slow way (everything per recipient) says."""

	def setUp(self):
		ensure_outgoing_email_account()

	def emails_for(self, response):
		from email_campaign_app.sending import step_email as messages

		# HTML mode: the Text Editor's sanitizer would itself move a loop out of a table
		template = make_template(
			subject="Hi {{ doc.first_name }}", response="", use_html=1, response_html=response
		)
		step = messages.StepMessage(template.name, "Administrator <admin@example.com>")
		doc = frappe._dict(first_name="Ada", city="Paris <b>", rows=["x", "y"])
		fast = step.for_recipient(doc, "https://example.com/unsubscribe?t=1")
		slow = step.built_for(
			fast.subject,
			fast.subject,
			rendering.escaped(doc),
			"https://example.com/unsubscribe?t=1",
			fast.message_id,
			"",
			lambda html: html,
		)
		return step, fast, slow

	def test_the_step_email_built_once_says_what_the_one_built_per_recipient_says(self):
		step, fast, slow = self.emails_for(
			"<h2>Hello {{ doc.first_name }}</h2><p>{% if doc.city %}From {{ doc.city }}{% endif %}</p>"
			"<table>{% for row in doc.rows %}<tr><td>{{ row }}</td></tr>{% endfor %}</table>"
		)
		self.assertTrue(step.built_once)
		self.assertEqual(fast.subject, "Hi Ada")

		def visible(message):  # the <title> aside: the step's email is titled with the template's name
			import re

			return re.sub(r"<[^>]+>", " ", html_part(message).split("</head>", 1)[1]).split()

		self.assertEqual(visible(fast.message), visible(slow.message))
		self.assertIn("From Paris &lt;b&gt;", html_part(fast.message))
		self.assertIn("List-Unsubscribe: <https://example.com/unsubscribe?t=1>", fast.message)
		self.assertIn(f"Message-Id: <{fast.message_id}>", fast.message)
		self.assertIn('<p style="', html_part(fast.message))  # the template's own HTML is CSS-inlined too
		self.assertIn("<h2>Hello Ada</h2>", fast.body)  # the Desk's copy is the template as written

	def test_a_template_the_html_parser_would_reorder_is_built_per_recipient(self):
		step, fast, _slow = self.emails_for(
			"<p>one<p>Hello {{ doc.first_name }}{% for row in doc.rows %}<b>{{ row }}</b>{% endfor %}"
		)
		self.assertFalse(step.built_once)
		self.assertIn("Hello Ada", html_part(fast.message))
		self.assertIn("<b>x</b><b>y</b>", html_part(fast.message))
