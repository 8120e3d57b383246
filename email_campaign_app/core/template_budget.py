"""A time and size budget for rendering campaign templates (whoever writes one cannot stall a
worker nor exhaust its memory). This module never imports frappe.

- time: a render that runs longer than RENDER_SECONDS stops (a trace on the template's own
  frames counts its lines; nested loops are what it catches);
- size: no value the template computes, and not its output, may pass MAX_SIZE characters or
  items, nor an integer MAX_INT_BITS; what would allocate more is refused before it does
  (repeating a string, padding it, printf widths, powers), what grows step by step is refused
  at the first step over;
- constants Jinja folds while compiling (`'x' * 10**9`) are checked before anything compiles.
"""

import re
import sys
import time
from functools import wraps

from jinja2 import nodes
from jinja2.compiler import CodeGenerator
from jinja2.sandbox import SandboxedEnvironment

RENDER_SECONDS = 1.0
MAX_SIZE = 1_000_000  # characters of a string (or items of a list) and of the output
MAX_INT_BITS = 14_000  # about 4,200 digits: Python refuses to print more than 4,300
MAX_PADDING = 10_000  # widths for center, indent, wordwrap, ljust…
PADDING_METHODS = frozenset({"center", "ljust", "rjust", "zfill", "expandtabs"})
PADDING_FILTERS = frozenset({"center", "indent", "wordwrap"})
PRINTF_WIDTH = re.compile(r"%[#0 +\-]*(?:\d{5,}|\*)|%[#0 +\-]*\d*\.(?:\d{5,}|\*)")
FORMAT_WIDTH = re.compile(r"\{[^{}]*:[^{}]*?(?:\d{5,}|\{)")  # {:>99999}, or a nested {width}
CHECK_TIME_EVERY = 1024  # template lines between two looks at the clock

SEQUENCES = (str, bytes, list, tuple, dict, set, frozenset)


# what went over the budget (the shell words the message)
SIZE, NUMBER, WIDTH, OUTPUT, TIME = "size", "number", "width", "output", "time"


class OverBudget(Exception):
	"""The template asked for more than the budget: `kind` says what, `limit` the limit."""

	def __init__(self, kind: str, limit):
		super().__init__(f"{kind} over {limit}")
		self.kind, self.limit = kind, limit


def check_size(value):
	if isinstance(value, SEQUENCES) and len(value) > MAX_SIZE:
		raise OverBudget(SIZE, MAX_SIZE)
	if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
		raise OverBudget(NUMBER, MAX_INT_BITS)
	return value


def check_binop(operator: str, left, right):
	"""Refuse, before computing it, an operation whose result would pass the budget."""
	if operator == "**" and isinstance(left, int) and isinstance(right, int):
		if right > 0 and abs(left) > 1 and right * abs(left).bit_length() > MAX_INT_BITS:
			raise OverBudget(NUMBER, MAX_INT_BITS)
	elif operator == "**" and isinstance(right, (int, float)) and abs(right) > MAX_INT_BITS:
		raise OverBudget(NUMBER, MAX_INT_BITS)
	elif operator == "*":
		check_repetition(left, right)
		check_repetition(right, left)
		if (
			isinstance(left, int)
			and isinstance(right, int)
			and left.bit_length() + right.bit_length() > MAX_INT_BITS
		):
			raise OverBudget(NUMBER, MAX_INT_BITS)
	elif operator == "+" and isinstance(left, SEQUENCES) and isinstance(right, SEQUENCES):
		if len(left) + len(right) > MAX_SIZE:
			raise OverBudget(SIZE, MAX_SIZE)
	elif operator == "%" and isinstance(left, str):
		check_printf(left)


def check_repetition(sequence, times):
	if isinstance(sequence, SEQUENCES) and isinstance(times, int) and len(sequence) * times > MAX_SIZE:
		raise OverBudget(SIZE, MAX_SIZE)


def check_printf(format_string: str):
	if PRINTF_WIDTH.search(format_string):
		raise OverBudget(WIDTH, MAX_PADDING)


def check_padding(args, kwargs):
	if any(isinstance(value, int) and value > MAX_PADDING for value in (*args, *kwargs.values())):
		raise OverBudget(WIDTH, MAX_PADDING)


class BudgetCodeGenerator(CodeGenerator):
	def visit_Concat(self, node: nodes.Concat, frame) -> None:
		"""`a ~ b` grows a string too: its result is checked."""
		self.write("environment.checked(")
		super().visit_Concat(node, frame)
		self.write(")")


class BudgetedSandbox(SandboxedEnvironment):
	"""Jinja's sandbox, with every way of growing a value checked."""

	code_generator_class = BudgetCodeGenerator
	intercepted_binops = frozenset({"*", "**", "+", "%"})

	def __init__(self, **options):
		super().__init__(**options)
		self.filters = {name: budgeted_filter(name, function) for name, function in self.filters.items()}

	def checked(self, value):
		return check_size(value)

	def call_binop(self, context, operator, left, right):
		check_binop(operator, left, right)
		return check_size(super().call_binop(context, operator, left, right))

	def wrap_str_format(self, value):
		"""`str.format` and `format_map`, refusing widths in their {} specs."""
		wrapped = super().wrap_str_format(value)
		if wrapped is None:
			return None
		format_string = value.__self__

		def checked_format(*args, **kwargs):
			if FORMAT_WIDTH.search(format_string):
				raise OverBudget(WIDTH, MAX_PADDING)
			return check_size(wrapped(*args, **kwargs))

		return checked_format

	def call(__self, __context, __obj, *args, **kwargs):  # Jinja's own signature
		if (
			isinstance(getattr(__obj, "__self__", None), str)
			and getattr(__obj, "__name__", "") in PADDING_METHODS
		):
			check_padding(args, kwargs)
		return check_size(SandboxedEnvironment.call(__self, __context, __obj, *args, **kwargs))


def budgeted_filter(name: str, function):
	@wraps(function)  # keeps Jinja's pass_context / pass_environment marks
	def checked_filter(*args, **kwargs):
		if name in PADDING_FILTERS:
			check_padding(args[1:], kwargs)
		if name == "format" and args and isinstance(args[0], str):
			check_printf(args[0])
		return check_size(function(*args, **kwargs))

	return checked_filter


def render(template, **context) -> str:
	"""`template` rendered within the time and output budget."""
	output, size = [], 0
	with time_limit(RENDER_SECONDS):
		for chunk in template.generate(**context):
			size += len(chunk)
			if size > MAX_SIZE:
				raise OverBudget(OUTPUT, MAX_SIZE)
			output.append(chunk)
	return "".join(output)


def monotonic() -> float:
	"""A clock that test tools freezing time (freezegun) leave running: the budget holds there too."""
	return time.clock_gettime(time.CLOCK_MONOTONIC)


class time_limit:
	"""Trace the template's own frames (compiled templates are named <template>) and stop the
	render once it has run `seconds`; the trace function active before is put back."""

	def __init__(self, seconds: float):
		self.seconds = seconds

	def __enter__(self):
		self.previous = sys.gettrace()
		self.deadline = monotonic() + self.seconds
		self.lines = 0
		sys.settrace(self.trace_calls)

	def __exit__(self, *exc):
		sys.settrace(self.previous)

	def trace_calls(self, frame, event, arg):
		return self.trace_lines if frame.f_code.co_filename == "<template>" else None

	def trace_lines(self, frame, event, arg):
		if event == "line":
			self.lines += 1
			if self.lines % CHECK_TIME_EVERY == 0 and monotonic() > self.deadline:
				raise OverBudget(TIME, self.seconds)
		return self.trace_lines


BINARY_OPERATORS = {nodes.Mul: "*", nodes.Pow: "**", nodes.Add: "+", nodes.Mod: "%"}


def check_constants(env: SandboxedEnvironment, source: str):
	"""Jinja folds constant expressions while compiling, without the sandbox's checks: check
	each constant operation of `source` first, innermost first."""
	for node in env.parse(source).find_all(tuple(BINARY_OPERATORS)):
		constant_value(node)


def constant_value(node):
	"""The value of a constant expression, checked at each operation; None when not constant."""
	if isinstance(node, nodes.Const):
		return node.value
	operator = BINARY_OPERATORS.get(type(node))
	if operator is None:
		return None
	left, right = constant_value(node.left), constant_value(node.right)
	if left is None or right is None:
		return None
	check_binop(operator, left, right)
	try:
		return check_size(SandboxedEnvironment.default_binop_table[operator](left, right))
	except OverBudget:
		raise
	except Exception:
		return None
