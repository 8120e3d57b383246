"""Sites that installed the app before it had roles: grant them on Frappe's own doctypes."""

from email_campaign_app import permissions


def execute():
	permissions.grant_core_permissions()
