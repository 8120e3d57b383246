# Copyright (c) 2026, email_campaign_app developers and contributors
# For license information, please see license.txt
"""Stop on reply, through Frappe's own inbound path: raw messages go through `InboundMail`, the
code an Email Account runs on each message it pulls, which makes the received Communication."""

from email.utils import format_datetime as rfc2822_date
from unittest.mock import patch

import frappe
from frappe.email.receive import InboundMail
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_days, now_datetime, today

from email_campaign_app import tasks
from email_campaign_app.api import email_campaign as api
from email_campaign_app.email_campaign_app.report.email_campaign_performance.email_campaign_performance import (
	execute as performance_report,
)
from email_campaign_app.engagement import replies
from email_campaign_app.tests.helpers import (
	ensure_outgoing_email_account,
	make_campaign,
	make_contact,
	make_email_campaign,
	make_email_group,
	make_lead,
	make_template,
)

LEDGER = "Email Campaign Send Log"
INBOX = "Email Campaign Test Inbox"
OTHER_INBOX = "Email Campaign Test Shared Inbox"


def ensure_incoming_email_account(name=INBOX, email_id="admin@example.com"):
	"""An Email Account whose mailbox is `email_id` (the campaigns' sender, Administrator)."""
	if not frappe.db.exists("Email Account", name):
		frappe.get_doc(
			{
				"doctype": "Email Account",
				"email_account_name": name,
				"email_id": email_id,
				"enable_incoming": 0,
			}
		).insert(ignore_permissions=True)
	return frappe.get_doc("Email Account", name)


def ledger_rows(email_campaign, **filters):
	return frappe.get_all(
		LEDGER,
		filters={"email_campaign": email_campaign, **filters},
		fields=[
			"name",
			"recipient_email",
			"send_after_days",
			"email_template",
			"status",
			"email_queue",
			"communication",
			"replied_on",
			"reply_communication",
			"error",
		],
		order_by="send_after_days asc, recipient_email asc",
	)


def mark_sent(email_campaign):
	queued = [row.email_queue for row in ledger_rows(email_campaign) if row.email_queue]
	frappe.db.set_value("Email Queue", {"name": ("in", queued), "status": "Not Sent"}, "status", "Sent")


def raw_reply(
	sender, to="admin@example.com", in_reply_to=None, subject="Re: Hello", body="Yes, call me tomorrow."
):
	"""A reply as a mail client writes it: threading headers name the email it answers."""
	headers = [
		f"From: {sender}",
		f"To: {to}",
		f"Subject: {subject}",
		f"Message-ID: <{frappe.generate_hash(length=16)}@mail.example.net>",
		f"Date: {rfc2822_date(now_datetime().astimezone())}",
		"MIME-Version: 1.0",
		"Content-Type: text/plain; charset=utf-8",
	]
	if in_reply_to:
		headers += [f"In-Reply-To: <{in_reply_to}>", f"References: <{in_reply_to}>"]
	return ("\r\n".join(headers) + "\r\n\r\n" + body + "\r\n").encode()


def receive(raw, account=INBOX):
	"""What EmailAccount.receive() does with each message it pulls: InboundMail(...).process()."""
	communication = InboundMail(raw, frappe.get_doc("Email Account", account)).process()
	communication.reload()
	return communication


def message_id_of(email_queue):
	return frappe.db.get_value("Email Queue", email_queue, "message_id")


def status_of(email_campaign):
	return frappe.db.get_value("Email Campaign", email_campaign, "status")


class TestStopOnReply(FrappeTestCase):
	def setUp(self):
		ensure_outgoing_email_account()
		ensure_incoming_email_account()
		ensure_incoming_email_account(OTHER_INBOX, "sales-team@example.com")
		self.first, self.later = make_template(), make_template()
		self.campaign = make_campaign([(self.first.name, 0), (self.later.name, 3)])

	def start(self, recipient, email_campaign_for="Lead", campaign=None):
		email_campaign = make_email_campaign((campaign or self.campaign).name, recipient, email_campaign_for)
		tasks.daily()
		mark_sent(email_campaign.name)
		return email_campaign

	def days_later(self, days):
		with self.freeze_time(f"{add_days(today(), days)} 00:30:00"):
			tasks.daily()

	def test_a_lead_who_replies_gets_no_next_step(self):
		lead = make_lead(first_name="Ada")
		email_campaign = self.start(lead.name)
		[sent] = ledger_rows(email_campaign.name)

		reply = receive(
			raw_reply(f"Ada Lovelace <{lead.email_id}>", in_reply_to=message_id_of(sent.email_queue))
		)

		self.assertEqual(
			(reply.reference_doctype, reply.reference_name), ("Email Campaign", email_campaign.name)
		)
		self.assertEqual(reply.in_reply_to, sent.communication)
		self.assertIn(
			("Lead", lead.name), [(link.link_doctype, link.link_name) for link in reply.timeline_links]
		)
		self.assertEqual(status_of(email_campaign.name), "Replied")
		[row] = ledger_rows(email_campaign.name)
		self.assertEqual(row.reply_communication, reply.name)
		self.assertTrue(row.replied_on)
		self.assertTrue(
			frappe.db.exists(
				"Comment", {"reference_name": email_campaign.name, "content": ("like", "%replied on%stops%")}
			)
		)

		self.days_later(3)
		self.assertEqual(len(ledger_rows(email_campaign.name)), 1)
		self.assertEqual(status_of(email_campaign.name), "Replied")  # the daily status update keeps it

	def test_the_emails_still_waiting_in_the_queue_are_cancelled(self):
		campaign = make_campaign([(self.first.name, 0), (self.later.name, 0)])
		lead = make_lead()
		email_campaign = make_email_campaign(campaign.name, lead.name)
		tasks.daily()
		first, waiting = ledger_rows(email_campaign.name)
		frappe.db.set_value("Email Queue", first.email_queue, "status", "Sent")

		receive(raw_reply(lead.email_id, in_reply_to=message_id_of(first.email_queue)))

		self.assertEqual(frappe.db.get_value("Email Queue", waiting.email_queue, "status"), "Cancelled")
		skipped = frappe.db.get_value(LEDGER, waiting.name, ["status", "error"], as_dict=True)
		self.assertEqual((skipped.status, skipped.error), ("Skipped", "Cancelled: the recipient replied."))

	def test_a_contact_who_writes_to_the_senders_mailbox_stops_without_threading(self):
		contact = make_contact()
		email_campaign = self.start(contact.name, "Contact")

		reply = receive(raw_reply(contact.email_id, subject="About your offer"))

		self.assertFalse(reply.in_reply_to)
		self.assertEqual(status_of(email_campaign.name), "Replied")
		links = [(link.link_doctype, link.link_name) for link in reply.timeline_links]
		self.assertIn(("Email Campaign", email_campaign.name), links)
		self.assertIn(("Contact", contact.name), links)
		self.days_later(3)
		self.assertEqual(len(ledger_rows(email_campaign.name)), 1)

	def test_a_message_to_another_mailbox_or_before_any_email_left_stops_nothing(self):
		lead = make_lead()
		email_campaign = self.start(lead.name)
		receive(raw_reply(lead.email_id, to="sales-team@example.com"), account=OTHER_INBOX)
		self.assertEqual(status_of(email_campaign.name), "In Progress")

		waiting = make_email_campaign(make_campaign().name, make_lead().name)
		tasks.daily()  # queued, not sent yet
		receive(raw_reply(frappe.db.get_value("Lead", waiting.recipient, "email_id"), subject="Hello?"))
		self.assertEqual(status_of(waiting.name), "In Progress")

	def test_one_group_member_who_replies_stops_alone(self):
		replying, others = "replying@example.com", ["one@example.com", "two@example.com"]
		group = make_email_group([replying, *others])
		email_campaign = self.start(group.name, "Email Group")
		sent = {row.recipient_email: row for row in ledger_rows(email_campaign.name)}

		receive(raw_reply(replying, in_reply_to=message_id_of(sent[replying].email_queue)))

		self.assertEqual(status_of(email_campaign.name), "In Progress")
		self.assertFalse(
			frappe.db.get_value(
				"Email Group Member", {"email_group": group.name, "email": replying}, "unsubscribed"
			)
		)
		self.days_later(3)
		day3 = [row.recipient_email for row in ledger_rows(email_campaign.name, send_after_days=3)]
		self.assertEqual(sorted(day3), sorted(others))

	def test_a_reply_to_another_campaigns_email_stops_only_that_one(self):
		lead = make_lead()
		running = self.start(lead.name)
		other = self.start(
			lead.name, campaign=make_campaign([(make_template().name, 0), (make_template().name, 3)])
		)
		[other_email] = ledger_rows(other.name)

		receive(raw_reply(lead.email_id, in_reply_to=message_id_of(other_email.email_queue)))

		self.assertEqual((status_of(other.name), status_of(running.name)), ("Replied", "In Progress"))
		self.days_later(3)
		self.assertEqual([row.send_after_days for row in ledger_rows(running.name)], [0, 3])
		self.assertEqual(len(ledger_rows(other.name)), 1)

	def test_without_stop_on_reply_the_reply_is_counted_and_the_sequence_goes_on(self):
		self.campaign.stop_on_reply = 0
		self.campaign.save()
		lead = make_lead()
		email_campaign = self.start(lead.name)
		[sent] = ledger_rows(email_campaign.name)

		receive(raw_reply(lead.email_id, in_reply_to=message_id_of(sent.email_queue)))

		self.assertEqual(status_of(email_campaign.name), "In Progress")
		day0, day3 = api.get_schedule_view(email_campaign.name)
		self.assertEqual((day0["replied"], day3["replied"]), (1, 0))
		_columns, data, _message, chart = performance_report({"campaign_name": self.campaign.name})
		self.assertEqual([(row.replied, row.reply_rate) for row in data], [(1, 100.0), (0, 0.0)])
		self.assertIn("Reply Rate", [dataset["name"] for dataset in chart["data"]["datasets"]])
		self.days_later(3)
		self.assertEqual([row.send_after_days for row in ledger_rows(email_campaign.name)], [0, 3])

	def test_a_failure_in_the_reply_handling_never_loses_the_incoming_email(self):
		lead = make_lead()
		email_campaign = self.start(lead.name)
		with patch.object(replies, "find_replies", side_effect=RuntimeError("boom")):
			reply = receive(raw_reply(lead.email_id, subject="Still there?"))
		self.assertTrue(frappe.db.exists("Communication", reply.name))
		self.assertTrue(
			frappe.db.exists(
				"Error Log", {"reference_doctype": "Communication", "reference_name": reply.name}
			)
			or frappe.db.exists("Error Log", {"error": ("like", "%boom%")})
		)
		self.assertEqual(status_of(email_campaign.name), "In Progress")
