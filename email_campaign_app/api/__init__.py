"""The whitelisted surface: `guest` (what recipients open from their emails), `email_campaign`
(the Desk's actions on an Email Campaign), `enrolment` (bulk enrolment from the lists)."""

# The URLs already in delivered emails name these three as email_campaign_app.api.<method>.
from email_campaign_app.api.guest import click, email_opened, unsubscribe
