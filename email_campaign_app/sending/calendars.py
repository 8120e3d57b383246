"""A Campaign's sequence settings, read in bulk for the daily job: the days it counts."""

import frappe

from email_campaign_app.core.sending_days import EVERY_DAY, WEEKDAYS, Calendar, calendar_for

WEEKDAY_FIELDS = tuple(f"send_on_{day.lower()}" for day in WEEKDAYS)  # Monday first, as date.weekday()


def calendar_of(campaign) -> Calendar:
	"""The Campaign's calendar (a document or a row with its fields); ValueError when it counts
	business days without a weekday to send on."""
	weekdays = [weekday for weekday, fieldname in enumerate(WEEKDAY_FIELDS) if campaign.get(fieldname)]
	return calendar_for(bool(campaign.get("business_days")), weekdays)


def get_calendars(campaigns: set[str]) -> dict[str, Calendar]:
	"""The calendar of each Campaign that counts business days (one query); the others count
	every day. A Campaign left without a sending day counts every day rather than never send."""
	if not campaigns:
		return {}
	calendars = {}
	for row in frappe.get_all(
		"Campaign",
		filters={"name": ("in", list(campaigns)), "business_days": 1},
		fields=["name", "business_days", *WEEKDAY_FIELDS],
	):
		try:
			calendars[row.name] = calendar_of(row)
		except ValueError:
			calendars[row.name] = EVERY_DAY
	return calendars
