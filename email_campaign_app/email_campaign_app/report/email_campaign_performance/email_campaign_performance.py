# Copyright (c) 2026, email_campaign_app developers and contributors
# For license information, please see license.txt

import threading

import frappe
from frappe import _
from frappe.utils import escape_html

from email_campaign_app.desk.figures import STEP_FIGURES, add_rates, date_filter, step_counts, variant_counts

REPORT = "Email Campaign Performance"
BY_STEP, BY_CAMPAIGN = "Step", "Campaign"


def execute(filters=None):
	filters = frappe._dict(filters or {})
	try:
		check_dates(filters)
		data = with_every_step(step_counts(filters, group_by_campaign=True), filters)
	except frappe.ValidationError:
		cancel_prepared_report_watcher()
		raise
	if filters.get("group_by") == BY_CAMPAIGN:
		data = per_campaign(data)
	else:
		data = with_variants(data, variant_counts(filters, group_by_campaign=True))
	for row in data:
		row.failure_reason = escape_html(row.get("failure_reason") or "")  # a Data column is shown as HTML
		row.waiting_reason = escape_html(row.get("waiting_reason") or "")
	return get_columns(filters), data, None, get_chart([row for row in data if not row.get("variant")])


def with_every_step(data: list, filters) -> list:
	"""Every step of the Campaigns shown, a step that sent nothing yet with zeros."""
	campaigns = {filters.campaign_name} if filters.get("campaign_name") else {r.campaign_name for r in data}
	seen = {(r.campaign_name, r.email_template, r.send_after_days) for r in data}
	steps = frappe.get_all(
		"Campaign Email Schedule",
		filters={
			"parenttype": "Campaign",
			"parent": ("in", list(campaigns) or [""]),
			"variant_of": ("is", "not set"),
		},
		fields=["parent", "email_template", "send_after_days"],
	)
	for step in steps:
		step.campaign_name = step.pop("parent")
		if (step.campaign_name, step.email_template, step.send_after_days) not in seen:
			data.append(add_rates(frappe._dict(step, **{figure: 0 for figure in STEP_FIGURES})))
	return sorted(data, key=lambda r: (r.campaign_name, r.send_after_days or 0, r.email_template))


def with_variants(data: list, variants: list) -> list:
	"""Under each step with A/B variants, a row per variant (`variant`: its Email Template)."""
	return sorted(
		data + variants,
		key=lambda row: (
			row.campaign_name,
			row.send_after_days or 0,
			row.email_template,
			row.get("variant") or "",
		),
	)


def per_campaign(data: list) -> list:
	"""One row per Campaign: its steps added up, its rates from the totals."""
	totals: dict[str, frappe._dict] = {}
	for row in data:
		total = totals.setdefault(row.campaign_name, frappe._dict(campaign_name=row.campaign_name, steps=0))
		total.steps += 1
		for figure in STEP_FIGURES:
			total[figure] = (total.get(figure) or 0) + (row.get(figure) or 0)
	return [add_rates(total) for total in totals.values()]


def cancel_prepared_report_watcher():
	"""Frappe 15 starts a 15-second timer before running a script report and cancels it only
	when the report returns (Frappe 16 cancels it in a `finally`): a report that refuses its
	filters would otherwise become a prepared (background) report for everyone."""
	for thread in threading.enumerate():
		if isinstance(thread, threading.Timer) and thread.kwargs.get("report") == REPORT:
			if thread.kwargs.get("site") == frappe.local.site:
				thread.cancel()


def check_dates(filters):
	from_date, to_date = date_filter(filters, "from_date"), date_filter(filters, "to_date")
	if from_date and to_date and from_date > to_date:
		frappe.throw(_("From Date must be before To Date."), title=_("Invalid Filter"))


FIGURES = (
	("sent", "Sent", "Int"), ("in_queue", "In Queue", "Int"), ("waiting", "Waiting", "Int"),
	("skipped", "Skipped", "Int"), ("failed", "Failed", "Int"), ("retrying", "Retrying", "Int"),
	("opened", "Opened", "Int"), ("open_rate", "Open Rate", "Percent"),
	("clicked", "Clicked", "Int"), ("click_rate", "Click Rate", "Percent"), ("clicks", "Clicks", "Int"),
	("replied", "Replies", "Int"), ("reply_rate", "Reply Rate", "Percent"),
	("unsubscribed", "Unsubscribed", "Int"), ("unsubscribe_rate", "Unsubscribe Rate", "Percent"),
	("bounced", "Bounced", "Int"), ("bounce_rate", "Bounce Rate", "Percent"),
	("complaints", "Complaints", "Int"), ("complaint_rate", "Complaint Rate", "Percent"),
)  # fmt: skip


def column(fieldname: str, label: str, fieldtype: str, width: int = 100, options: str | None = None):
	return {
		"fieldname": fieldname,
		"label": label,
		"fieldtype": fieldtype,
		"width": width,
		"options": options,
	}


def get_columns(filters=None):
	"""Per step (or per Campaign): what went, what waits, and the rates a marketer reads."""
	by_campaign = (filters or {}).get("group_by") == BY_CAMPAIGN
	columns = [column("campaign_name", _("Campaign"), "Link", 200, "Campaign")]
	if by_campaign:
		columns.append(column("steps", _("Steps"), "Int", 70))
	else:  # days as Data: no total adds them up
		columns.append(column("send_after_days", _("Send After (days)"), "Data", 120))
		columns.append(column("email_template", _("Email Template"), "Link", 200, "Email Template"))
		columns.append(column("variant", _("A/B Variant"), "Link", 160, "Email Template"))
		columns.append(column("test_emails", _("A/B Test Emails"), "Int", 110))
	columns += [column(fieldname, _(label), fieldtype) for fieldname, label, fieldtype in FIGURES]
	if not by_campaign:
		columns.append(column("waiting_reason", _("Waiting For"), "Data", 200))
		columns.append(column("failure_reason", _("Main Failure Reason"), "Data", 300))
	return columns


def get_chart(data):
	"""The rates per step (or Campaign): percentages, so the axis reads 0 to 100, never 0.5 email."""
	if not data:
		return None
	label = (
		(lambda row: _("{0} · day {1}").format(row.campaign_name, row.send_after_days))
		if "send_after_days" in data[0]
		else (lambda row: row.campaign_name)
	)
	return {
		"data": {
			"labels": [label(row) for row in data],
			"datasets": [
				{"name": name, "values": [row[figure] for row in data]}
				for figure, name in (
					("open_rate", _("Open Rate")),
					("click_rate", _("Click Rate")),
					("reply_rate", _("Reply Rate")),
					("unsubscribe_rate", _("Unsubscribe Rate")),
					("bounce_rate", _("Bounce Rate")),
				)
			],
		},
		"type": "bar",
		"colors": ["#5e64ff", "#29cd42", "#9c27b0", "#ff9f43", "#795548"],
		"fieldtype": "Percent",
	}
