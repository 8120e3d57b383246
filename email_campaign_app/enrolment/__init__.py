"""Enrolment: many Leads or Contacts at once from their lists, and a Campaign's enrolment rules."""

# Jobs queued before the app's subpackages existed (2026-12) name email_campaign_app.enrolment.enrol_in_background.
from email_campaign_app.enrolment.bulk import enrol_in_background
