"""Builders for the tier-2 tests: real records on the test site, named so that tests never collide."""

import frappe
from frappe.utils import add_days, add_to_date, now_datetime, today

try:  # Frappe v16: the test classes of frappe.tests
	from frappe.tests import IntegrationTestCase
except ImportError:  # Frappe v15: the same features under their former name
	from frappe.tests.utils import FrappeTestCase as IntegrationTestCase


def unique(prefix: str) -> str:
	return f"{prefix} {frappe.generate_hash(length=8)}"


OUTBOX = "Email Campaign Test Outbox"


def ensure_outgoing_email_account(smtp_port=2525):
	"""The site's default outgoing Email Account, pointing at an SMTP sink on 127.0.0.1 (not
	validated: outside tests, validating connects to a server that may not be listening yet)."""
	if frappe.db.exists("Email Account", OUTBOX):
		account = frappe.get_doc("Email Account", OUTBOX)
	else:
		account = frappe.get_doc(
			{
				"doctype": "Email Account",
				"email_account_name": OUTBOX,
				"email_id": "campaigns@example.com",
				"enable_outgoing": 1,
				"smtp_server": "127.0.0.1",
				"no_smtp_authentication": 1,
			}
		)
	frappe.db.set_value("Email Account", {"name": ("!=", OUTBOX)}, "default_outgoing", 0)
	if account.is_new() or (account.default_outgoing, int(account.smtp_port or 0)) != (1, smtp_port):
		account.default_outgoing, account.smtp_port = 1, smtp_port
		account.flags.ignore_validate = True
		account.save(ignore_permissions=True)  # clears the cached account other processes read


def set_open_tracking(value: int):
	"""Switch the test outbox's email status tracking (the app's pixel) on or off. Frappe keeps
	the outgoing Email Accounts it found in `frappe.local.outgoing_email_account` for the whole
	process and a save does not clear them: forget them, or a send in this process still reads
	the value an earlier test saw."""
	account = frappe.get_doc("Email Account", OUTBOX)
	account.track_email_status, account.flags.ignore_validate = value, True
	account.save(ignore_permissions=True)
	frappe.local.outgoing_email_account = {}


def warm_cache():
	"""The module maps and hooks in the cache, as a running site has them."""
	frappe.setup_module_map(include_all_apps=True)
	frappe.setup_module_map(include_all_apps=False)  # what jobs read
	frappe.get_hooks()


def worker_environment() -> dict:
	"""This process's environment without CI, which makes Frappe's jobs skip SMTP."""
	import os

	return {name: value for name, value in os.environ.items() if name != "CI"}


def run_worker(queues: str = "short,default,long", timeout: int = 300):
	"""A real RQ worker in a fresh Python process on this warm site: it runs every job queued,
	then exits. It starts without bench's CLI, which imports every app's package to look for
	commands: like Frappe's web workers, it imports this app only where a hook or a job points."""
	import subprocess
	import sys

	frappe.db.commit()
	warm_cache()
	start = "import sys; from frappe.utils.background_jobs import start_worker; start_worker(queue=sys.argv[1], burst=True)"
	worker = subprocess.run(
		[sys.executable, "-c", start, queues],
		cwd=frappe.utils.get_bench_path() + "/sites",
		env=worker_environment(),
		capture_output=True,
		text=True,
		timeout=timeout,
		check=True,
	)
	frappe.db.rollback()  # a fresh snapshot: what the worker committed
	return worker


def make_due_now(email_queues):
	"""Make Email Queue rows leave on the next flush: no `send_after`, and created a minute ago.
	Frappe v16's flush leaves an email alone during the 10 seconds after its creation (the
	window in which a user may undo a send); v15 has no such window."""
	frappe.db.set_value(
		"Email Queue",
		{"name": ("in", list(email_queues))},
		{"send_after": None, "creation": add_to_date(now_datetime(), minutes=-1)},
		update_modified=False,
	)


def make_template(subject="Hello {{ doc.first_name }}", response="<p>Dear {{ doc.first_name }}</p>", **extra):
	return frappe.get_doc(
		{
			"doctype": "Email Template",
			"name": unique("Template"),
			"subject": subject,
			"response": response,
			**extra,
		}
	).insert(ignore_permissions=True)


def make_campaign(steps=None, templates=None):
	"""A Campaign whose schedule is [(template name, send after days)], or day 0 of a new template."""
	if steps is None:
		steps = [(make_template().name, 0)]
	return frappe.get_doc(
		{
			"doctype": "Campaign",
			"campaign_name": unique("Campaign"),
			"campaign_schedules": [
				{"email_template": template, "send_after_days": days} for template, days in steps
			],
		}
	).insert(ignore_permissions=True)


def make_lead(email=None, first_name="Ada", **extra):
	return frappe.get_doc(
		{
			"doctype": "Lead",
			"first_name": first_name,
			"last_name": "Lovelace",
			"email_id": email if email is not None else f"{frappe.generate_hash(length=10)}@example.com",
			**extra,
		}
	).insert(ignore_permissions=True)


def make_contact(email=None, first_name="Grace", **extra):
	contact = frappe.get_doc({"doctype": "Contact", "first_name": first_name, "last_name": "Hopper", **extra})
	if email is not False:
		contact.add_email(email or f"{frappe.generate_hash(length=10)}@example.com", is_primary=1)
	return contact.insert(ignore_permissions=True)


def make_email_group(emails=(), unsubscribed=()):
	group = frappe.get_doc({"doctype": "Email Group", "title": unique("Group")}).insert(
		ignore_permissions=True
	)
	for email in emails:
		frappe.get_doc(
			{
				"doctype": "Email Group Member",
				"email_group": group.name,
				"email": email,
				"unsubscribed": int(email in unsubscribed),
			}
		).insert(ignore_permissions=True)
	return group


def make_email_campaign(campaign, recipient, email_campaign_for="Lead", start_date=None, **extra):
	"""Send At 00:00 unless told: its emails are due as soon as their day comes, whatever the
	time the test runs at (the Send At tests choose theirs)."""
	return frappe.get_doc(
		{
			"doctype": "Email Campaign",
			"campaign_name": campaign,
			"email_campaign_for": email_campaign_for,
			"recipient": recipient,
			"sender": "Administrator",
			"start_date": start_date or today(),
			"send_at": "00:00",
			**extra,
		}
	).insert(ignore_permissions=True)


def started_days_ago(email_campaign, days: int):
	"""Move an Email Campaign's start into the past, as if the job had not run for `days` days."""
	doc = frappe.get_doc("Email Campaign", email_campaign)
	start_date = add_days(today(), -days)
	frappe.db.set_value("Email Campaign", doc.name, "start_date", start_date)
	doc.reload()
	doc.set_end_date()
	doc.set_status()
	frappe.db.set_value("Email Campaign", doc.name, {"end_date": doc.end_date, "status": doc.status})
	return doc


BOUNCE_SAMPLES = "tests/fixtures/bounces"  # in the app's repository, beside tier 1's tests


def bounce_sample(name: str, recipient: str, message_id: str, sender: str = "admin@example.com") -> bytes:
	"""A real-world bounce, complaint or automatic reply (tests/fixtures/bounces) about the
	campaign email `message_id` to `recipient`, as the server would send it back."""
	from pathlib import Path

	path = Path(frappe.get_app_path("email_campaign_app")).parent / BOUNCE_SAMPLES / name
	text = (
		path.read_text()
		.replace("{{SENDER}}", sender)
		.replace("{{RECIPIENT}}", recipient)
		.replace("{{MESSAGE_ID}}", message_id.strip("<>"))
		.replace("{{RANDOM}}", frappe.generate_hash(length=10))
	)
	return text.replace("\r\n", "\n").replace("\n", "\r\n").encode()
