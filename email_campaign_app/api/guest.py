"""What recipients open from their emails, without logging in: the unsubscribe link (and the
RFC 8058 one-click POST of mail providers), the tracking pixel, tracked links.

Their URLs (`/api/method/email_campaign_app.api.unsubscribe`, `.email_opened`, `.click`) are
in emails already delivered: api/__init__.py keeps them.
"""

import ipaddress
from functools import cache
from pathlib import Path

import frappe
import jinja2
from frappe import _
from frappe.translate import get_language
from frappe.utils import escape_html
from markupsafe import Markup
from werkzeug.wrappers import Response

from email_campaign_app.engagement import tracking
from email_campaign_app.engagement.unsubscribe import address_of_recipient, unsubscribe_address
from email_campaign_app.sending import email_links

THIS_CAMPAIGN, EVERY_CAMPAIGN = "campaign", "all"  # what the unsubscribe page offers
BAD_TOKEN_LIMIT = 20  # refused tokens per address (IP) and window before it is answered 429
BAD_TOKEN_WINDOW = 10 * 60
PAGE_TEMPLATE = "email_campaign_app/templates/unsubscribe_page.html"


@frappe.whitelist(allow_guest=True, methods=["GET", "POST"])
def unsubscribe(
	email_campaign: str | None = None,
	email: str | None = None,
	token: str | None = None,
	scope: str | None = None,
):
	"""GET shows a confirmation page (mail scanners open links); POST unsubscribes at once.

	The POST is both the page's button and the RFC 8058 one-click request of mail providers
	(`List-Unsubscribe=One-Click`, no cookie, no login). On the page the recipient chooses this
	campaign (what one-click means) or every campaign email from us (`scope=all`).
	"""
	use_visitor_language()
	if not email_links.is_valid_unsubscribe_token(email_campaign, email, token):
		return refuse_link(
			_("Invalid unsubscribe link"),
			_(
				"This link is incomplete or was not sent by us, so nothing was changed. Use the link from the email you received, exactly as it is."
			),
		)
	if not frappe.db.exists("Email Campaign", email_campaign):
		return show_page(
			_("Unsubscribed"),
			_("This email campaign no longer exists: you will not receive its emails."),
			200,
		)
	email = address_of_recipient(email_campaign, email)
	if not email:
		return show_page(
			_("Invalid unsubscribe link"),
			_("This address does not receive this campaign's emails, so nothing was changed."),
			400,
		)
	if frappe.request.method == "GET" and already_unsubscribed(email_campaign, email):
		return show_page(
			_("Already unsubscribed"),
			_("{0} is already unsubscribed: you will not receive any more emails from this campaign.").format(
				frappe.bold(escape_html(email))
			),
			200,
		)
	if frappe.request.method == "POST":
		every_campaign = scope == EVERY_CAMPAIGN
		unsubscribe_address(email_campaign, email, every_campaign)
		frappe.db.commit()
		done = (
			_("{0} will not receive any more campaign emails from us.")
			if every_campaign
			else _("{0} will not receive any more emails from this campaign.")
		)
		return show_page(_("You are unsubscribed"), done.format(frappe.bold(escape_html(email))), 200)
	return show_confirmation(email_campaign, email, token)


@frappe.whitelist(allow_guest=True, methods=["GET"])
def email_opened(email_campaign: str | None = None, log: str | None = None, token: str | None = None):
	"""The tracking pixel: marks the email's Communication read, then answers a 1x1 image."""
	if email_links.is_valid_opened_token(email_campaign, log, token):
		tracking.mark_opened(log)
	frappe.response.update(frappe.utils.get_imaginary_pixel_response())


@frappe.whitelist(allow_guest=True, methods=["GET"])
def click(ledger_row: str | None = None, url: str | None = None, signature: str | None = None):
	"""A tracked link: count the click on the email's ledger row, then redirect to the URL this
	site signed for that email. Anything else is refused, never redirected (no open redirect)."""
	use_visitor_language()
	if not email_links.is_valid_click(ledger_row, url, signature):
		return refuse_link(
			_("Invalid link"),
			_(
				"This link is incomplete or was changed, so it leads nowhere. Use the link from the email you received, exactly as it is."
			),
		)
	tracking.record_click(ledger_row)
	frappe.db.commit()  # a GET is rolled back otherwise
	frappe.local.response["type"] = "redirect"
	frappe.local.response["location"] = url


def use_visitor_language():
	"""Answer a guest in the language of their browser (Accept-Language) when the site has it.

	Frappe v15 picks the request's language before it knows the visitor is a guest, so it
	never looks at their browser's language; asking again now gives the guest's choice.
	"""
	if frappe.session.user == "Guest":
		frappe.local.lang = get_language()


def show_confirmation(email_campaign: str, email: str, token: str) -> Response:
	form = {
		"action": email_links.UNSUBSCRIBE_METHOD,
		"fields": {"email_campaign": email_campaign, "email": email, "token": token},
		"choices": [
			(THIS_CAMPAIGN, _("Only this campaign")),
			(EVERY_CAMPAIGN, _("Every campaign email from us")),
		],
		"button": _("Unsubscribe"),
		# Frappe refuses a logged-in user's POST without it (a guest has none)
		"csrf_token": frappe.sessions.get_csrf_token() if frappe.session.user != "Guest" else None,
	}
	message = _("Do you want to stop receiving the emails of this campaign at {0}?").format(
		frappe.bold(escape_html(email))
	)
	return show_page(_("Unsubscribe"), message, 200, form=form)


def already_unsubscribed(email_campaign: str, email: str) -> bool:
	filters = {"email": email, "reference_doctype": "Email Campaign", "reference_name": email_campaign}
	return bool(frappe.db.exists("Email Unsubscribe", filters))


def show_page(title: str, message: str, http_status_code: int, form: dict | None = None) -> Response:
	"""The page, standalone: a scanner opens this link for every email, and a Frappe web page
	(website context, navbar, the Guest's boot data) costs a hundred queries. `message` is markup
	whose values the caller escaped; everything else is escaped by the template."""
	if http_status_code != 200:
		indicator = "red"
	else:
		indicator = "blue" if form else "green"
	html = page_template().render(
		lang=frappe.local.lang,
		title=title,
		message=Markup(message),
		indicator=indicator,
		# a page that went well shows no "Status: 200" under it
		status_line=_("Status: {0}").format(http_status_code) if http_status_code != 200 else None,
		form=form,
		**site_brand(),
	)
	response = Response(html, status=http_status_code, content_type="text/html; charset=utf-8")
	response.headers["Cache-Control"] = "no-store"
	return response


def site_brand() -> dict:
	"""The site's name and logo as its login page shows them (cached settings, no query), but
	not Frappe's default name, which tells a recipient nothing."""
	name = frappe.get_website_settings("app_name") or frappe.get_system_settings("app_name")
	return {
		"brand_name": name if name != "Frappe" else None,
		"brand_logo": frappe.get_website_settings("app_logo"),
	}


@cache
def page_template() -> jinja2.Template:
	"""Compiled once per process, outside Frappe's Jinja environment (rebuilt for every request)."""
	app = Path(__file__).resolve().parents[2]
	environment = jinja2.Environment(
		loader=jinja2.FileSystemLoader(app), autoescape=True, trim_blocks=True, lstrip_blocks=True
	)
	return environment.get_template(PAGE_TEMPLATE)


def refuse_link(title: str, message: str):
	"""A 400 page for a link this site did not sign; 429 once a client has opened too many."""
	if count_bad_token() > BAD_TOKEN_LIMIT:
		return show_page(
			_("Too many attempts"), _("Too many invalid links were opened. Try again later."), 429
		)
	return show_page(title, message, 400)


def bad_token_key(ip: str) -> str:
	return frappe.cache.make_key(f"email_campaign_app:bad_unsubscribe_token:{ip}")


def client_address() -> str:
	"""The visitor's address as the client cannot choose it: the socket's peer, or, when that
	peer is a proxy on this machine or the private network (nginx in front of Frappe), the
	address that proxy appended to X-Forwarded-For (its last element). Frappe's request_ip is
	the first element, which any client can set."""
	peer = frappe.request.environ.get("REMOTE_ADDR") or "127.0.0.1"
	forwarded = [part.strip() for part in (frappe.get_request_header("X-Forwarded-For") or "").split(",")]
	if forwarded[-1] and is_proxy(peer):
		return forwarded[-1]
	return peer


def is_proxy(address: str) -> bool:
	try:
		ip = ipaddress.ip_address(address)
	except ValueError:
		return False
	return ip.is_loopback or ip.is_private


def count_bad_token() -> int:
	"""Count a refused token for the visitor's address; valid links are never counted."""
	key = bad_token_key(client_address())
	count = frappe.cache.incr(key)
	if count == 1:
		frappe.cache.expire(key, BAD_TOKEN_WINDOW)
	return count
