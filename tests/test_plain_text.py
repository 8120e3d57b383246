from email_campaign_app.core.plain_text import html_to_text

WRAPPED = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>Spring Launch</title>
<style>@media only screen and (max-width: 600px) { .email-body { width: 100% } }
.ql-editor li[data-list=bullet] > .ql-ui:before { content: '\\2022'; }</style></head>
<body><table class="body-table"><tr><td><table><tr><td><p>
<p>Hello Denis,</p><p>Read <a href="https://example.com/news?a=1&amp;b=2">our news</a>
and <b>reply</b>.<br>Best,<br/>Ada</p><ul><li>one</li><li>two</li></ul>
</p></td></tr></table></td></tr></table>
<div class="email-campaign-footer"><p>ACME, 1 rue de la Paix, Paris.
<a href="https://example.com/unsubscribe?t=x">Unsubscribe</a></p></div></body></html>"""


def test_the_text_is_the_message_without_the_head_the_stylesheet_nor_the_layout():
	assert html_to_text(WRAPPED) == (
		"Hello Denis,\n\n"
		"Read our news (https://example.com/news?a=1&b=2) and reply.\n"
		"Best,\n"
		"Ada\n\n"
		"- one\n"
		"- two\n\n"
		"ACME, 1 rue de la Paix, Paris. Unsubscribe (https://example.com/unsubscribe?t=x)"
	)


def test_a_link_whose_text_is_its_address_is_written_once():
	assert html_to_text('<p>See <a href="https://example.com">https://example.com</a></p>') == (
		"See https://example.com"
	)


def test_links_that_lead_nowhere_on_the_web_keep_only_their_text():
	assert html_to_text('<p><a href="#top">Top</a> <a href="javascript:x()">Go</a></p>') == "Top Go"


def test_jinja_and_entities_in_text_survive():
	assert (
		html_to_text("<p>Dear {{ doc.first_name }} &amp; co &lt;3</p>") == "Dear {{ doc.first_name }} & co <3"
	)


def test_empty_or_missing_html_is_empty_text():
	assert html_to_text("") == ""
	assert html_to_text(None) == ""
