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
	communication = frappe.db.get_value(LEDGER, log, "communication")
	if communication and not frappe.db.get_value("Communication", communication, "read_by_recipient"):
		frappe.db.set_value(
			"Communication",
			communication,
			{
				"read_by_recipient": 1,
				"delivery_status": "Read",
				"read_by_recipient_on": frappe.utils.now_datetime(),
			},
		)
	frappe.db.commit()  # a GET is rolled back otherwise
