from hypothesis import given
from hypothesis import strategies as st

from email_campaign_app.tokens import is_valid_token, make_token

SECRET = "site-secret"


def test_a_token_is_valid_for_its_campaign_and_address_only():
	token = make_token(SECRET, "MAIL-CAMP-2026-00001", "a@example.com")
	assert is_valid_token(SECRET, "MAIL-CAMP-2026-00001", "a@example.com", token)
	assert is_valid_token(SECRET, "MAIL-CAMP-2026-00001", "A@Example.com", token)
	assert not is_valid_token(SECRET, "MAIL-CAMP-2026-00002", "a@example.com", token)
	assert not is_valid_token(SECRET, "MAIL-CAMP-2026-00001", "b@example.com", token)
	assert not is_valid_token("another-site", "MAIL-CAMP-2026-00001", "a@example.com", token)


def test_tampered_truncated_and_missing_tokens_are_refused():
	token = make_token(SECRET, "EC", "a@example.com")
	flipped = ("A" if token[0] != "A" else "B") + token[1:]
	for bad in (flipped, token[:-1], token + "x", "", None, "é" * 43):
		assert not is_valid_token(SECRET, "EC", "a@example.com", bad)


def test_the_token_is_url_safe():
	token = make_token(SECRET, "EC", "a@example.com")
	assert token.replace("-", "").replace("_", "").isalnum()


@given(st.text(min_size=1), st.emails(), st.text())
def test_a_random_token_is_refused(email_campaign, email, guess):
	if guess != make_token(SECRET, email_campaign, email):
		assert not is_valid_token(SECRET, email_campaign, email, guess)
