"""Rewriting the links of an email's HTML (click tracking), on plain values. This module never
imports frappe; the tracked links are signed with core/signing.py."""

import html
import re
from collections.abc import Callable
from urllib.parse import urlsplit

# <a ... href="..."> or href='...': the links a template's HTML carries
LINK = re.compile(r"""(<a\b[^>]*?\shref\s*=\s*)(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL)


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
