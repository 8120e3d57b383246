"""Campaign emails render in a Jinja sandbox of their own.

Frappe's `render_template` gives a template `frappe.db.sql` and the rest of Frappe's safe
globals: any user who may edit an Email Template could mail themselves (or preview) any table.
A campaign template sees `doc` (a plain copy of the recipient's values), the formatting
helpers people use in emails, and nothing that reads the database or the site config.

And it renders under a budget (template_budget.py): whoever writes a template cannot stall a
worker or exhaust its memory, at Save, in a Preview or at send.
"""

from functools import cache, lru_cache

import frappe
from frappe import _
from frappe.utils import (
	add_days,
	add_months,
	cint,
	cstr,
	date_diff,
	escape_html,
	flt,
	fmt_money,
	format_date,
	format_datetime,
	format_time,
	getdate,
	global_date_format,
	nowdate,
	pretty_date,
	strip_html,
	today,
)
from jinja2 import Template, meta

from email_campaign_app.core import template_budget

HELPERS = {
	"_": _,
	"add_days": add_days,
	"add_months": add_months,
	"cint": cint,
	"cstr": cstr,
	"date_diff": date_diff,
	"flt": flt,
	"fmt_money": fmt_money,
	"format_date": format_date,
	"formatdate": format_date,
	"format_datetime": format_datetime,
	"format_time": format_time,
	"getdate": getdate,
	"global_date_format": global_date_format,
	"nowdate": nowdate,
	"pretty_date": pretty_date,
	"strip_html": strip_html,
	"today": today,
}


@cache
def environment() -> template_budget.BudgetedSandbox:
	env = template_budget.BudgetedSandbox()
	env.globals.update(HELPERS)
	return env


# What a campaign email is rendered with: the recipient, and the link its footer carries.
CONTEXT = ("doc", "unsubscribe_url")


def allowed_names() -> set[str]:
	return {*CONTEXT, *environment().globals}


@lru_cache(maxsize=512)
def compile_template(source: str) -> tuple[Template, frozenset[str]]:
	"""The compiled template and the names it uses that campaign emails do not give it.
	Cached: a step's template is rendered once per recipient."""
	env = environment()
	tree = env.parse(source)
	forbidden = frozenset(meta.find_undeclared_variables(tree) - allowed_names())
	return env.from_string(tree), forbidden


def validate_template(email_template: str, *sources: str):
	"""Refuse, with a message that says what to fix, what a campaign cannot render."""
	try:
		names = set().union(*(compile_template(source or "")[1] for source in sources))
	except template_budget.OverBudget as error:
		throw_over_budget(email_template, error)
	except Exception as error:  # a syntax error, or a constant Jinja could not fold
		frappe.throw(
			_("Email Template {0} has a syntax error: {1}").format(frappe.bold(email_template), error),
			title=_("Invalid Email Template"),
		)
	if names:
		frappe.throw(
			_(
				"Email Template {0} uses {1}, which campaign emails cannot use. "
				"Use doc (the recipient) and the formatting helpers: {2}."
			).format(
				frappe.bold(email_template),
				", ".join(sorted(names)),
				", ".join(sorted(allowed_names() - set(CONTEXT))),
			),
			title=_("Invalid Email Template"),
		)


def render(email_template: str, source: str, doc: dict, **context) -> str:
	"""`source` rendered for `doc`; any failure is a ValidationError naming the template."""
	validate_template(email_template, source)
	template, _forbidden = compile_template(source or "")
	return render_compiled(email_template, template, doc=doc, **context)


def render_compiled(email_template: str, template: Template, **context) -> str:
	"""A compiled template rendered within the budget; a failure names the template."""
	try:
		return template_budget.render(template, **context)
	except template_budget.OverBudget as error:
		throw_over_budget(email_template, error)
	except Exception as error:
		frappe.throw(
			_("Email Template {0} cannot be rendered: {1}").format(frappe.bold(email_template), error),
			title=_("Invalid Email Template"),
		)


def throw_over_budget(email_template: str, error: "template_budget.OverBudget"):
	what = {
		template_budget.SIZE: _("a value of more than {0} characters"),
		template_budget.NUMBER: _("a number of more than {0} bits"),
		template_budget.WIDTH: _("a width of more than {0} characters"),
		template_budget.OUTPUT: _("an email of more than {0} characters"),
		template_budget.TIME: _("more than 1 second of rendering")
		if error.limit == 1
		else _("more than {0} seconds of rendering"),
	}[error.kind].format(f"{error.limit:g}" if error.kind == template_budget.TIME else f"{error.limit:,}")
	frappe.throw(
		_("Email Template {0} asks for {1}. Simplify it: fewer or shorter loops, smaller values.").format(
			frappe.bold(email_template), what
		),
		title=_("Invalid Email Template"),
	)


def check_budget(email_template: str, *sources: str):
	"""Any Email Template (a campaign's or not), before Frappe compiles it: constants Jinja
	would fold at compile time, then a trial render with an empty `doc`, within the budget.
	Other failures are left to the checks that follow (a template of another feature may use
	what campaign emails do not give it)."""
	for source in sources:
		try:
			template_budget.check_constants(environment(), source or "")
			template, _forbidden = compile_template(source or "")
			template_budget.render(template, doc=frappe._dict(), unsubscribe_url="")
		except template_budget.OverBudget as error:
			throw_over_budget(email_template, error)
		except Exception:
			pass


def escaped(doc: dict) -> frappe._dict:
	"""`doc` with its text values HTML-escaped, as a template's body sees them."""
	return frappe._dict(
		{key: escape_html(value) if isinstance(value, str) else value for key, value in doc.items()}
	)


def check_email_template_budget(doc, method=None):
	"""Hook (Email Template before_validate): runs before Frappe's own validate compiles it."""
	check_budget(doc.name, doc.subject, doc.response_ if doc.use_html else doc.response)


def validate_email_template(doc, method=None):
	"""Hook (Email Template validate): a template a Campaign sends must stay renderable here;
	any other is saved (another feature may use it) with a warning of what a campaign refuses,
	where it is written rather than when a Campaign first uses it."""
	if frappe.db.exists("Campaign Email Schedule", {"email_template": doc.name, "parenttype": "Campaign"}):
		validate_template(doc.name, doc.subject, doc.response_)
	elif problem := campaign_problem(doc.name, doc.subject, doc.response_):
		frappe.msgprint(
			_("Saved, but a campaign cannot send it yet: {0}").format(problem),
			title=_("Not Ready for Campaigns"),
			indicator="orange",
		)


def campaign_problem(email_template: str, *sources: str) -> str | None:
	"""What validate_template would refuse, as text, without showing or raising it."""
	muted, frappe.flags.mute_messages = frappe.flags.mute_messages, True
	try:
		validate_template(email_template, *sources)
	except frappe.ValidationError as error:
		return str(error)
	finally:
		frappe.flags.mute_messages = muted
	return None
