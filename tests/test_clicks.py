"""Click tracking links (no Frappe): signatures and the rewriting of an email body."""

import html

from hypothesis import given
from hypothesis import strategies as st

from email_campaign_app.core import link_rewriting as clicks
from email_campaign_app.core.signing import CLICK, is_valid, sign

SECRET = "s3cret"


def test_a_signature_holds_only_for_its_row_and_url():
	signature = sign(SECRET, CLICK, "row1", "https://example.com/offer")
	assert is_valid(SECRET, signature, CLICK, "row1", "https://example.com/offer")
	assert not is_valid(SECRET, signature, CLICK, "row2", "https://example.com/offer")
	assert not is_valid(SECRET, signature, CLICK, "row1", "https://evil.example/offer")
	assert not is_valid("other secret", signature, CLICK, "row1", "https://example.com/offer")
	assert not is_valid(SECRET, None, CLICK, "row1", "https://example.com/offer")
	assert not is_valid(SECRET, "", CLICK, "row1", "https://example.com/offer")
	assert not is_valid(SECRET, ["a"], CLICK, "row1", "https://example.com/offer")


def test_only_absolute_web_links_are_tracked():
	assert clicks.is_trackable("https://example.com/a?b=1")
	assert clicks.is_trackable("http://example.com")
	for url in (
		"mailto:a@example.com",
		"tel:+331",
		"#top",
		"/relative",
		"javascript:alert(1)",
		"https:///x",
		"http://[::1",
	):
		assert not clicks.is_trackable(url)


def test_rewrite_replaces_web_links_and_keeps_the_rest():
	body = (
		'<p><a href="https://example.com/a?x=1&amp;y=2">A</a> '
		"<a class='btn' href='http://example.com/b'>B</a> "
		'<a href="mailto:me@example.com">me</a> <a name="top">top</a> <img src="https://example.com/i.png"></p>'
	)
	seen = []

	def tracked(url):
		seen.append(url)
		return f"https://site.example/click?u={url}&n={len(seen)}"

	rewritten = clicks.rewrite_links(body, tracked)
	assert seen == ["https://example.com/a?x=1&y=2", "http://example.com/b"]  # entities decoded
	assert 'href="https://site.example/click?u=https://example.com/a?x=1&amp;y=2&amp;n=1"' in rewritten
	assert "href='https://site.example/click?u=http://example.com/b&amp;n=2'" in rewritten
	assert 'href="mailto:me@example.com"' in rewritten
	assert '<img src="https://example.com/i.png">' in rewritten


def test_a_link_the_callback_declines_is_left_alone():
	body = '<a href="https://example.com/unsubscribe">Unsubscribe</a>'
	assert clicks.rewrite_links(body, lambda url: None) == body


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60))
def test_a_rewritten_href_always_decodes_to_what_the_callback_gave(path):
	url = "https://example.com/" + html.escape(path, quote=True)
	body = f'<a href="{url}">x</a>'
	rewritten = clicks.rewrite_links(body, lambda original: "https://site.example/c?u=" + original)
	href = rewritten.split('href="', 1)[1].rsplit('">x', 1)[0]
	assert html.unescape(href) == "https://site.example/c?u=" + html.unescape(url).strip()
