import pytest

from email_campaign_app.core.failures import ERROR, FAILED, MAX_ATTEMPTS, classify, status_after

TRACEBACK = """Traceback (most recent call last):
  File "/frappe/email/doctype/email_queue/email_queue.py", line 172, in send
    ctx.smtp_server.session.sendmail(
  File "/usr/lib/python3.11/smtplib.py", line 901, in sendmail
    raise SMTPRecipientsRefused(senderrs)
{last}
"""


@pytest.mark.parametrize(
	"last, permanent, reason",
	[
		(
			"smtplib.SMTPRecipientsRefused: {'x@example.com': (550, b'5.1.1 No such user')}",
			True,
			"SMTP 550 5.1.1 No such user",
		),
		(
			"smtplib.SMTPRecipientsRefused: {'x@example.com': (451, b'4.3.0 Try again later')}",
			False,
			"SMTP 451 4.3.0 Try again later",
		),
		("smtplib.SMTPDataError: (554, b'5.7.1 Message rejected')", True, "SMTP 554 5.7.1 Message rejected"),
		(
			"smtplib.SMTPSenderRefused: (553, b'5.7.1 Sender not allowed', 'a@b.c')",
			True,
			"SMTP 553 5.7.1 Sender not allowed",
		),
		(
			"smtplib.SMTPServerDisconnected: Connection unexpectedly closed",
			False,
			"smtplib.SMTPServerDisconnected: Connection unexpectedly closed",
		),
		(
			"frappe.exceptions.OutgoingEmailError: Invalid Outgoing Mail Server or Port",
			False,
			"Invalid Outgoing Mail Server or Port",
		),
		(
			"pymysql.err.OperationalError: (1205, 'Lock wait timeout exceeded')",
			False,
			"pymysql.err.OperationalError: (1205, 'Lock wait timeout exceeded')",
		),
	],
)
def test_only_a_5xx_smtp_reply_is_permanent(last, permanent, reason):
	assert classify(TRACEBACK.format(last=last)) == (permanent, reason)


def test_no_error_text_is_a_passing_failure_without_reason():
	assert classify(None) == (False, "")
	assert classify("  \n ") == (False, "")


def test_a_failure_is_retried_until_the_last_attempt_or_a_permanent_refusal():
	assert [status_after(n, False) for n in range(1, MAX_ATTEMPTS + 2)] == [ERROR] * (MAX_ATTEMPTS - 1) + [
		FAILED
	] * 2
	assert status_after(1, True) == FAILED
