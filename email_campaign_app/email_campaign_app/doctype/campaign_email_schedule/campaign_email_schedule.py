# Copyright (c) 2026, email_campaign_app developers and contributors
# For license information, please see license.txt

from frappe.model.document import Document


class CampaignEmailSchedule(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		condition: DF.Literal[
			"Always", "Opened", "Not Opened", "Clicked", "Not Clicked", "Replied", "Not Replied"
		]
		condition_after_days: DF.Int
		condition_template: DF.Link | None
		decision_hours: DF.Int
		email_template: DF.Link
		parent: DF.Data
		parentfield: DF.Data
		parenttype: DF.Data
		send_after_days: DF.Int
		test_share: DF.Percent
		variant_of: DF.Link | None
		winner_by: DF.Literal["Opens", "Clicks", "Replies"]
	# end: auto-generated types

	pass
