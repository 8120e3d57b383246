"""Sending: what is due (planning), each batch composed, written and delivered, and the ledger."""

# Jobs queued before the app's subpackages existed (2026-12) name email_campaign_app.sending.send_batch.
from email_campaign_app.sending.batch import send_batch
