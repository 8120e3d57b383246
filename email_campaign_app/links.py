"""The unsubscribe link of an email, its footer and its RFC 8058 List-Unsubscribe headers."""

from urllib.parse import urlencode

import frappe
from frappe.utils import get_url

from email_campaign_app import email_headers, tokens

UNSUBSCRIBE_METHOD = "/api/method/email_campaign_app.api.unsubscribe"


def unsubscribe_url(email_campaign: str, email: str) -> str:
	token = tokens.make_token(get_secret(), email_campaign, email)
	query = urlencode({"email_campaign": email_campaign, "email": email, "token": token})
	return get_url(f"{UNSUBSCRIBE_METHOD}?{query}")


OPENED_METHOD = "/api/method/email_campaign_app.api.email_opened"


def tracking_pixel(email_campaign: str, ledger_key: str) -> str:
	"""An image that tells, when the recipient's mail client loads it, that this email was opened."""
	token = tokens.make_token(get_secret(), email_campaign, ledger_key, purpose="opened")
	query = urlencode({"email_campaign": email_campaign, "log": ledger_key, "token": token})
	return f'<img src="{get_url(f"{OPENED_METHOD}?{query}")}" alt="" width="1" height="1">'


def get_secret() -> str:
	from frappe.utils.password import get_encryption_key

	return get_encryption_key()


def unsubscribe_footer(link: str | None) -> str:
	"""The footer with the recipient's link, or (for a test) a notice in its place."""
	return frappe.render_template(
		"email_campaign_app/templates/emails/email_campaign_footer.html", {"unsubscribe_url": link}
	)


class list_unsubscribe_header:
	"""While active, the app's `make_email_body_message` hook adds the RFC 8058 headers."""

	def __init__(self, url: str):
		self.url = url

	def __enter__(self):
		frappe.flags.email_campaign_unsubscribe_url = self.url

	def __exit__(self, *exc):
		frappe.flags.email_campaign_unsubscribe_url = None


def add_list_unsubscribe_headers(email):
	"""Hook `make_email_body_message`: acts only on this app's emails (the flag above)."""
	url = frappe.flags.get("email_campaign_unsubscribe_url")
	if url:
		email_headers.register()  # this process serializes the message next
		email.set_header("List-Unsubscribe", f"<{url}>")
		email.set_header("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
