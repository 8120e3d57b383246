"""Each email of a batch, composed for its recipient (or skipped, and why), and the copy a
preview or a test email shows."""

import frappe

from email_campaign_app.core import schedule
from email_campaign_app.sending import email_links, rendering, suppression
from email_campaign_app.sending.context import BatchContext
from email_campaign_app.sending.writing import QueuedEmail


def compose_email(send: schedule.Send, context: BatchContext) -> QueuedEmail | None:
	"""The batch's copy of one email, or a Skipped one (the recipient unsubscribed)."""
	campaign = context.email_campaigns.get(send.email_campaign)
	if not campaign or campaign.status == schedule.PAUSED:
		return None  # deleted since the plan was made, or planned again after the resume
	stopped = campaign.status in (schedule.UNSUBSCRIBED, schedule.REPLIED)
	if stopped or send.recipient.email.lower() in context.unsubscribed:
		return QueuedEmail(send, campaign, None, "", context)
	if reason := context.suppressed.get(
		(suppression.normalized(send.recipient.email), campaign.campaign_name)
	):
		return QueuedEmail(send, campaign, None, "", context, skip_reason=reason)
	sender = context.sender_of(campaign.sender)
	doc = context.document_for(send.recipient)
	step = context.step_message(send.email_template, sender, doc.get("language"))
	pixel = email_links.tracking_pixel(send.email_campaign, send.key) if context.tracks_opens(sender) else ""
	email = step.for_recipient(
		doc,
		email_links.unsubscribe_url(send.email_campaign, send.recipient.email),
		pixel,
		track_links=lambda html: email_links.track_links(send, campaign.campaign_name, html),
	)
	return QueuedEmail(send, campaign, email, sender, context)


def compose_preview(send: schedule.Send, context: BatchContext) -> tuple[str, str]:
	"""The subject and body a recipient receives for one step, with a marked test footer
	instead of their unsubscribe link: whoever reads a preview or a test email must not be able
	to unsubscribe the real recipient."""
	subject, body = render(send.email_template, context.document_for(send.recipient))
	return subject, body + email_links.unsubscribe_footer(None)


def render(email_template: str, doc: frappe._dict) -> tuple[str, str]:
	"""Subject and body of a template for `doc`, in the campaign sandboxed environment; values
	from `doc` are escaped in the body."""
	template = frappe.get_cached_doc("Email Template", email_template)
	subject = rendering.render(email_template, template.subject, doc)
	body = rendering.render(email_template, template.response_, rendering.escaped(doc))
	return subject.strip(), body
