# Copyright (c) 2026, email_campaign_app developers and contributors
# For license information, please see license.txt
"""Stop on reply end to end: the campaign email leaves through a real SMTP server, the Lead's
reply lands in a real IMAP mailbox (Debian's dovecot on 127.0.0.1, started by .ci/run), and
an incoming Email Account pulls it the way Frappe's scheduler does."""

import email
import email.policy
import imaplib
import os
import time
import unittest
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import frappe
from frappe.email.doctype.email_account.email_account import pull_from_email_account
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_days, now_datetime, today

from email_campaign_app import tasks
from email_campaign_app.tests.helpers import (
	bounce_sample,
	ensure_outgoing_email_account,
	make_campaign,
	make_due_now,
	make_email_campaign,
	make_lead,
	make_template,
	run_worker,
)
from email_campaign_app.tests.smtp_sink import SMTPSink

LEDGER = "Email Campaign Send Log"
ACCOUNT = "Email Campaign Test IMAP Inbox"
IMAP = {
	key: os.environ.get(f"EMAIL_CAMPAIGN_IMAP_{key.upper()}") for key in ("host", "port", "user", "password")
}


def say(line):
	print(f"[imap e2e] {line}")


class TestReplyThroughIMAP(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		if not all(IMAP.values()):
			raise unittest.SkipTest("no IMAP server: .ci/run starts dovecot and sets EMAIL_CAMPAIGN_IMAP_*")

	def setUp(self):
		self.sender = self.ensure_sender(IMAP["user"])
		self.account = self.ensure_incoming_account()

	def ensure_sender(self, address):
		"""The campaigns' sender: a user whose mailbox is the IMAP account."""
		if not frappe.db.exists("User", address):
			frappe.get_doc(
				{
					"doctype": "User",
					"email": address,
					"first_name": "Replies",
					"send_welcome_email": 0,
					"roles": [{"role": "Sales Manager"}],
				}
			).insert(ignore_permissions=True)
		return address

	def ensure_incoming_account(self):
		if frappe.db.exists("Email Account", ACCOUNT):
			frappe.delete_doc("Email Account", ACCOUNT, ignore_permissions=True, force=True)
		return frappe.get_doc(
			{
				"doctype": "Email Account",
				"email_account_name": ACCOUNT,
				"email_id": IMAP["user"],
				"password": IMAP["password"],
				"enable_incoming": 1,
				"use_imap": 1,
				"email_server": IMAP["host"],
				"incoming_port": IMAP["port"],
				"use_ssl": 0,
				"use_starttls": 0,
				"email_sync_option": "UNSEEN",
				"imap_folder": [{"folder_name": "INBOX"}],
			}
		).insert(ignore_permissions=True)

	def send_first_email(self, sink, lead):
		"""The daily job queues day 0; a real worker flushes it to the SMTP server."""
		campaign = make_campaign(
			[(make_template(subject="Hello {{ doc.first_name }}").name, 0), (make_template().name, 2)]
		)
		email_campaign = make_email_campaign(campaign.name, lead.name, sender=self.sender)
		tasks.daily()
		email_queue = frappe.db.get_value(LEDGER, {"email_campaign": email_campaign.name}, "email_queue")
		make_due_now([email_queue])
		frappe.enqueue("frappe.email.queue.flush", queue="short")
		run_worker("short")
		[sent] = [m for m in sink.messages if m.recipients == (lead.email_id,)]
		return email_campaign, email.message_from_bytes(
			sent.data, policy=email.policy.default
		)  # headers unfolded

	def append_to_mailbox(self, raw: bytes):
		imap = imaplib.IMAP4(IMAP["host"], int(IMAP["port"]))
		imap.login(IMAP["user"], IMAP["password"])
		status, answer = imap.append("INBOX", None, imaplib.Time2Internaldate(time.time()), raw)
		imap.logout()
		self.assertEqual(status, "OK", answer)
		say(f"IMAP APPEND to {IMAP['user']} on {IMAP['host']}:{IMAP['port']}: {answer[0].decode()}")

	def reply_in_mailbox(self, original, lead):
		"""The Lead's mail client answers: In-Reply-To and References name the email received."""
		reply = EmailMessage()
		reply["From"] = f"Ada Lovelace <{lead.email_id}>"
		reply["To"] = original["From"]
		reply["Subject"] = f"Re: {original['Subject']}"
		reply["Message-ID"] = make_msgid(domain="mail.example.net")
		reply["In-Reply-To"] = original["Message-Id"]
		reply["References"] = original["Message-Id"]
		reply["Date"] = format_datetime(now_datetime().astimezone())
		reply.set_content("Yes, call me tomorrow morning.")
		self.append_to_mailbox(reply.as_bytes())
		return reply

	def test_a_reply_pulled_from_imap_stops_the_sequence(self):
		lead = make_lead(first_name="Ada")
		with SMTPSink() as sink:
			ensure_outgoing_email_account(sink.port)
			self.addCleanup(ensure_outgoing_email_account)
			email_campaign, original = self.send_first_email(sink, lead)
		say(
			f"sent {original['Message-Id']} from {original['From']} to {original['To']}: {original['Subject']!r}"
		)

		reply = self.reply_in_mailbox(original, lead)
		pull_from_email_account(ACCOUNT)  # the job Frappe's scheduler runs for each incoming account
		frappe.db.rollback()

		received = frappe.get_doc("Communication", {"message_id": reply["Message-ID"].strip("<>")})
		sent_communication = frappe.db.get_value(
			LEDGER, {"email_campaign": email_campaign.name}, "communication"
		)
		say(
			f"pulled {received.name}: in_reply_to={received.in_reply_to} reference={received.reference_doctype} {received.reference_name}"
		)
		self.assertEqual(received.sent_or_received, "Received")
		self.assertEqual(received.in_reply_to, sent_communication)
		self.assertEqual(
			(received.reference_doctype, received.reference_name), ("Email Campaign", email_campaign.name)
		)
		self.assertIn(
			("Lead", lead.name), [(link.link_doctype, link.link_name) for link in received.timeline_links]
		)

		status = frappe.db.get_value("Email Campaign", email_campaign.name, "status")
		say(f"Email Campaign {email_campaign.name}: {status}")
		self.assertEqual(status, "Replied")
		with self.freeze_time(f"{add_days(today(), 2)} 00:30:00"):
			tasks.daily()
		self.assertEqual(frappe.db.count(LEDGER, {"email_campaign": email_campaign.name}), 1)
		say("two days later the daily job sends nothing more: the day-2 email never goes")

	def test_a_bounce_pulled_from_imap_suppresses_the_address(self):
		lead = make_lead(first_name="Gone")
		with SMTPSink() as sink:
			ensure_outgoing_email_account(sink.port)
			self.addCleanup(ensure_outgoing_email_account)
			email_campaign, original = self.send_first_email(sink, lead)
		# the recipient's server accepted it, then bounced it to the sender's mailbox
		self.append_to_mailbox(
			bounce_sample("postfix_hard.eml", lead.email_id, original["Message-Id"], sender=IMAP["user"])
		)
		pull_from_email_account(ACCOUNT)
		frappe.db.rollback()

		row = frappe.db.get_value(
			LEDGER,
			{"email_campaign": email_campaign.name},
			["status", "bounce", "bounce_status"],
			as_dict=True,
		)
		say(f"ledger row: {row}")
		self.assertEqual((row.status, row.bounce, row.bounce_status), ("Bounced", "Hard", "5.1.1"))
		self.assertEqual(
			frappe.db.get_value("Email Campaign Suppression", lead.email_id.lower(), "reason"), "Hard Bounce"
		)
		self.assertEqual(
			frappe.db.get_value("Email Campaign", email_campaign.name, "status"), "In Progress"
		)  # not a reply
		with self.freeze_time(f"{add_days(today(), 2)} 00:30:00"):
			tasks.daily()
		day2 = frappe.db.get_value(
			LEDGER,
			{"email_campaign": email_campaign.name, "send_after_days": 2},
			["status", "email_queue"],
			as_dict=True,
		)
		self.assertEqual((day2.status, day2.email_queue), ("Skipped", None))
		say("two days later the day-2 email is skipped: the address is suppressed")
