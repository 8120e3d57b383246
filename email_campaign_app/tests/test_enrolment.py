# Copyright (c) 2026, email_campaign_app developers and contributors
# For license information, please see license.txt
"""Enrolling in bulk from the Lead and Contact lists (Actions > Add to Email Campaign)."""

from unittest.mock import patch

import frappe
from frappe.desk.notifications import get_open_count
from frappe.utils import add_days, today

from email_campaign_app.api import enrolment as api
from email_campaign_app.email_campaign_app.doctype.email_campaign.email_campaign import EmailCampaign
from email_campaign_app.enrolment import bulk as enrolment
from email_campaign_app.tests.helpers import (
	IntegrationTestCase,
	make_campaign,
	make_contact,
	make_email_campaign,
	make_lead,
)
from email_campaign_app.tests.http import ensure_user

SALES_USER = "ec-sales-user@example.com"
SALES_MANAGER = "ec-sales-manager@example.com"


def email_campaigns_of(campaign):
	return frappe.get_all(
		"Email Campaign",
		filters={"campaign_name": campaign},
		fields=["name", "recipient", "email_campaign_for", "sender", "start_date", "send_at", "status"],
	)


class TestBulkEnrolment(IntegrationTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		ensure_user(SALES_USER, ("Sales User",))
		ensure_user(SALES_MANAGER, ("Sales Manager",))

	def setUp(self):
		self.campaign = make_campaign()
		frappe.set_user(SALES_USER)
		self.addCleanup(frappe.set_user, "Administrator")

	def add(self, names, doctype="Lead", **values):
		return api.add_to_email_campaign(
			doctype, names, self.campaign.name, values.pop("start_date", today()), **values
		)

	def test_one_email_campaign_per_lead_and_a_summary_of_what_was_skipped(self):
		leads = [make_lead() for _ in range(3)]
		no_email = make_lead(email="")
		unsubscribed = make_lead(unsubscribed=1)
		running = make_lead()
		make_email_campaign(self.campaign.name, running.name)
		names = [lead.name for lead in (*leads, no_email, unsubscribed, running)] + ["CRM-LEAD-GONE"]

		summary = self.add(names, send_at="10:30")["summary"]

		self.assertEqual(len(summary["created"]), 3)
		self.assertEqual(summary["skipped"]["no_email"], [no_email.name])
		self.assertEqual(summary["skipped"]["unsubscribed"], [unsubscribed.name])
		self.assertEqual(summary["skipped"]["running"], [running.name])
		self.assertEqual(summary["skipped"]["not_permitted"], ["CRM-LEAD-GONE"])
		self.assertEqual(summary["failed"], {})
		created = {
			row.recipient: row
			for row in email_campaigns_of(self.campaign.name)
			if row.name in summary["created"]
		}
		self.assertEqual(set(created), {lead.name for lead in leads})
		for row in created.values():
			self.assertEqual(
				(row.email_campaign_for, row.sender, row.send_at, row.status),
				("Lead", SALES_USER, "10:30", "In Progress"),
			)

		again = self.add(names)["summary"]
		self.assertEqual(again["created"], [])
		self.assertEqual(sorted(again["skipped"]["running"]), sorted([running.name, *created]))

	def test_contacts_too(self):
		contacts = [make_contact(), make_contact(email=False)]
		summary = self.add([c.name for c in contacts], doctype="Contact")["summary"]
		self.assertEqual(len(summary["created"]), 1)
		self.assertEqual(summary["skipped"]["no_email"], [contacts[1].name])
		self.assertEqual(email_campaigns_of(self.campaign.name)[0].email_campaign_for, "Contact")

	def test_what_would_fail_for_every_record_is_refused_once(self):
		lead = make_lead()
		with self.assertRaisesRegex(frappe.PermissionError, "only send as yourself"):
			self.add([lead.name], sender=SALES_MANAGER)
		with self.assertRaisesRegex(frappe.ValidationError, "is in the past"):
			self.add([lead.name], start_date=add_days(today(), -1))
		with self.assertRaisesRegex(frappe.ValidationError, "Only Leads(,| and) Contacts"):
			self.add([lead.name], doctype="User")
		self.assertEqual(email_campaigns_of(self.campaign.name), [])

		frappe.set_user(SALES_MANAGER)  # a manager may choose the sender
		summary = self.add([lead.name], sender=SALES_USER)["summary"]
		self.assertEqual(email_campaigns_of(self.campaign.name)[0].sender, SALES_USER)
		self.assertEqual(len(summary["created"]), 1)

	def test_one_record_that_fails_is_reported_and_the_others_go_on(self):
		good, bad = make_lead(), make_lead()
		real_validate = EmailCampaign.validate_recipient

		def validate_recipient(doc):
			if doc.recipient == bad.name:
				frappe.throw("This Lead is broken")
			real_validate(doc)

		with patch.object(EmailCampaign, "validate_recipient", validate_recipient):
			summary = self.add([bad.name, good.name])["summary"]
		self.assertEqual(summary["failed"], {bad.name: "This Lead is broken"})
		self.assertEqual([row.recipient for row in email_campaigns_of(self.campaign.name)], [good.name])
		self.assertFalse(any("broken" in str(m) for m in frappe.local.message_log))

	def test_more_than_fifty_run_in_a_background_job_with_progress(self):
		frappe.set_user("Administrator")
		leads = [make_lead().name for _ in range(enrolment.BACKGROUND_THRESHOLD + 10)]
		frappe.set_user(SALES_USER)
		progress, events = [], []
		with (
			patch("frappe.publish_progress", lambda percent, **kw: progress.append(percent)),
			patch(
				"frappe.publish_realtime",
				lambda event, message=None, **kw: events.append((event, message, kw)),
			),
			patch.object(frappe.db, "commit"),  # the job commits as it goes; the test rolls back
		):
			answer = self.add(leads)
		self.assertEqual(answer, {"queued": len(leads)})
		self.assertEqual(len(email_campaigns_of(self.campaign.name)), len(leads))
		self.assertEqual(progress[-1], 100)
		self.assertEqual(len(progress), 3)  # 25, 50, 60 of 60
		[(summary, kw)] = [(message, kw) for event, message, kw in events if event == enrolment.DONE_EVENT]
		self.assertEqual(kw["user"], SALES_USER)
		self.assertEqual(len(summary["created"]), len(leads))


class TestDashboards(IntegrationTestCase):
	def test_lead_and_contact_forms_count_their_email_campaigns(self):
		campaign = make_campaign()
		lead, contact = make_lead(), make_contact()
		make_email_campaign(campaign.name, lead.name)
		make_email_campaign(campaign.name, contact.name, "Contact")
		for doctype, name in (("Lead", lead.name), ("Contact", contact.name)):
			counts = get_open_count(doctype, name)["count"]["external_links_found"]
			[email_campaigns] = [c for c in counts if c["doctype"] == "Email Campaign"]
			self.assertEqual(email_campaigns["count"], 1, doctype)
