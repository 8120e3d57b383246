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

from email.policy import SMTP
from email.utils import make_msgid
from typing import NamedTuple

import frappe
from frappe import _
from frappe.email.email_body import get_email, get_formatted_html
from frappe.utils.data import expand_relative_urls, to_markdown

from email_campaign_app.core.placeholders import (
	inlined_in_place,
	protect,
	quoted_printable,
	restore,
	without_leading_closing_tags,
)
from email_campaign_app.sending import email_links, rendering, stored_copy

BODY_START, BODY_END = "<!--email-campaign-body-->", "<!--end-of-email-campaign-body-->"
HTML_SLOT, TEXT_SLOT = "ECHTMLSLOTX9", "ECTEXTSLOTX9"
SUBJECT_SLOT, MESSAGE_ID_SLOT, UNSUBSCRIBE_SLOT = (
	"ECSUBJECTSLOTX9",
	"ecmessageidslotx9",
	"ECUNSUBSCRIBESLOTX9",
)
# Frappe's EMail checks its recipients' addresses, then writes To as a placeholder that the
# Email Queue fills per recipient when it sends.
PLACEHOLDER_RECIPIENT = "recipient@example.com"


class Email(NamedTuple):
	"""One recipient's email: what the Communication shows and what the Email Queue sends."""

	subject: str  # the Communication's: values from `doc` HTML-escaped
	body: str  # the Communication's content: the template and the footer, without the wrapper nor live links
	message: str  # the MIME message, as Frappe's Email Queue stores it
	message_id: str


class StepMessage:
	"""A step's email for one sender, built once; `for_recipient` personalises it.

	What is built is kept in the site's cache for an hour (an edited template has a new key):
	each batch runs in a fresh work horse of its own, and CSS inlining is most of the cost."""

	def __init__(self, email_template: str, sender: str):
		template = frappe.get_cached_doc("Email Template", email_template)
		rendering.validate_template(email_template, template.subject, template.response_)
		self.email_template, self.sender = email_template, sender
		self.subject = template.subject
		self.source = (template.response_ or "") + email_links.unsubscribe_footer("{{ unsubscribe_url }}")
		key = f"email_campaign_app:step_message:{email_template}:{template.modified}:{sender}:{frappe.local.lang}"
		built = frappe.cache.get_value(key, expires=True) or self.build()
		frappe.cache.set_value(key, built, expires_in_sec=3600)
		self.built_once = built["skeleton"] is not None
		if self.built_once:
			self.body, _forbidden = rendering.compile_template(built["body"])
			self.text, _forbidden = rendering.compile_template(built["text"])
			self.skeleton = built["skeleton"]

	def build(self) -> dict:
		"""The template and the wrapper, CSS-inlined together; no skeleton when that moved Jinja."""
		protected, constructs = protect(self.source)
		html = get_formatted_html(
			self.email_template, f"{BODY_START}{protected}{BODY_END}", sender=self.sender
		)
		prefix, start, rest = html.partition(BODY_START)
		inlined, end, suffix = rest.partition(BODY_END)
		in_place = inlined_in_place(protected, inlined) if start and end else None
		body = restore(in_place, constructs) if in_place is not None else None
		text = restore(to_markdown(prefix + inlined + suffix), constructs) if body else None
		skeleton = self.build_skeleton(prefix, suffix) if text is not None else None
		return {"body": body, "text": text, "skeleton": skeleton}

	def build_skeleton(self, prefix: str, suffix: str) -> str:
		"""The MIME message through Frappe's EMail, with a slot for every personal part."""
		mail = get_email(
			recipients=[PLACEHOLDER_RECIPIENT],
			sender=self.sender,
			subject=SUBJECT_SLOT,
			formatted=f"{prefix}\n{HTML_SLOT}\n{suffix}",
			text_content=f"\n{TEXT_SLOT}\n",
		)
		mail.set_message_id(f"{MESSAGE_ID_SLOT}@{frappe.local.site}")
		email_links.set_list_unsubscribe_headers(mail, UNSUBSCRIBE_SLOT)
		skeleton = mail.as_string()
		if any(
			skeleton.count(slot) != 1
			for slot in (SUBJECT_SLOT, HTML_SLOT, TEXT_SLOT, MESSAGE_ID_SLOT, UNSUBSCRIBE_SLOT)
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
		)
		mail.set_message_id(message_id)
		email_links.set_list_unsubscribe_headers(mail, unsubscribe_url)
		message = mail.as_string()
		return Email(stored_subject, self.stored_body(escaped), message, message_id)
