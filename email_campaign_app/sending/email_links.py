"""The links a campaign email carries, all signed with the site's secret (core/signing.py): its
unsubscribe link (footer and RFC 8058 List-Unsubscribe headers), its tracking pixel, and its
links rewritten for click tracking. The endpoints that receive them are in api/guest.py."""

from email.utils import parseaddr
from urllib.parse import urlencode

import frappe
from frappe import _
from frappe.utils import get_url
from frappe.utils.password import get_encryption_key
from frappe.utils.synchronization import filelock

from email_campaign_app.core import email_headers, link_rewriting, public_address, schedule, signing

UNSUBSCRIBE_METHOD = "/api/method/email_campaign_app.api.unsubscribe"
OPENED_METHOD = "/api/method/email_campaign_app.api.email_opened"
CLICK_METHOD = "/api/method/email_campaign_app.api.click"
NEVER_TRACKED = (UNSUBSCRIBE_METHOD, CLICK_METHOD)


def get_secret() -> str:
	"""The site's encryption key. Frappe creates it lazily, in whichever process first needs it,
	and Frappe v16 web processes cache the site config for a minute: a process whose config
	predates the key must read it from disk, never make a second one (every link signed with
	the first would die, and whatever Frappe encrypted with it)."""
	if not frappe.local.conf.get("encryption_key"):
		adopt_or_make_key()
	return frappe.local.conf.encryption_key


def adopt_or_make_key():
	with filelock("email_campaign_app_encryption_key"):
		on_disk = frappe.get_site_config().get("encryption_key")  # read now, not the cached copy
		if on_disk:
			frappe.local.conf.encryption_key = on_disk
		else:
			get_encryption_key()


def public_address_problem() -> str | None:
	"""Why this site sends no campaign email now: its links would lead nowhere. A development or
	test bench (developer mode, or `email_campaign_local_links` in its site config) may link to
	itself."""
	conf = frappe.local.conf
	host_name = conf.get("host_name") or conf.get("hostname")
	local_allowed = bool(conf.get("developer_mode") or conf.get("email_campaign_local_links"))
	problem = public_address.problem(host_name, local_allowed)
	how = _(
		"A System Manager sets it with: bench --site {0} set-config host_name https://your-domain"
	).format(frappe.local.site)
	if problem == public_address.UNSET:
		why = _(
			"No campaign email is sent: the site's public address (host_name) is not set, so the "
			"unsubscribe, open and click links of its emails would lead nowhere."
		)
		return f"{why} {how}"
	if problem == public_address.LOCAL:
		why = _(
			"No campaign email is sent: the site's public address {0} is on this machine, so the "
			"unsubscribe, open and click links of its emails would lead nowhere for recipients."
		).format(host_name)
		return f"{why} {how}"
	return None


def log_public_address_problem(problem: str):
	"""In the Error Log once a day (the dispatcher looks every minute)."""
	key = f"email_campaign_app:public_address_problem:{frappe.utils.today()}"
	if frappe.cache.get_value(key):
		return
	frappe.cache.set_value(key, 1, expires_in_sec=24 * 3600)
	frappe.log_error(title=_("Campaign emails are not sent: the site's public address"), message=problem)


def unsubscribe_url(email_campaign: str, email: str) -> str:
	token = signing.sign(get_secret(), signing.UNSUBSCRIBE, email_campaign, signing.address(email))
	query = urlencode({"email_campaign": email_campaign, "email": email, "token": token})
	return get_url(f"{UNSUBSCRIBE_METHOD}?{query}")


def is_valid_unsubscribe_token(email_campaign, email, token) -> bool:
	if not isinstance(email, str):
		return False
	return signing.is_valid(get_secret(), token, signing.UNSUBSCRIBE, email_campaign, signing.address(email))


def tracking_pixel(email_campaign: str, ledger_key: str) -> str:
	"""An image that tells, when the recipient's mail client loads it, that this email was opened."""
	token = signing.sign(get_secret(), signing.OPENED, email_campaign, signing.address(ledger_key))
	query = urlencode({"email_campaign": email_campaign, "log": ledger_key, "token": token})
	return f'<img src="{get_url(f"{OPENED_METHOD}?{query}")}" alt="" width="1" height="1">'


def is_valid_opened_token(email_campaign, ledger_key, token) -> bool:
	if not isinstance(ledger_key, str):
		return False
	return signing.is_valid(get_secret(), token, signing.OPENED, email_campaign, signing.address(ledger_key))


def track_links(send: schedule.Send, campaign_name: str, body: str) -> str:
	"""The body with its web links rewritten to tracked redirects, when the Campaign tracks clicks."""
	if not frappe.get_cached_value("Campaign", campaign_name, "track_clicks"):
		return body
	return link_rewriting.rewrite_links(
		body, lambda url: None if is_never_tracked(url) else click_url(send.key, url)
	)


def is_never_tracked(url: str) -> bool:
	return any(method in url for method in NEVER_TRACKED)


def click_url(ledger_row: str, url: str) -> str:
	signature = signing.sign(get_secret(), signing.CLICK, ledger_row, url)
	return get_url(
		f"{CLICK_METHOD}?{urlencode({'ledger_row': ledger_row, 'url': url, 'signature': signature})}"
	)


def is_valid_click(ledger_row, url, signature) -> bool:
	valid = signing.is_valid(get_secret(), signature, signing.CLICK, ledger_row, url)
	return valid and link_rewriting.is_trackable(url)


def unsubscribe_footer(link: str | None, sender: str | None = None) -> str:
	"""The footer with the recipient's link, or (for a test) a notice in its place, and who
	sends: the sender's name, the organisation and its postal address (Email Campaign Settings)."""
	settings = frappe.get_cached_doc("Email Campaign Settings")
	return frappe.render_template(
		"email_campaign_app/templates/emails/email_campaign_footer.html",
		{
			"unsubscribe_url": link,
			"sender_name": parseaddr(sender or "")[0] or parseaddr(sender or "")[1],
			"organisation": (settings.organisation_name or "").strip(),
			"postal_address": ", ".join(
				line.strip() for line in (settings.postal_address or "").splitlines() if line.strip()
			),
		},
	)


def set_list_unsubscribe_headers(mail, url: str):
	"""RFC 8058 one-click headers on one of this app's emails (Frappe's EMail), before it is
	serialized: List-Unsubscribe stays on one line (email_headers.py)."""
	email_headers.register()
	mail.set_header("List-Unsubscribe", f"<{url}>")
	mail.set_header("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
