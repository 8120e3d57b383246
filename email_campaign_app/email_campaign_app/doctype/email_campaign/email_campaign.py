# Copyright (c) 2026, email_campaign_app developers and contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document
from frappe.utils import escape_html, getdate, today

from email_campaign_app import permissions
from email_campaign_app.core import schedule, statuses
from email_campaign_app.core.sending_days import Calendar
from email_campaign_app.sending import email_links, recipients, senders, suppression
from email_campaign_app.sending.recipients import recipient_title

LOCKED_WHEN_IN_PROGRESS = ("campaign_name", "email_campaign_for", "recipient", "start_date")
REQUIRED = ("campaign_name", "email_campaign_for", "recipient", "sender", "start_date")
# CRM Lead: Frappe CRM's lead, where Frappe CRM is installed (recipients.recipient_doctypes)
RECIPIENT_DOCTYPES = ("Lead", "Contact", "CRM Lead", "Email Group")
# set by Pause and Resume only (db_set): never by a save
APP_FIELDS = ("shifted_days", "catch_up_until", "paused_on")


class EmailCampaign(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		all_steps_sent: DF.Check
		campaign_name: DF.Link
		catch_up_until: DF.Date | None
		dispatched_on: DF.Date | None
		email_campaign_for: DF.Literal["", "Lead", "Contact", "CRM Lead", "Email Group"]
		end_date: DF.Date | None
		paused_on: DF.Datetime | None
		recipient: DF.DynamicLink
		recipient_name: DF.Data | None
		send_at: DF.Literal[
			"00:00",
			"00:30",
			"01:00",
			"01:30",
			"02:00",
			"02:30",
			"03:00",
			"03:30",
			"04:00",
			"04:30",
			"05:00",
			"05:30",
			"06:00",
			"06:30",
			"07:00",
			"07:30",
			"08:00",
			"08:30",
			"09:00",
			"09:30",
			"10:00",
			"10:30",
			"11:00",
			"11:30",
			"12:00",
			"12:30",
			"13:00",
			"13:30",
			"14:00",
			"14:30",
			"15:00",
			"15:30",
			"16:00",
			"16:30",
			"17:00",
			"17:30",
			"18:00",
			"18:30",
			"19:00",
			"19:30",
			"20:00",
			"20:30",
			"21:00",
			"21:30",
			"22:00",
			"22:30",
			"23:00",
			"23:30",
		]
		sender: DF.Link
		shifted_days: DF.Int
		start_date: DF.Date
		status: DF.Literal["", "Scheduled", "In Progress", "Completed", "Unsubscribed", "Paused", "Replied"]
	# end: auto-generated types

	def onload(self):
		"""What stops every campaign email of the site, shown on the form."""
		self.set_onload("public_address_problem", email_links.public_address_problem())

	def validate(self):
		if not all(self.get(fieldname) for fieldname in REQUIRED):
			return  # Frappe's mandatory check, which runs next, names what is missing
		self.validate_locked_fields()
		permissions.check_app_fields_unchanged(self, APP_FIELDS)
		self.validate_start_date()
		self.set_end_date()
		self.set_recipient_name()
		self.validate_recipient()
		self.validate_sender()
		self.validate_no_running_duplicate()
		self.set_status()
		self.tell_when_send_at_applies()
		self.all_steps_sent = 0
		self.dispatched_on = None  # the dispatcher looks at it again today

	def _validate_links(self):
		"""Frappe checks that links exist before `validate` runs: whether the user may read the
		recipient is checked first, so that its "could not find" answers nobody who may not."""
		if not recipients.is_available(self.email_campaign_for or ""):
			return  # no such doctype on this site: validate_recipient says why
		permissions.check_may_choose_recipient(self, recipients.recipient_doctypes())
		super()._validate_links()

	def validate_locked_fields(self):
		before = self.get_doc_before_save()
		if not before or not has_started(before):
			return
		for fieldname in LOCKED_WHEN_IN_PROGRESS:
			if str(before.get(fieldname) or "") != str(self.get(fieldname) or ""):
				frappe.throw(
					_("{0} cannot change once the Email Campaign is In Progress.").format(
						_(self.meta.get_label(fieldname))
					),
					title=_("Email Campaign In Progress"),
				)

	def validate_start_date(self):
		if not (self.is_new() or self.has_value_changed("start_date")):
			return
		if getdate(self.start_date) < getdate(today()):
			frappe.throw(
				_("Start Date {0} is in the past. Choose today or a later date.").format(
					frappe.format(self.start_date, "Date")
				),
				title=_("Invalid Start Date"),
			)

	def set_end_date(self):
		days = [step.send_after_days for step in self.get_steps()]
		if not days:
			frappe.throw(
				_(
					"Campaign {0} has no email schedule. Add at least one Email Template to its schedule."
				).format(frappe.bold(self.campaign_name)),
				title=_("No Email Schedule"),
			)
		self.end_date = schedule.end_date(getdate(self.start_date), days, self.get_calendar())
		if self.catch_up_until:  # a resume that catches up sends the missed days one by one
			self.end_date = max(getdate(self.end_date), getdate(self.catch_up_until))

	def get_steps(self) -> list[schedule.Step]:
		return self.get_campaign().get_steps()

	def get_calendar(self) -> Calendar:
		"""The days the schedule counts, shifted by the pauses that chose to shift it."""
		return self.get_campaign().get_calendar().shifted(self.shifted_days or 0)

	def get_campaign(self):
		if not frappe.db.exists("Campaign", self.campaign_name):
			frappe.throw(_("Campaign {0} does not exist.").format(frappe.bold(self.campaign_name)))
		return frappe.get_cached_doc("Campaign", self.campaign_name)

	def set_recipient_name(self):
		self.recipient_name = recipient_title(self.email_campaign_for, self.recipient)

	def recipient_label(self) -> str:
		"""The recipient as a message names them: bold, by their name (typed by a user: escaped)."""
		return frappe.bold(escape_html(self.recipient_name or self.recipient))

	def validate_recipient(self):
		if self.email_campaign_for not in RECIPIENT_DOCTYPES:
			frappe.throw(_("Email Campaign For must be Lead, Contact, CRM Lead or Email Group."))
		if not recipients.is_available(self.email_campaign_for):
			frappe.throw(
				_("{0} needs Frappe CRM, which is not installed on this site.").format(
					_(self.email_campaign_for)
				),
				title=_("Frappe CRM Not Installed"),
			)
		if not frappe.db.exists(self.email_campaign_for, self.recipient):
			frappe.throw(
				_("{0} {1} does not exist.").format(_(self.email_campaign_for), frappe.bold(self.recipient))
			)
		if self.email_campaign_for == "Email Group":
			self.validate_email_group()
		else:
			self.validate_person()

	def validate_person(self):
		email, unsubscribed = recipients.email_and_unsubscribed(self.email_campaign_for, self.recipient)
		if not email:
			frappe.throw(
				_("{0} {1} has no email address. Set its email address first.").format(
					_(self.email_campaign_for), self.recipient_label()
				)
				if self.email_campaign_for != "Contact"
				else _("Contact {0} has no primary email address. Add one and mark it as primary.").format(
					self.recipient_label()
				),
				title=_("Email Address Missing"),
			)
		if unsubscribed and self.status != schedule.UNSUBSCRIBED:
			frappe.throw(
				_("{0} {1} has unsubscribed and must not receive campaign emails.").format(
					_(self.email_campaign_for), self.recipient_label()
				),
				title=_("Recipient Unsubscribed"),
			)
		self.validate_not_suppressed(email)

	def validate_not_suppressed(self, email: str):
		"""The suppression list (an unsubscribe from this Campaign or from all, a bounce, a
		complaint) refuses a new Email Campaign for the address, whoever creates it."""
		if not (
			self.is_new() or self.has_value_changed("recipient") or self.has_value_changed("campaign_name")
		):
			return
		if entry := suppression.reason_for(email, self.campaign_name):
			frappe.throw(suppression.refusal(email, entry), title=_("Recipient Suppressed"))

	def validate_email_group(self):
		if not frappe.db.exists("Email Group Member", {"email_group": self.recipient, "unsubscribed": 0}):
			frappe.throw(
				_("Email Group {0} has no subscribed member. Add members before starting a campaign.").format(
					self.recipient_label()
				),
				title=_("Email Address Missing"),
			)

	def validate_sender(self):
		permissions.check_sender_is_self(self)
		senders.check_sender(self.sender)

	def validate_no_running_duplicate(self):
		duplicate = frappe.db.exists(
			"Email Campaign",
			{
				"campaign_name": self.campaign_name,
				"email_campaign_for": self.email_campaign_for,
				"recipient": self.recipient,
				"status": ("in", statuses.RUNNING),
				"name": ("!=", self.name or ""),
			},
		)
		if duplicate:
			frappe.throw(
				_("Email Campaign {0} already runs Campaign {1} for {2} {3}.").format(
					frappe.bold(duplicate),
					frappe.bold(self.campaign_name),
					_(self.email_campaign_for),
					self.recipient_label(),
				),
				title=_("Duplicate Email Campaign"),
			)

	def tell_when_send_at_applies(self):
		"""A new Send At after today's emails left (or were queued) applies from the next day."""
		if self.is_new() or not self.has_value_changed("send_at"):
			return
		if frappe.db.exists("Email Campaign Send Log", {"email_campaign": self.name, "queued_on": today()}):
			frappe.msgprint(
				_(
					"Today's emails already left at the former Send At: the new Send At, {0}, applies from the next sending day."
				).format(self.send_at),
				title=_("Send At Changed"),
				indicator="blue",
			)

	def set_status(self):
		"""Status is computed: what a form or REST call writes to it is ignored; only an action
		(an unsubscribe, a pause, a reply; they write it directly) sets Unsubscribed, Paused or Replied."""
		before = self.get_doc_before_save()
		self.status = schedule.status_on(
			getdate(self.start_date),
			getdate(self.end_date),
			getdate(today()),
			before.status if before else None,
		)

	def on_trash(self):
		frappe.db.delete("Email Campaign Send Log", {"email_campaign": self.name})
		frappe.db.delete("Email Campaign Note", {"email_campaign": self.name})


def has_started(email_campaign) -> bool:
	"""In Progress, or Paused once its start date has come: its schedule has begun."""
	if email_campaign.status == schedule.PAUSED:
		return getdate(email_campaign.start_date) <= getdate(today())
	return email_campaign.status == schedule.IN_PROGRESS
