"""What an Email Campaign's emails look like for a recipient: Preview and Send test email, shown
only to users who may read that recipient."""

import frappe
from frappe import _
from frappe.utils import getdate

from email_campaign_app import permissions
from email_campaign_app.core import schedule
from email_campaign_app.sending import composing, recipients, senders
from email_campaign_app.sending.context import BatchContext, find_people_by_email


def recipient_for_preview(email_campaign, member: str | None = None) -> schedule.Recipient:
	"""The Lead or Contact of the Email Campaign, or the chosen (else first) Email Group member."""
	if email_campaign.email_campaign_for != "Email Group":
		email = frappe.db.get_value(
			email_campaign.email_campaign_for,
			email_campaign.recipient,
			recipients.email_field(email_campaign.email_campaign_for),
		)
		return schedule.Recipient(email or "", email_campaign.email_campaign_for, email_campaign.recipient)
	filters = {"email_group": email_campaign.recipient, "unsubscribed": 0}
	if member:
		filters["email"] = member
	email = frappe.db.get_value("Email Group Member", filters, "email", order_by="creation asc")
	if not email:
		frappe.throw(
			_("Email Group {0} has no subscribed member {1}.").format(email_campaign.recipient, member or "")
		)
	return schedule.Recipient(email)


def preview(email_campaign: str, member: str | None = None) -> list[dict]:
	"""Each step's subject and body as this recipient (or group member) will receive them; a
	step with A/B variants, once per variant."""
	doc = frappe.get_doc("Email Campaign", email_campaign)
	recipient = recipient_for_preview(doc, member)
	steps = schedule.in_schedule_order(doc.get_steps())
	start, calendar = getdate(doc.start_date), doc.get_calendar()
	tests = doc.get_campaign().get_tests()
	sends = []
	for step in steps:
		send = schedule.Send(doc.name, step, recipient, step.send_date(start, calendar))
		sends += [send._replace(variant=v) for v in tests[step].variants] if step in tests else [send]
	context = BatchContext(sends)
	previews = []
	for send in sends:
		subject, body = composing.compose_preview(send, context)
		previews.append(
			{
				"email_template": send.email_template,
				"variant_of": send.step.email_template
				if send.variant not in (None, send.step.email_template)
				else None,
				"send_after_days": send.step.send_after_days,
				"send_date": send.send_date,
				"recipient": recipient.email,
				"subject": subject,
				"body": body,
			}
		)
	return previews


def send_test_email(email_campaign: str, email_template: str, member: str | None = None):
	"""Send one step, rendered for the recipient, to the current user only (no ledger, and a
	test footer instead of the recipient's unsubscribe link).

	Returns the address and the Email Queue."""
	to = frappe.db.get_value("User", frappe.session.user, "email")
	if not to:
		frappe.throw(_("Your user has no email address to send the test to."))
	sender = frappe.db.get_value("Email Campaign", email_campaign, "sender")
	senders.check_sender(sender)
	for step in preview(email_campaign, member):
		if step["email_template"] == email_template:
			email_queue = frappe.sendmail(
				recipients=[to],
				sender=senders.from_address(sender),  # what recipients see: From and Reply-To
				subject=_("[Test] {0}").format(step["subject"]),
				message=step["body"],
				add_unsubscribe_link=0,
				now=True,
			)
			if not email_queue:
				frappe.throw(
					_(
						"{0} has unsubscribed from all emails of this site, so no test can be sent to it."
					).format(to)
				)
			return to, email_queue
	frappe.throw(_("Email Template {0} is not in this campaign's schedule.").format(email_template))


def check_can_read_recipient(email_campaign, member: str | None = None):
	"""Previews and test emails show the recipient's data: only to users who may read it.

	A user who may read the Email Campaign (it was shared with them, say) does not always
	have the right to read its Lead or Contact, nor every member of its Email Group.
	"""
	if email_campaign.email_campaign_for == "Email Group":
		permissions.check_can_read("Email Group", email_campaign.recipient)
		email = recipient_for_preview(email_campaign, member).email
		person = find_people_by_email([email]).get(email.strip().lower())
	else:
		person = (email_campaign.email_campaign_for, email_campaign.recipient)
	if person and frappe.db.exists(*person):
		permissions.check_can_read(*person)
