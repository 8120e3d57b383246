"""What the app adds to Frappe's own forms' dashboards."""

from frappe import _


def contact_dashboard(data: dict) -> dict:
	"""Hook override_doctype_dashboards: the Contact form counts its Email Campaigns, with "+"."""
	if data.get("fieldname") and data["fieldname"] != "recipient":
		data.setdefault("non_standard_fieldnames", {})["Email Campaign"] = "recipient"
	else:
		data["fieldname"] = "recipient"
	data.setdefault("dynamic_links", {})["recipient"] = ["Contact", "email_campaign_for"]
	data.setdefault("transactions", []).append({"label": _("Email Campaigns"), "items": ["Email Campaign"]})
	return data
