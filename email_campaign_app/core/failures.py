"""What becomes of an email that could not be queued or delivered, decided on plain values.

A failure is retried on later runs, at most MAX_ATTEMPTS times in all, then the email is
Failed for good: a dead address must not get one attempt a day for ever (it hurts the
sender's reputation). A permanent SMTP refusal (a 5xx reply) fails at once. Only a user's
explicit retry sends a Failed email again. This module never imports frappe.
"""

import re
from typing import NamedTuple

from email_campaign_app.core.statuses import ERROR, FAILED

MAX_ATTEMPTS = 3

# An SMTP reply in smtplib's exceptions: (550, b'5.1.1 No such user') or (451, '...').
# The last line of a traceback of a Frappe error (the message a user reads follows)
FRAPPE_EXCEPTION = re.compile(r"^frappe\.exceptions\.\w+:\s*")
SMTP_REPLY = re.compile(r"""\(\s*([2-5]\d\d)\s*,\s*b?(['"])(.*?)\2""")


class Failure(NamedTuple):
	permanent: bool
	reason: str


def classify(error: str | None) -> Failure:
	"""The failure a traceback (or error text) describes: its last line is the exception."""
	lines = [line.strip() for line in (error or "").strip().splitlines() if line.strip()]
	last = FRAPPE_EXCEPTION.sub("", lines[-1]) if lines else ""
	reply = SMTP_REPLY.search(last) if "SMTP" in last else None
	if reply:
		code, text = int(reply.group(1)), reply.group(3)
		return Failure(code >= 500, f"SMTP {code} {text}".strip())
	return Failure(False, last[:500])


def status_after(attempts: int, permanent: bool) -> str:
	"""The ledger status of an email after its `attempts`-th failed attempt."""
	return FAILED if permanent or attempts >= MAX_ATTEMPTS else ERROR
