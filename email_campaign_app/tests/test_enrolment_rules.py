# Copyright (c) 2026, email_campaign_app developers and contributors
# For license information, please see license.txt
"""Enrolment rules: new and updated Leads and Contacts that match a Campaign's rule get one
Email Campaign of it, once; a broken rule is logged and never breaks the save."""

import json

import frappe
from frappe.utils import add_days, getdate, today

from email_campaign_app.enrolment import rules as enrolment_rules
from email_campaign_app.tests.helpers import IntegrationTestCase, make_campaign, make_contact, make_lead
from email_campaign_app.tests.http import ensure_user

RULE = "Campaign Enrolment Rule"
SALES_USER = "ec-sales-user@example.com"


def email_campaigns_of(campaign, recipient=None):
	filters = {"campaign_name": campaign}
	if recipient:
		filters["recipient"] = recipient
	return frappe.get_all(
		"Email Campaign",
		filters=filters,
		fields=["name", "recipient", "email_campaign_for", "sender", "start_date", "status"],
	)


class TestEnrolmentRules(IntegrationTestCase):
	def campaign_with_rules(self, *rules):
		"""A Campaign whose rules are (filters, extra values); each test's rules go with it."""
		campaign = make_campaign()
		for filters, extra in rules:
			campaign.append(
				"enrolment_rules",
				{
					"document_type": "Lead",
					"filters_json": json.dumps(filters),
					"sender": "Administrator",
					**extra,
				},
			)
		campaign.save()
		self.addCleanup(frappe.db.delete, RULE, {"parent": campaign.name})
		return campaign

	def test_a_new_lead_that_matches_is_enrolled_once(self):
		campaign = self.campaign_with_rules(([["Lead", "status", "=", "Open", False]], {}))
		matching = make_lead(status="Open")
		make_lead(status="Replied")
		[email_campaign] = email_campaigns_of(campaign.name)
		self.assertEqual(
			(
				email_campaign.recipient,
				email_campaign.sender,
				getdate(email_campaign.start_date),
				email_campaign.status,
			),
			(matching.name, "Administrator", getdate(today()), "In Progress"),
		)
		matching.company_name = "Still open"
		matching.save()
		self.assertEqual(len(email_campaigns_of(campaign.name)), 1)

	def test_an_update_that_starts_matching_enrols(self):
		campaign = self.campaign_with_rules(({"status": "Interested"}, {"start_after_days": 3}))
		lead = make_lead(status="Open")
		self.assertEqual(email_campaigns_of(campaign.name), [])
		lead.status = "Interested"
		lead.save()
		[email_campaign] = email_campaigns_of(campaign.name)
		self.assertEqual(getdate(email_campaign.start_date), getdate(add_days(today(), 3)))
		self.assertEqual(email_campaign.status, "Scheduled")

		lead.status = "Open"
		lead.save()
		lead.status = "Interested"  # starts matching again: once is once
		lead.save()
		self.assertEqual(len(email_campaigns_of(campaign.name)), 1)

	def test_a_lead_that_matched_before_the_save_is_not_enrolled_by_it(self):
		lead = make_lead(status="Open")
		campaign = self.campaign_with_rules(({"status": "Open"}, {}))  # written after the Lead
		lead.company_name = "Edited"
		lead.save()
		self.assertEqual(email_campaigns_of(campaign.name), [])

	def test_a_lead_starts_matching_when_it_gets_an_email_address(self):
		campaign = self.campaign_with_rules(([], {}))  # no filter: every new Lead
		lead = make_lead(email="")
		unsubscribed = make_lead(unsubscribed=1)
		self.assertEqual(email_campaigns_of(campaign.name), [])
		lead.email_id = "late@example.com"
		lead.save()
		self.assertEqual([row.recipient for row in email_campaigns_of(campaign.name)], [lead.name])
		self.assertEqual(email_campaigns_of(campaign.name, unsubscribed.name), [])

	def test_no_double_enrolment(self):
		campaign = self.campaign_with_rules(({"status": "Open"}, {}), ({"company_name": "Engines"}, {}))
		lead = make_lead(status="Open", company_name="Engines")  # both rules of one Campaign match
		self.assertEqual(len(email_campaigns_of(campaign.name)), 1)

		other = self.campaign_with_rules(({"status": "Interested"}, {}))
		email_campaign = email_campaigns_of(campaign.name)[0]
		frappe.db.set_value("Email Campaign", email_campaign.name, "status", "Unsubscribed")
		lead.status = "Interested"
		lead.save()
		self.assertEqual(len(email_campaigns_of(campaign.name)), 1)  # an unsubscribe is never undone
		self.assertEqual(len(email_campaigns_of(other.name)), 1)  # another Campaign is another story

	def test_a_contact_rule(self):
		campaign = make_campaign()
		campaign.append(
			"enrolment_rules", {"document_type": "Contact", "filters_json": "[]", "sender": "Administrator"}
		)
		campaign.save()
		self.addCleanup(frappe.db.delete, RULE, {"parent": campaign.name})
		contact = make_contact()
		make_lead()
		[email_campaign] = email_campaigns_of(campaign.name)
		self.assertEqual(
			(email_campaign.email_campaign_for, email_campaign.recipient), ("Contact", contact.name)
		)

	def test_the_rule_s_sender_sends_whoever_saves_the_lead(self):
		campaign = self.campaign_with_rules(({"status": "Open"}, {}))
		frappe.set_user(ensure_user(SALES_USER, ("Sales User",)))
		self.addCleanup(frappe.set_user, "Administrator")
		lead = frappe.get_doc(
			{"doctype": "Lead", "first_name": "Sold", "email_id": "sold@example.com", "status": "Open"}
		).insert()
		[email_campaign] = email_campaigns_of(campaign.name)
		self.assertEqual((email_campaign.recipient, email_campaign.sender), (lead.name, "Administrator"))

	def test_a_broken_rule_is_logged_and_never_breaks_the_save(self):
		broken = self.campaign_with_rules(({"status": "Open"}, {}))
		working = self.campaign_with_rules(({"status": "Open"}, {}))
		rule = broken.enrolment_rules[0].name
		# a field removed since the rule was written
		frappe.db.set_value(RULE, rule, "filters_json", json.dumps([["Lead", "industry", "=", "Steam"]]))
		messages = len(frappe.local.message_log)

		lead = make_lead(status="Open")

		self.assertTrue(frappe.db.exists("Lead", lead.name))
		self.assertEqual(email_campaigns_of(broken.name), [])
		self.assertEqual(len(email_campaigns_of(working.name)), 1)
		[log] = frappe.get_all(
			"Error Log",
			filters={"reference_doctype": "Campaign", "reference_name": broken.name},
			fields=["error"],
		)
		self.assertIn("has no field industry", log.error)
		self.assertIn(lead.name, log.error)
		self.assertFalse(
			[m for m in frappe.local.message_log[messages:] if "industry" in str(m)],
			"no error shown to the user",
		)

	def test_a_rule_whose_email_campaign_cannot_be_made_is_logged(self):
		campaign = self.campaign_with_rules(({"status": "Open"}, {}))
		campaign.campaign_schedules = []  # an Email Campaign needs a schedule
		campaign.save()
		lead = make_lead(status="Open")
		self.assertTrue(frappe.db.exists("Lead", lead.name))
		self.assertEqual(email_campaigns_of(campaign.name), [])
		[log] = frappe.get_all("Error Log", filters={"reference_name": campaign.name}, fields=["error"])
		self.assertIn("has no email schedule", log.error)

	def test_the_campaign_form_refuses_a_rule_that_cannot_work(self):
		campaign = make_campaign()
		disabled = ensure_user("ec-disabled@example.com", ("Sales User",))
		frappe.db.set_value("User", disabled, "enabled", 0)
		for filters, sender, problem in (
			('[["Lead", "industry", "=", "Steam"]]', "Administrator", "has no field industry"),
			('[["User", "enabled", "=", 1]]', "Administrator", "which is not part of"),
			("status = Open", "Administrator", "not valid JSON"),
			('"Open"', "Administrator", "must be a list"),
			("[]", disabled, "is disabled or does not exist"),
		):
			campaign = frappe.get_doc("Campaign", campaign.name)
			campaign.set(
				"enrolment_rules", [{"document_type": "Lead", "filters_json": filters, "sender": sender}]
			)
			with self.assertRaisesRegex(frappe.ValidationError, problem):
				campaign.save()
		campaign.reload()
		self.assertEqual(campaign.enrolment_rules, [])

		# what Frappe's filter UI stores: [doctype, field, operator, value, hidden]
		campaign.set(
			"enrolment_rules",
			[
				{
					"document_type": "Lead",
					"filters_json": '[["Lead", "status", "in", ["Open", "Replied"], false]]',
					"sender": "Administrator",
				}
			],
		)
		campaign.save()
		self.addCleanup(frappe.db.delete, RULE, {"parent": campaign.name})
		self.assertEqual(
			json.loads(campaign.enrolment_rules[0].filters_json),
			[["Lead", "status", "in", ["Open", "Replied"]]],
		)
		self.assertEqual(
			enrolment_rules.parse_filters('{"status": ["!=", "Lost Quotation"]}', "Lead"),
			[["Lead", "status", "!=", "Lost Quotation"]],
		)
