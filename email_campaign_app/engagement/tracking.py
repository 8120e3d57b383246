"""What recipients do with a campaign email: a click on a tracked link (the first click's time,
and how many, on the email's ledger row) and an open (its tracking pixel marks the email's
Communication read)."""

import frappe
from frappe.query_builder.functions import Coalesce
from frappe.utils import now_datetime

from email_campaign_app.sending.ledger import LEDGER


def record_click(ledger_row: str):
	"""One more click on the email's ledger row; the first click's time is kept (one UPDATE)."""
	Ledger = frappe.qb.DocType(LEDGER)
	frappe.qb.update(Ledger).set(Ledger.clicks, Coalesce(Ledger.clicks, 0) + 1).set(
		Ledger.first_clicked_on, Coalesce(Ledger.first_clicked_on, now_datetime())
	).where(Ledger.name == ledger_row).run()


def mark_opened(log: str):
	"""The email's Communication is read from the first load of its pixel, at that time.

	Mail providers' image proxies and scanners load a pixel several times, at once: one
	conditional UPDATE (the row re-checked under its lock) marks it once, and a later load
	cannot move the first open's time, where reading then writing would let two loads both
	write. Committed at once: a GET is rolled back otherwise."""
	communication = frappe.db.get_value(LEDGER, log, "communication")
	if communication:
		Communication, now = frappe.qb.DocType("Communication"), now_datetime()
		(
			frappe.qb.update(Communication)
			.set(Communication.read_by_recipient, 1)
			.set(Communication.delivery_status, "Read")
			.set(Communication.read_by_recipient_on, now)
			.set(Communication.modified, now)
			.set(Communication.modified_by, frappe.session.user)
			.where((Communication.name == communication) & (Communication.read_by_recipient == 0))
			.run()
		)
	frappe.db.commit()
