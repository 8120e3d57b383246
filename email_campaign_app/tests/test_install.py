from unittest.mock import patch

import frappe

from email_campaign_app.install import before_install, load_this_apps_modules
from email_campaign_app.tests.helpers import IntegrationTestCase


class TestInstall(IntegrationTestCase):
	def test_installing_beside_erpnext_is_refused_with_a_clear_message(self):
		real_installed_apps = frappe.get_installed_apps
		answers = iter([["frappe", "erpnext"]])  # only the install check sees ERPNext

		def installed_apps(*args, **kwargs):
			return next(answers, None) or real_installed_apps(*args, **kwargs)

		with patch("frappe.get_installed_apps", side_effect=installed_apps):
			with self.assertRaisesRegex(
				frappe.ValidationError, "already provides Campaign, Email Campaign and Lead"
			):
				before_install()

	def test_installing_on_plain_frappe_is_allowed(self):
		with patch("frappe.get_installed_apps", return_value=["frappe"]):
			before_install()

	def test_a_module_map_cached_before_the_app_joined_apps_txt_is_rebuilt(self):
		"""Frappe v16's install-app reads the cached map, and would create no DocType without it."""
		frappe.setup_module_map()
		self.addCleanup(frappe.setup_module_map)
		stale = {
			app: modules for app, modules in frappe.local.app_modules.items() if app != "email_campaign_app"
		}
		frappe.cache.set_value("app_modules", stale)
		frappe.local.app_modules = stale
		load_this_apps_modules()
		self.assertEqual(frappe.local.app_modules["email_campaign_app"], ["email_campaign_app"])
		self.assertEqual(frappe.local.module_app["email_campaign_app"], "email_campaign_app")
		self.assertEqual(frappe.cache.get_value("app_modules")["email_campaign_app"], ["email_campaign_app"])
