"""What the app adds to Frappe's own forms' dashboards. Labels stay in English: Frappe caches
a form's dashboard once for every user, and the Desk translates each label in its reader's
language."""


def contact_dashboard(data: dict) -> dict:
	"""Hook override_doctype_dashboards: the Contact form counts its Email Campaigns, with "+"."""
	if data.get("fieldname") and data["fieldname"] != "recipient":
		data.setdefault("non_standard_fieldnames", {})["Email Campaign"] = "recipient"
	else:
		data["fieldname"] = "recipient"
	data.setdefault("dynamic_links", {})["recipient"] = ["Contact", "email_campaign_for"]
	data.setdefault("transactions", []).append({"label": "Email Campaigns", "items": ["Email Campaign"]})
	return data
