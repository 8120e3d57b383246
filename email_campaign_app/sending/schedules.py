"""The Campaigns' schedules as the planner and the batches read them: one query."""

import frappe

FIELDS = (
	"email_template",
	"send_after_days",
	"condition",
	"condition_template",
	"condition_after_days",
	"variant_of",
	"test_share",
	"winner_by",
	"decision_hours",
)


def read(campaigns: set[str]) -> dict[str, list[frappe._dict]]:
	"""Each Campaign's schedule rows in schedule order (day, then row)."""
	rows: dict[str, list[frappe._dict]] = {}
	if not campaigns:
		return rows
	for row in frappe.get_all(
		"Campaign Email Schedule",
		filters={"parenttype": "Campaign", "parent": ("in", list(campaigns))},
		fields=["parent", *FIELDS],
		order_by="send_after_days asc, idx asc",
	):
		rows.setdefault(row.parent, []).append(row)
	return rows
