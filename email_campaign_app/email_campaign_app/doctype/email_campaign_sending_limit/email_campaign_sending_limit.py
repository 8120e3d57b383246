# Copyright (c) 2026, email_campaign_app developers and contributors
# For license information, please see license.txt

from frappe.model.document import Document


class EmailCampaignSendingLimit(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		email_account: DF.Link
		parent: DF.Data
		parentfield: DF.Data
		parenttype: DF.Data
		per_day: DF.Int
		per_hour: DF.Int
		per_minute: DF.Int
		preset: DF.Literal["", "Google Workspace", "Microsoft 365"]
		sending_stopped: DF.Check
		stopped_on: DF.Datetime | None
		stopped_reason: DF.SmallText | None
	# end: auto-generated types

	pass
