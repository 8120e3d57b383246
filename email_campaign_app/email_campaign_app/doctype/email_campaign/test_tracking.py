# Copyright (c) 2026, email_campaign_app developers and contributors
# For license information, please see license.txt
"""Click tracking: links go through a signed redirect that counts clicks on the ledger row."""

import html
import re
from urllib.parse import parse_qs, urlencode, urlsplit

import frappe
from frappe.tests.utils import FrappeTestCase

from email_campaign_app import tasks
from email_campaign_app.api import email_campaign as api
from email_campaign_app.desk import preview as desk
from email_campaign_app.email_campaign_app.report.email_campaign_performance.email_campaign_performance import (
	execute as performance_report,
)
from email_campaign_app.tests.helpers import (
	ensure_outgoing_email_account,
	make_campaign,
	make_email_campaign,
	make_lead,
	make_template,
)
from email_campaign_app.tests.http import http

LEDGER = "Email Campaign Send Log"
OFFER = "https://shop.example.com/offer?size=big&colour=blue"
BODY = f'<p>See <a href="{html.escape(OFFER)}">our offer</a>, or <a href="mailto:sales@example.com">write to us</a>.</p>'
CLICK = re.compile(r'href="([^"]*email_campaign_app\.api\.click[^"]*)"')


def tracked_links(content):
	return [html.unescape(url) for url in CLICK.findall(content)]


def sent_html(row) -> str:
	"""The HTML the recipient receives (the Communication keeps no tracked link)."""
	from email import message_from_string, policy

	message = frappe.db.get_value("Email Queue", row.email_queue, "message")
	return (
		message_from_string(message, policy=policy.default).get_body(preferencelist=("html",)).get_content()
	)


def path_of(url):
	parts = urlsplit(url)
	return f"{parts.path}?{parts.query}"


class TestClickTracking(FrappeTestCase):
	def setUp(self):
		ensure_outgoing_email_account()
		self.campaign = make_campaign([(make_template(response=BODY).name, 0), (make_template().name, 2)])
		self.campaign.track_clicks = 1
		self.campaign.save()

	def send_first_email(self, lead=None):
		email_campaign = make_email_campaign(self.campaign.name, (lead or make_lead()).name)
		tasks.daily()
		row = frappe.get_all(
			LEDGER,
			filters={"email_campaign": email_campaign.name},
			fields=["name", "communication", "email_queue"],
		)[0]
		return email_campaign, row

	def clicks_of(self, ledger_row):
		return frappe.db.get_value(LEDGER, ledger_row, ["clicks", "first_clicked_on"], as_dict=True)

	def test_links_are_rewritten_but_not_the_unsubscribe_link_nor_mailto(self):
		_email_campaign, row = self.send_first_email()
		content = sent_html(row)
		[link] = tracked_links(content)
		query = parse_qs(urlsplit(link).query)
		self.assertEqual((query["ledger_row"], query["url"]), ([row.name], [OFFER]))
		self.assertIn('href="mailto:sales@example.com"', content)
		self.assertNotIn(f'href="{html.escape(OFFER)}"', content)
		self.assertRegex(content, r'href="[^"]*email_campaign_app\.api\.unsubscribe\?')
		self.assertNotIn("email_campaign_app.api.click", content.split("email-campaign-footer", 1)[1])
		self.assertIn(
			"email_campaign_app.api.click",
			frappe.db.get_value("Email Queue", row.email_queue, "message")
			.replace("=\r\n", "")
			.replace("=\n", "")
			.replace("=3D", "="),
		)

	def test_a_click_redirects_and_is_counted_on_the_ledger_row_first_click_kept(self):
		email_campaign, row = self.send_first_email()
		[link] = tracked_links(sent_html(row))

		first = http("GET", path_of(link), user=None)
		self.assertEqual(first.status_code, 302, first.get_data(as_text=True)[:300])
		self.assertEqual(first.headers["Location"], OFFER)
		clicked = self.clicks_of(row.name)
		self.assertEqual(clicked.clicks, 1)
		self.assertTrue(clicked.first_clicked_on)

		again = http("GET", path_of(link), user=None)
		self.assertEqual(again.status_code, 302)
		self.assertEqual(
			self.clicks_of(row.name), frappe._dict(clicks=2, first_clicked_on=clicked.first_clicked_on)
		)

		day0, day2 = api.get_schedule_view(email_campaign.name)
		self.assertEqual((day0["clicked"], day0["clicks"], day2["clicked"]), (1, 2, 0))
		_columns, data, _message, chart = performance_report({"campaign_name": self.campaign.name})
		self.assertEqual([(r.clicked, r.clicks) for r in data], [(1, 2), (0, 0)])  # day 2 sent nothing yet
		self.assertIn("Click Rate", [dataset["name"] for dataset in chart["data"]["datasets"]])

	def test_a_forged_or_tampered_redirect_is_refused_and_counts_nothing(self):
		_email_campaign, row = self.send_first_email()
		_other_campaign, other = self.send_first_email()
		[link] = tracked_links(sent_html(row))
		query = {key: values[0] for key, values in parse_qs(urlsplit(link).query).items()}
		path = urlsplit(link).path

		for forged in (
			{**query, "url": "https://evil.example.net/phish"},  # another destination
			{**query, "ledger_row": other.name},  # another email's row
			{"ledger_row": row.name, "url": OFFER},  # unsigned
			{**query, "signature": query["signature"][:-2] + "AA"},
			{"url": "https://evil.example.net/phish"},
		):
			response = http("GET", f"{path}?{urlencode(forged)}", user=None)
			self.assertEqual(response.status_code, 400, forged)
			self.assertNotIn("Location", response.headers)
			self.assertIn("Invalid link", response.get_data(as_text=True))
		self.assertEqual(self.clicks_of(row.name).clicks, 0)
		self.assertEqual(self.clicks_of(other.name).clicks, 0)

	def test_without_tracking_and_in_previews_links_stay_as_written(self):
		email_campaign, _row = self.send_first_email()
		[preview, _day2] = desk.preview(email_campaign.name)
		self.assertFalse(tracked_links(preview["body"]))

		self.campaign.track_clicks = 0
		self.campaign.save()
		_untracked, plain = self.send_first_email()
		content = frappe.db.get_value("Communication", plain.communication, "content")
		self.assertFalse(tracked_links(content))
		self.assertIn(f'href="{html.escape(OFFER)}"', content)
