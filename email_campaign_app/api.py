"""Whitelisted methods: the recipients' unsubscribe endpoint and the Desk's Email Campaign actions."""

import ipaddress

import frappe
from frappe import _
from frappe.translate import get_language
from frappe.utils import escape_html

from email_campaign_app import (
	desk,
	enrolment,
	ledger,
	links,
	pausing,
	permissions,
	planning,
	tokens,
	tracking,
)
from email_campaign_app.unsubscribe import address_of_recipient, unsubscribe_address

THIS_CAMPAIGN, EVERY_CAMPAIGN = "campaign", "all"  # what the unsubscribe page offers
BAD_TOKEN_LIMIT = 20  # refused tokens per address (IP) and window before it is answered 429
BAD_TOKEN_WINDOW = 10 * 60


@frappe.whitelist(allow_guest=True, methods=["GET", "POST"])
def unsubscribe(
	email_campaign: str | None = None, email: str | None = None, token: str | None = None, scope: str | None = None
):
	"""GET shows a confirmation page (mail scanners open links); POST unsubscribes at once.

	The POST is both the page's button and the RFC 8058 one-click request of mail providers
	(`List-Unsubscribe=One-Click`, no cookie, no login). On the page the recipient chooses this
	campaign (what one-click means) or every campaign email from us (`scope=all`).
	"""
	use_visitor_language()
	if not tokens.is_valid_token(links.get_secret(), email_campaign, email, token):
		if count_bad_token() > BAD_TOKEN_LIMIT:
			return show_page(_("Too many attempts"), _("Too many invalid links were opened. Try again later."), 429)
		return show_page(
			_("Invalid unsubscribe link"),
			_("This link is incomplete or was not sent by us, so nothing was changed. Use the link from the email you received, exactly as it is."),
			400,
		)
	if not frappe.db.exists("Email Campaign", email_campaign):
		return show_page(
			_("Unsubscribed"), _("This email campaign no longer exists: you will not receive its emails."), 200
		)
	email = address_of_recipient(email_campaign, email)
	if not email:
		return show_page(
			_("Invalid unsubscribe link"),
			_("This address does not receive this campaign's emails, so nothing was changed."),
			400,
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
	if tokens.is_valid_token(links.get_secret(), email_campaign, log, token, purpose="opened"):
		mark_opened(log)
	frappe.response.update(frappe.utils.get_imaginary_pixel_response())


def mark_opened(log: str):
	communication = frappe.db.get_value(ledger.LEDGER, log, "communication")
	if communication and not frappe.db.get_value("Communication", communication, "read_by_recipient"):
		frappe.db.set_value(
			"Communication",
			communication,
			{"read_by_recipient": 1, "delivery_status": "Read", "read_by_recipient_on": frappe.utils.now_datetime()},
		)
	frappe.db.commit()  # a GET is rolled back otherwise


@frappe.whitelist(allow_guest=True, methods=["GET"])
def click(ledger_row: str | None = None, url: str | None = None, signature: str | None = None):
	"""A tracked link: count the click on the email's ledger row, then redirect to the URL this
	site signed for that email. Anything else is refused, never redirected (no open redirect)."""
	use_visitor_language()
	if not tracking.is_valid_click(ledger_row, url, signature):
		if count_bad_token() > BAD_TOKEN_LIMIT:
			return show_page(_("Too many attempts"), _("Too many invalid links were opened. Try again later."), 429)
		return show_page(
			_("Invalid link"),
			_("This link is incomplete or was changed, so it leads nowhere. Use the link from the email you received, exactly as it is."),
			400,
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


def show_confirmation(email_campaign: str, email: str, token: str):
	frappe.respond_as_web_page(
		_("Unsubscribe"),
		_("Do you want to stop receiving the emails of this campaign at {0}?").format(frappe.bold(escape_html(email))),
		context={
			"form_action": links.UNSUBSCRIBE_METHOD,
			"form_fields": {"email_campaign": email_campaign, "email": email, "token": token},
			"form_choices": {
				"name": "scope",
				"options": [
					(THIS_CAMPAIGN, _("Only this campaign")),
					(EVERY_CAMPAIGN, _("Every campaign email from us")),
				],
			},
			"form_button": _("Unsubscribe"),
		},
		primary_action=None,
		template="email_campaign_unsubscribe",
	)


def show_page(title: str, message: str, http_status_code: int):
	frappe.respond_as_web_page(
		title,
		message,
		http_status_code=http_status_code,
		success=http_status_code == 200,
		primary_action=None,
		template="email_campaign_unsubscribe",
	)


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


@frappe.whitelist(methods=["POST"])
def send_due_emails_now(email_campaign: str):
	"""Queue now what the daily job would queue today for this Email Campaign."""
	permissions.check_is_manager()
	frappe.get_doc("Email Campaign", email_campaign).check_permission("write")
	due = planning.queue_due_emails([email_campaign])
	if due.sends:
		frappe.msgprint(
			_("{0} email(s) queued.").format(len(due.sends)), indicator="green", alert=True
		)
	else:
		frappe.msgprint(_("Nothing is due today for this Email Campaign."), alert=True)
	return len(due.sends)


@frappe.whitelist(methods=["POST"])
def retry_failed_emails(email_campaign: str):
	"""Send this Email Campaign's Failed emails again on the next run: a user's explicit choice."""
	permissions.check_is_manager()
	frappe.get_doc("Email Campaign", email_campaign).check_permission("write")
	count = ledger.retry_failed(email_campaign)
	frappe.msgprint(_("{0} failed email(s) will be sent again on the next run.").format(count), alert=True)
	return count


@frappe.whitelist(methods=["POST"])
def pause_email_campaign(email_campaign: str):
	"""Pause: nothing more is sent, and the emails waiting in the Email Queue are withdrawn."""
	doc = frappe.get_doc("Email Campaign", email_campaign)
	permissions.check_can_pause(doc)
	withdrawn = pausing.pause(doc)
	frappe.msgprint(_("Email Campaign paused."), indicator="orange", alert=True)
	return {"status": doc.status, "withdrawn": withdrawn}


@frappe.whitelist(methods=["POST"])
def resume_email_campaign(email_campaign: str, mode: str):
	"""Resume, shifting the remaining schedule by the paused days or catching up; what is
	due today is queued at once."""
	doc = frappe.get_doc("Email Campaign", email_campaign)
	permissions.check_can_pause(doc)
	shifted = pausing.resume(doc, mode)
	due = planning.queue_due_emails([doc.name])
	frappe.msgprint(_("Email Campaign resumed: {0} email(s) queued now.").format(len(due.sends)), indicator="green", alert=True)
	return {"status": doc.status, "shifted_days": shifted, "queued": len(due.sends), "end_date": doc.end_date}


@frappe.whitelist()
def preview(email_campaign: str, member: str | None = None):
	doc = frappe.get_doc("Email Campaign", email_campaign)
	doc.check_permission("read")
	permissions.check_can_read_recipient(doc, member)
	return desk.preview(email_campaign, member)


@frappe.whitelist(methods=["POST"])
def send_test_email(email_campaign: str, email_template: str, member: str | None = None):
	doc = frappe.get_doc("Email Campaign", email_campaign)
	doc.check_permission("write")
	permissions.check_can_read_recipient(doc, member)
	to, _email_queue = desk.send_test_email(email_campaign, email_template, member)
	frappe.msgprint(_("Test email sent to {0}.").format(to), indicator="green", alert=True)
	return to


@frappe.whitelist()
def get_schedule_view(email_campaign: str):
	frappe.get_doc("Email Campaign", email_campaign).check_permission("read")
	return desk.schedule_view(email_campaign)


@frappe.whitelist(methods=["POST"])
def add_to_email_campaign(
	doctype: str,
	names: str | list,
	campaign_name: str,
	start_date: str,
	send_at: str = "09:00",
	sender: str | None = None,
):
	"""Lead and Contact lists, Actions > Add to Email Campaign: one Email Campaign per record.

	Up to 50 records answer {"summary": …}; more run in a background job that reports its
	progress and sends the summary as a realtime event: the answer is then {"queued": count}."""
	frappe.has_permission("Email Campaign", "create", throw=True)
	enrolment.check_doctype(doctype)
	frappe.has_permission(doctype, "read", throw=True)
	values = {
		"campaign_name": campaign_name,
		"start_date": start_date,
		"send_at": send_at,
		"sender": sender or frappe.session.user,
	}
	return enrolment.add_to_email_campaign(doctype, enrolment.parse_names(names), values)
