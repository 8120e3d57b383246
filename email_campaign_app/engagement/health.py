"""A Campaign that hurts the sender's reputation pauses itself.

Mailbox providers refuse bulk mail from senders whose bounce or complaint rates are high
(Gmail: spam rate under 0.1 %, never 0.3 %; Amazon SES reviews accounts above 5 % bounces).
When a Campaign's recent emails (the last `health_days` days, at least `health_min_sends` of
them) hard-bounce at `pause_hard_bounce_rate` or more, or draw complaints at
`pause_complaint_rate` or more, its running Email Campaigns are paused (the ordinary Paused
state: a Sales Manager resumes them once the list is cleaned), and its owner and the Sales
Managers are told why, with the figures.
"""

from typing import NamedTuple

import frappe
from frappe import _
from frappe.desk.doctype.notification_log.notification_log import enqueue_create_notification
from frappe.query_builder.functions import Count, Sum
from frappe.utils import add_days, cint, flt, now_datetime
from pypika.terms import Case

from email_campaign_app import permissions, utils
from email_campaign_app.core import statuses
from email_campaign_app.sending import pausing
from email_campaign_app.sending.ledger import LEDGER

DEFAULTS = {
	"pause_hard_bounce_rate": 5.0,
	"pause_complaint_rate": 0.3,
	"health_days": 7,
	"health_min_sends": 20,
}


class Figures(NamedTuple):
	sent: int
	hard_bounces: int
	complaints: int

	def rate(self, count: int) -> float:
		return 100.0 * count / self.sent if self.sent else 0.0


def settings() -> frappe._dict:
	doc = frappe.get_cached_doc("Email Campaign Settings")
	return frappe._dict(
		{
			key: doc.get(key) if doc.get(key) not in (None, "") else default
			for key, default in DEFAULTS.items()
		}
	)


def recent_figures(campaign_name: str, days: int) -> Figures:
	"""The Campaign's emails accepted in the last `days` days, and their hard bounces and complaints."""
	Ledger = frappe.qb.DocType(LEDGER)

	def count(condition):
		return Sum(Case().when(condition, 1).else_(0))

	sent, hard, complaints = (
		frappe.qb.from_(Ledger)
		.select(Count("*"), count(Ledger.bounce == "Hard"), count(Ledger.bounce == "Complaint"))
		.where(
			(Ledger.campaign_name == campaign_name)
			& Ledger.status.isin(statuses.ACCEPTED)
			& (Ledger.creation >= add_days(now_datetime(), -days))
		)
		.run()[0]
	)
	return Figures(cint(sent), cint(hard), cint(complaints))


def check(campaign_name: str | None):
	"""Pause the Campaign's running Email Campaigns when its recent rates pass the thresholds."""
	if not campaign_name:
		return
	limits = settings()
	figures = recent_figures(campaign_name, cint(limits.health_days))
	if figures.sent < cint(limits.health_min_sends):
		return
	hard_rate, complaint_rate = figures.rate(figures.hard_bounces), figures.rate(figures.complaints)
	if hard_rate < flt(limits.pause_hard_bounce_rate) and complaint_rate < flt(limits.pause_complaint_rate):
		return
	running = frappe.get_all(
		"Email Campaign",
		filters={"campaign_name": campaign_name, "status": ("in", pausing.PAUSABLE)},
		pluck="name",
	)
	if not running:
		return
	why = (
		_(
			"Paused automatically: in the last day, {1} of the {2} emails of Campaign {3} hard-bounced ({4} %) and {5} drew a complaint ({6} %); the limits are {7} % and {8} %. Clean the list, then resume."
		)
		if cint(limits.health_days) == 1
		else _(
			"Paused automatically: in the last {0} days, {1} of the {2} emails of Campaign {3} hard-bounced ({4} %) and {5} drew a complaint ({6} %); the limits are {7} % and {8} %. Clean the list, then resume."
		)
	).format(
		limits.health_days,
		figures.hard_bounces,
		figures.sent,
		campaign_name,
		round(hard_rate, 2),
		figures.complaints,
		round(complaint_rate, 2),
		limits.pause_hard_bounce_rate,
		limits.pause_complaint_rate,
	)
	for name in running:
		pausing.pause(frappe.get_doc("Email Campaign", name), why=why)
	tell(campaign_name, why, len(running))


def tell(campaign_name: str, why: str, paused: int):
	"""The Campaign's timeline, and a notification to its owner and every Sales Manager."""
	campaign = frappe.get_doc("Campaign", campaign_name)
	campaign.add_comment("Info", why)
	owner = frappe.db.get_value("User", campaign.owner, "email")
	users = {owner, *utils.emails_of_role_holders((permissions.SALES_MANAGER,))} - {None}
	enqueue_create_notification(
		sorted(users),
		{
			"type": "Alert",
			"document_type": "Campaign",
			"document_name": campaign_name,
			"subject": (
				_("Campaign {0}: 1 Email Campaign paused for bounces or complaints")
				if paused == 1
				else _("Campaign {0}: {1} Email Campaigns paused for bounces or complaints")
			).format(campaign_name, paused),
			"email_content": why,
		},
	)
