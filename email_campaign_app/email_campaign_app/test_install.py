from unittest.mock import patch

import frappe

from email_campaign_app.install import before_install
from email_campaign_app.testing import IntegrationTestCase


class TestInstall(IntegrationTestCase):
	def test_installing_beside_erpnext_is_refused_with_a_clear_message(self):
		real_installed_apps = frappe.get_installed_apps
		answers = iter([["frappe", "erpnext"]])  # only the install check sees ERPNext

		def installed_apps(*args, **kwargs):
			return next(answers, None) or real_installed_apps(*args, **kwargs)

		with patch("frappe.get_installed_apps", side_effect=installed_apps):
			with self.assertRaisesRegex(frappe.ValidationError, "already provides Campaign, Email Campaign and Lead"):
				before_install()

	def test_installing_on_plain_frappe_is_allowed(self):
		with patch("frappe.get_installed_apps", return_value=["frappe"]):
			before_install()
