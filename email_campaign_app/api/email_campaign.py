"""The Desk's actions on an Email Campaign; each checks who may do it first."""

import frappe
from frappe import _

from email_campaign_app import permissions
from email_campaign_app.desk import figures
from email_campaign_app.desk import preview as previews
from email_campaign_app.sending import ledger, pausing, planning


@frappe.whitelist(methods=["POST"])
def send_due_emails_now(email_campaign: str):
	"""Queue now what the daily job would queue today for this Email Campaign."""
	permissions.check_is_manager()
	frappe.get_doc("Email Campaign", email_campaign).check_permission("write")
	due = planning.queue_due_emails([email_campaign])
	if due.sends:
		frappe.msgprint(_("{0} email(s) queued.").format(len(due.sends)), indicator="green", alert=True)
	else:
		frappe.msgprint(_("Nothing is due today for this Email Campaign."), alert=True)
	return len(due.sends)


@frappe.whitelist(methods=["POST"])
def retry_failed_emails(email_campaign: str):
	"""Send this Email Campaign's Failed emails again on the next run: a user's explicit choice."""
	permissions.check_is_manager()
	frappe.get_doc("Email Campaign", email_campaign).check_permission("write")
	count = ledger.retry_failed(email_campaign)
	frappe.msgprint(_("{0} failed email(s) will be sent again on the next run.").format(count), alert=True)
	return count


@frappe.whitelist(methods=["POST"])
def pause_email_campaign(email_campaign: str):
	"""Pause: nothing more is sent, and the emails waiting in the Email Queue are withdrawn."""
	doc = frappe.get_doc("Email Campaign", email_campaign)
	permissions.check_can_pause(doc)
	withdrawn = pausing.pause(doc)
	frappe.msgprint(_("Email Campaign paused."), indicator="orange", alert=True)
	return {"status": doc.status, "withdrawn": withdrawn}


@frappe.whitelist(methods=["POST"])
def resume_email_campaign(email_campaign: str, mode: str):
	"""Resume, shifting the remaining schedule by the paused days or catching up; what is
	due today is queued at once."""
	doc = frappe.get_doc("Email Campaign", email_campaign)
	permissions.check_can_pause(doc)
	shifted = pausing.resume(doc, mode)
	due = planning.queue_due_emails([doc.name])
	frappe.msgprint(
		_("Email Campaign resumed: {0} email(s) queued now.").format(len(due.sends)),
		indicator="green",
		alert=True,
	)
	return {"status": doc.status, "shifted_days": shifted, "queued": len(due.sends), "end_date": doc.end_date}


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
