"""Users with given roles, and HTTP requests made as them (or as a guest).

Requests go through Frappe's WSGI application in a thread with its own database connection
(as Frappe's own API tests do), authenticated with the user's API key: what the test wrote must
be committed first, and the test then rolls back to see what the request committed.
"""

from urllib.parse import quote

import frappe
from frappe.core.doctype.user.user import generate_keys
from frappe.tests.test_api import make_request
from frappe.utils import get_test_client

DESK_ROLE = "Email Campaign Test Desk Role"  # any Desk role but the app's


def ensure_desk_role():
	if not frappe.db.exists("Role", DESK_ROLE):
		frappe.get_doc({"doctype": "Role", "role_name": DESK_ROLE, "desk_access": 1}).insert(
			ignore_permissions=True
		)


def ensure_user(email: str, roles: tuple[str, ...]) -> str:
	"""A System User with exactly these roles (created once, reset on every run)."""
	ensure_desk_role()
	if frappe.db.exists("User", email):
		user = frappe.get_doc("User", email)
	else:
		user = frappe.get_doc(
			{"doctype": "User", "email": email, "first_name": email.split("@")[0], "send_welcome_email": 0}
		)
	user.enabled = 1
	user.set("roles", [{"role": role} for role in roles])
	user.save(ignore_permissions=True)
	return user.name


class Client:
	"""HTTP as one user (None: a guest): `client.get("/api/resource/Lead")` returns werkzeug's
	response. A user is authenticated with their API key, as a REST client is."""

	def __init__(self, user: str | None):
		self.user, self.headers = user, {}
		if user:
			secret = generate_keys(user)["api_secret"]
			self.headers = {"Authorization": f"token {frappe.db.get_value('User', user, 'api_key')}:{secret}"}

	def request(self, method: str, path: str, json=None, query=None, headers=None, **kwargs):
		"""`kwargs` go to werkzeug's test client (data=, query_string=, …)."""
		client = get_test_client(use_cookies=False)
		kwargs = {"headers": {**self.headers, **(headers or {})}, "json": json, **kwargs}
		if query:
			kwargs["query_string"] = query
		frappe.db.commit()
		response = make_request(
			target=getattr(client, method.lower()), args=(path,), kwargs=kwargs, site=frappe.local.site
		)
		frappe.db.rollback()  # see what the request committed
		return response

	def get(self, path, query=None):
		return self.request("GET", path, query=query)

	def post(self, path, json=None):
		return self.request("POST", path, json=json)

	def put(self, path, json=None):
		return self.request("PUT", path, json=json)

	def delete(self, path):
		return self.request("DELETE", path)

	def resource(self, doctype: str, name: str | None = None) -> str:
		return f"/api/resource/{quote(doctype)}" + (f"/{quote(name)}" if name else "")

	def method(self, method: str, **args):
		return self.post(f"/api/method/email_campaign_app.api.{method}", json=args)


def http(method: str, path: str, user: str | None = "Administrator", **kwargs):
	"""One request as `user` (None: a guest)."""
	return Client(user).request(method, path, **kwargs)
