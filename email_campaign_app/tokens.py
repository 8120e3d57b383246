"""Unsubscribe tokens: an HMAC of (Email Campaign, address) keyed with the site's secret.

A token proves that the link was sent by this site to this address for this Email Campaign:
it cannot be forged without the secret, nor moved to another address or campaign.
"""

import base64
import hashlib
import hmac


def _digest(secret: str, email_campaign: str, email: str, purpose: str) -> bytes:
	if not secret:
		raise ValueError("a secret is required to sign unsubscribe links")
	message = f"{purpose}\x1f{email_campaign}\x1f{email.strip().lower()}".encode()
	return hmac.new(secret.encode(), message, hashlib.sha256).digest()


def make_token(secret: str, email_campaign: str, email: str, purpose: str = "unsubscribe") -> str:
	"""`purpose` keeps a token for one use (unsubscribe, open tracking) from serving another."""
	return base64.urlsafe_b64encode(_digest(secret, email_campaign, email, purpose)).rstrip(b"=").decode()


def is_valid_token(secret: str, email_campaign: str, email: str, token: str, purpose: str = "unsubscribe") -> bool:
	if not (email_campaign and email and token) or not isinstance(token, str):
		return False
	expected = make_token(secret, email_campaign, email, purpose)
	return hmac.compare_digest(expected.encode(), token.encode())
