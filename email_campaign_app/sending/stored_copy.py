"""The copy of a sent email that the Desk shows (its Communication): safe for every reader.

A campaign's Communications are written in bulk, without Frappe's document hooks, so the
sanitizing Frappe applies when it inserts a Communication itself (`BaseDocument.
_sanitize_content`) is applied here, field by field, the same way. The copy never carries the
recipient's live links: whoever may read the Email Campaign must not be able to unsubscribe
the recipient, or count a click, from the Desk.
"""

from functools import lru_cache

import frappe
from frappe.utils.html_utils import sanitize_html

# A link Frappe's sanitizer drops (only http, https, mailto and cid survive): the footer's
# "Unsubscribe" stays as text, without a target.
NO_LINK = "about:blank"


def without_live_links(html: str, unsubscribe_url: str) -> str:
	"""The email's body before its links were tracked, without the recipient's unsubscribe link."""
	return html.replace(unsubscribe_url, NO_LINK) if unsubscribe_url else html


def sanitized(fieldname: str, value: str | None) -> str | None:
	"""`value` as Frappe would store it in that Communication field."""
	if not value or ("<" not in value and ">" not in value):
		return value
	return sanitized_html(value, communication_fieldtype(fieldname) == "Text Editor")


@lru_cache(maxsize=256)
def sanitized_html(value: str, linkify: bool) -> str:
	"""Cached: a group step's copies are often the same for every member."""
	return sanitize_html(value, linkify=linkify)


def communication_fieldtype(fieldname: str) -> str:
	return frappe.get_meta("Communication").get_field(fieldname).fieldtype
