# Copyright (c) 2026, email_campaign_app developers and contributors
# For license information, please see license.txt
"""Who must not be written to: unsubscribes that stick, bounces, complaints and automatic
replies read through Frappe's own inbound path (`InboundMail`, what an Email Account runs on
each message it pulls), and a Campaign that hurts the sender pausing itself."""

from urllib.parse import parse_qs, urlsplit

import frappe
from frappe.email.receive import InboundMail
from frappe.utils import add_days, today

from email_campaign_app import tasks
from email_campaign_app.sending import email_links as links
from email_campaign_app.sending import ledger
from email_campaign_app.sending.suppression import SUPPRESSION, entry_name
from email_campaign_app.tests.helpers import (
	IntegrationTestCase,
	bounce_sample,
	ensure_outgoing_email_account,
	make_campaign,
	make_contact,
	make_email_campaign,
	make_email_group,
	make_lead,
	make_template,
)
from email_campaign_app.tests.http import Client, ensure_user, http

LEDGER = "Email Campaign Send Log"
INBOX = "Email Campaign Test Bounce Inbox"
SALES_USER = "ec-supp-sales-user@example.com"
SALES_MANAGER = "ec-supp-sales-manager@example.com"
HARD_BOUNCES = (
	"postfix_hard.eml",
	"exim_hard.eml",
	"exchange_hard.eml",
	"gmail_hard.eml",
	"qmail_plain_text.eml",
)


def ensure_bounce_inbox():
	"""The mailbox bounces come back to (the senders' own, or the Return-Path's)."""
	if not frappe.db.exists("Email Account", INBOX):
		frappe.get_doc(
			{
				"doctype": "Email Account",
				"email_account_name": INBOX,
				"email_id": "bounces@example.com",
				"enable_incoming": 0,
			}
		).insert(ignore_permissions=True)


def receive(raw: bytes):
	"""What EmailAccount.receive() does with each message it pulls."""
	communication = InboundMail(raw, frappe.get_doc("Email Account", INBOX)).process()
	communication.reload()
	return communication


def rows_of(email_campaign: str, **filters):
	return frappe.get_all(
		LEDGER,
		filters={"email_campaign": email_campaign, **filters},
		fields=[
			"name",
			"recipient_email",
			"send_after_days",
			"status",
			"error",
			"message_id",
			"email_queue",
			"bounce",
			"bounce_status",
			"bounce_reason",
			"bounce_communication",
		],
		order_by="send_after_days asc, recipient_email asc",
	)


def delivered(email_campaign: str):
	"""The day's emails left (Frappe's Email Queue says Sent), and the ledger knows it."""
	queued = [row.email_queue for row in rows_of(email_campaign) if row.email_queue]
	frappe.db.set_value("Email Queue", {"name": ("in", queued), "status": "Not Sent"}, "status", "Sent")
	ledger.sync_ledger_with_email_queue()


def unsubscribe_link(email_campaign: str, email: str) -> dict:
	url = links.unsubscribe_url(email_campaign, email)
	return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


class TestBounces(IntegrationTestCase):
	def setUp(self):
		ensure_outgoing_email_account()
		ensure_bounce_inbox()
		frappe.db.set_single_value(
			"Email Campaign Settings", {"soft_bounce_limit": 3, "soft_bounce_days": 30}
		)
		self.campaign = make_campaign([(make_template(subject="Welcome").name, 0), (make_template().name, 1)])

	def first_email(self, lead=None):
		lead = lead or make_lead()
		email_campaign = make_email_campaign(self.campaign.name, lead.name)
		tasks.daily()
		delivered(email_campaign.name)
		[row] = rows_of(email_campaign.name)
		return lead, email_campaign, row

	def test_a_hard_bounce_of_each_server_suppresses_the_address_for_every_campaign(self):
		for sample in HARD_BOUNCES:
			with self.subTest(sample):
				lead, email_campaign, row = self.first_email()
				dsn = receive(bounce_sample(sample, lead.email_id, row.message_id))

				[bounced] = rows_of(email_campaign.name)
				self.assertEqual(
					(bounced.status, bounced.bounce, bounced.bounce_communication),
					("Bounced", "Hard", dsn.name),
				)
				self.assertTrue(bounced.bounce_status.startswith("5"), bounced.bounce_status)
				self.assertTrue(bounced.bounce_reason)
				entry = frappe.get_doc(SUPPRESSION, entry_name(lead.email_id))
				self.assertEqual(
					(entry.reason, entry.communication, entry.email_campaign),
					("Hard Bounce", dsn.name, email_campaign.name),
				)
				self.assertIn(
					("Email Campaign", email_campaign.name),
					[(l.link_doctype, l.link_name) for l in dsn.timeline_links],
				)
				# a bounce is never a reply, even one Frappe threads to the email (Gmail's)
				self.assertEqual(
					frappe.db.get_value("Email Campaign", email_campaign.name, "status"), "In Progress"
				)
				self.assertTrue(
					frappe.db.exists(
						"Comment",
						{
							"reference_doctype": "Lead",
							"reference_name": lead.name,
							"content": ("like", "%bounced%"),
						},
					)
				)

				with self.freeze_time(f"{add_days(today(), 1)} 00:30:00"):
					tasks.daily()
				day1 = rows_of(email_campaign.name, send_after_days=1)[0]
				self.assertEqual(day1.status, "Skipped")
				self.assertIn("suppression list", day1.error)
				self.assertFalse(day1.email_queue)
				with self.assertRaisesRegex(frappe.ValidationError, "suppression list"):
					make_email_campaign(make_campaign().name, lead.name)

	def test_an_email_group_member_who_bounced_is_skipped_and_the_others_receive(self):
		lead, _email_campaign, row = self.first_email()
		receive(bounce_sample("postfix_hard.eml", lead.email_id, row.message_id))
		group = make_email_group([lead.email_id, "still.here@example.com"])
		group_campaign = make_email_campaign(
			make_campaign().name, group.name, email_campaign_for="Email Group"
		)
		tasks.daily()
		statuses = {r.recipient_email: (r.status, bool(r.email_queue)) for r in rows_of(group_campaign.name)}
		self.assertEqual(
			statuses, {lead.email_id: ("Skipped", False), "still.here@example.com": ("Queued", True)}
		)

	def test_a_soft_bounce_alone_does_not_suppress_three_within_the_window_do(self):
		lead = make_lead()
		for attempt in range(3):
			_lead, email_campaign, row = self.first_email(lead) if attempt == 0 else self.another_email(lead)
			receive(bounce_sample("postfix_soft.eml", lead.email_id, row.message_id))
			[bounced] = rows_of(email_campaign.name)
			self.assertEqual(
				(bounced.status, bounced.bounce, bounced.bounce_status), ("Bounced", "Soft", "4.2.2")
			)
			self.assertEqual(
				bool(frappe.db.exists(SUPPRESSION, entry_name(lead.email_id))), attempt == 2, attempt
			)
		self.assertEqual(
			frappe.db.get_value(SUPPRESSION, entry_name(lead.email_id), "reason"), "Soft Bounces"
		)

	def another_email(self, lead):
		campaign = make_campaign([(make_template().name, 0)])
		email_campaign = make_email_campaign(campaign.name, lead.name)
		tasks.daily()
		delivered(email_campaign.name)
		return lead, email_campaign, rows_of(email_campaign.name)[0]

	def test_a_delay_warning_changes_nothing(self):
		lead, email_campaign, row = self.first_email()
		receive(bounce_sample("postfix_delayed.eml", lead.email_id, row.message_id))
		self.assertEqual(rows_of(email_campaign.name)[0].status, "Sent")
		self.assertFalse(frappe.db.exists(SUPPRESSION, entry_name(lead.email_id)))

	def test_a_complaint_suppresses_and_unsubscribes_the_lead_and_contact(self):
		lead, email_campaign, row = self.first_email()
		contact = make_contact(email=lead.email_id)
		receive(bounce_sample("arf_complaint.eml", lead.email_id, row.message_id))
		[complained] = rows_of(email_campaign.name)
		self.assertEqual((complained.status, complained.bounce), ("Sent", "Complaint"))
		self.assertEqual(frappe.db.get_value(SUPPRESSION, entry_name(lead.email_id), "reason"), "Complaint")
		self.assertEqual(frappe.db.get_value("Lead", lead.name, "unsubscribed"), 1)
		self.assertEqual(frappe.db.get_value("Contact", contact.name, "unsubscribed"), 1)

	def test_an_out_of_office_is_neither_a_reply_nor_a_bounce(self):
		for sample in ("out_of_office.eml", "out_of_office_subject_only.eml"):
			with self.subTest(sample):
				lead, email_campaign, row = self.first_email()
				reply = receive(
					bounce_sample(sample, lead.email_id, row.message_id, sender="admin@example.com")
				)
				self.assertEqual(reply.reference_name, email_campaign.name)  # Frappe threaded it
				[sent] = rows_of(email_campaign.name)
				self.assertEqual((sent.status, sent.bounce), ("Sent", None))
				self.assertFalse(frappe.db.get_value(LEDGER, sent.name, "replied_on"))
				self.assertEqual(
					frappe.db.get_value("Email Campaign", email_campaign.name, "status"), "In Progress"
				)
				self.assertFalse(frappe.db.exists(SUPPRESSION, entry_name(lead.email_id)))

	def test_a_bounce_that_matches_nothing_is_left_alone_and_the_message_kept(self):
		dsn = receive(
			bounce_sample("postfix_hard.eml", "nobody-we-wrote-to@example.org", "unknown@elsewhere.example")
		)
		self.assertTrue(frappe.db.exists("Communication", dsn.name))
		self.assertFalse(frappe.db.exists(SUPPRESSION, entry_name("nobody-we-wrote-to@example.org")))

	def test_the_same_report_pulled_twice_is_recorded_once(self):
		lead, email_campaign, row = self.first_email()
		raw = bounce_sample("postfix_hard.eml", lead.email_id, row.message_id)
		first = receive(raw)
		second = receive(raw)  # Frappe finds the Message-ID it already has
		self.assertEqual(first.name, second.name)
		self.assertEqual(rows_of(email_campaign.name)[0].bounce_communication, first.name)
		self.assertEqual(frappe.db.count(SUPPRESSION, {"email": lead.email_id.lower()}), 1)


class TestSenderHealth(IntegrationTestCase):
	"""A Campaign whose recent emails hard-bounce at the threshold pauses itself, not below it."""

	def setUp(self):
		ensure_outgoing_email_account()
		ensure_bounce_inbox()
		self.manager = ensure_user(SALES_MANAGER, ("Sales Manager",))
		frappe.db.set_single_value(
			"Email Campaign Settings",
			{
				"pause_hard_bounce_rate": 5,
				"pause_complaint_rate": 0.3,
				"health_days": 7,
				"health_min_sends": 20,
			},
		)

	def test_the_auto_pause_fires_at_the_threshold_and_not_below(self):
		members = [f"member{i}.{frappe.generate_hash(length=6)}@example.com" for i in range(40)]
		campaign = make_campaign([(make_template().name, 0), (make_template().name, 3)])
		owner = ensure_user(SALES_USER, ("Sales User",))
		frappe.db.set_value("Campaign", campaign.name, "owner", owner)  # who designed it is told too
		email_campaign = make_email_campaign(
			campaign.name, make_email_group(members).name, email_campaign_for="Email Group"
		)
		tasks.daily()
		delivered(email_campaign.name)
		rows = {row.recipient_email: row for row in rows_of(email_campaign.name)}

		receive(bounce_sample("postfix_hard.eml", members[0], rows[members[0]].message_id))  # 1 of 40: 2.5 %
		self.assertEqual(frappe.db.get_value("Email Campaign", email_campaign.name, "status"), "In Progress")
		receive(bounce_sample("exim_hard.eml", members[1], rows[members[1]].message_id))  # 2 of 40: 5 %
		self.assertEqual(frappe.db.get_value("Email Campaign", email_campaign.name, "status"), "Paused")

		why = frappe.get_all(
			"Comment",
			filters={"reference_doctype": "Campaign", "reference_name": campaign.name},
			pluck="content",
		)
		self.assertTrue(
			any("2 of the 40 emails" in text and "hard-bounced (5.0 %)" in text for text in why), why
		)
		told = frappe.get_all(
			"Notification Log",
			filters={"document_type": "Campaign", "document_name": campaign.name},
			pluck="for_user",
		)
		self.assertIn(self.manager, told)
		self.assertIn(owner, told)


class TestUnsubscribesStick(IntegrationTestCase):
	def setUp(self):
		ensure_outgoing_email_account()
		self.sales_user = ensure_user(SALES_USER, ("Sales User",))
		self.manager = ensure_user(SALES_MANAGER, ("Sales Manager",))
		self.campaign = make_campaign()

	def unsubscribe(self, email_campaign, email, **extra):
		return http(
			"POST",
			"/api/method/email_campaign_app.api.unsubscribe",
			user=None,
			data={**unsubscribe_link(email_campaign, email), **extra},
		)

	def test_an_unsubscribe_from_a_campaign_sticks_whatever_re_enrolment_is_tried(self):
		lead = make_lead()
		email_campaign = make_email_campaign(self.campaign.name, lead.name)
		self.assertEqual(self.unsubscribe(email_campaign.name, lead.email_id).status_code, 200)
		self.assertEqual(
			frappe.db.get_value(SUPPRESSION, entry_name(lead.email_id, self.campaign.name), "reason"),
			"Unsubscribed",
		)
		frappe.db.set_value(
			"Email Campaign", email_campaign.name, "status", "Completed"
		)  # not running: not a duplicate

		client = Client(self.sales_user)
		values = {
			"campaign_name": self.campaign.name,
			"email_campaign_for": "Lead",
			"recipient": lead.name,
			"sender": self.sales_user,
			"start_date": today(),
		}
		refused = client.post("/api/resource/Email Campaign", json=values)
		self.assertEqual(refused.status_code, 417)
		self.assertIn("unsubscribed from Campaign", refused.get_data(as_text=True))
		bulk = client.method(
			"enrolment.add_to_email_campaign",
			doctype="Lead",
			names=[lead.name],
			campaign_name=self.campaign.name,
			start_date=today(),
		)
		self.assertEqual(bulk.get_json()["message"]["summary"]["skipped"]["suppressed"], [lead.name])
		self.assertEqual(frappe.db.count("Email Campaign", {"recipient": lead.name}), 1)

		# the same Campaign sent to a group the address is in: that member is skipped
		group = make_email_group([lead.email_id, "other.member@example.com"])
		group_campaign = make_email_campaign(self.campaign.name, group.name, email_campaign_for="Email Group")
		tasks.daily()
		statuses = {r.recipient_email: r.status for r in rows_of(group_campaign.name)}
		self.assertEqual(statuses, {lead.email_id: "Skipped", "other.member@example.com": "Queued"})
		# another Campaign may still write to them
		make_email_campaign(make_campaign().name, lead.name)

	def test_unsubscribing_from_every_campaign_suppresses_the_address_and_the_people(self):
		lead = make_lead()
		contact = make_contact(email=lead.email_id)
		email_campaign = make_email_campaign(self.campaign.name, lead.name)
		page = http(
			"GET",
			"/api/method/email_campaign_app.api.unsubscribe",
			user=None,
			query_string=unsubscribe_link(email_campaign.name, lead.email_id),
		)
		self.assertIn('name="scope" value="all"', page.get_data(as_text=True))
		done = self.unsubscribe(email_campaign.name, lead.email_id, scope="all")
		self.assertIn("any more campaign emails from us", done.get_data(as_text=True))
		self.assertEqual(
			frappe.db.get_value(SUPPRESSION, entry_name(lead.email_id), "reason"), "Unsubscribed"
		)
		self.assertEqual(frappe.db.get_value("Lead", lead.name, "unsubscribed"), 1)
		self.assertEqual(frappe.db.get_value("Contact", contact.name, "unsubscribed"), 1)
		self.assertTrue(
			frappe.db.exists(
				"Email Unsubscribe", {"reference_name": email_campaign.name, "email": lead.email_id}
			)
		)

	def test_a_sales_manager_adds_and_lifts_an_address_by_hand_and_a_sales_user_may_not(self):
		lead = make_lead()
		make_email_campaign(self.campaign.name, lead.name, send_at="23:30")
		with self.freeze_time(f"{today()} 23:30:05"):  # written at Send At, waiting for delivery
			tasks.daily()
		[waiting] = frappe.get_all(
			LEDGER, filters={"recipient_email": lead.email_id}, fields=["name", "email_queue"]
		)
		self.assertEqual(frappe.db.get_value("Email Queue", waiting.email_queue, "status"), "Not Sent")

		entry = {"email": lead.email_id.upper(), "reason": "Added by Hand", "evidence": "Asked by phone"}
		self.assertEqual(
			Client(self.sales_user).post(f"/api/resource/{SUPPRESSION}", json=entry).status_code, 403
		)
		added = Client(self.manager).post(f"/api/resource/{SUPPRESSION}", json=entry)
		self.assertEqual(added.status_code, 200, added.get_data(as_text=True)[:300])
		self.assertEqual(added.get_json()["data"]["name"], lead.email_id.lower())
		self.assertEqual(frappe.db.get_value("Email Queue", waiting.email_queue, "status"), "Cancelled")
		self.assertEqual(frappe.db.get_value(LEDGER, waiting.name, "status"), "Skipped")
		with self.assertRaisesRegex(frappe.ValidationError, "suppression list"):
			make_email_campaign(make_campaign().name, lead.name)

		self.assertEqual(
			Client(self.manager).delete(f"/api/resource/{SUPPRESSION}/{lead.email_id.lower()}").status_code,
			202,
		)
		make_email_campaign(make_campaign().name, lead.name)  # lifted

	def test_the_sites_own_mail_is_never_blocked(self):
		lead = make_lead()
		frappe.get_doc({"doctype": SUPPRESSION, "email": lead.email_id, "reason": "Hard Bounce"}).insert(
			ignore_permissions=True
		)
		frappe.sendmail(
			recipients=[lead.email_id], subject="Your password", message="Reset it here.", now=False
		)
		queued = frappe.get_all("Email Queue Recipient", filters={"recipient": lead.email_id}, pluck="parent")
		self.assertTrue(queued)
