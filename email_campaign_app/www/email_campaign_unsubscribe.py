import frappe
from frappe import _
from frappe.www.message import get_context as get_message_context

from email_campaign_app.api.guest import use_visitor_language

no_cache = 1


def get_context(context):
	use_visitor_language()
	context.update(get_message_context(context))
	if not context.message:  # reached directly, not through an unsubscribe link
		context.title = _("Unsubscribe")
		context.message = _("Use the unsubscribe link from the email you received.")
	if frappe.session.user != "Guest":
		context.csrf_token = frappe.sessions.get_csrf_token()
