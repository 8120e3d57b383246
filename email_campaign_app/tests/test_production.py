# Copyright (c) 2026, email_campaign_app developers and contributors
# For license information, please see license.txt
"""What recipients get when production processes send: a real RQ worker, started on a warm
site, flushes Frappe's Email Queue to a real SMTP server on 127.0.0.1."""

import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import frappe
from frappe.installer import update_site_config

from email_campaign_app import tasks
from email_campaign_app.sending import email_links as links
from email_campaign_app.tests.helpers import (
	IntegrationTestCase,
	ensure_outgoing_email_account,
	make_campaign,
	make_due_now,
	make_email_campaign,
	make_lead,
	run_worker,
)
from email_campaign_app.tests.smtp_sink import SMTPSink, header_lines

LEDGER = "Email Campaign Send Log"


class TestWhatAWorkerSends(IntegrationTestCase):
	def test_the_one_click_headers_leave_a_separate_worker_on_one_plain_line(self):
		lead = make_lead()
		email_campaign = make_email_campaign(make_campaign().name, lead.name)
		with SMTPSink() as sink:
			ensure_outgoing_email_account(sink.port)
			self.addCleanup(ensure_outgoing_email_account)
			tasks.daily()
			email_queue = frappe.db.get_value(LEDGER, {"email_campaign": email_campaign.name}, "email_queue")
			make_due_now([email_queue])  # not at 09:00: now
			frappe.enqueue("frappe.email.queue.flush", queue="short")
			run_worker("short")
			[message] = [m for m in sink.messages if m.recipients == (lead.email_id,)]

		url = links.unsubscribe_url(email_campaign.name, lead.email_id)
		self.assertEqual(
			header_lines(message.data, "List-Unsubscribe"), [f"List-Unsubscribe: <{url}>".encode()]
		)
		self.assertEqual(
			header_lines(message.data, "List-Unsubscribe-Post"),
			[b"List-Unsubscribe-Post: List-Unsubscribe=One-Click"],
		)
		self.assertNotIn(b"=?utf-8?", message.data.split(b"\r\n\r\n", 1)[0])
		frappe.db.rollback()
		self.assertEqual(frappe.db.get_value("Email Queue", email_queue, "status"), "Sent")


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
		if hasattr(frappe, "config"):  # v16: within the minute, the cached config has no key
			self.assertNotIn("encryption_key", stale)
		frappe.local.conf = frappe._dict(before_the_key)

		query = {name: values[0] for name, values in parse_qs(urlparse(url).query).items()}
		self.assertTrue(
			links.is_valid_unsubscribe_token(query["email_campaign"], query["email"], query["token"])
		)
		self.assertEqual(self.key_on_disk(), key)  # not replaced by a second one

	def test_install_and_migrate_make_the_key(self):
		from email_campaign_app import hooks, install

		self.assertEqual(hooks.after_migrate, "email_campaign_app.install.make_signing_key")
		update_site_config("encryption_key", "None")
		frappe.local.conf = frappe._dict(frappe.get_site_config())
		install.after_install()
		self.assertTrue(self.key_on_disk())
		self.assertEqual(frappe.local.conf.encryption_key, self.key_on_disk())
