# Copyright (c) 2026, email_campaign_app developers and contributors
# For license information, please see license.txt
"""What the Desk says is true, in the reader's language and time, about people by their names
(issue 23): titles and errors name people, timeline notes are told to each reader, messages say
what happened and what happens next, the footer names who sends and where they are."""

from zoneinfo import ZoneInfo

import frappe
from frappe.utils import format_datetime, get_datetime, get_system_timezone

from email_campaign_app import tasks
from email_campaign_app.api import email_campaign as api
from email_campaign_app.desk import timeline
from email_campaign_app.sending import email_links
from email_campaign_app.tests.helpers import (
	IntegrationTestCase,
	ensure_outgoing_email_account,
	make_campaign,
	make_email_campaign,
	make_lead,
	make_template,
)


def messages() -> list[str]:
	"""What msgprint showed in this request, oldest first."""
	return [frappe.parse_json(m).get("message", "") for m in frappe.local.message_log]


def reader(language: str, time_zone: str) -> str:
	user = frappe.get_doc(
		{
			"doctype": "User",
			"email": f"reader.{frappe.generate_hash(length=8)}@example.com",
			"first_name": "Reader",
			"language": language,
			"time_zone": time_zone,
			"roles": [{"role": "Sales Manager"}],
		}
	).insert(ignore_permissions=True)
	return user.name


class TestWhatTheDeskSays(IntegrationTestCase):
	def setUp(self):
		ensure_outgoing_email_account()
		self.campaign = make_campaign([(make_template().name, 0), (make_template().name, 2)])
		frappe.local.message_log = []

	def tearDown(self):
		frappe.set_user("Administrator")
		frappe.local.lang = "en"

	def test_an_email_campaign_is_titled_by_its_recipients_name(self):
		lead = make_lead(first_name="Alice", last_name="Martin")
		email_campaign = make_email_campaign(self.campaign.name, lead.name)
		self.assertEqual(email_campaign.recipient_name, "Alice Martin")
		self.assertEqual(frappe.get_meta("Email Campaign").title_field, "recipient_name")
		lead.first_name = "Alicia"
		lead.save()
		self.assertEqual(
			frappe.db.get_value("Email Campaign", email_campaign.name, "recipient_name"), "Alicia Martin"
		)

	def test_an_error_names_the_lead_by_name(self):
		lead = make_lead(email="", first_name="Denis", last_name="<b>Roy</b>")
		with self.assertRaises(frappe.ValidationError) as refused:
			make_email_campaign(self.campaign.name, lead.name)
		self.assertIn("Denis &lt;b&gt;Roy&lt;/b&gt;", str(refused.exception))
		self.assertNotIn(lead.name, str(refused.exception))

	def test_a_pause_is_told_to_each_reader_in_their_language_and_time_zone(self):
		email_campaign = make_email_campaign(self.campaign.name, make_lead().name)
		api.pause_email_campaign(email_campaign.name)
		paused_on = frappe.db.get_value("Email Campaign", email_campaign.name, "paused_on")
		self.assertEqual(messages()[-1], "Email Campaign paused: nothing more is sent until it resumes.")

		frappe.set_user(reader("fr", "Asia/Kolkata"))
		frappe.local.lang = "fr"
		[note] = timeline.email_campaign_notes("Email Campaign", email_campaign.name)
		in_kolkata = (
			get_datetime(paused_on)
			.replace(tzinfo=ZoneInfo(get_system_timezone()))
			.astimezone(ZoneInfo("Asia/Kolkata"))
			.replace(tzinfo=None)
		)
		self.assertIn("a mis cette campagne e-mail en pause le", note["content"])
		self.assertIn(format_datetime(in_kolkata), note["content"])
		self.assertNotIn("0 e-mail", note["content"])  # nothing was waiting: nothing to withdraw

	def test_resume_says_a_background_job_sends_and_send_at_says_when_it_applies(self):
		email_campaign = make_email_campaign(self.campaign.name, make_lead().name)
		api.pause_email_campaign(email_campaign.name)
		api.resume_email_campaign(email_campaign.name, "Shift")
		self.assertEqual(
			messages()[-1],
			"Email Campaign resumed. 1 email is handed to a background job, which queues and sends it now.",
		)
		[_paused, resumed] = timeline.email_campaign_notes("Email Campaign", email_campaign.name)
		self.assertIn("The schedule did not move", resumed["content"])

		tasks.daily()
		frappe.local.message_log = []
		doc = frappe.get_doc("Email Campaign", email_campaign.name)
		doc.send_at = "18:00"
		doc.save()
		self.assertIn("applies from the next sending day", messages()[-1])

	def test_the_daily_job_says_what_it_did(self):
		make_email_campaign(self.campaign.name, make_lead().name)
		self.assertRegex(tasks.daily(), r"emails? released today so far\.")

	def test_the_footer_names_who_sends_and_their_postal_address(self):
		settings = frappe.get_single("Email Campaign Settings")
		settings.organisation_name = "Acme & Co"
		settings.postal_address = "1 rue de la Paix\n75002 Paris"
		settings.save()
		footer = email_links.unsubscribe_footer("https://x.example/u", "Ada Lovelace <ada@example.com>")
		self.assertIn("Sent by Ada Lovelace, Acme &amp; Co.", footer)
		self.assertIn("1 rue de la Paix, 75002 Paris", footer)
		settings.postal_address = "{{ frappe.session }}"
		with self.assertRaisesRegex(frappe.ValidationError, "cannot contain"):
			settings.save()

	def test_a_template_a_campaign_cannot_send_is_flagged_where_it_is_written(self):
		template = make_template(subject="Hi", response="<p>Hello {{ first_name }}</p>")
		self.assertIn("a campaign cannot send it yet", messages()[-1])
		self.assertTrue(frappe.db.exists("Email Template", template.name))  # another feature may use it
		used = make_template()
		make_campaign([(used.name, 0)])
		used.response = "<p>{{ frappe.session.user }}</p>"
		with self.assertRaisesRegex(frappe.ValidationError, "campaign emails cannot use"):
			used.save()


class TestDashboardLabelsForEveryReader(IntegrationTestCase):
	"""Frappe caches a form's dashboard once per doctype for every user: a label translated on
	the server would speak the first reader's language to all (seen: French "Campagnes e-mail"
	to an English Administrator). The labels stay English; the Desk translates them."""

	def test_the_connections_labels_are_left_for_the_desk_to_translate(self):
		from frappe.desk.form.meta import get_meta

		previous = frappe.local.lang
		frappe.local.lang = "fr"
		try:
			for doctype in ("Campaign", "Lead", "Contact"):
				dashboard = get_meta(doctype, cached=False).get("__dashboard")
				labels = [group["label"] for group in dashboard["transactions"]]
				self.assertIn("Email Campaigns", labels, doctype)
		finally:
			frappe.local.lang = previous
