"""The rendering budget of campaign templates, on plain Jinja (no Frappe)."""

import time

import pytest

from email_campaign_app.core import template_budget
from email_campaign_app.core.template_budget import (
	NUMBER,
	OUTPUT,
	SIZE,
	TIME,
	WIDTH,
	BudgetedSandbox,
	OverBudget,
)

ENV = BudgetedSandbox()


def render(source, **context):
	template_budget.check_constants(ENV, source)
	return template_budget.render(ENV.from_string(source), **context)


def over_budget(source, **context) -> str:
	with pytest.raises(OverBudget) as raised:
		render(source, **context)
	return raised.value.kind


def test_ordinary_templates_render_as_with_jinja():
	source = "Dear {{ doc.first_name|upper }}, {% for i in range(3) %}{{ i }}{% endfor %} {{ 12 * 3 }} {{ '%05.1f' % 3.14159 }} {{ '{:,.2f}'.format(1234.5) }} {{ 'a' ~ 'b' }}"
	assert render(source, doc={"first_name": "ada"}) == "Dear ADA, 012 36 003.1 1,234.50 ab"
	assert render("{{ 'ab' * 3 }}{{ 2 ** 10 }}{{ [1, 2] + [3] }}") == "ababab1024[1, 2, 3]"


def test_nested_loops_stop_after_the_time_budget():
	started = time.monotonic()
	assert (
		over_budget("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}")
		== TIME
	)
	assert time.monotonic() - started < template_budget.RENDER_SECONDS + 1


@pytest.mark.parametrize(
	"source, kind",
	[
		("{{ 'x' * 10**9 }}", SIZE),  # folded by Jinja while compiling: refused before
		("{% if false %}{{ 'x' * 10**9 }}{% endif %}", SIZE),  # never rendered, still folded
		("{{ (10**(10**6))|string }}", NUMBER),
		("{% set n = 10 %}{{ 'x' * n**9 }}", SIZE),  # not a constant: refused at render
		("{{ 'x'|center(1000000000) }}", WIDTH),
		("{{ 'x'.center(1000000000) }}", WIDTH),
		("{{ 'x'.ljust(1000000000) }}", WIDTH),
		("{{ '%1000000000s' % 1 }}", WIDTH),
		("{{ '%s'|format(1) }}{{ '%999999s'|format(1) }}", WIDTH),
		("{{ '{:>1000000000}'.format(1) }}", WIDTH),
		("{{ '{:>{w}}'.format(1, w=10**9) }}", WIDTH),
		(
			"{% set ns = namespace(s='xx') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
			SIZE,
		),
		(
			"{% set ns = namespace(s='xx') %}{% for i in range(40) %}{% set ns.s = ns.s + ns.s %}{% endfor %}",
			SIZE,
		),
		(
			"{% set ns = namespace(s='xx') %}{% for i in range(40) %}{% set ns.s = ns.s|replace('x', 'xx') %}{% endfor %}",
			SIZE,
		),
		(
			"{% set ns = namespace(n=3) %}{% for i in range(40) %}{% set ns.n = ns.n * ns.n %}{% endfor %}",
			NUMBER,
		),
		("{% for i in range(99999) %}{{ 'x' * 20 }}{% endfor %}", OUTPUT),
	],
)
def test_what_would_exhaust_memory_is_refused_before_it_does(source, kind):
	assert over_budget(source) == kind


def test_the_budget_leaves_the_previous_trace_function_in_place():
	import sys

	def tracer(frame, event, arg):
		return None

	sys.settrace(tracer)
	try:
		render("{{ 1 }}")
		over_budget("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}")
		assert sys.gettrace() is tracer
	finally:
		sys.settrace(None)
