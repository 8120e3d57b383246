# Copyright (c) 2026, email_campaign_app developers and contributors
# For license information, please see license.txt

from frappe.model.document import Document


class CampaignVariantTest(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		campaign: DF.Link
		decided_on: DF.Datetime | None
		email_template: DF.Link
		figures: DF.JSON | None
		send_after_days: DF.Int
		started_on: DF.Datetime | None
		winner: DF.Link | None
		winner_by: DF.Literal["Opens", "Clicks", "Replies"]
	# end: auto-generated types

	pass
