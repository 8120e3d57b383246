"""Mail security scanners (Safe Links, image proxies, gateways) open an email's tracked link and
pixel, often several at once: every click is counted, and the email is opened once, at its first
load. The requests go through Frappe's WSGI application together, each in a thread with its own
database connection, as web workers serve them (benchmarks/scanner_storm.py does it at scale)."""

import html
import re
import threading
from email import message_from_string, policy
from urllib.parse import urlsplit

import frappe
from frappe.tests.test_api import ThreadWithReturnValue
from frappe.utils import get_test_client

from email_campaign_app import tasks
from email_campaign_app.tests.helpers import (
	OUTBOX,
	IntegrationTestCase,
	ensure_outgoing_email_account,
	make_campaign,
	make_email_campaign,
	make_lead,
	make_template,
)

LEDGER = "Email Campaign Send Log"
BODY = '<p>See <a href="https://shop.example.com/offer">our offer</a>.</p>'
AT_ONCE = 8


class TestScannersAtOnce(IntegrationTestCase):
	def setUp(self):
		ensure_outgoing_email_account()
		self.set_tracking(1)
		self.addCleanup(self.set_tracking, 0)
		campaign = make_campaign([(make_template(response=BODY).name, 0)])
		campaign.track_clicks = 1
		campaign.save()
		email_campaign = make_email_campaign(campaign.name, make_lead().name)
		tasks.daily()
		self.row = frappe.get_all(
			LEDGER,
			filters={"email_campaign": email_campaign.name},
			fields=["name", "communication", "email_queue"],
		)[0]
		message = frappe.db.get_value("Email Queue", self.row.email_queue, "message")
		self.html = (
			message_from_string(message, policy=policy.default)
			.get_body(preferencelist=("html",))
			.get_content()
		)

	def set_tracking(self, value: int):
		account = frappe.get_doc("Email Account", OUTBOX)
		account.track_email_status = value
		account.flags.ignore_validate = True
		account.save(ignore_permissions=True)
		frappe.db.commit()

	def url_of(self, method: str, attribute: str) -> str:
		[url] = re.findall(rf'{attribute}="([^"]*email_campaign_app\.api\.{method}[^"]*)"', self.html)
		parts = urlsplit(html.unescape(url))
		return f"{parts.path}?{parts.query}"

	def open_at_once(self, path: str, times: int = AT_ONCE) -> list[int]:
		"""`times` guests open `path` together; their status codes."""
		frappe.db.commit()
		ready = threading.Barrier(times)

		def open_once():
			client = get_test_client(use_cookies=False)
			ready.wait()
			return client.get(path).status_code

		threads = [ThreadWithReturnValue(target=open_once, site=frappe.local.site) for _ in range(times)]
		for thread in threads:
			thread.start()
		statuses = [thread.join() for thread in threads]
		frappe.db.rollback()  # see what the requests committed
		return statuses

	def test_clicks_at_once_are_all_counted(self):
		statuses = self.open_at_once(self.url_of("click", "href"))
		statuses += self.open_at_once(self.url_of("click", "href"))
		self.assertEqual(statuses, [302] * 2 * AT_ONCE)
		clicked = frappe.db.get_value(LEDGER, self.row.name, ["clicks", "first_clicked_on"], as_dict=True)
		self.assertEqual(clicked.clicks, 2 * AT_ONCE)
		self.assertTrue(clicked.first_clicked_on)

	def test_a_pixel_loaded_at_once_opens_the_email_once_at_its_first_load(self):
		pixel = self.url_of("email_opened", "src")
		self.assertEqual(self.open_at_once(pixel), [200] * AT_ONCE)
		opened = frappe.db.get_value(
			"Communication",
			self.row.communication,
			["read_by_recipient", "delivery_status", "read_by_recipient_on"],
			as_dict=True,
		)
		self.assertEqual((opened.read_by_recipient, opened.delivery_status), (1, "Read"))
		self.assertTrue(opened.read_by_recipient_on)

		self.assertEqual(self.open_at_once(pixel), [200] * AT_ONCE)  # later loads change nothing
		self.assertEqual(
			frappe.db.get_value("Communication", self.row.communication, "read_by_recipient_on"),
			opened.read_by_recipient_on,
		)
