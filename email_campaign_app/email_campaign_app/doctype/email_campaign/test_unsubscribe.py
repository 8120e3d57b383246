# Copyright (c) 2026, email_campaign_app developers and contributors
# For license information, please see license.txt
"""The unsubscribe link over HTTP, through Frappe's WSGI application as a mail provider or a
recipient's browser reaches it (the way Frappe's own API tests make requests)."""

import re
import threading
from html import unescape
from urllib.parse import parse_qs, urlparse

import frappe
from frappe.database.database import Database
from frappe.tests.test_api import make_request
from frappe.utils import add_days, get_test_client, today
from frappe.utils.password import update_password

from email_campaign_app import tasks
from email_campaign_app.api import guest as api
from email_campaign_app.sending import email_links as links
from email_campaign_app.tests.helpers import (
	IntegrationTestCase,
	ensure_outgoing_email_account,
	make_campaign,
	make_email_campaign,
	make_email_group,
	make_lead,
	make_template,
)
from email_campaign_app.tests.http import ensure_user

LEDGER = "Email Campaign Send Log"
PATH = "/api/method/email_campaign_app.api.unsubscribe"


def request(method, query=None, form=None, headers=None):
	"""GET or POST the unsubscribe URL with `query` in its query string and `form` as its body."""
	client = get_test_client(use_cookies=False)
	call = client.get if method == "GET" else client.post
	kwargs = {"query_string": query or {}, "data": form, "headers": headers or {}}
	frappe.db.commit()
	response = make_request(target=call, args=(PATH,), kwargs=kwargs, site=frappe.local.site)
	frappe.db.rollback()  # see what the request committed
	return response


def queries_of(method, query=None, form=None, headers=None):
	"""(response, the SQL statements the request's own thread ran: Frappe's session and request
	set-up included). Every statement goes through Database.sql."""
	real_sql, statements, main = Database.sql, [], threading.current_thread()

	def counted(db, query, *args, **kwargs):
		if threading.current_thread() is not main:
			statements.append(query)
		return real_sql(db, query, *args, **kwargs)

	Database.sql = counted
	try:
		response = request(method, query, form, headers)
	finally:
		Database.sql = real_sql
	return response, statements


def link_params(email_campaign, email):
	query = parse_qs(urlparse(links.unsubscribe_url(email_campaign, email)).query)
	return {key: values[0] for key, values in query.items()}


class TestUnsubscribe(IntegrationTestCase):
	def setUp(self):
		ensure_outgoing_email_account()
		frappe.cache.delete(api.bad_token_key("127.0.0.1"))
		self.lead = make_lead()
		self.campaign = make_campaign([(make_template().name, 0), (make_template().name, 1)])
		self.email_campaign = make_email_campaign(self.campaign.name, self.lead.name)
		tasks.daily()  # day 0 queued, not sent yet

	def status(self):
		return frappe.db.get_value("Email Campaign", self.email_campaign.name, "status")

	def test_get_shows_a_confirmation_page_and_changes_nothing(self):
		response = request("GET", link_params(self.email_campaign.name, self.lead.email_id))
		self.assertEqual(response.status_code, 200)
		page = response.get_data(as_text=True)
		self.assertIn("<form", page)
		self.assertIn('method="POST"', page)
		self.assertIn(self.lead.email_id, page)
		self.assertEqual(self.status(), "In Progress")

	def test_one_click_post_unsubscribes_and_cancels_what_is_queued(self):
		# as a mail provider does it (RFC 8058): POST to the List-Unsubscribe URL, no cookie
		params = link_params(self.email_campaign.name, self.lead.email_id)
		one_click = {"List-Unsubscribe": "One-Click"}
		response = request("POST", params, one_click)
		self.assertEqual(response.status_code, 200)
		self.assertEqual(self.status(), "Unsubscribed")
		self.assertTrue(
			frappe.db.exists(
				"Email Unsubscribe",
				{
					"email": self.lead.email_id,
					"reference_doctype": "Email Campaign",
					"reference_name": self.email_campaign.name,
				},
			)
		)
		[row] = frappe.get_all(
			LEDGER, filters={"email_campaign": self.email_campaign.name}, fields=["status", "email_queue"]
		)
		self.assertEqual(row.status, "Skipped")
		self.assertEqual(frappe.db.get_value("Email Queue", row.email_queue, "status"), "Cancelled")
		note = frappe.get_all(
			"Email Campaign Note",
			filters={"email_campaign": self.email_campaign.name, "event": "Unsubscribed"},
			fields=["email", "user"],
		)
		self.assertEqual(note, [{"email": self.lead.email_id, "user": None}])
		# the Guest who clicked neither "edited" the Email Campaign nor "left this conversation"
		self.assertNotEqual(
			frappe.db.get_value("Email Campaign", self.email_campaign.name, "modified_by"), "Guest"
		)
		self.assertFalse(
			frappe.db.exists("Comment", {"reference_name": self.email_campaign.name, "comment_type": "Label"})
		)

		again = request("POST", form=params)  # the confirmation page's button
		self.assertEqual(again.status_code, 200)
		self.assertEqual(
			frappe.db.count("Email Unsubscribe", {"reference_name": self.email_campaign.name}), 1
		)

		with self.freeze_time(f"{add_days(today(), 1)} 08:00:00"):
			tasks.daily()
		self.assertEqual(frappe.db.count(LEDGER, {"email_campaign": self.email_campaign.name}), 1)

	def test_tampered_truncated_and_foreign_tokens_change_nothing(self):
		good = link_params(self.email_campaign.name, self.lead.email_id)
		other = make_lead()
		foreign = link_params(self.email_campaign.name, other.email_id)["token"]
		tampered = ("A" if good["token"][0] != "A" else "B") + good["token"][1:]
		for token in (good["token"][:-1], tampered, foreign, ""):
			response = request("POST", {**good, "token": token}, {"List-Unsubscribe": "One-Click"})
			self.assertEqual(response.status_code, 400, token)
			self.assertIn("Invalid unsubscribe link", response.get_data(as_text=True))
		self.assertEqual(self.status(), "In Progress")
		self.assertFalse(frappe.db.exists("Email Unsubscribe", {"reference_name": self.email_campaign.name}))

	def test_a_group_member_leaves_alone(self):
		leaving, staying = (f"{frappe.generate_hash(length=8)}@example.com" for _ in range(2))
		group = make_email_group([leaving, staying])
		email_campaign = make_email_campaign(self.campaign.name, group.name, "Email Group")
		tasks.daily()

		response = request("POST", form=link_params(email_campaign.name, leaving))
		self.assertEqual(response.status_code, 200)
		self.assertEqual(frappe.db.get_value("Email Campaign", email_campaign.name, "status"), "In Progress")
		self.assertEqual(
			frappe.db.get_value(
				"Email Group Member", {"email_group": group.name, "email": leaving}, "unsubscribed"
			),
			1,
		)
		self.assertEqual(
			frappe.db.get_value(
				"Email Group Member", {"email_group": group.name, "email": staying}, "unsubscribed"
			),
			0,
		)

		with self.freeze_time(f"{add_days(today(), 1)} 08:00:00"):
			tasks.daily()
		day_one = frappe.get_all(
			LEDGER,
			filters={"email_campaign": email_campaign.name, "send_after_days": 1},
			pluck="recipient_email",
		)
		self.assertEqual(day_one, [staying])

	def test_the_page_speaks_french_to_a_french_browser(self):
		params = link_params(self.email_campaign.name, self.lead.email_id)
		page = request("GET", params, headers={"Accept-Language": "fr-FR,fr;q=0.9"}).get_data(as_text=True)
		self.assertIn("Se désinscrire", page)
		done = request("POST", params, {"List-Unsubscribe": "One-Click"}, headers={"Accept-Language": "fr"})
		self.assertIn("ne recevra plus d'e-mails de cette campagne", done.get_data(as_text=True))

	def test_a_burst_of_forged_tokens_is_turned_away(self):
		good = link_params(self.email_campaign.name, self.lead.email_id)
		codes = [
			request("POST", form={**good, "token": f"forged{i}"}).status_code
			for i in range(api.BAD_TOKEN_LIMIT + 3)
		]
		self.assertEqual(set(codes[: api.BAD_TOKEN_LIMIT]), {400})
		self.assertEqual(set(codes[api.BAD_TOKEN_LIMIT :]), {429})
		self.assertEqual(self.status(), "In Progress")
		# the real recipient, behind the same address, still gets through
		self.assertEqual(request("POST", good, {"List-Unsubscribe": "One-Click"}).status_code, 200)
		self.assertEqual(self.status(), "Unsubscribed")
		frappe.cache.delete(api.bad_token_key("127.0.0.1"))

	def test_the_address_is_matched_as_the_token_was_checked_spaces_and_capitals_aside(self):
		member, other = (f"{frappe.generate_hash(length=8)}@example.com" for _ in range(2))
		group = make_email_group([member, other])
		email_campaign = make_email_campaign(self.campaign.name, group.name, "Email Group")
		params = link_params(email_campaign.name, member)

		response = request(
			"POST", {**params, "email": f"  {member.upper()}  "}, {"List-Unsubscribe": "One-Click"}
		)
		self.assertEqual(response.status_code, 200)
		self.assertEqual(
			frappe.db.get_value(
				"Email Group Member", {"email_group": group.name, "email": member}, "unsubscribed"
			),
			1,
		)
		self.assertEqual(
			frappe.db.get_value(
				"Email Group Member", {"email_group": group.name, "email": other}, "unsubscribed"
			),
			0,
		)
		self.assertTrue(
			frappe.db.exists("Email Unsubscribe", {"email": member, "reference_name": email_campaign.name})
		)

		lead_params = link_params(self.email_campaign.name, self.lead.email_id)
		request(
			"POST", {**lead_params, "email": f" {self.lead.email_id} "}, {"List-Unsubscribe": "One-Click"}
		)
		self.assertEqual(self.status(), "Unsubscribed")

	def test_a_valid_token_for_an_address_the_campaign_never_sent_to_changes_nothing(self):
		stranger = f"{frappe.generate_hash(length=8)}@example.com"
		response = request(
			"POST", link_params(self.email_campaign.name, stranger), {"List-Unsubscribe": "One-Click"}
		)
		self.assertEqual(response.status_code, 400)
		self.assertEqual(self.status(), "In Progress")
		self.assertFalse(frappe.db.exists("Email Unsubscribe", {"reference_name": self.email_campaign.name}))

	def test_a_get_costs_a_few_queries_and_changes_nothing(self):
		# a mail scanner opens the link of every email: the page must cost what a click costs,
		# not a Frappe web page's hundred queries
		params = link_params(self.email_campaign.name, self.lead.email_id)
		request("GET", params)  # the caches a running site has
		response, statements = queries_of("GET", params)
		self.assertEqual(response.status_code, 200)
		self.assertLessEqual(len(statements), 10, statements)
		writes = ("insert", "update", "delete", "replace")
		self.assertFalse([q for q in statements if q.split()[0].lower() in writes], statements)
		page = response.get_data(as_text=True)
		self.assertIn('<html lang="en">', page)
		self.assertIn('<meta name="robots" content="noindex">', page)
		self.assertIn('name="scope" value="campaign" checked', page)
		self.assertNotIn("<script", page)
		self.assertNotIn("csrf_token", page)  # a guest has no session to protect
		self.assertEqual(self.status(), "In Progress")
		self.assertFalse(frappe.db.exists("Email Unsubscribe", {"reference_name": self.email_campaign.name}))
		self.assertFalse(
			frappe.db.exists("Email Campaign Note", {"email_campaign": self.email_campaign.name})
		)

		for forged in ({**params, "token": "forged"}, link_params("EC-none", self.lead.email_id)):
			response, statements = queries_of("GET", forged)
			self.assertIn(response.status_code, (200, 400))
			self.assertLessEqual(len(statements), 10, statements)
		frappe.cache.delete(api.bad_token_key("127.0.0.1"))

	def test_every_value_on_the_page_is_escaped(self):
		lead = make_lead(email=f"o'hara&{frappe.generate_hash(length=6)}@example.com")
		email_campaign = make_email_campaign(self.campaign.name, lead.name)
		params = link_params(email_campaign.name, lead.email_id)
		page = request("GET", params).get_data(as_text=True)
		done = request("POST", params, {"List-Unsubscribe": "One-Click"}).get_data(as_text=True)
		for shown in (page, done):
			self.assertNotIn(lead.email_id, shown)  # never raw
			self.assertEqual(unescape(re.search("<strong>(.*?)</strong>", shown)[1]), lead.email_id)
		self.assertEqual(unescape(re.search('name="email" value="(.*?)"', page)[1]), lead.email_id)

	def test_a_logged_in_user_unsubscribes_with_the_page_csrf_token(self):
		user = ensure_user("unsubscribing.user@example.com", ("Sales User",))
		update_password(user, "Unsubscribe-2026!")
		frappe.db.commit()
		client = get_test_client()  # keeps the session cookie

		def call(method, path, **kwargs):
			frappe.db.commit()
			response = make_request(target=method, args=(path,), kwargs=kwargs, site=frappe.local.site)
			frappe.db.rollback()
			return response

		login = call(client.post, "/api/method/login", data={"usr": user, "pwd": "Unsubscribe-2026!"})
		self.assertEqual(login.status_code, 200)
		params = link_params(self.email_campaign.name, self.lead.email_id)
		page = call(client.get, PATH, query_string=params).get_data(as_text=True)
		token = page.split('name="csrf_token" value="')[1].split('"')[0]
		# (a POST without it is refused by Frappe, except under Frappe v16's test mode, which does
		# not keep a session's token)
		self.assertEqual(self.status(), "In Progress")
		done = call(client.post, PATH, data={**params, "csrf_token": token})
		self.assertEqual(done.status_code, 200)
		self.assertEqual(self.status(), "Unsubscribed")
