"""An SMTP refusal that concerns the sending account, not the recipient.

A 421, or a 4.7.x "too many", slows the whole account down (limits.slow_down); a refusal of
the sender (authentication, Microsoft's 5.7.515…) stops it (limits.stop_sending). Either way
the email is not the recipient's failure: it is parked, Not Sent and out of reach of Frappe's
flush for a day, its ledger row Waiting, with the other emails of its account in the same
delivery; the dispatcher sends them once the account may send again (dispatcher.py).
"""

import smtplib

import frappe
from frappe.utils import add_days, now_datetime, strip_html

from email_campaign_app.core import failures, statuses
from email_campaign_app.sending import limits
from email_campaign_app.sending.ledger import LEDGER

PARKED_DAYS = 1  # Frappe's flush sends a parked email only if the dispatcher is gone this long


def reply_of(error: Exception) -> tuple[int, str, bool] | None:
	"""(code, text, refused at MAIL FROM) of the SMTP reply an smtplib error carries."""
	if isinstance(error, smtplib.SMTPRecipientsRefused) and error.recipients:
		code, text = next(iter(error.recipients.values()))
		return int(code), as_text(text), False
	if isinstance(error, smtplib.SMTPResponseException):
		return int(error.smtp_code), as_text(error.smtp_error), isinstance(error, smtplib.SMTPSenderRefused)
	return None


def as_text(text) -> str:
	return text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)


def verdict_of(error: Exception | None) -> str:
	reply = reply_of(error) if error else None
	return failures.smtp_verdict(*reply) if reply else failures.RECIPIENT


def hold_account(account: str, error: Exception) -> str:
	"""Slow down or stop the account the error concerns; the reason, for the ledger."""
	code, text, _at_mail_from = reply_of(error)
	reason = strip_html(f"SMTP {code} {text}").strip()  # another server's words, shown in the Desk
	if verdict_of(error) == failures.SENDER_REFUSED:
		limits.stop_sending(account, reason)
	else:
		limits.slow_down(account, reason)
	return reason


def park(email_queues: list[str], reason: str):
	"""Not Sent, out of the flush's reach; the ledger rows Waiting (no attempt counted)."""
	if not email_queues:
		return
	EmailQueue = frappe.qb.DocType("Email Queue")
	frappe.qb.update(EmailQueue).set(EmailQueue.status, "Not Sent").set(
		EmailQueue.send_after, add_days(now_datetime(), PARKED_DAYS)
	).where(EmailQueue.name.isin(email_queues) & EmailQueue.status.isin(("Not Sent", "Sending"))).run()
	Ledger = frappe.qb.DocType(LEDGER)
	frappe.qb.update(Ledger).set(Ledger.status, statuses.WAITING).set(Ledger.error, reason[:500]).where(
		Ledger.email_queue.isin(email_queues) & Ledger.status.isin((statuses.QUEUED, statuses.WAITING))
	).run()
	frappe.db.commit()
