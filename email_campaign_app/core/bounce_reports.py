"""Reading what mail servers send back, on plain email messages. This module never imports frappe.

- Delivery Status Notifications (RFC 3464, `multipart/report; report-type=delivery-status`),
  as Postfix, Exim, Exchange / Outlook.com and Gmail send them: the per-recipient `Action:
  failed` block says who, its `Status:` how (5.x.x hard, 4.x.x soft: the server gave up after
  its own retries); `Action: delayed` is only a warning, not a bounce.
- Feedback-loop complaints (ARF, RFC 5965, `report-type=feedback-report`): a recipient
  marked the email as spam at their mailbox provider.
- The plain-text bounces of older servers (qmail, old Exim and Sendmail): from a mailer
  daemon, an address and an SMTP reply in the text.
- Automatic replies (RFC 3834 `Auto-Submitted`, Exchange's and others' headers, "Out of
  office" subjects): never a bounce, never a reply that stops a sequence.

Each report carries the Message-ID of the email it reports on, when the server included the
original's headers: that is how it is matched to the campaign email it concerns.
"""

import re
from email.message import Message
from email.parser import HeaderParser
from email.utils import getaddresses, parseaddr
from typing import NamedTuple

HARD, SOFT, COMPLAINT = "Hard", "Soft", "Complaint"

STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
SMTP_REPLY = re.compile(r"\b([45]\d\d)[ -]+(?:#?([45]\.\d{1,3}\.\d{1,3})\b)?")
ADDRESS = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")
MESSAGE_ID = re.compile(r"^Message-ID:\s*<([^>\s]+)>", re.IGNORECASE | re.MULTILINE)
MAILER_DAEMON = re.compile(r"^(mailer-daemon|postmaster|mail-daemon|mailer)@", re.IGNORECASE)
BOUNCE_SUBJECT = re.compile(
	r"undeliver|delivery status notification|delivery failure|mail delivery failed|failure notice|"
	r"returned mail|non[- ]?remis|non distribu|échec de (la )?remise",
	re.IGNORECASE,
)
AUTO_REPLY_SUBJECT = re.compile(
	r"^\s*(automatic reply|auto(matic)?[- ]?reply|auto:|out of (the )?office|autosvar|abwesenheit|"
	r"réponse automatique|absence|absent)",
	re.IGNORECASE,
)


class Report(NamedTuple):
	"""A mail server's report on one campaign email to one address."""

	kind: str  # HARD, SOFT or COMPLAINT
	recipient: str  # the address it concerns, lowercase
	status: str  # the enhanced status code (5.1.1), or the SMTP reply code (550), or ""
	diagnostic: str  # one line, what the server said
	original_message_id: str | None  # without angle brackets


def read_report(message: Message) -> list[Report]:
	"""The bounces or the complaint a received message reports; [] when it is none."""
	report_type = (
		(message.get_param("report-type") or "").lower()
		if message.get_content_type() == "multipart/report"
		else ""
	)
	if report_type == "delivery-status":
		return read_delivery_status(message)
	if report_type == "feedback-report":
		return read_feedback_report(message)
	if is_from_mailer_daemon(message):
		return read_plain_text_bounce(message.get("Subject", ""), message_text(message))
	return []


def read_delivery_status(message: Message) -> list[Report]:
	original = original_message_id(message)
	reports = []
	for part in message.walk():
		if part.get_content_type() != "message/delivery-status":
			continue
		for block in delivery_status_blocks(part):
			action = (block.get("Action") or "").strip().lower()
			recipient = address_of(block.get("Final-Recipient") or block.get("Original-Recipient") or "")
			if action != "failed" or not recipient:
				continue  # delayed, delivered, relayed: not a bounce
			diagnostic = one_line(strip_type(block.get("Diagnostic-Code") or ""))
			status = status_code(block.get("Status") or "") or status_code(diagnostic)
			kind = SOFT if status.startswith("4") else HARD
			reports.append(Report(kind, recipient, status, diagnostic, original))
	return reports


def delivery_status_blocks(part: Message) -> list[Message]:
	"""The header blocks of a message/delivery-status part (the email package parses them into
	messages; some servers send it as plain text, parsed here)."""
	payload = part.get_payload()
	if isinstance(payload, list):
		return payload
	text = payload if isinstance(payload, str) else ""
	return [
		HeaderParser().parsestr(block.strip() + "\n")
		for block in re.split(r"\r?\n\s*\r?\n", text)
		if block.strip()
	]


def read_feedback_report(message: Message) -> list[Report]:
	original = original_message_id(message)
	for part in message.walk():
		if part.get_content_type() != "message/feedback-report":
			continue
		fields = delivery_status_blocks(part)
		fields = fields[0] if fields else Message()
		recipient = address_of(fields.get("Original-Rcpt-To") or fields.get("Removal-Recipient") or "")
		recipient = recipient or address_of(original_header(message, "To") or "")
		if recipient:
			feedback = one_line(fields.get("Feedback-Type") or "abuse")
			return [Report(COMPLAINT, recipient, "", feedback, original)]
	return []


def read_plain_text_bounce(subject: str, text: str) -> list[Report]:
	"""An older server's bounce: the addresses in the text with an SMTP reply after them."""
	if (
		not BOUNCE_SUBJECT.search(subject or "")
		and "could not be delivered" not in text
		and "wasn't able to deliver" not in text
	):
		return []
	original = next(iter(MESSAGE_ID.findall(text)), None)
	reports, seen = [], set()
	for match in ADDRESS.finditer(text):
		recipient = match.group(0).lower()
		reply = SMTP_REPLY.search(text, match.end(), match.end() + 400)
		if recipient in seen or not reply or MAILER_DAEMON.match(recipient):
			continue
		seen.add(recipient)
		status = reply.group(2) or reply.group(1)
		line_end = text.find("\n", reply.start())
		diagnostic = one_line(text[reply.start() : line_end if line_end > 0 else None])
		reports.append(
			Report(HARD if status.startswith("5") else SOFT, recipient, status, diagnostic, original)
		)
	return reports


def is_auto_reply(message: Message | None, subject: str = "") -> bool:
	"""An out-of-office or other automatic answer (RFC 3834 and the headers servers use)."""
	if message is not None:
		auto_submitted = (message.get("Auto-Submitted") or "no").strip().lower()
		if auto_submitted != "no":
			return True
		if message.get("X-Autoreply") or message.get("X-Autorespond") or message.get("X-Autoreply-From"):
			return True
		if (message.get("Precedence") or "").strip().lower() in ("auto_reply", "bulk", "junk"):
			return True
		subject = subject or message.get("Subject", "")
	return bool(AUTO_REPLY_SUBJECT.match(subject or ""))


def is_from_mailer_daemon(message: Message) -> bool:
	return bool(MAILER_DAEMON.match(parseaddr(message.get("From", ""))[1]))


def original_message_id(message: Message) -> str | None:
	"""The Message-ID of the email reported on: in the report's message/rfc822 or
	text/rfc822-headers part."""
	value = original_header(message, "Message-ID")
	return value.strip().strip("<>").strip() if value else None


def original_header(message: Message, name: str) -> str | None:
	for part in message.walk():
		content_type = part.get_content_type()
		if content_type == "message/rfc822":
			payload = part.get_payload()
			original = payload[0] if isinstance(payload, list) and payload else None
			if original is not None and original.get(name):
				return str(original.get(name))
		elif content_type == "text/rfc822-headers":
			headers = HeaderParser().parsestr(part.get_payload(decode=True).decode("utf-8", "replace"))
			if headers.get(name):
				return str(headers.get(name))
	return None


def message_text(message: Message) -> str:
	"""The text of a message's text/plain parts (the readable part of a bounce)."""
	texts = []
	for part in message.walk():
		if part.get_content_type() == "text/plain":
			payload = part.get_payload(decode=True) or b""
			texts.append(payload.decode(part.get_content_charset() or "utf-8", "replace"))
	return "\n".join(texts)


def address_of(field: str) -> str:
	"""`rfc822; x@example.com` or `<x@example.com>` -> x@example.com (lowercase)."""
	value = strip_type(field)
	addresses = [address for _name, address in getaddresses([value]) if "@" in address]
	return addresses[0].strip().lower() if addresses else ""


def strip_type(field: str) -> str:
	"""Diagnostic-Code and Final-Recipient start with their type: `smtp; 550 …`, `rfc822; x@y`."""
	kind, separator, rest = field.partition(";")
	return rest.strip() if separator and " " not in kind.strip() else field.strip()


def status_code(text: str) -> str:
	match = STATUS.search(text or "")
	if match:
		return match.group(0)
	reply = SMTP_REPLY.search(text or "")
	return reply.group(1) if reply else ""


def one_line(text: str, limit: int = 500) -> str:
	return " ".join(str(text or "").split())[:limit]
