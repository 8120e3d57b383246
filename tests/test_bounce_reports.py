"""Reading bounces, complaints and automatic replies from real-world message shapes (no Frappe)."""

from email import message_from_string
from pathlib import Path

import pytest

from email_campaign_app.core.bounce_reports import COMPLAINT, HARD, SOFT, is_auto_reply, read_report

FIXTURES = Path(__file__).parent / "fixtures" / "bounces"
SENDER = "campaigns@example.com"
RECIPIENT = "Gone.Person@example.org"
MESSAGE_ID = "176509440512.4242.1234567890@campaigns.example.com"


def sample(name: str) -> str:
	return (
		(FIXTURES / name)
		.read_text()
		.replace("{{SENDER}}", SENDER)
		.replace("{{RECIPIENT}}", RECIPIENT)
		.replace("{{MESSAGE_ID}}", MESSAGE_ID)
		.replace("{{RANDOM}}", "x1")
	)


def report_of(name: str):
	return read_report(message_from_string(sample(name)))


@pytest.mark.parametrize(
	"name, status",
	[
		("postfix_hard.eml", "5.1.1"),
		("exim_hard.eml", "5.0.0"),
		("exchange_hard.eml", "5.1.10"),
		("gmail_hard.eml", "5.1.1"),
		("qmail_plain_text.eml", "5.1.1"),
	],
)
def test_hard_bounces_of_each_server_name_the_address_the_status_and_the_original(name, status):
	[report] = report_of(name)
	assert report.kind == HARD
	assert report.recipient == RECIPIENT.lower()
	assert report.status == status
	assert report.original_message_id == MESSAGE_ID
	assert "\n" not in report.diagnostic and report.diagnostic


def test_a_mailbox_full_after_retries_is_a_soft_bounce():
	[report] = report_of("postfix_soft.eml")
	assert (report.kind, report.status, report.original_message_id) == (SOFT, "4.2.2", MESSAGE_ID)
	assert "Mailbox full" in report.diagnostic


def test_a_delay_warning_is_not_a_bounce():
	assert report_of("postfix_delayed.eml") == []


def test_a_feedback_loop_report_is_a_complaint_about_the_original():
	[report] = report_of("arf_complaint.eml")
	assert (report.kind, report.recipient, report.original_message_id) == (
		COMPLAINT,
		RECIPIENT.lower(),
		MESSAGE_ID,
	)
	assert report.diagnostic == "abuse"


@pytest.mark.parametrize("name", ["out_of_office.eml", "out_of_office_subject_only.eml"])
def test_an_out_of_office_is_an_auto_reply_and_no_bounce(name):
	message = message_from_string(sample(name))
	assert is_auto_reply(message)
	assert read_report(message) == []


def test_bounces_are_auto_replies_too_but_a_person_answering_is_not():
	assert is_auto_reply(message_from_string(sample("postfix_hard.eml")))
	person = message_from_string(
		f"From: {RECIPIENT}\nTo: {SENDER}\nSubject: Re: Welcome\nIn-Reply-To: <{MESSAGE_ID}>\n\nYes, call me."
	)
	assert not is_auto_reply(person)
	assert read_report(person) == []
	assert is_auto_reply(None, "Automatic reply: Welcome")
	assert not is_auto_reply(None, "Re: Welcome")


def test_an_ordinary_email_from_a_mailer_daemon_without_a_failure_is_no_bounce():
	notice = message_from_string(
		f"From: MAILER-DAEMON@mx.example.net\nTo: {SENDER}\nSubject: Postmaster notice\n\nAll is well."
	)
	assert read_report(notice) == []
