"""Enrolling Leads, Contacts and CRM Leads in a Campaign: many at once from their lists (Actions > Add to
Email Campaign), one Email Campaign per record.

What can be known for all the records at once is read in two queries (the records the user may
read, the Email Campaigns already running); each Email Campaign is then inserted the ordinary
way, so that its validation and permissions apply, in a savepoint of its own: one record that
fails is reported and the others go on.
"""

import json

import frappe
from frappe import _
from frappe.utils import getdate

from email_campaign_app import utils
from email_campaign_app.core import schedule, statuses
from email_campaign_app.sending import recipients, releasing, suppression

BACKGROUND_THRESHOLD = 50  # more records than this are enrolled by a background job
PROGRESS_EVERY = 25  # records between two progress messages (and commits) in the background
DONE_EVENT = "email_campaign_app_enrolment_done"


def add_to_email_campaign(doctype: str, names: list[str], values: dict) -> dict:
	"""Enrol now, or in a background job with progress when there are many records."""
	check_values(doctype, names, values)
	if len(names) <= BACKGROUND_THRESHOLD:
		return {"summary": enrol(doctype, names, values)}
	frappe.enqueue(
		enrol_in_background,
		queue="long",
		timeout=3600,
		now=frappe.flags.in_test,
		doctype=doctype,
		names=names,
		values=values,
	)
	return {"queued": len(names)}


def parse_names(names) -> list[str]:
	"""The record names a list sends: a JSON list of names, or a list; anything else is refused."""
	if isinstance(names, str):
		try:
			names = json.loads(names)
		except ValueError:
			names = None
	if not isinstance(names, list) or not all(isinstance(name, str) and name for name in names):
		frappe.throw(
			_("Names must be a list of record names, as the list view sends them."),
			title=_("Invalid Selection"),
		)
	return list(dict.fromkeys(names))


def check_doctype(doctype: str):
	if doctype not in recipients.person_doctypes():
		frappe.throw(
			_("Only Leads, Contacts and CRM Leads can be added to an Email Campaign.")
			if recipients.is_available(recipients.CRM_LEAD)
			else _("Only Leads and Contacts can be added to an Email Campaign.")
		)


def check_values(doctype: str, names: list[str], values: dict):
	"""Refuse at once what would make every record fail (and say it once, not per record)."""
	check_doctype(doctype)
	if not names:
		frappe.throw(_("Select at least one record to add to the Email Campaign."))
	check = frappe.new_doc("Email Campaign")
	check.update({**values, "email_campaign_for": doctype})
	check.validate_start_date()
	check.set_end_date()  # also refuses a Campaign that is missing or has no schedule
	check.validate_sender()


def enrol_in_background(doctype: str, names: list[str], values: dict) -> dict:
	"""Job: enrol with a progress bar for the user who asked, commit as it goes, then tell them."""
	title = _("Adding to Email Campaign {0}").format(values.get("campaign_name"))

	def progress(done: int, total: int):
		frappe.db.commit()  # what is done stays done if the job dies; a rerun skips it as running
		frappe.publish_progress(
			done * 100 / total, title=title, description=_("{0} of {1}").format(done, total)
		)

	summary = enrol(doctype, names, values, progress)
	frappe.db.commit()
	frappe.publish_realtime(DONE_EVENT, summary, user=frappe.session.user)
	return summary


def enrol(doctype: str, names: list[str], values: dict, progress=None) -> dict:
	"""One Email Campaign per record; records without an email address, unsubscribed, already
	running this Campaign, or that the user may not read are skipped and counted."""
	summary = new_summary(doctype, values.get("campaign_name"))
	records = readable_records(doctype, names)
	# what the summary calls each record the user may read: its name, not its ID
	summary["titles"] = {name: (row.title or name) for name, row in records.items()}
	running = already_running(doctype, names, values.get("campaign_name"))
	suppressed = suppressed_records(records.values(), values.get("campaign_name"))
	for done, name in enumerate(names, start=1):
		reason = skip_reason(records.get(name), running, suppressed)
		if reason:
			summary["skipped"][reason].append(name)
		else:
			create_email_campaign(doctype, name, values, summary)
		if progress and (done % PROGRESS_EVERY == 0 or done == len(names)):
			progress(done, len(names))
	summary["first_send"] = first_send(values) if summary["created"] else None
	return summary


def readable_records(doctype: str, names: list[str]) -> dict[str, frappe._dict]:
	"""The records the user may read, each with its `email_id`, `unsubscribed` and `title`
	(whatever the doctype calls them: a CRM Lead's address is `email`, and it has no flag)."""
	fields = recipients.PEOPLE[doctype]
	rows = frappe.get_list(
		doctype,
		filters={"name": ("in", names)},
		fields=[
			"name",
			f"{fields.email} as email_id",
			f"{fields.title} as title",
			*([f"{fields.unsubscribed} as unsubscribed"] if fields.unsubscribed else []),
		],
	)
	return {row.name: frappe._dict({"unsubscribed": 0, **row}) for row in rows}


def first_send(values: dict) -> str:
	"""When the first email of these Email Campaigns leaves: the first step's date at Send At."""
	check = frappe.new_doc("Email Campaign")
	check.update(values)
	steps = schedule.in_schedule_order(check.get_steps())
	day = steps[0].send_date(getdate(values.get("start_date")), check.get_calendar())
	return f"{day} {values.get('send_at') or releasing.DEFAULT_SEND_AT}:00"


def new_summary(doctype: str, campaign_name: str | None) -> dict:
	return {
		"doctype": doctype,
		"campaign_name": campaign_name,
		"created": [],
		"skipped": {"no_email": [], "unsubscribed": [], "suppressed": [], "running": [], "not_permitted": []},
		"failed": {},
	}


def already_running(doctype: str, names: list[str], campaign_name: str) -> set[str]:
	return set(
		frappe.get_all(
			"Email Campaign",
			filters={
				"campaign_name": campaign_name,
				"email_campaign_for": doctype,
				"recipient": ("in", names),
				"status": ("in", statuses.RUNNING),
			},
			pluck="recipient",
		)
	)


def suppressed_records(records, campaign_name: str) -> set[str]:
	"""The records whose address the suppression list keeps from this Campaign (one query)."""
	pairs = {(record.email_id, campaign_name) for record in records if (record.email_id or "").strip()}
	blocked = suppression.blocked(pairs)
	return {r.name for r in records if (suppression.normalized(r.email_id), campaign_name) in blocked}


def skip_reason(record, running: set[str], suppressed: set[str]) -> str | None:
	if record is None:
		return "not_permitted"  # or gone: either way, not this user's to enrol
	if not (record.email_id or "").strip():
		return "no_email"
	if record.unsubscribed:
		return "unsubscribed"
	if record.name in suppressed:
		return "suppressed"
	if record.name in running:
		return "running"
	return None


def create_email_campaign(doctype: str, name: str, values: dict, summary: dict):
	doc = frappe.get_doc(
		{**values, "doctype": "Email Campaign", "email_campaign_for": doctype, "recipient": name}
	)
	_result, error = utils.in_savepoint(doc.insert)
	if error:
		summary["failed"][name] = error
	else:
		summary["created"].append(doc.name)
