from frappe import _


def get_data():
	return {
		"fieldname": "recipient",
		"dynamic_links": {"recipient": ["Lead", "email_campaign_for"]},
		"transactions": [{"label": _("Email Campaigns"), "items": ["Email Campaign"]}],
	}
