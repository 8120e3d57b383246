"""One step's email built once through Frappe's own email body, then personalised per recipient.

Frappe's `sendmail` renders the site's email wrapper, inlines its CSS (premailer) and builds the
MIME message for every email: most of the cost of a send, and the same for every recipient of a
step. Here a step's email is built once: the template's Jinja constructs are set aside as inert
tokens, the wrapper and the template are CSS-inlined together, the tokens are put back, and
Frappe's EMail serializes the message with placeholders. Each recipient's copy renders the
inlined template for that recipient (in the campaign sandbox) and fills the placeholders.

When inlining would move a Jinja construct (HTML that the parser reorders), the step is built
per recipient instead: slower, never wrong.
"""

import hashlib
import logging
import re
from email.policy import SMTP
from email.utils import make_msgid
from typing import NamedTuple

import cssutils
import frappe
from frappe import _
from frappe.email.email_body import get_email, get_formatted_html
from frappe.utils import escape_html, get_url
from frappe.utils.data import expand_relative_urls

import email_campaign_app
from email_campaign_app.core.placeholders import (
	inlined_in_place,
	protect,
	quoted_printable,
	restore,
	restore_found,
	without_leading_closing_tags,
)
from email_campaign_app.core.plain_text import html_to_text
from email_campaign_app.sending import email_links, rendering, senders, stored_copy

BODY_START, BODY_END = "<!--email-campaign-body-->", "<!--end-of-email-campaign-body-->"
HTML_SLOT, TEXT_SLOT, TITLE_SLOT = "ECHTMLSLOTX9", "ECTEXTSLOTX9", "ECTITLESLOTX9"
SUBJECT_SLOT, MESSAGE_ID_SLOT, UNSUBSCRIBE_SLOT = (
	"ECSUBJECTSLOTX9",
	"ecmessageidslotx9",
	"ECUNSUBSCRIBESLOTX9",
)
# Frappe's EMail checks its recipients' addresses, then writes To as a placeholder that the
# Email Queue fills per recipient when it sends.
PLACEHOLDER_RECIPIENT = "recipient@example.com"


class EightDigitColours(logging.Filter):
	"""The CSS inliner's parser (cssutils) predates 8-digit hex colours (`#0000001a`), which
	Frappe's own email stylesheet uses: it logs three ERROR lines per email build, and keeps
	the declaration as it is. Those lines only are dropped; any other CSS error is logged."""

	COLOUR = re.compile(r"#[0-9a-fA-F]{8}\b")

	def filter(self, record: logging.LogRecord) -> bool:
		return not self.COLOUR.search(record.getMessage())


def css_logger() -> logging.Logger:
	"""The logger cssutils writes to: its own, or the one Frappe 16's PDF module gives it."""
	return getattr(cssutils.log, "_log", None) or logging.getLogger("CSSUTILS")


def quiet_known_css_noise():
	for logger in {logging.getLogger("CSSUTILS"), css_logger()}:
		if not any(isinstance(f, EightDigitColours) for f in logger.filters):
			logger.addFilter(EightDigitColours())


def title_on_its_own_line(html: str) -> str:
	"""Quoted-printable never folds a slot that has a line of its own."""
	return html.replace(TITLE_SLOT, f"\n{TITLE_SLOT}\n")


class Email(NamedTuple):
	"""One recipient's email: what the Communication shows and what the Email Queue sends."""

	subject: str  # the Communication's: values from `doc` HTML-escaped
	body: str  # the Communication's content: the template and the footer, without the wrapper nor live links
	message: str  # the MIME message, as Frappe's Email Queue stores it
	message_id: str


class StepMessage:
	"""A step's email for one sender, built once; `for_recipient` personalises it.

	What is built is kept in the site's cache for an hour (an edit to what it is made of is a new key):
	each batch runs in a fresh work horse of its own, and CSS inlining is most of the cost."""

	def __init__(self, email_template: str, sender: str):
		template = frappe.get_cached_doc("Email Template", email_template)
		rendering.validate_template(email_template, template.subject, template.response_)
		self.email_template, self.sender = email_template, sender
		self.account = senders.outgoing_account(sender)  # its footer; the key follows its edits
		self.subject = template.subject
		self.source = (template.response_ or "") + email_links.unsubscribe_footer(
			"{{ unsubscribe_url }}", sender
		)
		key = self.cache_key(template.modified)
		built = frappe.cache.get_value(key, expires=True) or self.build()
		frappe.cache.set_value(key, built, expires_in_sec=3600)
		self.built_once = built["skeleton"] is not None
		if self.built_once:
			self.body, _forbidden = rendering.compile_template(built["body"])
			self.text, _forbidden = rendering.compile_template(built["text"])
			self.skeleton = built["skeleton"]

	def cache_key(self, template_modified) -> str:
		"""A key made of everything the built email is made of, so that an edit to any of them
		reaches the next email: the template, the sender and its Email Account (its footer),
		the site's email footer settings and address, the app's footer settings, the language,
		the app's version (its footer template)."""
		account = self.account
		made_of = (
			self.email_template,
			str(template_modified),
			self.sender,
			frappe.local.lang,
			get_url(),
			account and account.name,
			account and str(account.modified),
			frappe.db.get_default("email_footer_address"),
			frappe.db.get_default("disable_standard_email_footer"),
			str(frappe.get_cached_doc("Email Campaign Settings").modified),
			email_campaign_app.__version__,
		)
		return "email_campaign_app:step_message:" + hashlib.sha256(repr(made_of).encode()).hexdigest()

	def build(self) -> dict:
		"""The template and the wrapper, CSS-inlined together; no skeleton when that moved Jinja."""
		protected, constructs = protect(self.source)
		quiet_known_css_noise()
		html = get_formatted_html(
			TITLE_SLOT,
			f"{BODY_START}{protected}{BODY_END}",
			email_account=self.account,
			sender=self.sender,
		)
		prefix, start, rest = html.partition(BODY_START)
		inlined, end, suffix = rest.partition(BODY_END)
		in_place = inlined_in_place(protected, inlined) if start and end else None
		body = restore(in_place, constructs) if in_place is not None else None
		text = self.plain_text(prefix + inlined + suffix, constructs) if body else None
		skeleton = self.build_skeleton(prefix, suffix) if text is not None else None
		return {"body": body, "text": text, "skeleton": skeleton}

	def plain_text(self, html: str, constructs: list[str]) -> str | None:
		"""The text/plain part's template; None when dropping the HTML's attributes split a
		Jinja block (the email is then built per recipient)."""
		text = restore_found(html_to_text(html), constructs)
		try:
			rendering.compile_template(text)
		except Exception:
			return None
		return text

	def build_skeleton(self, prefix: str, suffix: str) -> str:
		"""The MIME message through Frappe's EMail, with a slot for every personal part."""
		mail = get_email(
			recipients=[PLACEHOLDER_RECIPIENT],
			sender=self.sender,
			subject=SUBJECT_SLOT,
			formatted=f"{title_on_its_own_line(prefix)}\n{HTML_SLOT}\n{suffix}",
			text_content=f"{TEXT_SLOT}\n",
		)
		mail.set_message_id(f"{MESSAGE_ID_SLOT}@{frappe.local.site}")
		email_links.set_list_unsubscribe_headers(mail, UNSUBSCRIBE_SLOT)
		skeleton = mail.as_string()
		if any(
			skeleton.count(slot) != 1
			for slot in (SUBJECT_SLOT, TITLE_SLOT, HTML_SLOT, TEXT_SLOT, MESSAGE_ID_SLOT, UNSUBSCRIBE_SLOT)
		):
			frappe.throw(
				_("The email of Email Template {0} could not be prepared.").format(self.email_template)
			)
		return skeleton

	def for_recipient(
		self, doc: dict, unsubscribe_url: str, tracking_pixel: str = "", track_links=None
	) -> Email:
		"""`doc`'s copy. The recipient's subject renders `doc` as it is (a mail header is plain
		text); the body, and the subject the Desk shows, render it HTML-escaped.
		`track_links` rewrites the body's links (click tracking); the tracking pixel, the
		tracked links and the unsubscribe link are in the email, not in its Communication."""
		subject = self.subject_for(doc)
		escaped = rendering.escaped(doc)
		stored_subject = self.subject_for(escaped)
		message_id = make_msgid(domain=frappe.local.site)[1:-1]
		track_links = track_links or (lambda html: html)
		if not self.built_once:
			return self.built_for(
				subject, stored_subject, escaped, unsubscribe_url, message_id, tracking_pixel, track_links
			)
		html = expand_relative_urls(self.render(self.body, doc=escaped, unsubscribe_url=unsubscribe_url))
		text = self.render(self.text, doc=doc, unsubscribe_url=unsubscribe_url)
		message = (
			self.skeleton.replace(f"Subject: {SUBJECT_SLOT}\r\n", SMTP.fold("Subject", subject))
			.replace(TITLE_SLOT, quoted_printable(escape_html(subject)))
			.replace(HTML_SLOT, quoted_printable(track_links(html) + tracking_pixel))
			.replace(TEXT_SLOT, quoted_printable(text))
			.replace(f"{MESSAGE_ID_SLOT}@{frappe.local.site}", message_id)
			.replace(UNSUBSCRIBE_SLOT, unsubscribe_url)
		)
		return Email(stored_subject, self.stored_body(escaped), message, message_id)

	def stored_body(self, escaped: dict) -> str:
		"""What the Communication keeps: the template and its footer as the Preview shows them
		(not CSS-inlined: the Desk styles it, and sanitizing a style attribute on every tag would
		cost more than composing the email), without the recipient's live links."""
		return rendering.render(
			self.email_template, self.source, escaped, unsubscribe_url=stored_copy.NO_LINK
		)

	def subject_for(self, doc: dict) -> str:
		return " ".join(rendering.render(self.email_template, self.subject, doc).split())

	def render(self, template, **context) -> str:
		return rendering.render_compiled(self.email_template, template, **context)

	def built_for(
		self, subject, stored_subject, escaped, unsubscribe_url, message_id, tracking_pixel, track_links
	) -> Email:
		"""The slow way, for a template whose HTML the CSS inliner reorders: all of it per email."""
		body = rendering.render(self.email_template, self.source, escaped, unsubscribe_url=unsubscribe_url)
		mail = get_email(
			recipients=[PLACEHOLDER_RECIPIENT],
			sender=self.sender,
			subject=subject,
			msg=track_links(body) + tracking_pixel,
			text_content=html_to_text(body),
		)
		mail.set_message_id(message_id)
		email_links.set_list_unsubscribe_headers(mail, unsubscribe_url)
		message = mail.as_string()
		return Email(stored_subject, self.stored_body(escaped), message, message_id)
