# Copyright (c) 2026, email_campaign_app developers and contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document


class Lead(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		company_name: DF.Data | None
		email_id: DF.Data | None
		language: DF.Link | None
		first_name: DF.Data | None
		last_name: DF.Data | None
		lead_name: DF.Data | None
		status: DF.Literal[
			"Lead",
			"Open",
			"Replied",
			"Opportunity",
			"Quotation",
			"Lost Quotation",
			"Interested",
			"Converted",
			"Do Not Contact",
		]
		unsubscribed: DF.Check
	# end: auto-generated types

	def validate(self):
		self.set_lead_name()
		if self.email_id:
			self.email_id = self.email_id.strip()

	def set_lead_name(self):
		self.lead_name = " ".join(filter(None, (self.first_name, self.last_name))).strip()
		if not self.lead_name:
			self.lead_name = (self.company_name or "").strip()
		if not self.lead_name:
			frappe.throw(
				_("Enter a first name, a last name or an organization name for this Lead."),
				title=_("Name Missing"),
			)
