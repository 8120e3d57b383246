# Copyright (c) 2026, email_campaign_app developers and contributors
# For license information, please see license.txt
"""What recipients get when production processes send: a real RQ worker, started on a warm
site, flushes Frappe's Email Queue to a real SMTP server on 127.0.0.1."""

import email
import inspect
import json
import re
import subprocess
import sys
from email.policy import default
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

import cssutils
import frappe
from frappe.installer import update_site_config

from email_campaign_app import tasks
from email_campaign_app.api import email_campaign as email_campaign_api
from email_campaign_app.desk import preview as previews
from email_campaign_app.sending import email_links as links
from email_campaign_app.sending.step_email import StepMessage, css_logger
from email_campaign_app.tests.helpers import (
	OUTBOX,
	IntegrationTestCase,
	ensure_outgoing_email_account,
	make_campaign,
	make_due_now,
	make_email_campaign,
	make_lead,
	make_template,
	run_worker,
)
from email_campaign_app.tests.http import ensure_user
from email_campaign_app.tests.smtp_sink import SMTPSink, header_lines

LEDGER = "Email Campaign Send Log"
SENDER = "Ada Lovelace <campaigns@example.com>"


def sent_by_a_worker(email_campaign, to: str) -> bytes:
	"""The Email Campaign's due email as the SMTP server receives it from a separate worker."""
	with SMTPSink() as sink:
		ensure_outgoing_email_account(sink.port)
		try:
			tasks.daily()
			email_queue = frappe.db.get_value(LEDGER, {"email_campaign": email_campaign.name}, "email_queue")
			make_due_now([email_queue])  # not at 09:00: now
			frappe.enqueue("frappe.email.queue.flush", queue="short")
			run_worker("short")
		finally:
			ensure_outgoing_email_account()
		[message] = [m for m in sink.messages if m.recipients == (to,)]
	frappe.db.rollback()
	return message.data


class TestWhatAWorkerSends(IntegrationTestCase):
	def test_the_one_click_headers_leave_a_separate_worker_on_one_plain_line(self):
		lead = make_lead()
		email_campaign = make_email_campaign(make_campaign().name, lead.name)
		data = sent_by_a_worker(email_campaign, lead.email_id)

		url = links.unsubscribe_url(email_campaign.name, lead.email_id)
		self.assertEqual(header_lines(data, "List-Unsubscribe"), [f"List-Unsubscribe: <{url}>".encode()])
		self.assertEqual(
			header_lines(data, "List-Unsubscribe-Post"),
			[b"List-Unsubscribe-Post: List-Unsubscribe=One-Click"],
		)
		self.assertNotIn(b"=?utf-8?", data.split(b"\r\n\r\n", 1)[0])
		email_queue = frappe.db.get_value(LEDGER, {"email_campaign": email_campaign.name}, "email_queue")
		self.assertEqual(frappe.db.get_value("Email Queue", email_queue, "status"), "Sent")

	def test_the_text_part_is_the_message_with_its_links_and_the_title_is_the_subject(self):
		lead = make_lead(first_name="Denis")
		template = make_template(
			subject="News for {{ doc.first_name }}",
			response='<p>Hello {{ doc.first_name }},</p><p>Read <a href="https://example.com/news">our news</a>.</p>',
		)
		email_campaign = make_email_campaign(make_campaign([(template.name, 0)]).name, lead.name)
		message = email.message_from_bytes(sent_by_a_worker(email_campaign, lead.email_id), policy=default)

		text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
		self.assertTrue(text.startswith("Hello Denis,\n\nRead our news ("), text[:300])
		self.assertIn("https://example.com/news", unquote(text))
		self.assertIn(links.unsubscribe_url(email_campaign.name, lead.email_id), text)
		for wrapper_noise in ("@media", "ql-editor", "|", template.name, "<"):
			self.assertNotIn(wrapper_noise, text)
		html = message.get_body(("html",)).get_content()
		self.assertEqual(re.search(r"<title>\s*(.*?)\s*</title>", html, re.S).group(1), "News for Denis")


class TestTheCachedStepEmail(IntegrationTestCase):
	def test_an_edit_to_the_email_settings_reaches_the_next_email(self):
		ensure_outgoing_email_account()
		template = make_template()
		key_before = StepMessage(template.name, SENDER).cache_key(template.modified)
		self.addCleanup(
			frappe.db.set_default, "email_footer_address", frappe.db.get_default("email_footer_address")
		)
		frappe.db.set_default("email_footer_address", "ACME, 1 rue de la Paix, Paris")
		with_address = StepMessage(template.name, SENDER)
		self.assertNotEqual(key_before, with_address.cache_key(template.modified))
		self.assertIn("1 rue de la Paix", with_address.skeleton)

		account = frappe.get_doc("Email Account", OUTBOX)
		self.addCleanup(frappe.db.set_value, "Email Account", OUTBOX, "footer", account.footer)
		account.footer = "<p>The ACME sales team</p>"
		account.flags.ignore_validate = True
		account.save(ignore_permissions=True)
		with_footer = StepMessage(template.name, SENDER)
		self.assertIn("The ACME sales team", with_footer.skeleton)


SIGN_A_LINK = """
import sys
import frappe
from email_campaign_app.sending import email_links

frappe.init(site=sys.argv[1])
frappe.connect()
print(email_links.unsubscribe_url("Spring Launch for Ada", "ada@example.com"))
"""


def link_signed_by_a_worker() -> str:
	"""An unsubscribe link signed in a process of its own, as a background job signs it."""
	return subprocess.run(
		[sys.executable, "-c", SIGN_A_LINK, frappe.local.site],
		cwd=frappe.utils.get_bench_path() + "/sites",
		capture_output=True,
		text=True,
		check=True,
	).stdout.strip()


def config_as_a_web_process_reads_it() -> dict:
	"""Frappe v16 web processes keep the site config a minute (v15 reads it per request)."""
	try:
		return frappe.get_site_config(cached=True)
	except TypeError:
		return frappe.get_site_config()


def from_and_reply_to(email_queue: str) -> tuple[str, str]:
	message = email.message_from_string(frappe.db.get_value("Email Queue", email_queue, "message"))
	return message["From"], message["Reply-To"]


class TestTheTestEmail(IntegrationTestCase):
	def test_a_test_email_comes_from_the_address_the_recipients_see(self):
		ensure_outgoing_email_account()
		sender = ensure_user("ec-prod-sender@example.com", ("Sales User",))
		lead = make_lead()
		campaign = make_campaign()
		email_campaign = make_email_campaign(campaign.name, lead.name, sender=sender)
		tasks.daily()
		real = frappe.db.get_value(LEDGER, {"email_campaign": email_campaign.name}, "email_queue")

		template = campaign.campaign_schedules[0].email_template
		tester = ensure_user("ec-prod-tester@example.com", ("Sales Manager",))
		frappe.set_user(tester)
		self.addCleanup(frappe.set_user, "Administrator")
		_to, test = previews.send_test_email(email_campaign.name, template)
		test = getattr(test, "name", test)

		self.assertEqual(from_and_reply_to(test), from_and_reply_to(real))
		self.assertIn("<ec-prod-sender@example.com>", from_and_reply_to(test)[0])  # not the account's


class TestThePublicAddress(IntegrationTestCase):
	def setUp(self):
		conf = frappe.local.conf
		self.addCleanup(setattr, frappe.local, "conf", conf)
		frappe.local.conf = frappe._dict(conf)
		for key in ("host_name", "hostname", "developer_mode", "email_campaign_local_links"):
			frappe.local.conf.pop(key, None)
		frappe.cache.delete_value(f"email_campaign_app:public_address_problem:{frappe.utils.today()}")

	def test_without_a_public_address_no_campaign_email_leaves_and_the_admin_is_told(self):
		lead = make_lead()
		email_campaign = make_email_campaign(make_campaign().name, lead.name)
		for host_name in (None, "http://localhost:8000"):
			frappe.local.conf.host_name = host_name
			tasks.daily()
			self.assertFalse(frappe.db.exists(LEDGER, {"email_campaign": email_campaign.name}))
		self.assertTrue(
			frappe.db.exists(
				"Error Log", {"method": "Campaign emails are not sent: the site's public address"}
			)
		)
		email_campaign.run_method("onload")
		self.assertIn("host_name", email_campaign.get_onload().public_address_problem)
		with self.assertRaisesRegex(frappe.ValidationError, "public address"):
			email_campaign_api.send_due_emails_now(email_campaign.name)

		frappe.local.conf.host_name = "https://crm.example.com"
		tasks.daily()
		self.assertTrue(frappe.db.exists(LEDGER, {"email_campaign": email_campaign.name}))
		self.assertTrue(
			links.unsubscribe_url(email_campaign.name, lead.email_id).startswith("https://crm.example.com")
		)


class TestTheFooterLanguage(IntegrationTestCase):
	def test_the_footer_speaks_the_leads_language_and_the_others_the_sites(self):
		ensure_outgoing_email_account()
		campaign = make_campaign()
		french = make_email_campaign(campaign.name, make_lead(first_name="Amélie", language="fr").name)
		site = make_email_campaign(campaign.name, make_lead(first_name="Ada").name)
		tasks.daily()  # one batch: the step is built once per language

		def body_of(email_campaign):
			email_queue = frappe.db.get_value(LEDGER, {"email_campaign": email_campaign.name}, "email_queue")
			raw = frappe.db.get_value("Email Queue", email_queue, "message")
			return email.message_from_string(raw, policy=default).get_body(("plain",)).get_content()

		self.assertIn("Vous recevez cet e-mail dans le cadre d'une campagne e-mail.", body_of(french))
		self.assertIn("You receive this email as part of an email campaign.", body_of(site))


class TestTheWorkerLog(IntegrationTestCase):
	def test_building_a_step_logs_no_known_harmless_css_error_but_keeps_the_others(self):
		ensure_outgoing_email_account()
		harmless = make_template(response="<p>Hello {{ doc.first_name }}</p>")
		css_log = css_logger()  # Frappe 16's PDF module replaces cssutils' own
		with self.assertNoLogs(css_log, level="ERROR"):
			StepMessage(harmless.name, SENDER)
		with self.assertLogs(css_log, level="ERROR"):  # any other CSS error is still logged
			cssutils.parseString("p { color red }")


class TestTheSigningKey(IntegrationTestCase):
	def setUp(self):
		self.site_config = Path(frappe.get_site_path("site_config.json"))
		original_file, original_conf = self.site_config.read_text(), frappe.local.conf
		self.addCleanup(self.restore, original_file, original_conf)

	def restore(self, original_file, original_conf):
		self.site_config.write_text(original_file)
		frappe.local.conf = original_conf
		if hasattr(frappe, "config") and hasattr(frappe.config, "clear_site_config_cache"):
			frappe.config.clear_site_config_cache()

	def key_on_disk(self):
		return json.loads(self.site_config.read_text()).get("encryption_key")

	def test_a_process_whose_config_predates_the_key_honours_links_signed_after(self):
		update_site_config("encryption_key", "None")  # a site whose key was never made
		before_the_key = config_as_a_web_process_reads_it()
		self.assertNotIn("encryption_key", before_the_key)

		url = link_signed_by_a_worker()  # that worker makes the key
		key = self.key_on_disk()
		self.assertTrue(key)
		stale = config_as_a_web_process_reads_it()
		if "cached" in inspect.signature(frappe.get_site_config).parameters:  # v16: for a minute
			self.assertNotIn("encryption_key", stale)
		frappe.local.conf = frappe._dict(before_the_key)

		query = {name: values[0] for name, values in parse_qs(urlparse(url).query).items()}
		self.assertTrue(
			links.is_valid_unsubscribe_token(query["email_campaign"], query["email"], query["token"])
		)
		self.assertEqual(self.key_on_disk(), key)  # not replaced by a second one

	def test_install_and_migrate_make_the_key(self):
		from email_campaign_app import hooks, install

		self.assertIn("email_campaign_app.install.make_signing_key", hooks.after_migrate)
		update_site_config("encryption_key", "None")
		frappe.local.conf = frappe._dict(frappe.get_site_config())
		install.after_install()
		self.assertTrue(self.key_on_disk())
		self.assertEqual(frappe.local.conf.encryption_key, self.key_on_disk())
