"""Setting a template's Jinja aside while HTML tools work on it, then putting it back.

A step's email is CSS-inlined once, with its Jinja constructs replaced by inert tokens; the
tokens must come back exactly where they were. When the HTML parser moved anything (text
inside a <table> between rows, a <p> it closed), the result is refused and the caller builds
the email per recipient instead. This module never imports frappe.
"""

import quopri
import re

JINJA = re.compile(r"{{.*?}}|{%.*?%}|{#.*?#}", re.S)
TAG_OR_TOKEN = re.compile(r"<(/?)([a-zA-Z][\w-]*)|https://ecjinja\d{5}\.invalid")
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


def token(index: int) -> str:
	# Looks like an absolute URL, so that Frappe's relative-URL expansion leaves it alone
	return f"https://ecjinja{index:05d}.invalid"


def protect(source: str) -> tuple[str, list[str]]:
	"""`source` with each Jinja construct replaced by an inert token, and the constructs."""
	constructs = []

	def set_aside(match):
		constructs.append(match.group(0))
		return token(len(constructs) - 1)

	return JINJA.sub(set_aside, source), constructs


def restore(text: str, constructs: list[str]) -> str | None:
	"""Put the constructs back; None when a token was lost, repeated or moved out of order."""
	positions = [text.find(token(i)) for i in range(len(constructs))]
	if any(p < 0 for p in positions) or positions != sorted(positions):
		return None
	if any(text.count(token(i)) != 1 for i in range(len(constructs))):
		return None
	return restore_found(text, constructs)


def restore_found(text: str, constructs: list[str]) -> str:
	"""Put back the constructs whose token `text` kept: a plain text drops the attributes of
	the HTML it comes from (an image's address, a style), and the tokens in them."""
	for i, construct in enumerate(constructs):
		text = text.replace(token(i), construct)
	return text


def quoted_printable(text: str) -> str:
	"""`text` as the quoted-printable lines of a MIME part (CRLF line ends)."""
	return quopri.encodestring(text.encode()).decode().replace("\n", "\r\n")


def structure(html: str) -> list[str]:
	"""The sequence of tags and tokens of `html` (attributes and text aside)."""
	items = []
	for match in TAG_OR_TOKEN.finditer(html):
		closing, tag = match.group(1), (match.group(2) or "").lower()
		if not tag:
			items.append(match.group(0))
		elif not (closing and tag in VOID):
			items.append(closing + tag)
	return items


LEADING_CLOSING_TAGS = re.compile(r"^\s*(?:</[a-zA-Z][\w-]*\s*>\s*)+")


def inlined_in_place(protected: str, inlined: str) -> str | None:
	"""`inlined` when it keeps the tags and tokens of `protected` in the same order, else None.

	Closing tags it starts with are left aside: they close what the wrapper opened around the
	content (Frappe's email wrapper puts it in a <p>, which a block element closes)."""
	found = structure(inlined)
	while found and found[0].startswith("/"):
		found.pop(0)
	return inlined if structure(protected) == found else None


def without_leading_closing_tags(html: str) -> str:
	return LEADING_CLOSING_TAGS.sub("", html)
