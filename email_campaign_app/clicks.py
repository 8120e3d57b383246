"""Click tracking on plain values: signed redirect links, and rewriting the links of an email.

A tracked link names the ledger row of the email it is in and the original URL, with an HMAC
of both keyed with the site's secret: the redirect endpoint sends a visitor only to a URL this
site signed for that email (no open redirect), and a tampered or unsigned link is refused.
This module never imports frappe.
"""

import base64
import hashlib
import hmac
import html
import re
from collections.abc import Callable
from urllib.parse import urlsplit

# <a ... href="..."> or href='...': the links a template's HTML carries
LINK = re.compile(r"""(<a\b[^>]*?\shref\s*=\s*)(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL)


def _digest(secret: str, ledger_row: str, url: str) -> bytes:
	if not secret:
		raise ValueError("a secret is required to sign tracked links")
	return hmac.new(secret.encode(), f"click\x1f{ledger_row}\x1f{url}".encode(), hashlib.sha256).digest()


def sign(secret: str, ledger_row: str, url: str) -> str:
	return base64.urlsafe_b64encode(_digest(secret, ledger_row, url)).rstrip(b"=").decode()


def is_valid(secret: str, ledger_row: str | None, url: str | None, signature: str | None) -> bool:
	if not (ledger_row and url and signature) or not all(isinstance(v, str) for v in (ledger_row, url, signature)):
		return False
	return hmac.compare_digest(sign(secret, ledger_row, url).encode(), signature.encode())


def is_trackable(url: str) -> bool:
	"""Only absolute web links are tracked (and redirected to): no mailto:, tel:, anchors,
	relative or javascript: links."""
	try:
		parts = urlsplit(url)
	except ValueError:
		return False
	return parts.scheme in ("http", "https") and bool(parts.netloc)


def rewrite_links(body: str, tracked_url: Callable[[str], str | None]) -> str:
	"""Each trackable link of `body` replaced by `tracked_url(original)`, unless that is None."""

	def replace(match: re.Match) -> str:
		url = html.unescape(match.group(3)).strip()
		new = tracked_url(url) if is_trackable(url) else None
		if not new:
			return match.group(0)
		return f"{match.group(1)}{match.group(2)}{html.escape(new, quote=True)}{match.group(2)}"

	return LINK.sub(replace, body)
