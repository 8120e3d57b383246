"""Small helpers the app's parts share."""

import hashlib
import traceback

import frappe
from frappe.utils import cint, get_datetime, getdate, today

DAY = 24 * 60 * 60
ERROR_LOG_TITLE_LENGTH = 140  # Error Log's method field (Data)


def report_once_a_day(
	title: str, message: str, reference_doctype: str, reference_name: str, comment: bool = False
):
	"""An Error Log (and, with `comment`, a comment on the document) about a problem met again
	and again, once a day per document and problem."""
	problem = hashlib.sha256(title.encode()).hexdigest()[:16]
	key = f"email_campaign_app:reported:{reference_doctype}:{reference_name}:{problem}:{today()}"
	if frappe.cache.get_value(key, expires=True):
		return
	frappe.cache.set_value(key, 1, expires_in_sec=DAY)
	frappe.log_error(
		title=title[:ERROR_LOG_TITLE_LENGTH],  # longer, the insert fails and the run with it
		message=message,
		reference_doctype=reference_doctype,
		reference_name=reference_name,
	)
	if comment:
		frappe.get_doc(reference_doctype, reference_name).add_comment("Comment", message)


def in_savepoint(action):
	"""Run `action`; on an error undo only what it wrote and return (None, its message).

	The message Frappe queued for the user (frappe.throw) is dropped: the caller reports it."""
	savepoint = "email_campaign_" + frappe.generate_hash(length=10)
	messages = len(frappe.local.message_log)
	frappe.db.savepoint(savepoint)
	try:
		result = action()
	except Exception as error:
		frappe.db.rollback(save_point=savepoint)
		del frappe.local.message_log[messages:]
		return None, error_message(error)
	frappe.db.release_savepoint(savepoint)
	return result, None


def error_message(error: Exception) -> str:
	message = str(error) or type(error).__name__
	if not isinstance(error, frappe.ValidationError):
		message = traceback.format_exception_only(error)[-1].strip()
	return frappe.utils.strip_html(message)


def as_stored(doc, fieldname: str, value):
	"""A field's value as the database holds it, whatever form a client sent it in."""
	fieldtype = doc.meta.get_field(fieldname).fieldtype
	if fieldtype == "Int":
		return cint(value)
	if not value:
		return None
	return getdate(value) if fieldtype == "Date" else get_datetime(value).replace(microsecond=0)


def emails_of_role_holders(roles: tuple[str, ...]) -> list[str]:
	"""The addresses of the enabled users with one of `roles` (Frappe's notifications go to
	user emails, which differ from user names for Administrator)."""
	names = frappe.get_all(
		"Has Role", filters={"role": ("in", roles), "parenttype": "User"}, pluck="parent", distinct=True
	)
	return frappe.get_all(
		"User", filters={"name": ("in", names or [""]), "enabled": 1, "email": ("is", "set")}, pluck="email"
	)


def insert_rows(doctype: str, fields: tuple, rows: list[tuple], ignore_duplicates: bool = False):
	"""One multi-row INSERT (frappe.db.bulk_insert builds the same through the query builder,
	which costs more than the insert itself for rows this size)."""
	if not rows:
		return
	one_row = "(" + ", ".join(["%s"] * len(fields)) + ")"
	frappe.db.sql(
		f"insert {'ignore ' if ignore_duplicates else ''}into `tab{doctype}` ({', '.join(f'`{field}`' for field in fields)}) "
		f"values {', '.join([one_row] * len(rows))}",
		[value for row in rows for value in row],
	)
