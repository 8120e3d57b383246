"""An Email Campaign's notes on its timeline, told when the form is opened: in the reader's
language and time zone (hooks.additional_timeline_content; Frappe renders its own Version
entries the same way, from stored facts)."""

from zoneinfo import ZoneInfo

import frappe
from frappe import _
from frappe.utils import escape_html, format_datetime, get_datetime, get_fullname, get_system_timezone

from email_campaign_app.sending.notes import NOTE, PAUSED, RESUMED, UNSUBSCRIBED
from email_campaign_app.sending.pausing import SHIFT

ICONS = {PAUSED: "stop", RESUMED: "play", UNSUBSCRIBED: "mail"}


def email_campaign_notes(doctype: str, docname: str) -> list[dict]:
	"""Hook: the timeline items of an Email Campaign's notes (its form checked read access)."""
	notes = frappe.get_all(NOTE, filters={"email_campaign": docname}, fields=["*"], order_by="creation")
	return [
		{
			"icon": ICONS.get(note.event),
			"creation": str(note.happened_on),
			"content": f'<span class="email-campaign-note">{tell(note)}</span>',
		}
		for note in notes
	]


def tell(note) -> str:
	"""The note as a sentence for the reader (HTML: every value is escaped)."""
	when = escape_html(reader_time(note.happened_on))
	if note.event == PAUSED:
		return paused(note, when)
	if note.event == RESUMED:
		return resumed(note, when)
	return _("{0} unsubscribed from this Email Campaign on {1}.").format(
		frappe.bold(escape_html(note.email or "")), when
	)


def paused(note, when: str) -> str:
	if note.reason:
		told = f"{when} · {escape_html(note.reason)}"  # the app paused it (health.py) and said why
	else:
		told = _("{0} paused this Email Campaign on {1}.").format(who(note), when)
	if note.withdrawn == 1:
		told += " " + _("1 email waiting in the Email Queue was withdrawn: it will be sent after the resume.")
	elif note.withdrawn:
		told += " " + _(
			"{0} emails waiting in the Email Queue were withdrawn: they will be sent after the resume."
		).format(note.withdrawn)
	return told


def resumed(note, when: str) -> str:
	told = _("{0} resumed this Email Campaign on {1}.").format(who(note), when)
	if note.resume_mode != SHIFT:
		return told + " " + _("The missed emails catch up, one schedule day per day.")
	if not note.shifted_days:
		return told + " " + _("The schedule did not move: no sending day was missed.")
	if note.shifted_days == 1:
		return told + " " + _("The remaining schedule moved by 1 day.")
	return told + " " + _("The remaining schedule moved by {0} days.").format(note.shifted_days)


def who(note) -> str:
	return frappe.bold(escape_html(get_fullname(note.user) if note.user else _("Guest")))


def reader_time(value) -> str:
	"""A stored time (the site's time zone) in the reader's time zone and date format, as the
	Desk shows a Datetime field to them."""
	system = get_system_timezone()
	reader = frappe.db.get_value("User", frappe.session.user, "time_zone") or system
	moment = get_datetime(value).replace(tzinfo=ZoneInfo(system)).astimezone(ZoneInfo(reader))
	return format_datetime(moment.replace(tzinfo=None))
