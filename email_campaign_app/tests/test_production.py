# Copyright (c) 2026, email_campaign_app developers and contributors
# For license information, please see license.txt
"""What recipients get when production processes send: a real RQ worker, started on a warm
site, flushes Frappe's Email Queue to a real SMTP server on 127.0.0.1."""

import frappe

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
