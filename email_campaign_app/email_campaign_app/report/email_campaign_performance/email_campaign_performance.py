# Copyright (c) 2026, email_campaign_app developers and contributors
# For license information, please see license.txt

import threading

import frappe
from frappe import _
from frappe.utils import escape_html

from email_campaign_app.desk.figures import date_filter, step_counts

REPORT = "Email Campaign Performance"


def execute(filters=None):
	filters = frappe._dict(filters or {})
	try:
		check_dates(filters)
		data = step_counts(filters, group_by_campaign=True)
	except frappe.ValidationError:
		cancel_prepared_report_watcher()
		raise
	for row in data:
		row.failure_reason = escape_html(row.failure_reason)  # a Data column is shown as HTML
		row.waiting_reason = escape_html(row.get("waiting_reason") or "")
		row.bounce_rate = rate(row.bounced, row.sent)
		row.complaint_rate = rate(row.complaints, row.sent)
	return get_columns(), data, None, get_chart(data)


def cancel_prepared_report_watcher():
	"""Frappe 15 starts a 15-second timer before running a script report and cancels it only
	when the report returns (Frappe 16 cancels it in a `finally`): a report that refuses its
	filters would otherwise become a prepared (background) report for everyone."""
	for thread in threading.enumerate():
		if isinstance(thread, threading.Timer) and thread.kwargs.get("report") == REPORT:
			if thread.kwargs.get("site") == frappe.local.site:
				thread.cancel()


def rate(count, sent) -> float:
	return round(100.0 * float(count or 0) / float(sent), 2) if sent else 0.0


def check_dates(filters):
	from_date, to_date = date_filter(filters, "from_date"), date_filter(filters, "to_date")
	if from_date and to_date and from_date > to_date:
		frappe.throw(_("From Date must be before To Date."), title=_("Invalid Filter"))


def get_columns():
	return [
		{
			"fieldname": "campaign_name",
			"label": _("Campaign"),
			"fieldtype": "Link",
			"options": "Campaign",
			"width": 200,
		},
		# Data, not Int: the total row must not add days up
		{"fieldname": "send_after_days", "label": _("Send After (days)"), "fieldtype": "Data", "width": 120},
		{
			"fieldname": "email_template",
			"label": _("Email Template"),
			"fieldtype": "Link",
			"options": "Email Template",
			"width": 200,
		},
		{"fieldname": "queued", "label": _("Queued"), "fieldtype": "Int", "width": 90},
		{"fieldname": "waiting", "label": _("Waiting"), "fieldtype": "Int", "width": 90},
		{"fieldname": "waiting_reason", "label": _("Waiting For"), "fieldtype": "Data", "width": 200},
		{"fieldname": "sent", "label": _("Sent"), "fieldtype": "Int", "width": 90},
		{"fieldname": "failed", "label": _("Failed"), "fieldtype": "Int", "width": 90},
		{"fieldname": "retrying", "label": _("Retrying"), "fieldtype": "Int", "width": 90},
		{"fieldname": "bounced", "label": _("Bounced"), "fieldtype": "Int", "width": 90},
		{"fieldname": "bounce_rate", "label": _("Bounce Rate"), "fieldtype": "Percent", "width": 100},
		{"fieldname": "complaints", "label": _("Complaints"), "fieldtype": "Int", "width": 100},
		{"fieldname": "complaint_rate", "label": _("Complaint Rate"), "fieldtype": "Percent", "width": 110},
		{"fieldname": "opened", "label": _("Opened"), "fieldtype": "Int", "width": 90},
		{"fieldname": "clicked", "label": _("Clicked"), "fieldtype": "Int", "width": 90},
		{"fieldname": "clicks", "label": _("Clicks"), "fieldtype": "Int", "width": 90},
		{"fieldname": "replied", "label": _("Replies"), "fieldtype": "Int", "width": 90},
		{"fieldname": "unsubscribed", "label": _("Unsubscribed"), "fieldtype": "Int", "width": 110},
		{"fieldname": "failure_reason", "label": _("Main Failure Reason"), "fieldtype": "Data", "width": 300},
	]


def get_chart(data):
	if not data:
		return None
	return {
		"data": {
			"labels": [_("{0} · day {1}").format(row.campaign_name, row.send_after_days) for row in data],
			"datasets": [
				{"name": label, "values": [row[figure] for row in data]}
				for figure, label in (
					("sent", _("Sent")),
					("opened", _("Opened")),
					("clicked", _("Clicked")),
					("replied", _("Replies")),
					("unsubscribed", _("Unsubscribed")),
					("bounced", _("Bounced")),
					("failed", _("Failed")),
				)
			],
		},
		"type": "bar",
		"colors": ["#5e64ff", "#29cd42", "#00bcd4", "#9c27b0", "#ff9f43", "#795548", "#ff5858"],
	}
