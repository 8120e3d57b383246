# Copyright (c) 2026, email_campaign_app developers and contributors
# For license information, please see license.txt

import frappe
from frappe.utils import add_days, getdate, today

from email_campaign_app.sending.planning import update_statuses
from email_campaign_app.tests.helpers import (
	IntegrationTestCase,
	make_campaign,
	make_contact,
	make_email_campaign,
	make_email_group,
	make_lead,
	make_template,
	started_days_ago,
	unique,
)


class TestEmailCampaign(IntegrationTestCase):
	def setUp(self):
		self.campaign = make_campaign([(make_template().name, 0), (make_template().name, 4)])

	def test_end_date_is_start_plus_the_largest_send_after_day(self):
		start = add_days(today(), 3)
		email_campaign = make_email_campaign(self.campaign.name, make_lead().name, start_date=start)
		self.assertEqual(getdate(email_campaign.end_date), getdate(add_days(start, 4)))
		self.assertEqual(email_campaign.status, "Scheduled")
		self.assertRegex(email_campaign.name, r"^MAIL-CAMP-\d{4}-\d{5}$")

	def test_defaults_sender_start_date_and_send_at(self):
		doc = frappe.new_doc("Email Campaign")
		self.assertEqual(doc.sender, frappe.session.user)
		self.assertEqual(getdate(doc.start_date), getdate(today()))
		self.assertEqual(doc.send_at, "09:00")
		doc.update(
			{"campaign_name": self.campaign.name, "email_campaign_for": "Lead", "recipient": make_lead().name}
		)
		self.assertEqual(doc.insert().send_at, "09:00")

	def test_status_follows_the_dates(self):
		email_campaign = make_email_campaign(self.campaign.name, make_lead().name)
		self.assertEqual(email_campaign.status, "In Progress")
		started_days_ago(email_campaign.name, 4)
		update_statuses()
		self.assertEqual(frappe.db.get_value("Email Campaign", email_campaign.name, "status"), "In Progress")
		started_days_ago(email_campaign.name, 5)
		frappe.db.set_value("Email Campaign", email_campaign.name, "status", "In Progress")
		update_statuses()
		self.assertEqual(frappe.db.get_value("Email Campaign", email_campaign.name, "status"), "Completed")

	def test_update_statuses_never_touches_unsubscribed(self):
		email_campaign = make_email_campaign(self.campaign.name, make_lead().name)
		frappe.db.set_value("Email Campaign", email_campaign.name, "status", "Unsubscribed")
		update_statuses()
		self.assertEqual(frappe.db.get_value("Email Campaign", email_campaign.name, "status"), "Unsubscribed")

	def test_a_campaign_without_schedule_is_refused(self):
		empty = frappe.get_doc({"doctype": "Campaign", "campaign_name": unique("Empty")}).insert()
		with self.assertRaisesRegex(frappe.ValidationError, "has no email schedule"):
			make_email_campaign(empty.name, make_lead().name)

	def test_a_lead_without_email_is_refused(self):
		with self.assertRaisesRegex(frappe.ValidationError, "has no email address"):
			make_email_campaign(self.campaign.name, make_lead(email="").name)

	def test_a_contact_without_primary_email_is_refused(self):
		contact = make_contact(email=False)
		with self.assertRaisesRegex(frappe.ValidationError, "has no primary email address"):
			make_email_campaign(self.campaign.name, contact.name, "Contact")

	def test_an_email_group_without_subscribed_member_is_refused(self):
		group = make_email_group(["gone@example.com"], unsubscribed=["gone@example.com"])
		with self.assertRaisesRegex(frappe.ValidationError, "has no subscribed member"):
			make_email_campaign(self.campaign.name, group.name, "Email Group")

	def test_an_unsubscribed_recipient_is_refused(self):
		with self.assertRaisesRegex(frappe.ValidationError, "has unsubscribed"):
			make_email_campaign(self.campaign.name, make_lead(unsubscribed=1).name)
		contact = make_contact(unsubscribed=1)
		with self.assertRaisesRegex(frappe.ValidationError, "has unsubscribed"):
			make_email_campaign(self.campaign.name, contact.name, "Contact")

	def test_a_missing_recipient_is_refused(self):
		with self.assertRaises(frappe.ValidationError):
			make_email_campaign(self.campaign.name, "CRM-LEAD-0000-00000")

	def test_a_disabled_sender_or_one_without_email_is_refused(self):
		user = frappe.get_doc(
			{
				"doctype": "User",
				"email": f"{frappe.generate_hash(length=8)}@example.com",
				"first_name": "Off",
				"enabled": 0,
				"roles": [{"role": "Sales User"}],  # a System User
			}
		).insert(ignore_permissions=True)
		with self.assertRaisesRegex(frappe.ValidationError, "is disabled"):
			make_email_campaign(self.campaign.name, make_lead().name, sender=user.name)
		frappe.db.set_value("User", user.name, {"enabled": 1, "email": ""})
		with self.assertRaisesRegex(frappe.ValidationError, "has no email address"):
			make_email_campaign(self.campaign.name, make_lead().name, sender=user.name)
		frappe.db.set_value("User", user.name, {"email": user.name, "user_type": "Website User"})
		with self.assertRaisesRegex(frappe.ValidationError, "is not a System User"):
			make_email_campaign(self.campaign.name, make_lead().name, sender=user.name)

	def test_a_second_running_email_campaign_for_the_same_recipient_is_refused(self):
		lead = make_lead().name
		first = make_email_campaign(self.campaign.name, lead)
		with self.assertRaisesRegex(frappe.ValidationError, "already runs Campaign"):
			make_email_campaign(self.campaign.name, lead, start_date=add_days(today(), 10))
		frappe.db.set_value("Email Campaign", first.name, "status", "Completed")
		make_email_campaign(self.campaign.name, lead, start_date=add_days(today(), 10))

	def test_a_start_date_in_the_past_is_refused_on_new_and_on_change(self):
		with self.assertRaisesRegex(frappe.ValidationError, "is in the past"):
			make_email_campaign(self.campaign.name, make_lead().name, start_date=add_days(today(), -1))
		scheduled = make_email_campaign(self.campaign.name, make_lead().name, start_date=add_days(today(), 2))
		scheduled.start_date = add_days(today(), -2)
		with self.assertRaisesRegex(frappe.ValidationError, "is in the past"):
			scheduled.save()

	def test_a_running_email_campaign_can_still_be_saved(self):
		email_campaign = make_email_campaign(self.campaign.name, make_lead().name)
		started_days_ago(email_campaign.name, 2)
		doc = frappe.get_doc("Email Campaign", email_campaign.name)
		doc.send_at = "10:30"
		doc.save()
		self.assertEqual(doc.status, "In Progress")

	def test_campaign_recipient_and_start_date_are_locked_once_in_progress(self):
		email_campaign = make_email_campaign(self.campaign.name, make_lead().name)
		other_campaign = make_campaign()
		for fieldname, value in (
			("campaign_name", other_campaign.name),
			("recipient", make_lead().name),
			("start_date", add_days(today(), 1)),
		):
			doc = frappe.get_doc("Email Campaign", email_campaign.name)
			doc.set(fieldname, value)
			with self.assertRaisesRegex(
				frappe.ValidationError, "cannot change once the Email Campaign is In Progress"
			):
				doc.save()

	def test_scheduled_email_campaign_can_change_its_recipient(self):
		email_campaign = make_email_campaign(
			self.campaign.name, make_lead().name, start_date=add_days(today(), 1)
		)
		email_campaign.recipient = make_lead().name
		email_campaign.save()


class TestComputedFieldsOverREST(IntegrationTestCase):
	"""Status, End Date and the sending flag are computed: a REST client cannot set them."""

	def test_a_put_cannot_rewrite_status_end_date_or_the_sending_flag(self):
		from email_campaign_app.tests.http import http

		campaign = make_campaign([(make_template().name, 0), (make_template().name, 4)])
		email_campaign = make_email_campaign(campaign.name, make_lead().name)
		frappe.db.set_value("Email Campaign", email_campaign.name, "status", "Unsubscribed")
		path = f"/api/resource/Email Campaign/{email_campaign.name}"

		response = http(
			"PUT", path, json={"status": "In Progress", "end_date": "2099-01-01", "all_steps_sent": 1}
		)
		self.assertEqual(response.status_code, 200, response.get_data(as_text=True))
		saved = frappe.get_doc("Email Campaign", email_campaign.name)
		self.assertEqual(saved.status, "Unsubscribed")
		self.assertEqual(getdate(saved.end_date), getdate(add_days(today(), 4)))
		self.assertEqual(saved.all_steps_sent, 0)

		running = make_email_campaign(campaign.name, make_lead().name)
		http("PUT", f"/api/resource/Email Campaign/{running.name}", json={"status": "Unsubscribed"})
		self.assertEqual(frappe.db.get_value("Email Campaign", running.name, "status"), "In Progress")

		created = http(
			"POST",
			"/api/resource/Email Campaign",
			json={
				"campaign_name": campaign.name,
				"email_campaign_for": "Lead",
				"recipient": make_lead().name,
				"sender": "Administrator",
				"start_date": add_days(today(), 2),
				"status": "Completed",
			},
		)
		self.assertEqual(created.status_code, 200, created.get_data(as_text=True))
		self.assertEqual(created.json["data"]["status"], "Scheduled")
