import ast
from email.mime.multipart import MIMEMultipart
from email.parser import Parser
from email.policy import SMTP
from pathlib import Path

from email_campaign_app.core.email_headers import ListUnsubscribeHeader, register

PACKAGE = Path(__file__).resolve().parent.parent / "email_campaign_app"
register()

URL = "<https://crm.example.com/api/method/email_campaign_app.api.guest.unsubscribe?email_campaign=MAIL-CAMP-2026-00037&email=ada%40example.com&token=JYpTu5Yamh9fljvHy7kMUhB3gXCu5JQX14JQIuPekxE>"


def serialized(message):
	return message.as_string(policy=SMTP)


def test_list_unsubscribe_stays_on_one_plain_line_when_queued_and_when_sent():
	message = MIMEMultipart("mixed", policy=SMTP)
	message["Subject"] = "Hello"
	message["List-Unsubscribe"] = URL
	queued = serialized(message)
	assert f"List-Unsubscribe: {URL}\r\n" in queued
	# Frappe re-parses the stored message and serializes it again when it sends it
	sent = Parser(policy=SMTP).parsestr(queued).as_string()
	assert f"List-Unsubscribe: {URL}\r\n" in sent
	assert "=?utf-8?" not in sent


def test_only_list_unsubscribe_gets_the_one_line_header_class():
	message = MIMEMultipart("mixed", policy=SMTP)
	message["Subject"] = "Hello"
	message["List-Unsubscribe"] = URL
	assert isinstance(message["List-Unsubscribe"], ListUnsubscribeHeader)
	assert not isinstance(message["Subject"], ListUnsubscribeHeader)


def test_non_ascii_or_overlong_values_keep_the_standard_folding():
	message = MIMEMultipart("mixed", policy=SMTP)
	message["List-Unsubscribe"] = "<https://example.com/" + "é" * 10 + ">"
	assert "=?utf-8?" in serialized(message)


def test_every_process_that_sends_registers_the_header_through_a_hook_not_an_import():
	"""A worker started on a warm site never imports the app's package, and `bench execute
	frappe.email.queue.flush` runs no request or job hook: the Email Queue class every process
	resolves through the hooks registers the header when it sends."""
	hooks = {}
	for node in ast.parse((PACKAGE / "hooks.py").read_text()).body:
		if isinstance(node, ast.Assign):
			hooks[node.targets[0].id] = ast.literal_eval(node.value)
	assert (
		hooks["override_doctype_class"]["Email Queue"]
		== "email_campaign_app.overrides.email_queue.EmailQueue"
	)
	override = ast.parse((PACKAGE / "overrides" / "email_queue.py").read_text())
	[send] = [n for n in ast.walk(override) if isinstance(n, ast.FunctionDef) and n.name == "send"]
	first_call = send.body[0].value
	assert ast.unparse(first_call) == "email_headers.register()"
	assert "register" not in (PACKAGE / "__init__.py").read_text()
