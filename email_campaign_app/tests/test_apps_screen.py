# Copyright (c) 2026, email_campaign_app developers and contributors
# For license information, please see license.txt
"""The apps screen (/apps on Frappe v15, the desktop on v16) shows the app with its logo to the
roles its CRM workspace is for, and to nobody else."""

import frappe
from frappe.apps import get_apps

from email_campaign_app.tests.helpers import IntegrationTestCase
from email_campaign_app.tests.http import DESK_ROLE, ensure_user

LOGO = "/assets/email_campaign_app/images/logo.svg"


class TestAppsScreen(IntegrationTestCase):
	def tile_for(self, user: str) -> list[dict]:
		frappe.set_user(user)
		self.addCleanup(frappe.set_user, "Administrator")
		if getattr(frappe.local, "request_cache", None) is not None:
			frappe.local.request_cache.clear()  # v16 caches get_apps for the request
		return [app for app in get_apps() if app["name"] == "email_campaign_app"]

	def test_the_app_s_roles_see_its_tile_with_its_logo(self):
		users = (
			"Administrator",
			ensure_user("ec-apps-sales-user@example.com", ("Sales User",)),
			ensure_user("ec-apps-sales-manager@example.com", ("Sales Manager",)),
		)
		for user in users:
			[tile] = self.tile_for(user)
			self.assertEqual((tile["title"], tile["logo"]), ("Email Campaign", LOGO), user)
			self.assertRegex(tile["route"], r"^/(app|desk)(/crm)?$", user)

	def test_a_desk_user_without_them_does_not(self):
		self.assertEqual(self.tile_for(ensure_user("ec-apps-desk-user@example.com", (DESK_ROLE,))), [])

	def test_the_desk_uses_the_app_s_logo(self):
		self.assertIn(LOGO, frappe.get_hooks("app_logo_url"))
