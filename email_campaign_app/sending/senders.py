"""Who may send a campaign: an enabled System User with an email address; and which outgoing
Email Account sends for them.

One rule for every path that names a sender (the Email Campaign form and REST, bulk enrolment,
enrolment rules) and for the send itself: a Website User, Guest or a disabled user never sends.
"""

import frappe
from frappe import _
from frappe.email.doctype.email_account.email_account import EmailAccount
from frappe.utils import get_formatted_email, parse_addr


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


def from_address(user: str) -> str:
	"""The From of `user`'s campaign emails (and of their test emails): "Full Name <email>"."""
	return get_formatted_email(user, mail=frappe.db.get_value("User", user, "email"))


def check_sender(user: str | None):
	if problem := sender_problem(user):
		frappe.throw(problem, title=_("Invalid Sender"))


def outgoing_account(email: str, raise_error: bool = False) -> EmailAccount | None:
	"""The outgoing Email Account that sends `email`'s mail: its own (Enable Outgoing with that
	Email ID), else the default one, as Frappe's EmailAccount.find_outgoing chooses, but never
	from that method's cache alone. Frappe 15 and 16 keep its answers per process
	(frappe.local.outgoing_email_account) and, once one address fell back to the default account,
	answer the default for every later address, even one with an account of its own. A job that
	released the Administrator's campaign first would then send a sales user's campaign from the
	default account: outside their mailbox's sending limits, and not from their mailbox."""
	own = EmailAccount.find_one_by_filters(enable_outgoing=1, email_id=parse_addr(email)[1])
	return own or EmailAccount.find_outgoing(match_by_email=email, _raise_error=raise_error)
