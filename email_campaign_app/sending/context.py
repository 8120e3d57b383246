"""What a batch of emails needs from the database, read once for the whole batch: the Email
Campaigns, the people and their documents, who unsubscribed or is suppressed, senders, each
step's email and the outgoing Email Accounts."""

from contextlib import contextmanager

import frappe
from frappe import _

from email_campaign_app.core import schedule
from email_campaign_app.sending import recipients, senders, step_email, suppression

LOOKUP_ORDER = (recipients.CRM_LEAD, "Contact", "Lead")


def find_people_by_email(emails: list[str]) -> dict[str, tuple[str, str]]:
	"""Map each address to the Lead, Contact or CRM Lead that has it as its email, when there is
	one (in that order of preference)."""
	found: dict[str, tuple[str, str]] = {}
	if not emails:
		return found
	available = recipients.person_doctypes()
	for doctype in [d for d in LOOKUP_ORDER if d in available]:  # the last one found wins
		field = recipients.email_field(doctype)
		for row in frappe.get_all(
			doctype, filters={field: ("in", list(set(emails)))}, fields=["name", f"{field} as email"]
		):
			found[row.email.strip().lower()] = (doctype, row.name)
	return found


class BatchContext:
	"""What a batch of emails needs from the database, read once for the whole batch."""

	def __init__(self, batch: list[schedule.Send]):
		self.email_campaigns = {
			row.name: row
			for row in frappe.get_all(
				"Email Campaign",
				filters={"name": ("in", list({send.email_campaign for send in batch}))},
				fields=[
					"name",
					"campaign_name",
					"sender",
					"send_at",
					"status",
					"email_campaign_for",
					"owner",
				],
			)
		}
		self.senders = {}
		self.people = find_people_by_email(
			[send.recipient.email for send in batch if not send.recipient.doctype]
		)
		self.documents = self._load_documents(batch)
		self.unsubscribed = unsubscribed_addresses(batch)
		self.suppressed = suppression.blocked(
			{(send.recipient.email, self.campaign_name_of(send.email_campaign)) for send in batch}
		)
		self.step_messages = {}
		self.email_accounts = {}

	def campaign_name_of(self, email_campaign: str) -> str | None:
		row = self.email_campaigns.get(email_campaign)
		return row.campaign_name if row else None

	def _load_documents(self, batch):
		wanted: dict[str, set[str]] = {}
		for send in batch:
			doctype, name = self.person_of(send.recipient)
			if doctype:
				wanted.setdefault(doctype, set()).add(name)
		return {
			(doctype, row.name): row
			for doctype, names in wanted.items()
			for row in frappe.get_all(doctype, filters={"name": ("in", list(names))}, fields=["*"])
		}

	def person_of(self, recipient: schedule.Recipient) -> tuple[str | None, str | None]:
		if recipient.doctype:
			return recipient.doctype, recipient.name
		return self.people.get(recipient.email.lower(), (None, None))

	def document_for(self, recipient: schedule.Recipient) -> frappe._dict:
		"""The template's `doc`: the Lead or Contact, else a document holding the member's email."""
		doctype, name = self.person_of(recipient)
		if doctype and (doctype, name) in self.documents:
			return frappe._dict(self.documents[(doctype, name)], doctype=doctype)
		if doctype:
			frappe.throw(_("{0} {1} no longer exists.").format(_(doctype), name))
		return frappe._dict(
			doctype="Email Group Member",
			name=recipient.email,
			email=recipient.email,
			email_id=recipient.email,
		)

	def step_message(
		self, email_template: str, sender: str, language: str | None = None
	) -> step_email.StepMessage:
		"""Each step's email is built once per batch, sender and language: its footer speaks the
		recipient's language (a Lead's), else the site's."""
		language = language or frappe.local.lang
		key = (email_template, sender, language)
		if key not in self.step_messages:
			with speaking(language):
				self.step_messages[key] = step_email.StepMessage(email_template, sender)
		return self.step_messages[key]

	def email_account_of(self, sender: str) -> str | None:
		"""The outgoing Email Account Frappe would send `sender`'s email with."""
		return self.outgoing_account(sender).name

	def tracks_opens(self, sender: str) -> bool:
		return bool(self.outgoing_account(sender).track_email_status)

	def outgoing_account(self, sender: str) -> frappe._dict:
		if sender not in self.email_accounts:
			account = senders.outgoing_account(sender, raise_error=True)
			self.email_accounts[sender] = frappe._dict(
				name=account.name if account.is_exists_in_db() else None,
				track_email_status=account.track_email_status,
			)
		return self.email_accounts[sender]

	def sender_of(self, user: str) -> str:
		if user not in self.senders:
			senders.check_sender(user)
			self.senders[user] = senders.from_address(user)
		return self.senders[user]


@contextmanager
def speaking(language: str):
	"""What is built inside is translated into `language`."""
	site_language, frappe.local.lang = frappe.local.lang, language
	try:
		yield
	finally:
		frappe.local.lang = site_language


def unsubscribed_addresses(batch: list[schedule.Send]) -> set[str]:
	"""The batch's addresses that asked Frappe for no more email: from everything, or from one
	of the batch's Email Campaigns (lowercase)."""
	emails = list({send.recipient.email for send in batch})
	if not emails:
		return set()
	Unsubscribe = frappe.qb.DocType("Email Unsubscribe")
	rows = (
		frappe.qb.from_(Unsubscribe)
		.select(Unsubscribe.email)
		.where(
			Unsubscribe.email.isin(emails)
			& (
				(Unsubscribe.global_unsubscribe == 1)
				| (
					(Unsubscribe.reference_doctype == "Email Campaign")
					& Unsubscribe.reference_name.isin(list({send.email_campaign for send in batch}))
				)
			)
		)
		.run(pluck=True)
	)
	return {email.lower() for email in rows}
