# Copyright (c) 2026, email_campaign_app developers and contributors
# For license information, please see license.txt
"""A person's data through Frappe's own Personal Data Download and Deletion Requests: a Lead who
received campaign emails (and registered on the site's portal, as Frappe's requests ask)."""

import json

import frappe
from frappe.website.doctype.personal_data_download_request.personal_data_download_request import (
	get_user_data,
)

from email_campaign_app import tasks
from email_campaign_app.sending import suppression
from email_campaign_app.tests.helpers import (
	IntegrationTestCase,
	ensure_outgoing_email_account,
	make_campaign,
	make_email_campaign,
	make_email_group,
	make_lead,
)

LEDGER = "Email Campaign Send Log"


def portal_user(email: str) -> str:
	"""The person's Website User: Frappe's requests are made by a user."""
	return (
		frappe.get_doc(
			{
				"doctype": "User",
				"email": email,
				"first_name": "Denise",
				"user_type": "Website User",
				"send_welcome_email": 0,
			}
		)
		.insert(ignore_permissions=True)
		.name
	)


class TestPersonalData(IntegrationTestCase):
	def setUp(self):
		ensure_outgoing_email_account()
		self.email = f"denise.{frappe.generate_hash(length=8)}@example.com"
		self.lead = make_lead(self.email, first_name="Denise", company_name="Denise & Co")
		self.campaign = make_campaign()
		self.email_campaign = make_email_campaign(self.campaign.name, self.lead.name)
		tasks.daily()  # the day-0 email is written to the Email Queue
		other_campaign = make_campaign()
		suppression.suppress(self.email, suppression.UNSUBSCRIBED, other_campaign.name)
		portal_user(self.email)

	def test_a_download_includes_what_the_app_keeps_of_the_person(self):
		data = json.loads(get_user_data(self.email))
		self.assertEqual([row["name"] for row in data["Lead"]], [self.lead.name])
		self.assertEqual([row["email_campaign"] for row in data[LEDGER]], [self.email_campaign.name])
		self.assertEqual([row["email"] for row in data[suppression.SUPPRESSION]], [self.email])

	def test_a_deletion_forgets_the_person_and_never_writes_to_them_again(self):
		keys = frappe.get_all(LEDGER, filters={"recipient_email": self.email}, pluck="name")
		self.assertTrue(keys)
		error_log = frappe.log_error(
			title=f"Email Campaign {self.email_campaign.name}: email to {self.email} failed",
			message=f"550 5.1.1 <{self.email}>: no such user",
		).name
		request = frappe.get_doc({"doctype": "Personal Data Deletion Request", "email": self.email}).insert(
			ignore_permissions=True
		)
		request.db_set("status", "Pending Approval")
		request.trigger_data_deletion()  # as a System Manager does
		request.reload()
		self.assertEqual(request.status, "Deleted")

		lead = frappe.get_doc("Lead", self.lead.name)
		self.assertNotIn("Denise", f"{lead.first_name} {lead.lead_name} {lead.company_name}")
		self.assertNotEqual(lead.email_id, self.email)
		title = frappe.db.get_value("Email Campaign", self.email_campaign.name, "recipient_name")
		self.assertNotIn("Denise", title)
		self.assertFalse(frappe.db.exists(LEDGER, {"recipient_email": self.email}))
		self.assertEqual(
			frappe.get_all(LEDGER, filters={"name": ("in", keys)}, pluck="status"), ["Skipped"]
		)  # the email not sent yet was cancelled; its key is kept
		self.assertFalse(
			frappe.get_all(suppression.SUPPRESSION, filters={"name": ("like", f"%{self.email}%")})
		)
		self.assertNotIn(self.email, str(frappe.db.get_value("Error Log", error_log, ["method", "error"])))

		# written to again by nobody: not as a new Lead, nor as a member of an Email Group
		new_lead = make_lead(self.email, first_name="Denise")
		with self.assertRaisesRegex(frappe.ValidationError, "suppression list"):
			make_email_campaign(self.campaign.name, new_lead.name)
		group = make_email_group([self.email, "someone.else@example.com"])
		group_campaign = make_email_campaign(make_campaign().name, group.name, "Email Group")
		tasks.daily()
		statuses = dict(
			frappe.get_all(
				LEDGER,
				filters={"email_campaign": group_campaign.name},
				fields=["recipient_email", "status"],
				as_list=True,
			)
		)
		self.assertEqual(statuses, {self.email: "Skipped", "someone.else@example.com": "Queued"})
