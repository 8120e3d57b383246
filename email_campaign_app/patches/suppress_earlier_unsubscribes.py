"""An unsubscribe made before the suppression list existed keeps its Campaign from the address
too: each Email Unsubscribe of an Email Campaign becomes a suppression entry for that Campaign."""

import frappe
from frappe import _

from email_campaign_app.sending import suppression


def execute():
	campaigns = dict(frappe.get_all("Email Campaign", fields=["name", "campaign_name"], as_list=True))
	for row in frappe.get_all(
		"Email Unsubscribe",
		filters={"reference_doctype": "Email Campaign"},
		fields=["email", "reference_name"],
	):
		if row.reference_name in campaigns and row.email:
			suppression.suppress(
				row.email,
				suppression.UNSUBSCRIBED,
				campaign=campaigns[row.reference_name],
				evidence=_("Unsubscribed through an email of Email Campaign {0}.").format(row.reference_name),
				email_campaign=row.reference_name,
			)
