"""The Desk's actions on an Email Campaign; each checks who may do it first."""

import frappe
from frappe import _
from frappe.utils import now_datetime

from email_campaign_app import permissions
from email_campaign_app.desk import figures
from email_campaign_app.desk import preview as previews
from email_campaign_app.sending import email_links, ledger, pausing, planning, releasing


@frappe.whitelist(methods=["POST"])
def send_due_emails_now(email_campaign: str):
	"""Send now what is due today for this Email Campaign, whatever its Send At (within the
	sending limits and caps: what they hold waits)."""
	permissions.check_is_manager()
	frappe.get_doc("Email Campaign", email_campaign).check_permission("write")
	if problem := email_links.public_address_problem():
		frappe.throw(problem, title=_("Campaign Emails Cannot Be Sent"))
	due = planning.queue_due_emails([email_campaign])
	waiting = sum(sum(held.values()) for held in due.waiting.values())
	if due.sends:
		frappe.msgprint(handed_to_workers(len(due.sends)), indicator="green", alert=True)
	if waiting:
		frappe.msgprint(
			_("1 email waits for a sending limit or a recipient's cap.")
			if waiting == 1
			else _("{0} emails wait for a sending limit or a recipient's cap.").format(waiting),
			alert=True,
		)
	if not due.sends and not waiting:
		frappe.msgprint(_("Nothing is due today for this Email Campaign."), alert=True)
	return len(due.sends)


def handed_to_workers(count: int) -> str:
	"""What a release did: a background job will write and send the emails (the schedule shows
	them as Queued, then Sent, once it has run), not that they are in the Email Queue yet."""
	if count == 1:
		return _("1 email is handed to a background job, which queues and sends it now.")
	return _("{0} emails are handed to a background job, which queues and sends them now.").format(count)


@frappe.whitelist(methods=["POST"])
def retry_failed_emails(email_campaign: str):
	"""Send this Email Campaign's Failed emails again on the next run: a user's explicit choice."""
	permissions.check_is_manager()
	frappe.get_doc("Email Campaign", email_campaign).check_permission("write")
	count = ledger.retry_failed(email_campaign)
	frappe.msgprint(
		_("1 failed email will be sent again on the next run.")
		if count == 1
		else _("{0} failed emails will be sent again on the next run.").format(count),
		alert=True,
	)
	return count


@frappe.whitelist(methods=["POST"])
def decide_on_uncertain_emails(email_campaign: str, resend: bool | int | str):
	"""The emails whose delivery stopped midway: send them again, or count them as sent."""
	permissions.check_is_manager()
	frappe.get_doc("Email Campaign", email_campaign).check_permission("write")
	resend = frappe.utils.sbool(resend)
	count = ledger.decide_on_uncertain(email_campaign, resend)
	frappe.msgprint(uncertain_decided_message(count, resend), alert=True)
	return count


def uncertain_decided_message(count: int, resend: bool) -> str:
	if not count:
		return _("No email of this Email Campaign may have been sent: nothing was changed.")
	if resend:
		if count == 1:
			return _("1 email that may have been sent will be sent again on the next run.")
		return _("{0} emails that may have been sent will be sent again on the next run.").format(count)
	if count == 1:
		return _("1 email that may have been sent is now counted as sent.")
	return _("{0} emails that may have been sent are now counted as sent.").format(count)


@frappe.whitelist(methods=["POST"])
def pause_email_campaign(email_campaign: str):
	"""Pause: nothing more is sent, and the emails waiting in the Email Queue are withdrawn."""
	doc = frappe.get_doc("Email Campaign", email_campaign)
	permissions.check_can_pause(doc)
	withdrawn = pausing.pause(doc)
	frappe.msgprint(paused_message(withdrawn), indicator="orange", alert=True)
	return {"status": doc.status, "withdrawn": withdrawn}


def paused_message(withdrawn: int) -> str:
	if not withdrawn:
		return _("Email Campaign paused: nothing more is sent until it resumes.")
	if withdrawn == 1:
		return _(
			"Email Campaign paused: 1 email waiting to leave was withdrawn; it is sent after the resume."
		)
	return _(
		"Email Campaign paused: {0} emails waiting to leave were withdrawn; they are sent after the resume."
	).format(withdrawn)


@frappe.whitelist(methods=["POST"])
def resume_email_campaign(email_campaign: str, mode: str):
	"""Resume, shifting the remaining schedule by the paused days or catching up; what is
	due today leaves now when its Send At has passed, else at its Send At."""
	doc = frappe.get_doc("Email Campaign", email_campaign)
	permissions.check_can_pause(doc)
	shifted = pausing.resume(doc, mode)
	send_at = doc.send_at or releasing.DEFAULT_SEND_AT
	released = 0
	if now_datetime().strftime("%H:%M") >= send_at:
		released = len(planning.queue_due_emails([doc.name]).sends)
		message = (
			_("Email Campaign resumed.") + " " + handed_to_workers(released)
			if released
			else _(
				"Email Campaign resumed: nothing more is due today; the next emails leave on their day at {0}."
			).format(send_at)
		)
	else:
		message = _("Email Campaign resumed: what is due today leaves at {0}.").format(send_at)
	frappe.msgprint(message, indicator="green", alert=True)
	return {"status": doc.status, "shifted_days": shifted, "queued": released, "end_date": doc.end_date}


@frappe.whitelist()
def preview(email_campaign: str, member: str | None = None):
	doc = frappe.get_doc("Email Campaign", email_campaign)
	doc.check_permission("read")
	previews.check_can_read_recipient(doc, member)
	return previews.preview(email_campaign, member)


@frappe.whitelist(methods=["POST"])
def send_test_email(email_campaign: str, email_template: str, member: str | None = None):
	doc = frappe.get_doc("Email Campaign", email_campaign)
	doc.check_permission("write")
	previews.check_can_read_recipient(doc, member)
	to, _email_queue = previews.send_test_email(email_campaign, email_template, member)
	frappe.msgprint(_("Test email sent to {0}.").format(to), indicator="green", alert=True)
	return to


@frappe.whitelist()
def get_schedule_view(email_campaign: str):
	frappe.get_doc("Email Campaign", email_campaign).check_permission("read")
	return figures.schedule_view(email_campaign)
