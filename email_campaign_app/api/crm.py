"""What Frappe CRM's interface (/crm) asks of this app, through the CRM Form Scripts it installs
(integrations/frappe_crm.py); adding leads goes through enrolment.add_to_email_campaign."""

import frappe
from frappe import _
from frappe.query_builder.functions import Count
from frappe.utils import today

from email_campaign_app.core import statuses
from email_campaign_app.enrolment import bulk
from email_campaign_app.sending.ledger import LEDGER


@frappe.whitelist()
def enrolment_options() -> dict:
	"""What the *Add to Email Campaign* dialog offers: the Campaigns the user may read, today,
	the Send At times; the sender is the user (a Sales User sends as themselves)."""
	frappe.has_permission("Email Campaign", "create", throw=True)
	send_at = frappe.get_meta("Email Campaign").get_field("send_at")
	return {
		"campaigns": frappe.get_list("Campaign", pluck="name", order_by="modified desc", limit=500),
		"today": today(),
		"send_at": [option for option in (send_at.options or "").split("\n") if option],
		"default_send_at": send_at.default,
		"sender": frappe.session.user,
	}


@frappe.whitelist()
def email_campaigns_of(doctype: str, name: str) -> list[dict]:
	"""A person's Email Campaigns that the user may read, newest first: Campaign, status (and
	its label in the user's language), dates, and how many emails went."""
	bulk.check_doctype(doctype)
	frappe.has_permission(doctype, "read", name, throw=True)
	rows = frappe.get_list(
		"Email Campaign",
		filters={"email_campaign_for": doctype, "recipient": name},
		fields=["name", "campaign_name", "status", "start_date", "end_date"],
		order_by="creation desc",
	)
	sent = emails_sent([row.name for row in rows])
	return [{**row, "status_label": _(row.status), "sent": sent.get(row.name, 0)} for row in rows]


def emails_sent(email_campaigns: list[str]) -> dict[str, int]:
	"""Per Email Campaign, its emails that went or are leaving (one query)."""
	if not email_campaigns:
		return {}
	Ledger = frappe.qb.DocType(LEDGER)
	rows = (
		frappe.qb.from_(Ledger)
		.select(Ledger.email_campaign, Count(Ledger.name))
		.where(
			Ledger.email_campaign.isin(email_campaigns)
			& Ledger.status.isin((statuses.QUEUED, *statuses.ACCEPTED))
		)
		.groupby(Ledger.email_campaign)
		.run()
	)
	return dict(rows)
