"""Tier-2 tests that cross the app's parts, and what the tests share: record builders, an HTTP
client per user, a real SMTP server on 127.0.0.1."""
