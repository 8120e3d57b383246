"""Signed links: an HMAC of what a link names, keyed with the site's secret. This module never
imports frappe.

A signature proves that this site made the link: it cannot be forged without the secret, nor
moved to another address, email, URL or use. `purpose` keeps a signature made for one use
(unsubscribe, open tracking, a click) from serving another. The signatures of links already in
recipients' inboxes stay valid: the signed message is `purpose␟part␟part…`.
"""

import base64
import hashlib
import hmac

UNSUBSCRIBE, OPENED, CLICK = "unsubscribe", "opened", "click"


def sign(secret: str, purpose: str, *parts: str) -> str:
	if not secret:
		raise ValueError("a secret is required to sign links")
	message = "\x1f".join((purpose, *parts)).encode()
	digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
	return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def is_valid(secret: str, signature, purpose: str, *parts) -> bool:
	if (
		not signature
		or not isinstance(signature, str)
		or not all(part and isinstance(part, str) for part in parts)
	):
		return False
	return hmac.compare_digest(sign(secret, purpose, *parts).encode(), signature.encode())


def address(email: str) -> str:
	"""An address as it is signed: spaces and capitals aside."""
	return email.strip().lower()
