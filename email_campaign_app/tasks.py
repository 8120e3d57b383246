"""Scheduler entry points (see hooks.scheduler_events)."""

from email_campaign_app import sending
from email_campaign_app.email_campaign_app.doctype.email_campaign.email_campaign import update_statuses


def daily():
	"""Keep every Email Campaign's status true, then queue the emails due today."""
	update_statuses()
	sending.sync_ledger_with_email_queue()
	sending.queue_due_emails()
