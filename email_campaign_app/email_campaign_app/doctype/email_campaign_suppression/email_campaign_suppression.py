# Copyright (c) 2026, email_campaign_app developers and contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document
from frappe.utils import validate_email_address

from email_campaign_app.sending import suppression


class EmailCampaignSuppression(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		campaign: DF.Link | None
		communication: DF.Link | None
		email: DF.Data
		email_campaign: DF.Link | None
		evidence: DF.SmallText | None
		reason: DF.Literal[
			"Unsubscribed",
			"Hard Bounce",
			"Soft Bounces",
			"Complaint",
			"Added by Hand",
			"Personal Data Erased",
		]
		suppressed_on: DF.Datetime | None
	# end: auto-generated types

	def autoname(self):
		self.name = suppression.entry_name(self.email, self.campaign)

	def validate(self):
		self.email = suppression.normalized(self.email)
		if not validate_email_address(self.email):
			frappe.throw(
				_("{0} is not a valid email address.").format(frappe.bold(self.email)),
				title=_("Invalid Email"),
			)
		if self.is_new() and frappe.db.exists(
			self.doctype, suppression.entry_name(self.email, self.campaign)
		):
			frappe.throw(
				_("{0} is already on the suppression list.").format(
					frappe.bold(suppression.entry_name(self.email, self.campaign))
				),
				frappe.DuplicateEntryError,
				title=_("Already Suppressed"),
			)
		if not self.is_new() and (self.has_value_changed("email") or self.has_value_changed("campaign")):
			frappe.throw(
				_("Email and Campaign cannot change: delete this entry (which lifts it) and add another."),
				title=_("Not Permitted"),
			)

	def after_insert(self):
		suppression.on_suppression_added(self)
