"""Labels stay in English here: Frappe caches a form's dashboard once for every user, and the
Desk translates each label in its reader's language."""


def get_data():
	return {
		"fieldname": "recipient",
		"dynamic_links": {"recipient": ["Lead", "email_campaign_for"]},
		"transactions": [{"label": "Email Campaigns", "items": ["Email Campaign"]}],
	}
