# Copyright (c) 2026, email_campaign_app developers and contributors
# For license information, please see license.txt

from frappe.model.document import Document


class EmailCampaignSettings(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		health_days: DF.Int
		health_min_sends: DF.Int
		pause_complaint_rate: DF.Percent
		pause_hard_bounce_rate: DF.Percent
		soft_bounce_days: DF.Int
		soft_bounce_limit: DF.Int
	# end: auto-generated types

	pass
