# Copyright (c) 2026, email_campaign_app developers and contributors
# For license information, please see license.txt
"""Beside Frappe CRM (the crm app): a CRM Lead as a recipient, through the same paths as a Lead
(a real email to an SMTP server, the unsubscribe link, a reply that Frappe CRM threads to the
lead, an enrolment rule on its status, bulk enrolment as a Sales User), the lead's history in
Frappe CRM's own activities API, and the CRM Form Scripts the app installs.

On a site without Frappe CRM these tests are SKIPPED (never passed), and `TestWithoutFrappeCRM`
runs instead: the CRM Lead option refuses politely there. `.ci/run` runs this module on a site
of its own with Frappe CRM installed, on every bench that has the crm app."""

import json
import unittest

import frappe
from frappe.core.doctype.communication.email import make as frappe_crm_send
from frappe.email.receive import InboundMail
from frappe.utils import add_days, today

from email_campaign_app import tasks
from email_campaign_app.api import crm as crm_api
from email_campaign_app.api import enrolment as enrolment_api
from email_campaign_app.email_campaign_app.doctype.email_campaign.test_replies import (
	INBOX,
	ensure_incoming_email_account,
	mark_sent,
	raw_reply,
)
from email_campaign_app.email_campaign_app.doctype.email_campaign.test_unsubscribe import (
	link_params,
	request,
)
from email_campaign_app.integrations import frappe_crm
from email_campaign_app.tests.helpers import (
	IntegrationTestCase,
	ensure_outgoing_email_account,
	make_campaign,
	make_email_campaign,
	make_template,
	run_worker,
	unique,
)
from email_campaign_app.tests.http import ensure_user
from email_campaign_app.tests.smtp_sink import SMTPSink

LEDGER = "Email Campaign Send Log"
CRM_LEAD = "CRM Lead"
SALES_USER = "crm-sales-user@example.com"
OTHER_SALES_USER = "crm-other-sales-user@example.com"
NO_CRM = "Frappe CRM is not installed on this site: bench --site SITE install-app crm"


def has_crm() -> bool:
	return "crm" in frappe.get_installed_apps()


def make_crm_lead(email=None, first_name="Ada", **extra):
	return frappe.get_doc(
		{
			"doctype": CRM_LEAD,
			"first_name": first_name,
			"last_name": "Lovelace",
			"email": email if email is not None else f"{frappe.generate_hash(length=10)}@example.com",
			"status": "New",
			**extra,
		}
	).insert(ignore_permissions=True)


def ledger_rows(email_campaign):
	return frappe.get_all(
		LEDGER,
		filters={"email_campaign": email_campaign},
		fields=["name", "status", "recipient_email", "recipient_doctype", "email_queue", "communication"],
		order_by="send_after_days asc",
	)


class FrappeCRMTestCase(IntegrationTestCase):
	def setUp(self):
		if not has_crm():
			self.skipTest(NO_CRM)
		ensure_outgoing_email_account()
		self.first, self.later = (
			make_template(subject="Hello {{ doc.first_name }} of {{ doc.organization }}"),
			make_template(),
		)
		self.campaign = make_campaign([(self.first.name, 0), (self.later.name, 3)])


class TestCRMLeadSending(FrappeCRMTestCase):
	def test_a_crm_lead_receives_its_email_rendered_with_its_own_fields(self):
		sink = SMTPSink().start()
		self.addCleanup(sink.stop)
		ensure_outgoing_email_account(sink.port)
		self.addCleanup(ensure_outgoing_email_account)
		lead = make_crm_lead(first_name="Ada", organization="Analytical Engines")
		email_campaign = make_email_campaign(self.campaign.name, lead.name, CRM_LEAD)
		self.assertEqual(email_campaign.recipient_name, lead.lead_name)

		tasks.daily()
		[row] = ledger_rows(email_campaign.name)
		self.assertEqual((row.recipient_email, row.recipient_doctype), (lead.email, CRM_LEAD))
		frappe.enqueue(
			"email_campaign_app.sending.batch.send_batch",
			queue="long",
			sends=[],
			email_queues=[row.email_queue],
		)
		run_worker("long")

		[message] = [m for m in sink.messages if lead.email in m.recipients]
		self.assertIn(b"Hello Ada of Analytical Engines", message.data)
		self.assertIn(b"List-Unsubscribe:", message.data)
		self.assertEqual(frappe.db.get_value("Email Queue", row.email_queue, "status"), "Sent")

	def test_the_email_is_in_the_leads_history_in_frappe_crm(self):
		from crm.api.activities import get_activities

		lead = make_crm_lead(first_name="Grace")
		email_campaign = make_email_campaign(self.campaign.name, lead.name, CRM_LEAD)
		tasks.daily()
		[row] = ledger_rows(email_campaign.name)
		communication = frappe.get_doc("Communication", row.communication)
		# the app's link stays (its timeline, the reply threading); the lead's is a timeline link
		self.assertEqual(
			(communication.reference_doctype, communication.reference_name),
			("Email Campaign", email_campaign.name),
		)
		activities, *_ = get_activities(lead.name)
		emails = [a for a in activities if a["activity_type"] == "communication"]
		self.assertEqual(len(emails), 1)
		self.assertTrue(emails[0]["data"]["subject"].startswith("Hello Grace of"))
		self.assertEqual(emails[0]["data"]["recipients"], lead.email)

	def test_a_crm_lead_without_an_email_address_is_refused_with_a_reason(self):
		lead = make_crm_lead(email="")
		with self.assertRaisesRegex(frappe.ValidationError, "has no email address"):
			make_email_campaign(self.campaign.name, lead.name, CRM_LEAD)

	def test_the_lead_says_which_campaigns_it_is_in(self):
		lead = make_crm_lead()
		email_campaign = make_email_campaign(self.campaign.name, lead.name, CRM_LEAD)
		tasks.daily()
		[row] = crm_api.email_campaigns_of(CRM_LEAD, lead.name)
		self.assertEqual(
			(row["name"], row["campaign_name"], row["status"], row["sent"]),
			(email_campaign.name, self.campaign.name, "In Progress", 1),
		)


class TestCRMLeadUnsubscribe(FrappeCRMTestCase):
	def test_the_unsubscribe_link_stops_the_crm_leads_email_campaign(self):
		lead = make_crm_lead()
		email_campaign = make_email_campaign(self.campaign.name, lead.name, CRM_LEAD)
		tasks.daily()

		response = request(
			"POST", link_params(email_campaign.name, lead.email), {"List-Unsubscribe": "One-Click"}
		)

		self.assertEqual(response.status_code, 200)
		self.assertEqual(frappe.db.get_value("Email Campaign", email_campaign.name, "status"), "Unsubscribed")
		[row] = ledger_rows(email_campaign.name)
		self.assertEqual(row.status, "Skipped")
		with self.freeze_time(f"{add_days(today(), 3)} 08:00:00"):
			tasks.daily()
		self.assertEqual(len(ledger_rows(email_campaign.name)), 1)
		# the Campaign never writes to the address again, whatever lead it is enrolled as
		with self.assertRaisesRegex(frappe.ValidationError, "unsubscribed from Campaign"):
			make_email_campaign(self.campaign.name, make_crm_lead(email=lead.email).name, CRM_LEAD)


class TestCRMLeadReply(FrappeCRMTestCase):
	def test_a_reply_frappe_crm_threads_to_the_lead_stops_the_sequence(self):
		ensure_incoming_email_account()
		lead = make_crm_lead()
		email_campaign = make_email_campaign(self.campaign.name, lead.name, CRM_LEAD)
		tasks.daily()
		mark_sent(email_campaign.name)
		# a CRM user writes to the lead from /crm: Frappe CRM's own email path
		sent = frappe_crm_send(
			doctype=CRM_LEAD,
			name=lead.name,
			recipients=lead.email,
			subject="Our call",
			content="<p>When can we talk?</p>",
			send_email=1,
		)["name"]
		message_id = frappe.db.get_value("Communication", sent, "message_id")

		reply = InboundMail(
			raw_reply(lead.email, in_reply_to=message_id, subject="Re: Our call"),
			frappe.get_doc("Email Account", INBOX),
		).process()

		self.assertEqual((reply.reference_doctype, reply.reference_name), (CRM_LEAD, lead.name))
		self.assertIn(
			("Email Campaign", email_campaign.name),
			[(link.link_doctype, link.link_name) for link in reply.timeline_links],
		)
		self.assertEqual(frappe.db.get_value("Email Campaign", email_campaign.name, "status"), "Replied")
		with self.freeze_time(f"{add_days(today(), 3)} 08:00:00"):
			tasks.daily()
		self.assertEqual(len(ledger_rows(email_campaign.name)), 1)

	def test_a_reply_from_another_address_in_the_leads_thread_stops_nothing(self):
		ensure_incoming_email_account()
		lead = make_crm_lead()
		email_campaign = make_email_campaign(self.campaign.name, lead.name, CRM_LEAD)
		tasks.daily()
		mark_sent(email_campaign.name)
		reply = InboundMail(
			raw_reply("someone-else@example.net"), frappe.get_doc("Email Account", INBOX)
		).process()
		reply.reference_doctype, reply.reference_name = CRM_LEAD, lead.name
		from email_campaign_app.engagement import replies

		self.assertEqual(replies.find_replies(reply), [])
		self.assertEqual(frappe.db.get_value("Email Campaign", email_campaign.name, "status"), "In Progress")


class TestCRMLeadEnrolmentRule(FrappeCRMTestCase):
	def test_a_lead_whose_status_becomes_contacted_enrols_itself(self):
		self.campaign.append(
			"enrolment_rules",
			{
				"document_type": CRM_LEAD,
				"filters_json": json.dumps([[CRM_LEAD, "status", "=", "Contacted"]]),
				"sender": "Administrator",
				"start_after_days": 1,
				"enabled": 1,
			},
		)
		self.campaign.save(ignore_permissions=True)
		lead = make_crm_lead()
		enrolled = {
			"email_campaign_for": CRM_LEAD,
			"recipient": lead.name,
			"campaign_name": self.campaign.name,
		}
		self.assertFalse(frappe.db.exists("Email Campaign", enrolled))

		lead.reload()
		lead.status = "Contacted"
		lead.save(ignore_permissions=True)

		self.assertEqual(
			frappe.db.get_value("Email Campaign", enrolled, "start_date").isoformat(), add_days(today(), 1)
		)
		lead.reload()
		lead.status = "Nurture"
		lead.save(ignore_permissions=True)
		lead.reload()
		lead.status = "Contacted"
		lead.save(ignore_permissions=True)
		self.assertEqual(frappe.db.count("Email Campaign", enrolled), 1)  # once


class TestCRMRoles(FrappeCRMTestCase):
	"""Frappe CRM's Sales User is the README's Sales User: they enrol the leads they may read in
	Frappe CRM (their own, or assigned to them), as themselves; a Campaign is not theirs to make."""

	def setUp(self):
		super().setUp()
		self.sales_user = ensure_user(SALES_USER, ("Sales User",))
		ensure_user(OTHER_SALES_USER, ("Sales User",))
		self.own = make_crm_lead(lead_owner=self.sales_user)
		self.second = make_crm_lead(lead_owner=self.sales_user)
		self.others = make_crm_lead(lead_owner=OTHER_SALES_USER)
		self.addCleanup(frappe.set_user, "Administrator")

	def add(self, names, sender=None):
		return enrolment_api.add_to_email_campaign(
			CRM_LEAD, json.dumps(names), self.campaign.name, today(), "09:00", sender
		)["summary"]

	def test_a_sales_user_adds_their_leads_from_the_list_and_not_another_users(self):
		frappe.set_user(self.sales_user)
		summary = self.add([self.own.name, self.second.name, self.others.name])
		frappe.set_user("Administrator")

		self.assertEqual(len(summary["created"]), 2)
		self.assertEqual(summary["skipped"]["not_permitted"], [self.others.name])
		for name in summary["created"]:
			doc = frappe.get_doc("Email Campaign", name)
			self.assertEqual(
				(doc.email_campaign_for, doc.sender, doc.owner), (CRM_LEAD, self.sales_user, self.sales_user)
			)

	def test_a_sales_user_sends_as_themselves_only(self):
		frappe.set_user(self.sales_user)
		with self.assertRaises(frappe.PermissionError):
			self.add([self.own.name], sender="Administrator")

	def test_a_sales_user_reads_campaigns_but_does_not_make_them(self):
		frappe.set_user(self.sales_user)
		options = crm_api.enrolment_options()
		self.assertIn(self.campaign.name, options["campaigns"])
		self.assertEqual(options["sender"], self.sales_user)
		with self.assertRaises(frappe.PermissionError):
			frappe.get_doc({"doctype": "Campaign", "campaign_name": unique("Campaign")}).insert()

	def test_a_sales_user_sees_the_campaigns_of_their_lead_only(self):
		make_email_campaign(self.campaign.name, self.others.name, CRM_LEAD)
		frappe.set_user(self.sales_user)
		self.assertEqual(crm_api.email_campaigns_of(CRM_LEAD, self.own.name), [])
		with self.assertRaises(frappe.PermissionError):
			crm_api.email_campaigns_of(CRM_LEAD, self.others.name)


class TestInstalledBesideFrappeCRM(FrappeCRMTestCase):
	def test_the_form_scripts_and_defaults_are_set_up_and_taken_back(self):
		self.addCleanup(frappe_crm.set_up)
		frappe_crm.set_up()
		scripts = frappe.get_all(
			"CRM Form Script",
			filters={"name": ("in", list(frappe_crm.FORM_SCRIPTS))},
			fields=["dt", "view", "enabled", "script"],
			order_by="view asc",
		)
		self.assertEqual(
			[(s.dt, s.view, s.enabled) for s in scripts], [(CRM_LEAD, "Form", 1), (CRM_LEAD, "List", 1)]
		)
		self.assertIn("class CRMLead {", scripts[0].script)
		self.assertIn("function setupList(", scripts[1].script)
		self.assertEqual(frappe.new_doc("Email Campaign").email_campaign_for, CRM_LEAD)
		shortcuts = frappe.get_all("Workspace Shortcut", filters={"parent": "CRM"}, pluck="link_to")
		self.assertIn(CRM_LEAD, shortcuts)
		self.assertNotIn("Lead", shortcuts)

		frappe_crm.before_app_uninstall("crm")

		self.assertFalse(frappe.db.exists("CRM Form Script", {"name": ("in", list(frappe_crm.FORM_SCRIPTS))}))
		self.assertEqual(frappe.new_doc("Email Campaign").email_campaign_for, "Lead")
		self.assertIn(
			"Lead", frappe.get_all("Workspace Shortcut", filters={"parent": "CRM"}, pluck="link_to")
		)

	def test_frappe_crms_email_template_and_this_apps_checks_both_apply(self):
		from crm.overrides.email_template import CustomEmailTemplate

		template = make_template()
		self.assertIsInstance(template, CustomEmailTemplate)
		with self.assertRaises(frappe.ValidationError):  # the app's own check (rendering.py)
			make_template(subject="Hello {{ doc.first_name ")


class TestWithoutFrappeCRM(IntegrationTestCase):
	"""A site without Frappe CRM: the CRM Lead option is refused with a reason, nothing breaks."""

	def setUp(self):
		if has_crm():
			self.skipTest("Frappe CRM is installed on this site: this case is for a site without it")
		ensure_outgoing_email_account()

	def test_crm_lead_is_refused_with_a_reason(self):
		campaign = make_campaign()
		with self.assertRaisesRegex(frappe.ValidationError, "needs Frappe CRM"):
			make_email_campaign(campaign.name, "CRM-LEAD-2026-00001", CRM_LEAD)
		with self.assertRaisesRegex(frappe.ValidationError, "Only Leads and Contacts"):
			enrolment_api.add_to_email_campaign(CRM_LEAD, "[]", campaign.name, today())

	def test_the_planner_and_the_defaults_do_without_it(self):
		frappe_crm.set_up()
		self.assertEqual(frappe.new_doc("Email Campaign").email_campaign_for, "Lead")
		tasks.daily()  # the planner joins only the doctypes the site has


if __name__ == "__main__":
	unittest.main()
