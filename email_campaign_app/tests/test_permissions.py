# Copyright (c) 2026, email_campaign_app developers and contributors
# For license information, please see license.txt
"""Roles: what a Sales User, a Sales Manager and a Desk user without those roles may do, through
Frappe's permission API and over HTTP (allowed is 200, refused is 403 and changes nothing)."""

from unittest.mock import patch

import frappe
from frappe.desk.desktop import Workspace

from email_campaign_app import permissions
from email_campaign_app.api import email_campaign as api
from email_campaign_app.tests.helpers import (
	IntegrationTestCase,
	ensure_outgoing_email_account,
	make_campaign,
	make_email_campaign,
	make_email_group,
	make_lead,
	make_template,
	unique,
)
from email_campaign_app.tests.http import DESK_ROLE, Client, ensure_user

LEDGER = "Email Campaign Send Log"
REAL_ENQUEUE = frappe.enqueue
SALES_USER = "ec-sales-user@example.com"
SALES_MANAGER = "ec-sales-manager@example.com"
DESK_USER = "ec-desk-user@example.com"

ALL_RIGHTS = ("create", "read", "write", "delete", "report", "email", "print", "share", "import", "export")
# doctype -> user -> the rights that user has; every other right of ALL_RIGHTS is refused
EXPECTED = {
	"Lead": {
		SALES_USER: {"create", "read", "write", "report", "email", "print", "share"},
		SALES_MANAGER: set(ALL_RIGHTS),
		DESK_USER: set(),
	},
	"Campaign": {
		SALES_USER: {"read", "report", "print"},
		SALES_MANAGER: set(ALL_RIGHTS) - {"import"},
		DESK_USER: set(),
	},
	"Email Campaign": {
		SALES_USER: {"create", "read", "write", "report", "email", "print"},
		SALES_MANAGER: set(ALL_RIGHTS) - {"import"},
		DESK_USER: set(),
	},
	LEDGER: {SALES_USER: set(), SALES_MANAGER: {"read", "report", "export"}, DESK_USER: set()},
	"Email Template": {
		SALES_USER: {"read"},
		SALES_MANAGER: {"create", "read", "write", "report", "email", "print", "share"},
		DESK_USER: {"read"},
	},
	"Email Group": {SALES_USER: {"read", "report"}, SALES_MANAGER: {"read", "report"}, DESK_USER: set()},
	"Email Group Member": {
		SALES_USER: {"read"},
		SALES_MANAGER: {"create", "read", "write", "delete", "report", "email", "print", "share", "export"},
		DESK_USER: set(),
	},
}


def enqueue_now(*args, **kwargs):
	return REAL_ENQUEUE(*args, **{**kwargs, "now": True})


def new_email_campaign(campaign: str, sender: str):
	"""An Email Campaign saved as the current user would save it, permissions checked."""
	lead = make_lead()
	return frappe.get_doc(
		{
			"doctype": "Email Campaign",
			"campaign_name": campaign,
			"email_campaign_for": "Lead",
			"recipient": lead.name,
			"sender": sender,
			"start_date": frappe.utils.today(),
		}
	).insert()


def workspace_visible(user: str) -> bool:
	frappe.clear_cache(user=user)
	try:
		return bool(Workspace({"name": "CRM"}, True).is_permitted())
	except frappe.PermissionError:
		return False


def share_with_desk_user(test, doctype: str, name: str, write: int = 0):
	frappe.share.add_docshare(
		doctype, name, DESK_USER, read=1, write=write, flags={"ignore_share_permission": 1}
	)
	test.addCleanup(unshare_all)


def unshare_all():
	frappe.db.delete("DocShare", {"user": DESK_USER})
	frappe.clear_cache(user=DESK_USER)


def make_users():
	unshare_all()
	return {
		SALES_USER: ensure_user(SALES_USER, ("Sales User",)),
		SALES_MANAGER: ensure_user(SALES_MANAGER, ("Sales Manager",)),
		DESK_USER: ensure_user(DESK_USER, (DESK_ROLE,)),
	}


class TestPermissionAPI(IntegrationTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		make_users()

	def test_each_role_has_exactly_its_rights(self):
		for doctype, users in EXPECTED.items():
			for user, rights in users.items():
				granted = {right for right in ALL_RIGHTS if frappe.has_permission(doctype, right, user=user)}
				self.assertEqual(granted, rights, f"{user} on {doctype}")

	def test_the_report_and_the_workspace_are_for_the_three_roles(self):
		report = frappe.get_doc("Report", "Email Campaign Performance")
		for user, allowed in (
			(SALES_USER, True),
			(SALES_MANAGER, True),
			(DESK_USER, False),
			("Administrator", True),
		):
			frappe.set_user(user)
			self.addCleanup(frappe.set_user, "Administrator")
			self.assertEqual(bool(report.is_permitted()), allowed, user)
			self.assertEqual(workspace_visible(user), allowed, user)

	def test_nobody_writes_the_ledger_by_hand_not_even_administrator(self):
		email_campaign = make_email_campaign(make_campaign().name, make_lead().name)
		template = email_campaign.get_steps()[0].email_template
		row = frappe.get_doc(
			{
				"doctype": LEDGER,
				"email_campaign": email_campaign.name,
				"email_template": template,
				"recipient_email": "a@example.com",
			}
		)
		with self.assertRaises(frappe.PermissionError):
			row.insert()
		row.insert(ignore_permissions=True)  # the app's own code
		row = frappe.get_doc(LEDGER, row.name)
		row.error = "edited"
		with self.assertRaises(frappe.PermissionError):
			row.save()
		with self.assertRaises(frappe.PermissionError):
			frappe.delete_doc(LEDGER, row.name)
		self.assertTrue(frappe.db.exists(LEDGER, row.name))
		frappe.delete_doc("Email Campaign", email_campaign.name)  # its rows go with it
		self.assertFalse(frappe.db.exists(LEDGER, row.name))

	def test_a_sales_user_sends_as_themselves(self):
		campaign = make_campaign()
		frappe.set_user(SALES_USER)
		self.addCleanup(frappe.set_user, "Administrator")
		with self.assertRaisesRegex(frappe.PermissionError, "only send as yourself"):
			new_email_campaign(campaign.name, SALES_MANAGER)
		own = new_email_campaign(campaign.name, SALES_USER)
		self.assertEqual(own.sender, SALES_USER)

		frappe.set_user(SALES_MANAGER)
		other = new_email_campaign(campaign.name, SALES_USER)
		frappe.set_user(SALES_USER)
		other.send_at = "10:00"
		other.save()  # the sender did not change: a Sales User may edit a manager's Email Campaign
		other.sender = SALES_MANAGER
		with self.assertRaises(frappe.PermissionError):
			other.save()

	def test_send_due_emails_now_is_for_managers(self):
		ensure_outgoing_email_account()
		email_campaign = make_email_campaign(make_campaign().name, make_lead().name)
		frappe.set_user(SALES_USER)
		self.addCleanup(frappe.set_user, "Administrator")
		with self.assertRaises(frappe.PermissionError):
			api.send_due_emails_now(email_campaign.name)
		self.assertFalse(frappe.db.exists(LEDGER, {"email_campaign": email_campaign.name}))
		frappe.set_user(SALES_MANAGER)
		self.assertEqual(api.send_due_emails_now(email_campaign.name), 1)

	def test_previews_show_a_recipient_only_to_who_may_read_it(self):
		lead = make_lead(first_name="Secret")
		email_campaign = make_email_campaign(make_campaign().name, lead.name)
		share_with_desk_user(self, "Email Campaign", email_campaign.name, write=1)
		frappe.set_user(DESK_USER)
		self.addCleanup(frappe.set_user, "Administrator")
		self.assertTrue(frappe.has_permission("Email Campaign", "read", email_campaign.name))
		with self.assertRaisesRegex(frappe.PermissionError, "You may not read Lead"):
			api.preview(email_campaign.name)
		with self.assertRaises(frappe.PermissionError):
			api.send_test_email(email_campaign.name, email_campaign.get_steps()[0].email_template)
		frappe.set_user(SALES_USER)
		self.assertIn("Secret", api.preview(email_campaign.name)[0]["subject"])

	def test_a_group_preview_needs_the_member_s_lead(self):
		lead = make_lead(first_name="Member")
		group = make_email_group([lead.email_id])
		email_campaign = make_email_campaign(make_campaign().name, group.name, "Email Group")
		share_with_desk_user(self, "Email Campaign", email_campaign.name)
		share_with_desk_user(self, "Email Group", group.name)
		frappe.set_user(DESK_USER)
		self.addCleanup(frappe.set_user, "Administrator")
		with self.assertRaisesRegex(frappe.PermissionError, "You may not read Lead"):
			api.preview(email_campaign.name)
		frappe.set_user(SALES_USER)
		self.assertIn("Member", api.preview(email_campaign.name)[0]["subject"])


class TestInstallPermissions(IntegrationTestCase):
	def test_uninstall_gives_frappe_its_own_permissions_back(self):
		self.addCleanup(permissions.grant_core_permissions)
		permissions.revoke_core_permissions()
		for doctype in permissions.CORE_DOCTYPE_RIGHTS:
			self.assertFalse(frappe.db.exists("Custom DocPerm", {"parent": doctype}), doctype)
		self.assertFalse(
			frappe.has_permission("Email Group", "read", user=ensure_user(SALES_USER, ("Sales User",)))
		)

		permissions.grant_core_permissions()
		permissions.grant_core_permissions()  # twice changes nothing
		self.assertEqual(
			frappe.db.count("Custom DocPerm", {"parent": "Email Group", "role": "Sales User"}), 1
		)
		self.assertTrue(
			frappe.db.exists(
				"Custom DocPerm", {"parent": "Email Group", "role": "Newsletter Manager", "write": 1}
			)
		)
		self.assertTrue(frappe.has_permission("Email Group", "read", user=SALES_USER))


class TestPermissionsOverHTTP(IntegrationTestCase):
	"""Each right over /api/resource and the whitelisted methods: 200 when allowed, 403 when
	refused, and a refusal changes nothing."""

	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		make_users()
		ensure_outgoing_email_account()
		cls.sales_user = Client(SALES_USER)
		cls.sales_manager = Client(SALES_MANAGER)
		cls.desk_user = Client(DESK_USER)
		cls.administrator = Client("Administrator")
		frappe.db.commit()

	def setUp(self):
		self.campaign = make_campaign([(make_template().name, 0), (make_template().name, 2)])
		self.lead = make_lead(first_name="Ada")

	def assert_status(self, response, status):
		self.assertEqual(response.status_code, status, response.get_data(as_text=True)[:500])

	def test_leads(self):
		for client, status in ((self.sales_user, 200), (self.sales_manager, 200), (self.desk_user, 403)):
			self.assert_status(client.get(client.resource("Lead", self.lead.name)), status)
			first_name = unique("Http")
			created = client.post(
				client.resource("Lead"), {"first_name": first_name, "email_id": "http@example.com"}
			)
			self.assert_status(created, status)
			self.assertEqual(bool(frappe.db.exists("Lead", {"first_name": first_name})), status == 200)

		self.assert_status(self.sales_user.delete(self.sales_user.resource("Lead", self.lead.name)), 403)
		self.assertTrue(frappe.db.exists("Lead", self.lead.name))
		self.assert_status(
			self.sales_manager.delete(self.sales_manager.resource("Lead", self.lead.name)), 202
		)
		self.assertFalse(frappe.db.exists("Lead", self.lead.name))

	def test_campaigns_are_designed_by_managers(self):
		path = self.sales_user.resource("Campaign", self.campaign.name)
		self.assert_status(self.sales_user.get(path), 200)
		self.assert_status(self.desk_user.get(path), 403)
		self.assert_status(self.sales_user.put(path, {"description": "changed"}), 403)
		self.assertIsNone(frappe.db.get_value("Campaign", self.campaign.name, "description"))
		self.assert_status(self.sales_manager.put(path, {"description": "changed"}), 200)
		self.assertEqual(frappe.db.get_value("Campaign", self.campaign.name, "description"), "changed")

		name = unique("Http Campaign")
		self.assert_status(
			self.sales_user.post(self.sales_user.resource("Campaign"), {"campaign_name": name}), 403
		)
		self.assertFalse(frappe.db.exists("Campaign", name))
		self.assert_status(
			self.sales_manager.post(self.sales_manager.resource("Campaign"), {"campaign_name": name}), 200
		)
		self.assertTrue(frappe.db.exists("Campaign", name))

	def email_campaign_values(self, sender, lead=None):
		return {
			"campaign_name": self.campaign.name,
			"email_campaign_for": "Lead",
			"recipient": (lead or make_lead()).name,
			"sender": sender,
			"start_date": frappe.utils.today(),
		}

	def count_email_campaigns(self):
		return frappe.db.count("Email Campaign", {"campaign_name": self.campaign.name})

	def test_email_campaigns(self):
		path = self.sales_user.resource("Email Campaign")
		for client, sender, status in (
			(self.desk_user, DESK_USER, 403),
			(self.sales_user, SALES_MANAGER, 403),  # a Sales User sends as themselves
			(self.sales_user, SALES_USER, 200),
			(self.sales_manager, SALES_USER, 200),
		):
			before = self.count_email_campaigns()
			self.assert_status(client.post(path, self.email_campaign_values(sender)), status)
			self.assertEqual(self.count_email_campaigns(), before + (status == 200), (client.user, sender))

		email_campaign = frappe.get_all(
			"Email Campaign", filters={"campaign_name": self.campaign.name}, limit=1, pluck="name"
		)[0]
		item = self.sales_user.resource("Email Campaign", email_campaign)
		self.assert_status(self.desk_user.get(item), 403)
		self.assert_status(self.sales_user.put(item, {"send_at": "10:00"}), 200)
		self.assert_status(self.sales_user.delete(item), 403)
		self.assertTrue(frappe.db.exists("Email Campaign", email_campaign))
		self.assert_status(self.sales_manager.delete(item), 202)
		self.assertFalse(frappe.db.exists("Email Campaign", email_campaign))

	def test_the_ledger_is_read_only_for_everyone(self):
		email_campaign = make_email_campaign(self.campaign.name, self.lead.name)
		api.send_due_emails_now(email_campaign.name)
		row = frappe.get_all(
			LEDGER,
			filters={"email_campaign": email_campaign.name},
			fields=["name", "status", "email_template"],
		)[0]
		path = self.administrator.resource(LEDGER)
		self.assert_status(self.sales_user.get(path), 403)
		self.assert_status(self.desk_user.get(path), 403)
		self.assert_status(self.sales_manager.get(f"{path}/{row.name}"), 200)
		self.assert_status(self.sales_manager.delete(f"{path}/{row.name}"), 403)
		for client in (self.administrator, self.sales_manager):
			self.assert_status(client.put(f"{path}/{row.name}", {"status": "Error"}), 403)
			self.assert_status(client.delete(f"{path}/{row.name}"), 403)
			self.assert_status(
				client.post(
					path,
					{
						"email_campaign": email_campaign.name,
						"email_template": row.email_template,
						"recipient_email": "b@example.com",
					},
				),
				403,
			)
		self.assertEqual(frappe.db.get_value(LEDGER, row.name, "status"), row.status)
		self.assertEqual(frappe.db.count(LEDGER, {"email_campaign": email_campaign.name}), 1)

	def test_whitelisted_methods(self):
		email_campaign = make_email_campaign(self.campaign.name, self.lead.name)
		for client, status in ((self.sales_user, 200), (self.sales_manager, 200), (self.desk_user, 403)):
			self.assert_status(
				client.method("email_campaign.preview", email_campaign=email_campaign.name), status
			)
			self.assert_status(
				client.method("email_campaign.get_schedule_view", email_campaign=email_campaign.name), status
			)

		self.assert_status(
			self.sales_user.method("email_campaign.send_due_emails_now", email_campaign=email_campaign.name),
			403,
		)
		self.assertFalse(frappe.db.exists(LEDGER, {"email_campaign": email_campaign.name}))
		self.assert_status(
			self.desk_user.method("email_campaign.send_due_emails_now", email_campaign=email_campaign.name),
			403,
		)
		self.assertFalse(frappe.db.exists(LEDGER, {"email_campaign": email_campaign.name}))
		with patch("frappe.enqueue", enqueue_now):  # no worker here: the request sends itself
			self.assert_status(
				self.sales_manager.method(
					"email_campaign.send_due_emails_now", email_campaign=email_campaign.name
				),
				200,
			)
		self.assertTrue(frappe.db.exists(LEDGER, {"email_campaign": email_campaign.name}))

	def test_bulk_enrolment(self):
		leads = [make_lead().name, make_lead().name]
		args = {
			"doctype": "Lead",
			"names": leads,
			"campaign_name": self.campaign.name,
			"start_date": frappe.utils.today(),
		}
		self.assert_status(self.desk_user.method("enrolment.add_to_email_campaign", **args), 403)
		self.assert_status(
			self.sales_user.method("enrolment.add_to_email_campaign", **{**args, "sender": SALES_MANAGER}),
			403,
		)
		self.assertEqual(self.count_email_campaigns(), 0)
		answer = self.sales_user.method("enrolment.add_to_email_campaign", **args)
		self.assert_status(answer, 200)
		self.assertEqual(len(answer.json["message"]["summary"]["created"]), 2)
		self.assertEqual(self.count_email_campaigns(), 2)

	def test_a_shared_email_campaign_does_not_leak_its_lead(self):
		email_campaign = make_email_campaign(self.campaign.name, self.lead.name)
		share_with_desk_user(self, "Email Campaign", email_campaign.name, write=1)
		self.assert_status(
			self.desk_user.get(self.desk_user.resource("Email Campaign", email_campaign.name)), 200
		)
		preview = self.desk_user.method("email_campaign.preview", email_campaign=email_campaign.name)
		self.assert_status(preview, 403)
		self.assertNotIn("Ada", preview.get_data(as_text=True))
		queued = frappe.db.count("Email Queue")
		template = self.campaign.campaign_schedules[0].email_template
		self.assert_status(
			self.desk_user.method(
				"email_campaign.send_test_email", email_campaign=email_campaign.name, email_template=template
			),
			403,
		)
		self.assertEqual(frappe.db.count("Email Queue"), queued)
