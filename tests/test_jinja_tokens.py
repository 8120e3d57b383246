from hypothesis import given
from hypothesis import strategies as st

from email_campaign_app.core.placeholders import (
	inlined_in_place,
	protect,
	quoted_printable,
	restore,
	structure,
	token,
	without_leading_closing_tags,
)

SOURCE = '<h2>Hello {{ doc.first_name }}</h2><p>{% if doc.city %}From {{ doc.city }}{% endif %} <a href="{{ url }}">x</a><br></p>'


def test_jinja_is_set_aside_as_tokens_and_put_back_exactly():
	protected, constructs = protect(SOURCE)
	assert "{" not in protected
	assert constructs == [
		"{{ doc.first_name }}",
		"{% if doc.city %}",
		"{{ doc.city }}",
		"{% endif %}",
		"{{ url }}",
	]
	assert restore(protected, constructs) == SOURCE


def test_a_lost_repeated_or_reordered_token_is_refused():
	protected, constructs = protect(SOURCE)
	assert restore(protected.replace(token(2), ""), constructs) is None
	assert restore(protected + token(0), constructs) is None
	swapped = protected.replace(token(1), "@").replace(token(3), token(1)).replace("@", token(3))
	assert restore(swapped, constructs) is None


def test_inlining_that_only_adds_styles_keeps_the_template():
	protected, _ = protect(SOURCE)
	inlined = protected.replace("<h2>", '<h2 style="margin:0">').replace("<br>", "<br/>")
	assert inlined_in_place(protected, "</p>\n" + inlined) is not None  # the wrapper's <p>, closed


def test_inlining_that_moves_tags_around_the_tokens_is_refused():
	protected, _ = protect("<p>one<p>two {{ doc.a }}")
	assert inlined_in_place(protected, protected.replace("<p>two", "</p><p>two")) is None
	protected, _ = protect("<table>{% for r in doc.rows %}<tr><td>{{ r }}</td></tr>{% endfor %}</table>")
	hoisted = token(0) + protected.replace(token(0), "")
	assert inlined_in_place(protected, hoisted) is None


def test_structure_ignores_attributes_text_and_void_closings():
	assert structure('<P class="x">a<br/></br><IMG src="y"></p>') == ["p", "br", "img", "/p"]


def test_leading_closing_tags_are_dropped_from_the_communication_body():
	assert without_leading_closing_tags(" </p>\n</div><h2>x</h2></p>") == "<h2>x</h2></p>"


@given(st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\r"), max_size=300))
def test_quoted_printable_lines_are_short_and_decode_back(text):
	import quopri

	encoded = quoted_printable(text)
	assert all(len(line) <= 76 for line in encoded.split("\r\n"))
	assert quopri.decodestring(encoded.replace("\r\n", "\n").encode()).decode() == text.replace("\r\n", "\n")
