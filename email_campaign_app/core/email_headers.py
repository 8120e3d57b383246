"""Keep List-Unsubscribe on one line through Python's email package.

The email package folds a header longer than 78 characters, and for an unstructured header
whose URL has no space to fold at it falls back to RFC 2047 encoded words
(`=?utf-8?q?=3Chttp...`), which mail providers do not decode in List-Unsubscribe. Frappe
serializes each queued email twice (when queued and, re-parsed, when sent), so the header has
to survive both: registering its own header class with the email package's shared header
registry makes every serialization write it on one line (valid up to 998 characters).
"""

from email.headerregistry import UnstructuredHeader
from email.policy import EmailPolicy

MAX_LINE = 998


class ListUnsubscribeHeader(UnstructuredHeader):
	def fold(self, *, policy):
		line = f"{self.name}: {self}"
		if not str(self).isascii() or len(line) > MAX_LINE:
			return super().fold(policy=policy)
		return line + policy.linesep


def register():
	"""Idempotent; every EmailPolicy (default, SMTP, …) shares this one registry."""
	EmailPolicy.header_factory.map_to_type("list-unsubscribe", ListUnsubscribeHeader)
