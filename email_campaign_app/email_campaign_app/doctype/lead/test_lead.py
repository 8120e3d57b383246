# Copyright (c) 2026, email_campaign_app developers and contributors
# For license information, please see license.txt

import frappe

from email_campaign_app.tests.helpers import IntegrationTestCase, make_lead


class TestLead(IntegrationTestCase):
	def test_lead_name_is_built_from_first_and_last_name(self):
		lead = make_lead(first_name="Ada")
		self.assertEqual(lead.lead_name, "Ada Lovelace")
		self.assertTrue(lead.name.startswith("CRM-LEAD-"))

	def test_organization_name_when_there_is_no_person_name(self):
		lead = make_lead(first_name=None, last_name=None, company_name="Analytical Engines")
		self.assertEqual(lead.lead_name, "Analytical Engines")

	def test_a_lead_needs_a_name(self):
		with self.assertRaisesRegex(frappe.ValidationError, "first name, a last name or an organization"):
			make_lead(first_name=None, last_name=None)

	def test_malformed_email_is_refused(self):
		with self.assertRaises(frappe.InvalidEmailAddressError):
			make_lead(email="not-an-email")
