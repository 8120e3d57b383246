"""Click tracking: the links of a campaign email go through a signed redirect on this site that
counts the click on the email's ledger row (the first click's time, and how many) and sends
the visitor on to the original URL. A Campaign setting; the unsubscribe link is never rewritten.
"""

from urllib.parse import urlencode

import frappe
from frappe.query_builder.functions import Coalesce
from frappe.utils import get_url, now_datetime

from email_campaign_app import clicks, links, schedule
from email_campaign_app.ledger import LEDGER

CLICK_METHOD = "/api/method/email_campaign_app.api.click"
NEVER_TRACKED = (links.UNSUBSCRIBE_METHOD, CLICK_METHOD)


def track_links(send: schedule.Send, campaign_name: str, body: str) -> str:
	"""The body with its web links rewritten to tracked redirects, when the Campaign tracks clicks."""
	if not frappe.get_cached_value("Campaign", campaign_name, "track_clicks"):
		return body
	return clicks.rewrite_links(body, lambda url: None if is_never_tracked(url) else click_url(send.key, url))


def is_never_tracked(url: str) -> bool:
	return any(method in url for method in NEVER_TRACKED)


def click_url(ledger_row: str, url: str) -> str:
	signature = clicks.sign(links.get_secret(), ledger_row, url)
	return get_url(f"{CLICK_METHOD}?{urlencode({'ledger_row': ledger_row, 'url': url, 'signature': signature})}")


def is_valid_click(ledger_row, url, signature) -> bool:
	return clicks.is_valid(links.get_secret(), ledger_row, url, signature) and clicks.is_trackable(url)


def record_click(ledger_row: str):
	"""One more click on the email's ledger row; the first click's time is kept (one UPDATE)."""
	Ledger = frappe.qb.DocType(LEDGER)
	frappe.qb.update(Ledger).set(Ledger.clicks, Coalesce(Ledger.clicks, 0) + 1).set(
		Ledger.first_clicked_on, Coalesce(Ledger.first_clicked_on, now_datetime())
	).where(Ledger.name == ledger_row).run()
