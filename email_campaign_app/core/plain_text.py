"""The text/plain part of an email: what text-only clients, previews and spam filters read. This
module never imports frappe.

An email's HTML is wrapped in a document with a head (its title, its stylesheet) and layout
tables; a generic HTML-to-Markdown conversion keeps all of that (the stylesheet as text, the
tables as pipes). Here only the message is kept: its paragraphs, lists and line breaks, and each
link as `text (address)`.
"""

import re
from html.parser import HTMLParser

SKIPPED = {"head", "title", "style", "script", "template"}
BLOCKS = {
	"address", "article", "aside", "blockquote", "div", "dl", "dt", "dd", "footer", "form",
	"h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "main", "nav", "ol", "p", "pre",
	"section", "table", "tr", "ul",
}  # fmt: skip


def html_to_text(html: str) -> str:
	parser = _TextParser()
	parser.feed(html or "")
	parser.close()
	return _tidy("".join(parser.parts))


class _TextParser(HTMLParser):
	def __init__(self):
		super().__init__(convert_charrefs=True)
		self.parts: list[str] = []
		self.skipping = 0
		self.links: list[tuple[str, int]] = []  # (href, where its text starts in parts)

	def handle_starttag(self, tag, attrs):
		if tag in SKIPPED:
			self.skipping += 1
		elif tag == "br":
			self.parts.append("\n")
		elif tag == "li":
			self.parts.append("\n- ")
		elif tag in BLOCKS:
			self.parts.append("\n\n")
		elif tag == "a":
			self.links.append((dict(attrs).get("href") or "", len(self.parts)))

	def handle_startendtag(self, tag, attrs):
		if tag == "br":
			self.parts.append("\n")
		elif tag == "hr":
			self.parts.append("\n\n")

	def handle_endtag(self, tag):
		if tag in SKIPPED:
			self.skipping = max(0, self.skipping - 1)
		elif tag in BLOCKS:
			self.parts.append("\n\n")
		elif tag == "a" and self.links:
			href, start = self.links.pop()
			label = " ".join("".join(self.parts[start:]).split())
			if _is_web_address(href) and href != label:
				self.parts.append(f" ({href})" if label else href)

	def handle_data(self, data):
		if not self.skipping:
			self.parts.append(re.sub(r"\s+", " ", data))


def _is_web_address(href: str) -> bool:
	return href.startswith(("http://", "https://", "mailto:"))


def _tidy(text: str) -> str:
	lines = [line.strip() for line in text.split("\n")]
	return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
