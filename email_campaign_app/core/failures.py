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


# What an SMTP reply says about the sending mailbox rather than about one recipient
RECIPIENT = "recipient"  # this email only: Frappe's retries, then Failed (as above)
SLOW_DOWN = "slow down"  # the server defers the account: it backs off, nobody is failed
SENDER_REFUSED = "sender refused"  # the account may not send (authentication, policy): stop it

ENHANCED_CODE = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
RATE_WORDS = re.compile(r"too many|rate limit|rate exceeded|throttl|limit exceeded", re.I)
# 5.7.x replies about the sender: Microsoft's 5.7.515 (the sender domain fails authentication),
# 5.7.57 and 5.7.139 (client not authenticated or authentication disabled), 5.7.60 (SendAs
# denied), 5.7.708 (traffic from this address refused), 5.7.8 (bad credentials)
SENDER_CODES = {"5.7.515", "5.7.57", "5.7.139", "5.7.60", "5.7.708", "5.7.8"}
SENDER_WORDS = re.compile(
	r"authenticat|sender|send ?as|not permitted to relay|relay (access )?denied|spf|dkim|dmarc", re.I
)


def smtp_verdict(code: int, text: str, at_mail_from: bool = False) -> str:
	"""Whom an SMTP refusal concerns. A 421, or a 4xx about a rate (a 4.7.x code or words
	saying so) slows the account down; a 530/535, or a 5.7.x about the sender (or any 5xx to
	MAIL FROM) stops the account; anything else concerns the recipient alone."""
	enhanced = ENHANCED_CODE.search(text or "")
	enhanced_code = enhanced.group(0) if enhanced else ""
	about_rate = enhanced_code.startswith("4.7.") or RATE_WORDS.search(text or "")
	if code == 421 or (400 <= code < 500 and about_rate):
		return SLOW_DOWN
	if code in (530, 535) or (code >= 500 and at_mail_from):
		return SENDER_REFUSED
	if enhanced_code in SENDER_CODES or (
		enhanced_code.startswith("5.7.") and SENDER_WORDS.search(text or "")
	):
		return SENDER_REFUSED
	return RECIPIENT


def backoff_minutes(deferrals_in_a_row: int) -> int:
	"""How long an account waits after its n-th deferral in a row: 1, 2, 4 … at most 60 minutes."""
	return min(60, 2 ** max(0, deferrals_in_a_row - 1))
