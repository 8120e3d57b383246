# Copyright (c) 2026, email_campaign_app developers and contributors
# For license information, please see license.txt
"""Security, round three: nothing a user types runs in another user's browser, and every server
path checks what the form checks. One test per finding of the review, over HTTP as the role
that found it (see the README's security model)."""

import json
import re
import subprocess
import sys
import threading
import time
from urllib.parse import urlencode

import frappe
from frappe.utils import add_days, today

from email_campaign_app import tasks
from email_campaign_app.api import guest as api
from email_campaign_app.sending import email_links as links
from email_campaign_app.tests.helpers import (
	IntegrationTestCase,
	ensure_outgoing_email_account,
	make_campaign,
	make_due_now,
	make_email_campaign,
	make_lead,
	make_template,
	unique,
	warm_cache,
	worker_environment,
)
from email_campaign_app.tests.http import Client, ensure_user, http
from email_campaign_app.tests.smtp_sink import SMTPSink, header_lines

LEDGER = "Email Campaign Send Log"
SALES_USER = "ec-sec-sales-user@example.com"
LIMITED_SALES_USER = "ec-sec-limited-sales-user@example.com"
SALES_MANAGER = "ec-sec-sales-manager@example.com"
WEBSITE_USER = "ec-sec-website-user@example.com"
REPORT = "Email Campaign Performance"
# Markup a user can type, each meant to run script or cover the page in a reader's browser
IMG_ONERROR = '<img src=x onerror="window.__xss=1">'
COVERING_LINK = '<a href="https://attacker.example/login" style="position:fixed;top:0;left:0;width:100%;height:100%">Sign in</a>'
NESTED_LOOPS = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"


def communication_of(email_campaign: str):
	name = frappe.db.get_value(LEDGER, {"email_campaign": email_campaign}, "communication")
	return frappe.db.get_value("Communication", name, ["name", "subject", "content"], as_dict=True)


def email_html(email_queue: str) -> str:
	from email import message_from_string, policy

	message = frappe.db.get_value("Email Queue", email_queue, "message")
	return (
		message_from_string(message, policy=policy.default).get_body(preferencelist=("html",)).get_content()
	)


def message_of(response) -> str:
	"""What the user is told: the exception or the messages Frappe sends with the response."""
	body = response.get_json() or {}
	messages = [json.loads(m).get("message", "") for m in json.loads(body.get("_server_messages") or "[]")]
	return " ".join([body.get("exception") or "", *messages])


class SecurityTestCase(IntegrationTestCase):
	def setUp(self):
		ensure_outgoing_email_account()
		self.sales_user = ensure_user(SALES_USER, ("Sales User",))
		self.manager = ensure_user(SALES_MANAGER, ("Sales Manager",))


class TestStoredCopies(SecurityTestCase):
	"""Findings 1, 3 and 10: what the Desk shows of a sent email."""

	def test_1_a_sales_managers_template_markup_is_sanitized_where_an_administrator_reads_it(self):
		name = unique("Hostile")
		response = Client(self.manager).post(
			"/api/resource/Email Template",
			json={
				"name": name,
				"subject": '{{ "\\x3cimg src=x onerror=window.__xss=2\\x3e" }} Welcome',
				"response": f'<p>Hello</p>{IMG_ONERROR}<a href="javascript:window.__xss=3">offer</a><script>window.__xss=4</script>',
			},
		)
		self.assertEqual(response.status_code, 200, response.get_data(as_text=True)[:300])
		email_campaign = make_email_campaign(make_campaign([(name, 0)]).name, make_lead().name)
		tasks.daily()

		communication = communication_of(email_campaign.name)
		for hostile in ("onerror", "javascript:", "<script"):  # a script's text may stay, escaped
			self.assertNotIn(hostile, communication.content)
			self.assertNotIn(hostile, communication.subject)
		self.assertIn("Hello", communication.content)
		self.assertIn("Welcome", communication.subject)

	def test_3_a_sales_users_lead_name_is_escaped_in_the_subject_and_body_others_read(self):
		response = Client(self.sales_user).post(
			"/api/resource/Lead",
			json={"first_name": COVERING_LINK, "email_id": f"{unique('cover')}@example.com".replace(" ", "")},
		)
		self.assertEqual(response.status_code, 200, response.get_data(as_text=True)[:300])
		lead = response.get_json()["data"]["name"]
		template = make_template(
			subject="Hello {{ doc.first_name }}", response="<p>Dear {{ doc.first_name }}</p>"
		)
		email_campaign = make_email_campaign(make_campaign([(template.name, 0)]).name, lead)
		tasks.daily()

		communication = communication_of(email_campaign.name)
		for field in ("subject", "content"):
			self.assertNotIn("attacker.example", "".join(re.findall(r"<a\b[^>]*>", communication[field])))
			self.assertIn("&lt;a href=", communication[field])  # shown as the text the user typed

	def test_10_the_stored_copy_carries_no_live_unsubscribe_or_tracked_link(self):
		offer = "https://shop.example.com/offer"
		campaign = make_campaign([(make_template(response=f'<p><a href="{offer}">Offer</a></p>').name, 0)])
		campaign.track_clicks = 1
		campaign.save()
		lead = make_lead()
		email_campaign = make_email_campaign(campaign.name, lead.name)
		tasks.daily()

		row = frappe.db.get_value(
			LEDGER, {"email_campaign": email_campaign.name}, ["communication", "email_queue"], as_dict=True
		)
		content = frappe.db.get_value("Communication", row.communication, "content")
		for live in (
			"email_campaign_app.api.unsubscribe",
			"email_campaign_app.api.click",
			"token=",
			"signature=",
		):
			self.assertNotIn(live, content)
		self.assertIn(f'href="{offer}"', content)  # the link as written
		self.assertIn("Unsubscribe", content)  # the footer's word, without its target
		sent = email_html(row.email_queue)  # the recipient's own email keeps them
		self.assertIn(links.unsubscribe_url(email_campaign.name, lead.email_id), sent)
		self.assertIn("email_campaign_app.api.click", sent)


class TestTheReport(SecurityTestCase):
	"""Findings 2 and 9: the report's failure reason, and a bad filter."""

	def setUp(self):
		super().setUp()
		# a run of Frappe 15 before the fix could have left the report prepared for good
		frappe.db.set_value("Report", REPORT, "prepared_report", 0)

	def run_report(self, user: str, filters: dict):
		return Client(user).get(
			"/api/method/frappe.desk.query_report.run",
			query={"report_name": REPORT, "filters": json.dumps(filters)},
		)

	def test_2_a_failure_reason_is_one_escaped_line_without_a_traceback(self):
		template = make_template(response="<p>{{ getdate('<img src=x onerror=window.__xss=5>') }}</p>")
		campaign = make_campaign([(template.name, 0)])
		email_campaign = make_email_campaign(campaign.name, make_lead().name)
		for day in range(3):  # Failed for good after its third attempt, one a day
			with self.freeze_time(f"{add_days(today(), day)} 00:30:00"):
				tasks.daily()
		self.assertEqual(
			frappe.db.get_value(LEDGER, {"email_campaign": email_campaign.name}, "status"), "Failed"
		)
		stored = frappe.db.get_value(LEDGER, {"email_campaign": email_campaign.name}, "error")
		self.assertNotIn("Traceback", stored)
		self.assertNotIn("\n", stored)

		response = self.run_report(self.sales_user, {"campaign_name": campaign.name})
		self.assertEqual(response.status_code, 200, response.get_data(as_text=True)[:300])
		[row] = [
			r
			for r in response.get_json()["message"]["result"]
			if isinstance(r, dict) and r.get("email_template")
		]
		reason = row["failure_reason"]
		self.assertIn("is not a valid date string", reason)
		for leak in ("<img", "<strong", "Traceback", 'File "', "/apps/", "\n"):
			self.assertNotIn(leak, reason)

	def test_9_a_bad_filter_is_a_417_and_leaves_the_report_as_it_was(self):
		response = self.run_report(self.sales_user, {"from_date": "garbage"})
		self.assertEqual(response.status_code, 417)
		self.assertIn("not a valid date", message_of(response))
		watchers = [t for t in threading.enumerate() if isinstance(t, threading.Timer) and t.is_alive()]
		self.assertFalse(watchers, "Frappe's prepared-report watcher is still running")
		self.assertFalse(frappe.db.get_value("Report", REPORT, "prepared_report"))


class TestEveryServerPathChecksWhatTheFormChecks(SecurityTestCase):
	"""Findings 4, 5, 11 and 12."""

	def test_4_a_user_limited_to_one_lead_cannot_enrol_another_nor_learn_it_exists(self):
		limited = ensure_user(LIMITED_SALES_USER, ("Sales User",))
		mine, other = make_lead(), make_lead()
		frappe.get_doc(
			{
				"doctype": "User Permission",
				"user": limited,
				"allow": "Lead",
				"for_value": mine.name,
				"apply_to_all_doctypes": 1,
			}
		).insert(ignore_permissions=True)
		self.addCleanup(frappe.db.delete, "User Permission", {"user": limited})
		campaign = make_campaign().name
		client = Client(limited)

		def create(recipient):
			values = {
				"campaign_name": campaign,
				"email_campaign_for": "Lead",
				"recipient": recipient,
				"sender": limited,
				"start_date": today(),
			}
			return client.post("/api/resource/Email Campaign", json=values)

		refused, missing = create(other.name), create("CRM-LEAD-DOES-NOT-EXIST")
		self.assertEqual((refused.status_code, missing.status_code), (403, 403))
		self.assertEqual(
			message_of(refused).replace(other.name, "X").split(":", 1)[-1],
			message_of(missing).replace("CRM-LEAD-DOES-NOT-EXIST", "X").split(":", 1)[-1],
		)
		self.assertFalse(frappe.db.exists("Email Campaign", {"recipient": other.name}))
		self.assertEqual(create(mine.name).status_code, 200)

	def test_5_app_only_schedule_fields_cannot_be_written_over_rest(self):
		email_campaign = make_email_campaign(
			make_campaign([(make_template().name, 0), (make_template().name, 5)]).name, make_lead().name
		)
		before = frappe.db.get_value(
			"Email Campaign",
			email_campaign.name,
			["shifted_days", "catch_up_until", "paused_on", "end_date"],
			as_dict=True,
		)
		client = Client(self.sales_user)
		for values in (
			{"shifted_days": 3650},
			{"catch_up_until": add_days(today(), 3650)},
			{"paused_on": f"{today()} 10:00:00"},
		):
			response = client.put(f"/api/resource/Email Campaign/{email_campaign.name}", json=values)
			self.assertEqual(response.status_code, 403, values)
			self.assertIn("set by Pause and Resume", message_of(response))
		after = frappe.db.get_value(
			"Email Campaign",
			email_campaign.name,
			["shifted_days", "catch_up_until", "paused_on", "end_date"],
			as_dict=True,
		)
		self.assertEqual(after, before)
		self.assertEqual(
			client.put(
				f"/api/resource/Email Campaign/{email_campaign.name}", json={"send_at": "10:00"}
			).status_code,
			200,
		)

	def test_11_only_an_enabled_system_user_with_an_email_may_send(self):
		ensure_user(WEBSITE_USER, ())
		frappe.db.set_value("User", WEBSITE_USER, "user_type", "Website User")
		campaign = make_campaign()
		client = Client(self.manager)
		for sender in ("Guest", WEBSITE_USER):
			values = {
				"campaign_name": campaign.name,
				"email_campaign_for": "Lead",
				"recipient": make_lead().name,
				"sender": sender,
				"start_date": today(),
			}
			response = client.post("/api/resource/Email Campaign", json=values)
			self.assertEqual(response.status_code, 417, sender)
			bulk = client.method(
				"enrolment.add_to_email_campaign",
				doctype="Lead",
				names=[make_lead().name],
				campaign_name=campaign.name,
				start_date=today(),
				sender=sender,
			)
			self.assertEqual(bulk.status_code, 417, sender)
			rule = {
				"document_type": "Lead",
				"filters_json": "[]",
				"sender": sender,
				"start_after_days": 0,
				"enabled": 1,
			}
			saved = client.put(f"/api/resource/Campaign/{campaign.name}", json={"enrolment_rules": [rule]})
			self.assertEqual(saved.status_code, 417, sender)
		self.assertFalse(frappe.db.exists("Email Campaign", {"campaign_name": campaign.name}))

	def test_12_malformed_bulk_input_is_a_417_with_a_message_never_a_500(self):
		campaign = make_campaign().name
		client = Client(self.sales_user)
		for names in ("notjson", '[["nested"]]', '{"a": 1}', "[]", "[1, 2]"):
			response = client.method(
				"enrolment.add_to_email_campaign",
				doctype="Lead",
				names=names,
				campaign_name=campaign,
				start_date=today(),
			)
			self.assertEqual(response.status_code, 417, names)
			self.assertTrue(message_of(response).strip(), names)


class TestThrottle(SecurityTestCase):
	"""Finding 6: the bad-token throttle keys on an address the client cannot choose."""

	def test_6_rotating_x_forwarded_for_behind_the_proxy_still_gets_429(self):
		proxy_appended = "203.0.113.7"
		frappe.cache.delete_value(api.bad_token_key(proxy_appended))
		self.addCleanup(frappe.cache.delete_value, api.bad_token_key(proxy_appended))
		query = urlencode({"email_campaign": "EC-NONE", "email": "a@example.com", "token": "forged"})
		statuses = [
			http(
				"GET",
				f"/api/method/email_campaign_app.api.unsubscribe?{query}",
				user=None,
				headers={"X-Forwarded-For": f"10.{i}.0.1, {proxy_appended}"},
			).status_code
			for i in range(api.BAD_TOKEN_LIMIT + 3)
		]
		self.assertEqual(statuses[0], 400)
		self.assertEqual(statuses[-1], 429)
		other = http(
			"GET",
			f"/api/method/email_campaign_app.api.unsubscribe?{query}",
			user=None,
			headers={"X-Forwarded-For": "203.0.113.8"},
		)
		self.assertEqual(other.status_code, 400)  # another visitor is not throttled with them


class TestTemplateBudget(SecurityTestCase):
	"""Finding 7: templates render under a time and size budget at Save, Preview and send."""

	def test_7_costly_templates_are_refused_at_save_quickly_with_a_message(self):
		client = Client(self.manager)
		for response_ in (NESTED_LOOPS, "{{ 'x' * 10**9 }}", "{{ (10**(10**6))|string }}"):
			started = time.monotonic()
			response = client.post(
				"/api/resource/Email Template",
				json={"name": unique("Costly"), "subject": "Hi", "response": response_},
			)
			self.assertEqual(response.status_code, 417, response_)
			self.assertIn("Simplify it", message_of(response))
			self.assertLess(time.monotonic() - started, 10, response_)

	def test_7_an_older_costly_template_fails_in_preview_and_at_send_without_stalling(self):
		template = make_template()
		email_campaign = make_email_campaign(make_campaign([(template.name, 0)]).name, make_lead().name)
		frappe.db.set_value("Email Template", template.name, "response", NESTED_LOOPS)  # an older record
		frappe.clear_document_cache("Email Template", template.name)
		started = time.monotonic()
		response = Client(self.manager).get(
			"/api/method/email_campaign_app.api.email_campaign.preview",
			query={"email_campaign": email_campaign.name},
		)
		self.assertEqual(response.status_code, 417)
		self.assertIn("more than 1 second of rendering", message_of(response))
		tasks.daily()
		self.assertLess(time.monotonic() - started, 15)
		row = frappe.db.get_value(
			LEDGER, {"email_campaign": email_campaign.name}, ["status", "error"], as_dict=True
		)
		self.assertEqual(row.status, "Error")
		self.assertIn("more than 1 second of rendering", row.error)


class TestListUnsubscribeInAnyProcess(SecurityTestCase):
	"""Finding 8: a process that ran no request or job hook sends the header on one line."""

	def test_8_bench_execute_flush_sends_list_unsubscribe_on_one_plain_line(self):
		lead = make_lead()
		email_campaign = make_email_campaign(make_campaign().name, lead.name)
		with SMTPSink() as sink:
			ensure_outgoing_email_account(sink.port)
			self.addCleanup(ensure_outgoing_email_account)
			tasks.daily()
			email_queue = frappe.db.get_value(LEDGER, {"email_campaign": email_campaign.name}, "email_queue")
			make_due_now([email_queue])
			frappe.db.commit()
			warm_cache()
			flush = (
				"import sys, frappe; frappe.init(site=sys.argv[1], sites_path='.'); frappe.connect(); "
				"from frappe.email.queue import flush; flush(); frappe.db.commit(); "
				"print('email_campaign_app' in sys.modules)"
			)
			done = subprocess.run(
				[sys.executable, "-c", flush, frappe.local.site],
				cwd=frappe.utils.get_bench_path() + "/sites",
				env=worker_environment(),
				capture_output=True,
				text=True,
				timeout=120,
				check=True,
			)
			[message] = [m for m in sink.messages if m.recipients == (lead.email_id,)]
		url = links.unsubscribe_url(email_campaign.name, lead.email_id)
		self.assertEqual(
			header_lines(message.data, "List-Unsubscribe"),
			[f"List-Unsubscribe: <{url}>".encode()],
			done.stdout,
		)
		self.assertNotIn(b"=?utf-8?", message.data.split(b"\r\n\r\n", 1)[0])
