# Copyright (c) 2026, email_campaign_app developers and contributors
# For license information, please see license.txt

from frappe.model.document import Document


class CampaignEnrolmentRule(Document):
	"""A rule of a Campaign: which new Leads, Contacts or CRM Leads it enrols (see email_campaign_app.enrolment_rules)."""

	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		document_type: DF.Literal["Lead", "Contact", "CRM Lead"]
		enabled: DF.Check
		filters_json: DF.Code | None
		parent: DF.Data
		parentfield: DF.Data
		parenttype: DF.Data
		sender: DF.Link
		start_after_days: DF.Int
	# end: auto-generated types

	pass
