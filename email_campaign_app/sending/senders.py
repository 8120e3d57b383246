"""Who may send a campaign: an enabled System User with an email address.

One rule for every path that names a sender (the Email Campaign form and REST, bulk enrolment,
enrolment rules) and for the send itself: a Website User, Guest or a disabled user never sends.
"""

import frappe
from frappe import _


def sender_problem(user: str | None) -> str | None:
	"""Why `user` cannot send campaign emails, or None when they can."""
	row = frappe.db.get_value("User", user, ["enabled", "email", "user_type"], as_dict=True) if user else None
	if not row or not row.enabled or user == "Guest":
		return _("Sender {0} is disabled or does not exist. Choose an enabled user.").format(
			frappe.bold(user)
		)
	if row.user_type != "System User":
		return _("Sender {0} is not a System User. Choose a user of the Desk.").format(frappe.bold(user))
	if not row.email:
		return _("Sender {0} has no email address. Set the user's email or choose another sender.").format(
			frappe.bold(user)
		)
	return None


def check_sender(user: str | None):
	if problem := sender_problem(user):
		frappe.throw(problem, title=_("Invalid Sender"))
