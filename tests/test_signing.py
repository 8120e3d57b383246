import base64
import hashlib
import hmac

from hypothesis import given
from hypothesis import strategies as st

from email_campaign_app.core.signing import CLICK, OPENED, UNSUBSCRIBE, address, is_valid, sign

SECRET = "site-secret"


def token(email_campaign: str, email: str) -> str:
	return sign(SECRET, UNSUBSCRIBE, email_campaign, address(email))


def test_an_unsubscribe_token_is_valid_for_its_campaign_and_address_only():
	made = token("MAIL-CAMP-2026-00001", "a@example.com")
	assert is_valid(SECRET, made, UNSUBSCRIBE, "MAIL-CAMP-2026-00001", address("A@Example.com "))
	assert not is_valid(SECRET, made, UNSUBSCRIBE, "MAIL-CAMP-2026-00002", "a@example.com")
	assert not is_valid(SECRET, made, UNSUBSCRIBE, "MAIL-CAMP-2026-00001", "b@example.com")
	assert not is_valid("another-site", made, UNSUBSCRIBE, "MAIL-CAMP-2026-00001", "a@example.com")
	assert not is_valid(SECRET, made, OPENED, "MAIL-CAMP-2026-00001", "a@example.com")  # another use


def test_links_already_in_inboxes_stay_valid():
	"""The signatures of the links sent before one signing module served them all."""

	def before(purpose, first, second):
		digest = hmac.new(
			SECRET.encode(), f"{purpose}\x1f{first}\x1f{second}".encode(), hashlib.sha256
		).digest()
		return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

	assert token("EC", " A@Example.com") == before("unsubscribe", "EC", "a@example.com")
	assert sign(SECRET, CLICK, "row", "https://x.example/?a=1") == before(
		"click", "row", "https://x.example/?a=1"
	)


def test_tampered_truncated_and_missing_signatures_are_refused():
	made = token("EC", "a@example.com")
	flipped = ("A" if made[0] != "A" else "B") + made[1:]
	for bad in (flipped, made[:-1], made + "x", "", None, "é" * 43):
		assert not is_valid(SECRET, bad, UNSUBSCRIBE, "EC", "a@example.com")
	assert not is_valid(SECRET, made, UNSUBSCRIBE, "EC", None)
	assert not is_valid(SECRET, made, UNSUBSCRIBE, None, "a@example.com")


def test_a_signature_is_url_safe():
	assert token("EC", "a@example.com").replace("-", "").replace("_", "").isalnum()


@given(st.text(min_size=1), st.emails(), st.text())
def test_a_random_signature_is_refused(email_campaign, email, guess):
	if guess != token(email_campaign, email):
		assert not is_valid(SECRET, guess, UNSUBSCRIBE, email_campaign, address(email))
