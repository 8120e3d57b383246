"""Labels stay in English here: Frappe caches a form's dashboard once for every user, and the
Desk translates each label in its reader's language."""


def get_data():
	return {
		"fieldname": "campaign_name",
		"transactions": [{"label": "Email Campaigns", "items": ["Email Campaign"]}],
	}
