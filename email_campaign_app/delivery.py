"""Jobs queued before the app's subpackages existed (2026-12) name this path; they still run
after an upgrade. Remove in the next release."""

from email_campaign_app.sending.batch import send_batch


def send_email_queues(email_queues: list[str]):
	send_batch([], email_queues)
