"""The copy of a sent email that the Desk shows (its Communication): safe for every reader.

A campaign's Communications are written in bulk, without Frappe's document hooks, so the
sanitizing Frappe applies when it inserts a Communication itself (`BaseDocument.
_sanitize_content`) is applied here, field by field, the same way. The copy never carries the
recipient's live links: whoever may read the Email Campaign must not be able to unsubscribe
the recipient, or count a click, from the Desk.
"""

from frappe.utils.html_utils import sanitize_html

from email_campaign_app.core import html_shapes

# A link Frappe's sanitizer drops (only http, https, mailto and cid survive): the footer's
# "Unsubscribe" stays as text, without a target.
NO_LINK = "about:blank"


def sanitized(value: str | None) -> str | None:
	"""`value` as Frappe's sanitizer leaves it in a Communication field. Without linkify (which
	Frappe adds for a Text Editor field): it turns bare web addresses into links, a matter of
	looks that costs as much again as the sanitizing."""
	if not value or ("<" not in value and ">" not in value):
		return value
	return html_shapes.sanitized(value, sanitize_html, SHAPES)


# what the sanitizer made of each shape of HTML this process has cleaned (core/html_shapes.py)
SHAPES: dict[tuple, tuple] = {}
