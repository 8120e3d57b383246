"""Enrolment rules: a Campaign enrols the Leads, Contacts and CRM Leads that match its rules,
once each.

A rule names a doctype (Lead, Contact, or CRM Lead where Frappe CRM is installed), Frappe filters (stored as JSON by the Campaign form's
filter dialog), a sender and the days to wait before the start. A record is enrolled when it
is inserted matching a rule, or when a save makes it start matching (a Lead whose status
changes, say). A record that has, or ever had, an Email Campaign of that Campaign is never
enrolled in it again: no second running one, and no second one after an unsubscribe.

The database evaluates a rule (its filters, the record's name, an email address and not
unsubscribed), so every operator of Frappe's filter UI means what it means in a list. A rule
that can no longer be evaluated (a field removed since it was written) is logged and skipped:
it never stops the save of the record.
"""

import json

import frappe
from frappe import _
from frappe.model import default_fields
from frappe.utils import add_days, today

from email_campaign_app import utils
from email_campaign_app.sending import recipients, senders, suppression

RULE = "Campaign Enrolment Rule"


def reachable(doctype: str) -> list[list]:
	"""A record the rule can enrol: Email Campaign refuses one without an address or unsubscribed."""
	fields = recipients.PEOPLE[doctype]
	conditions = [[doctype, fields.email, "is", "set"]]
	if fields.unsubscribed:
		conditions.append([doctype, fields.unsubscribed, "=", 0])
	return conditions


class BrokenRule(frappe.ValidationError):
	pass


# Campaign form: refuse a rule that cannot work


def validate_rules(campaign):
	for rule in campaign.get("enrolment_rules"):
		if not recipients.is_available(rule.document_type):
			throw_for_row(
				rule,
				_("{0} needs Frappe CRM, which is not installed on this site.").format(_(rule.document_type)),
			)
		try:
			filters = parse_filters(rule.filters_json, rule.document_type)
		except BrokenRule as error:
			throw_for_row(rule, str(error))
		_rows, error = utils.in_savepoint(
			lambda: frappe.get_all(rule.document_type, filters=filters, limit=1)
		)
		if error:
			throw_for_row(rule, error)
		rule.filters_json = json.dumps(filters)
		if problem := senders.sender_problem(rule.sender):
			throw_for_row(rule, problem)


def throw_for_row(rule, problem: str):
	frappe.throw(
		_("Enrolment Rules, row {0}: {1}").format(rule.idx, problem),
		title=_("Invalid Enrolment Rule"),
	)


def parse_filters(filters_json: str | None, doctype: str) -> list[list]:
	"""The rule's filters as [doctype, fieldname, operator, value] rows, every field checked.

	Accepts what Frappe's FilterGroup stores ([doctype, field, operator, value, hidden]) and
	the short forms frappe.get_all takes ({field: value}, {field: [operator, value]})."""
	try:
		value = json.loads(filters_json or "[]")
	except ValueError:
		raise BrokenRule(_("Filters are not valid JSON. Set them again with Set Filters."))
	if isinstance(value, dict):
		rows = [[doctype, field, *(v if isinstance(v, list) else ["=", v])] for field, v in value.items()]
	elif isinstance(value, list) and all(isinstance(row, list) and len(row) >= 3 for row in value):
		rows = [row[:4] if len(row) >= 4 else [doctype, *row] for row in value]
	else:
		raise BrokenRule(_("Filters must be a list of conditions. Set them again with Set Filters."))
	for row in rows:
		check_field(doctype, row[0], row[1])
	return rows


def check_field(doctype: str, filter_doctype: str, fieldname: str):
	"""Frappe would ignore a filter on a field that is gone, and the rule would enrol everyone."""
	allowed_doctypes = {doctype} | {df.options for df in frappe.get_meta(doctype).get_table_fields()}
	if filter_doctype not in allowed_doctypes:
		raise BrokenRule(
			_("A filter is on {0}, which is not part of {1}.").format(filter_doctype, _(doctype))
		)
	if fieldname not in default_fields and not frappe.get_meta(filter_doctype).has_field(fieldname):
		raise BrokenRule(_("{0} has no field {1}.").format(_(filter_doctype), fieldname))


# Lead, Contact and CRM Lead: doc_events


def remember_rules_matched(doc, method=None):
	"""before_save: the rules the stored record matched, before this save changes it."""
	if doc.is_new() or not enabled():
		return
	doc.flags.email_campaign_rules = get_rules(doc.doctype)
	doc.flags.email_campaign_rules_matched = {
		rule.name for rule in doc.flags.email_campaign_rules if matches(rule, doc, report=False)
	}


def enrol_by_rules(doc, method=None):
	"""on_update (inserts too): enrol the record in each Campaign whose rule it starts matching."""
	if not enabled():
		return
	rules = doc.flags.email_campaign_rules
	if rules is None:
		rules = get_rules(doc.doctype)
	matched_before = doc.flags.email_campaign_rules_matched or set()
	candidates = [rule for rule in rules if rule.name not in matched_before]
	if not candidates:
		return
	enrolled = campaigns_of(doc)
	for rule in candidates:
		if rule.parent not in enrolled and matches(rule, doc) and enrol(rule, doc):
			enrolled.add(rule.parent)


def enabled() -> bool:
	flags = frappe.flags
	return not (flags.in_install or flags.in_migrate or flags.in_patch or flags.in_uninstall)


def get_rules(doctype: str) -> list:
	return frappe.get_all(
		RULE,
		filters={"parenttype": "Campaign", "document_type": doctype, "enabled": 1},
		fields=["name", "parent", "idx", "filters_json", "sender", "start_after_days"],
		order_by="parent asc, idx asc",
	)


def campaigns_of(doc) -> set[str]:
	return set(
		frappe.get_all(
			"Email Campaign",
			filters={"email_campaign_for": doc.doctype, "recipient": doc.name},
			pluck="campaign_name",
		)
	)


def matches(rule, doc, report: bool = True) -> bool:
	"""Does the record, as the database holds it now, match the rule and have an address?"""
	try:
		filters = parse_filters(rule.filters_json, doc.doctype)
	except BrokenRule as error:
		if report:
			report_broken_rule(rule, doc, str(error))
		return False
	conditions = [*filters, *reachable(doc.doctype), [doc.doctype, "name", "=", doc.name]]
	found, error = utils.in_savepoint(
		lambda: frappe.get_all(doc.doctype, filters=conditions, limit=1, pluck="name")
	)
	if error and report:
		report_broken_rule(rule, doc, error)
	return bool(found)


def enrol(rule, doc) -> bool:
	if suppression.reason_for(doc.get(recipients.email_field(doc.doctype)), rule.parent):
		return False  # the list keeps the Campaign from this address: nothing to report
	email_campaign = frappe.get_doc(
		{
			"doctype": "Email Campaign",
			"campaign_name": rule.parent,
			"email_campaign_for": doc.doctype,
			"recipient": doc.name,
			"sender": rule.sender,
			"start_date": add_days(today(), rule.start_after_days or 0),
		}
	)
	# the Campaign's manager chose the rule and its sender: the saving user's rights do not apply
	_done, error = utils.in_savepoint(lambda: email_campaign.insert(ignore_permissions=True))
	if error:
		report_broken_rule(rule, doc, error)
		return False
	frappe.msgprint(
		_("{0} was enrolled in Campaign {1}.").format(frappe.bold(doc.name), frappe.bold(rule.parent)),
		indicator="green",
		alert=True,
	)
	return True


def report_broken_rule(rule, doc, problem: str):
	"""An Error Log on the Campaign, once a day per rule (a broken rule is met on every save)."""
	utils.report_once_a_day(
		_("Campaign {0}: enrolment rule {1} was skipped").format(rule.parent, rule.idx),
		"\n\n".join(
			(
				_("{0} {1} was not enrolled: {2}").format(_(doc.doctype), doc.name, problem),
				_("Filters of the rule: {0}").format(rule.filters_json),
			)
		),
		"Campaign",
		rule.parent,
	)
