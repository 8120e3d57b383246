"""Sanitizing many HTML copies of one email at the cost of one. This module never imports frappe.

A group step's copies differ only where the recipient's values were put in, HTML-escaped, so
in text between tags (where they are inert) or inside an attribute. Once the sanitizer has
cleaned one copy, another copy whose tags are the same, attribute for attribute, and whose
text cannot open a tag (no `<`), is safe with the cleaned tags of the first: the sanitizer
decides on tags and attributes, and escaped text is already what it would leave. Anything
else (other tags or attribute values, a `<` in the text, a sanitizer that dropped or added a
tag) goes through the sanitizer itself.
"""

import re
from collections.abc import Callable

TAG = re.compile(r"<[^>]*>")
TAG_NAME = re.compile(r"<(/?[a-zA-Z][\w:-]*|!--)")
MAX_SHAPES = 256


def sanitized(value: str, sanitize: Callable[[str], str], shapes: dict) -> str:
	"""`sanitize(value)`, reusing what `shapes` (input tags: cleaned tags) learnt before."""
	tags = tuple(TAG.findall(value))
	texts = TAG.split(value)
	inert = not any("<" in text for text in texts)
	if inert and tags in shapes:
		return "".join(text + tag for text, tag in zip(texts, (*shapes[tags], ""), strict=True))
	clean = sanitize(value)
	clean_tags = tuple(TAG.findall(clean))
	if inert and same_names(tags, clean_tags) and len(shapes) < MAX_SHAPES:
		shapes[tags] = clean_tags
	return clean


def same_names(tags: tuple, clean_tags: tuple) -> bool:
	"""The cleaned tags are the input's, one for one (only their attributes may differ)."""
	names = [TAG_NAME.match(tag) for tag in tags]
	clean_names = [TAG_NAME.match(tag) for tag in clean_tags]
	return len(tags) == len(clean_tags) and all(
		a and b and a.group(1).lower() == b.group(1).lower() for a, b in zip(names, clean_names, strict=True)
	)
