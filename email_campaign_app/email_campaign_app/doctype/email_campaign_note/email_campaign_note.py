# Copyright (c) 2026, email_campaign_app developers and contributors
# For license information, please see license.txt

from frappe.model.document import Document


class EmailCampaignNote(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		email: DF.Data | None
		email_campaign: DF.Link
		event: DF.Literal["Paused", "Resumed", "Unsubscribed"]
		happened_on: DF.Datetime
		reason: DF.SmallText | None
		resume_mode: DF.Literal["", "Shift", "Catch Up"]
		shifted_days: DF.Int
		user: DF.Link | None
		withdrawn: DF.Int
	# end: auto-generated types

	pass
