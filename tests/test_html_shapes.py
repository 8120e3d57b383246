"""Sanitizing many copies of one email at the cost of one (no Frappe: a stand-in sanitizer that
drops event handlers and counts its calls)."""

import re

from email_campaign_app.core.html_shapes import sanitized

HANDLER = re.compile(r"\s+on\w+=\"[^\"]*\"")


class Sanitizer:
	def __init__(self):
		self.calls = 0

	def __call__(self, html: str) -> str:
		self.calls += 1
		return (
			HANDLER.sub("", html)
			.replace("<script>", "&lt;script&gt;")
			.replace("</script>", "&lt;/script&gt;")
		)


def copy_for(
	name: str, template='<p onclick="x()">Hello {name}</p><a href="https://shop.example/">Shop</a>'
) -> str:
	return template.format(name=name)


def test_copies_of_one_shape_are_cleaned_once_and_as_the_sanitizer_would():
	sanitize, shapes = Sanitizer(), {}
	for name in ("Ada", "Grace &amp; co", "Alan"):
		assert sanitized(copy_for(name), sanitize, shapes) == sanitize(copy_for(name))
	assert sanitize.calls == 1 + 3  # one learning call, then only the comparisons of this test


def test_a_copy_whose_text_could_open_a_tag_is_sanitized_itself():
	sanitize, shapes = Sanitizer(), {}
	sanitized(copy_for("Ada"), sanitize, shapes)
	hostile = copy_for('<img src=x onerror="alert(1)" ')
	assert 'onerror="alert(1)"' not in sanitized(hostile, sanitize, shapes)
	assert sanitize.calls == 2


def test_another_attribute_value_is_another_shape():
	sanitize, shapes = Sanitizer(), {}
	template = '<a href="{name}">Shop</a>'
	sanitized(template.format(name="https://shop.example/"), sanitize, shapes)
	sanitized(template.format(name="javascript:alert(1)"), sanitize, shapes)
	assert sanitize.calls == 2


def test_what_the_sanitizer_turned_into_text_is_never_learnt():
	sanitize, shapes = Sanitizer(), {}
	body = "<p>Hi</p><script>steal()</script>"
	assert sanitized(body, sanitize, shapes) == "<p>Hi</p>&lt;script&gt;steal()&lt;/script&gt;"
	assert shapes == {}
	sanitized(body, sanitize, shapes)
	assert sanitize.calls == 2
