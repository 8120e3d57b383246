# Copyright (c) 2026, email_campaign_app developers and contributors
# For license information, please see license.txt

import frappe
from frappe.utils import add_days, getdate, today

from email_campaign_app.tests.helpers import (
	IntegrationTestCase,
	make_campaign,
	make_email_campaign,
	make_lead,
	make_template,
)


class TestCampaign(IntegrationTestCase):
	def test_negative_day_is_refused(self):
		template = make_template().name
		with self.assertRaisesRegex(frappe.ValidationError, "must be 0 or more"):
			make_campaign([(template, -1)])

	def test_same_template_twice_on_the_same_day_is_refused(self):
		template = make_template().name
		with self.assertRaisesRegex(frappe.ValidationError, "scheduled twice on day 2"):
			make_campaign([(template, 2), (template, 2)])
		make_campaign([(template, 2), (template, 3)])  # another day is fine

	def test_schedule_is_kept_sorted_by_day(self):
		a, b, c = (make_template().name for _ in range(3))
		campaign = make_campaign([(a, 5), (b, 0), (c, 2)])
		self.assertEqual([row.send_after_days for row in campaign.campaign_schedules], [0, 2, 5])
		self.assertEqual([row.idx for row in campaign.campaign_schedules], [1, 2, 3])

	def test_named_by_its_campaign_name(self):
		campaign = make_campaign()
		self.assertEqual(campaign.name, campaign.campaign_name)
		with self.assertRaises(frappe.DuplicateEntryError):
			frappe.get_doc({"doctype": "Campaign", "campaign_name": campaign.campaign_name}).insert()

	def test_saving_moves_the_end_date_of_running_email_campaigns(self):
		template = make_template().name
		campaign = make_campaign([(template, 2)])
		email_campaign = make_email_campaign(campaign.name, make_lead().name)
		self.assertEqual(getdate(email_campaign.end_date), getdate(add_days(today(), 2)))

		campaign.append("campaign_schedules", {"email_template": make_template().name, "send_after_days": 7})
		campaign.save()
		self.assertEqual(
			getdate(frappe.db.get_value("Email Campaign", email_campaign.name, "end_date")),
			getdate(add_days(today(), 7)),
		)
