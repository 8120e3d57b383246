# Copyright (c) 2026, email_campaign_app developers and contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document

from email_campaign_app.core import schedule


class EmailCampaignSendLog(Document):
	"""The send ledger: one row per Email Campaign, schedule step and recipient address.

	Its name is the send key, so the database itself refuses a second row for the same email:
	that is what makes sending idempotent (see email_campaign_app.sending).
	"""

	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		attempts: DF.Int
		bounce: DF.Literal["", "Hard", "Soft", "Complaint"]
		bounce_communication: DF.Link | None
		bounce_reason: DF.SmallText | None
		bounce_status: DF.Data | None
		bounced_on: DF.Datetime | None
		campaign_name: DF.Link | None
		claim: DF.Data | None
		clicks: DF.Int
		communication: DF.Link | None
		email_campaign: DF.Link
		email_queue: DF.Link | None
		email_template: DF.Link | None
		error: DF.Code | None
		first_clicked_on: DF.Datetime | None
		in_test: DF.Check
		message_id: DF.Data | None
		queued_on: DF.Date | None
		recipient_doctype: DF.Link | None
		recipient_email: DF.Data
		recipient_name: DF.DynamicLink | None
		replied_on: DF.Datetime | None
		reply_communication: DF.Link | None
		send_after_days: DF.Int
		send_date: DF.Date | None
		status: DF.Literal["Queued", "Sent", "Error", "Failed", "Skipped", "Bounced"]
		variant: DF.Link | None
	# end: auto-generated types

	def validate(self):
		self.refuse_unless_the_app_does_it(
			_(
				"The Email Campaign Send Log records what was sent: its rows cannot be created or changed by hand."
			)
		)

	def on_trash(self):
		self.refuse_unless_the_app_does_it(
			_(
				"The Email Campaign Send Log records what was sent: deleting a row would send its email again. Delete the Email Campaign instead."
			)
		)

	def refuse_unless_the_app_does_it(self, message: str):
		"""Only the app's own code writes the ledger (with ignore_permissions). Frappe lets
		Administrator past every role permission, so the refusal lives in the controller."""
		if not self.flags.ignore_permissions:
			frappe.throw(message, frappe.PermissionError, title=_("Not Permitted"))

	def autoname(self):
		step = schedule.Step(self.email_template, self.send_after_days)
		self.name = schedule.send_key(self.email_campaign, step, self.recipient_email)


def on_doctype_update():
	"""The ledger sync scans the Queued rows at every scheduler tick, joined to their Email
	Queue: an index for it (Frappe's Email Queue declares its own the same way)."""
	frappe.db.add_index("Email Campaign Send Log", ["status", "email_queue"])
