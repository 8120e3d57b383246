# Copyright (c) 2026, email_campaign_app developers and contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document

from email_campaign_app.core.release import PRESETS
from email_campaign_app.sending.dispatcher import dispatch_again_today


class EmailCampaignSettings(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		from email_campaign_app.email_campaign_app.doctype.email_campaign_sending_limit.email_campaign_sending_limit import (
			EmailCampaignSendingLimit,
		)

		health_days: DF.Int
		organisation_name: DF.Data | None
		health_min_sends: DF.Int
		pause_complaint_rate: DF.Percent
		pause_hard_bounce_rate: DF.Percent
		postal_address: DF.SmallText | None
		recipient_daily_cap: DF.Int
		recipient_weekly_cap: DF.Int
		sending_limits: DF.Table[EmailCampaignSendingLimit]
		soft_bounce_days: DF.Int
		soft_bounce_limit: DF.Int
	# end: auto-generated types

	def validate(self):
		self.validate_footer()
		seen = set()
		for row in self.sending_limits:
			if row.email_account in seen:
				frappe.throw(
					_(
						"Row {0}: Email Account {1} already has sending limits. Keep one row per account."
					).format(row.idx, frappe.bold(row.email_account))
				)
			seen.add(row.email_account)
			fill_in_preset(row)
			if not row.sending_stopped:
				row.stopped_on = row.stopped_reason = None

	def validate_footer(self):
		"""The footer is part of every campaign email's template: no Jinja braces in it."""
		for fieldname in ("organisation_name", "postal_address"):
			if any(brace in (self.get(fieldname) or "") for brace in "{}"):
				frappe.throw(
					_("{0} cannot contain {{ or }}.").format(_(self.meta.get_label(fieldname))),
					title=_("Invalid Footer"),
				)

	def on_update(self):
		"""An account allowed to send again (or new limits): what waits is dispatched again today."""
		dispatch_again_today()


def fill_in_preset(row):
	"""A preset fills in the limits left empty (the provider's figures, which a user may lower)."""
	preset = PRESETS.get(row.preset or "")
	if preset:
		for fieldname, value in zip(("per_minute", "per_hour", "per_day"), preset, strict=True):
			if value and not row.get(fieldname):
				row.set(fieldname, value)
