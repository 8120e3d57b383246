"""Checks of the app itself that need no Frappe: doctype JSON, hooks, templates, field names."""

import ast
import importlib.util
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "email_campaign_app"
MODULE = PACKAGE / "email_campaign_app"

FIELDTYPES = {
	"Autocomplete", "Attach", "Attach Image", "Barcode", "Button", "Check", "Code", "Color",
	"Column Break", "Currency", "Data", "Date", "Datetime", "Duration", "Dynamic Link", "Float",
	"Fold", "Geolocation", "Heading", "HTML", "HTML Editor", "Icon", "Image", "Int", "JSON", "Link",
	"Long Text", "Markdown Editor", "Password", "Percent", "Phone", "Read Only", "Rating",
	"Section Break", "Select", "Signature", "Small Text", "Tab Break", "Table", "Table MultiSelect",
	"Text", "Text Editor", "Time",
}  # fmt: skip
NO_VALUE_TYPES = {"Column Break", "Section Break", "Tab Break", "HTML", "Button", "Fold", "Heading"}
# Frappe core doctypes this app links to, with the fields the app reads from them.
FRAPPE_DOCTYPES = {
	"Comment": {"reference_doctype", "reference_name", "comment_type", "content"},
	"Communication": {
		"reference_doctype",
		"reference_name",
		"subject",
		"sender",
		"recipients",
		"email_template",
		"read_by_recipient",
		"read_by_recipient_on",
		"delivery_status",
		"message_id",
		"content",
		"send_after",
	},
	"Communication Link": {"link_doctype", "link_name"},
	"Error Log": {"reference_doctype", "reference_name", "error", "method"},
	"Email Account": {"name", "email_id", "dsn_notify_type", "default_outgoing"},
	"Contact": {"name", "email_id", "unsubscribed", "first_name"},
	# Frappe CRM's lead (the crm app), a recipient where Frappe CRM is installed
	"CRM Lead": {"name", "email", "first_name", "last_name", "lead_name", "status", "organization"},
	"CRM Form Script": {"name", "dt", "view", "script", "enabled", "is_standard"},
	"DocType": {"name"},
	"Language": {"name"},
	"Email Group": {"name"},
	"Email Group Member": {"email_group", "email", "unsubscribed"},
	"Email Queue": {
		"name",
		"status",
		"error",
		"retry",
		"message_id",
		"reference_doctype",
		"reference_name",
		"sender",
		"message",
		"communication",
		"send_after",
		"priority",
		"email_account",
	},
	"Email Queue Recipient": {"recipient", "status", "error"},
	"Email Template": {"name", "subject", "response", "response_html", "use_html"},
	"Email Unsubscribe": {"email", "reference_doctype", "reference_name"},
	"User": {"name", "enabled", "email", "api_key", "user_type", "time_zone", "full_name", "language"},
}
STANDARD_FIELDS = {
	"name",
	"owner",
	"creation",
	"modified",
	"modified_by",
	"idx",
	"parent",
	"parenttype",
	"parentfield",
	"docstatus",
}


def doctype_files():
	return sorted(MODULE.glob("doctype/*/*.json"))


def load(path):
	return json.loads(path.read_text())


APP_DOCTYPES = {load(p)["name"]: load(p) for p in doctype_files()}


def fieldnames(doctype):
	if doctype in APP_DOCTYPES:
		return {f["fieldname"] for f in APP_DOCTYPES[doctype]["fields"]} | STANDARD_FIELDS
	return FRAPPE_DOCTYPES[doctype] | STANDARD_FIELDS


def test_the_expected_doctypes_exist():
	assert set(APP_DOCTYPES) == {
		"Campaign", "Campaign Email Schedule", "Campaign Enrolment Rule", "Lead", "Email Campaign", "Email Campaign Send Log",
		"Email Campaign Suppression", "Email Campaign Settings", "Email Campaign Sending Limit", "Email Campaign Note",
		"Campaign Variant Test",
	}  # fmt: skip


@pytest.mark.parametrize("path", doctype_files(), ids=lambda p: p.stem)
def test_doctype_json_is_a_valid_frappe_doctype(path):
	doc = load(path)
	scrubbed = doc["name"].lower().replace(" ", "_")
	assert path.stem == scrubbed == path.parent.name
	assert doc["doctype"] == "DocType"
	assert doc["module"] == (PACKAGE / "modules.txt").read_text().strip()
	names = [f["fieldname"] for f in doc["fields"]]
	assert len(names) == len(set(names)), "duplicate fieldnames"
	assert doc["field_order"] == names
	for field in doc["fields"]:
		assert field["fieldtype"] in FIELDTYPES, field
		assert re.fullmatch(r"[a-z][a-z0-9_]*", field["fieldname"]), field
		if field["fieldtype"] not in NO_VALUE_TYPES:
			assert field.get("label"), f"{field['fieldname']} has no label"
		if field["fieldtype"] in ("Link", "Table", "Table MultiSelect"):
			assert field["options"] in APP_DOCTYPES or field["options"] in FRAPPE_DOCTYPES, field
		if field["fieldtype"] in ("Table", "Table MultiSelect"):
			assert APP_DOCTYPES[field["options"]].get("istable") == 1
		if field["fieldtype"] == "Dynamic Link":
			assert field["options"] in names, field
		if field["fieldtype"] == "Select" and field.get("default"):
			assert field["default"] in field["options"].split("\n"), field
	if not doc.get("istable"):
		assert doc["permissions"], "a doctype nobody may read"
	assert (path.parent / "__init__.py").exists()


@pytest.mark.parametrize("path", doctype_files(), ids=lambda p: p.stem)
def test_controller_types_block_matches_the_json(path):
	doc = load(path)
	controller = path.with_suffix(".py")
	source = controller.read_text()
	class_name = doc["name"].replace(" ", "")
	assert f"class {class_name}(Document)" in source
	block = source.split("# begin: auto-generated types")[1].split("# end: auto-generated types")[0]
	typed = set(re.findall(r"^\t\t(\w+): DF\.", block, re.M)) - {"parent", "parentfield", "parenttype"}
	value_fields = {f["fieldname"] for f in doc["fields"] if f["fieldtype"] not in NO_VALUE_TYPES}
	assert typed == value_fields


def test_email_campaign_fields_keep_erpnext_names():
	assert {
		"campaign_name",
		"email_campaign_for",
		"recipient",
		"sender",
		"start_date",
		"end_date",
		"status",
	} <= fieldnames("Email Campaign")
	assert {"campaign_name", "description", "campaign_schedules"} <= fieldnames("Campaign")
	assert {"email_template", "send_after_days"} <= fieldnames("Campaign Email Schedule")
	assert {
		"first_name",
		"last_name",
		"lead_name",
		"email_id",
		"company_name",
		"status",
		"unsubscribed",
	} <= fieldnames("Lead")


def test_the_campaign_form_shows_its_schedule_first_titled_once_with_its_picture():
	campaign = APP_DOCTYPES["Campaign"]
	order = campaign["field_order"]
	fields = {f["fieldname"]: f for f in campaign["fields"]}
	assert order.index("campaign_schedules") < order.index("description")
	assert order[order.index("campaign_schedules") + 1] == "sequence_html"
	assert not fields["campaign_schedules_section"].get("label"), "the table's own label titles it"
	assert fields["sequence_html"]["fieldtype"] == "HTML"


def dotted_paths(value):
	if isinstance(value, str):
		if re.fullmatch(r"email_campaign_app(\.\w+)+", value):
			yield value
	elif isinstance(value, dict):
		for item in value.values():
			yield from dotted_paths(item)
	elif isinstance(value, list | tuple):
		for item in value:
			yield from dotted_paths(item)


def module_functions(module_path):
	tree = ast.parse(module_path.read_text())
	return {node.name for node in tree.body if isinstance(node, ast.FunctionDef | ast.ClassDef)}


def resolve(dotted):
	module, _, function = dotted.rpartition(".")
	path = ROOT.joinpath(*module.split("."))
	return path.with_suffix(".py"), function


def hooks():
	spec = importlib.util.spec_from_file_location("hooks", PACKAGE / "hooks.py")
	module = importlib.util.module_from_spec(spec)
	spec.loader.exec_module(module)  # hooks.py must not import frappe
	return {k: v for k, v in vars(module).items() if not k.startswith("__")}


def test_hooks_point_to_functions_that_exist():
	paths = list(dotted_paths(hooks()))
	assert "email_campaign_app.tasks.daily" in paths
	for dotted in paths:
		module_path, function = resolve(dotted)
		assert module_path.exists(), dotted
		assert function in module_functions(module_path), dotted


def python_sources():
	return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def string_constants(tree):
	return {
		target.id: node.value.value
		for node in tree.body
		if isinstance(node, ast.Assign)
		and isinstance(node.value, ast.Constant)
		and isinstance(node.value.value, str)
		for target in node.targets
		if isinstance(target, ast.Name)
	}


def test_python_reads_only_fields_that_exist():
	"""frappe.get_all / db.get_value / db.set_value on a known doctype name existing fields only."""
	checked = 0
	for path in python_sources():
		tree = ast.parse(path.read_text())
		constants = string_constants(tree)
		for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call)):
			name = ast.unparse(call.func)
			if name not in {
				"frappe.get_all",
				"frappe.db.get_value",
				"frappe.db.set_value",
				"frappe.db.exists",
			}:
				continue
			if not call.args:
				continue
			doctype_node = call.args[0]
			doctype = (
				doctype_node.value
				if isinstance(doctype_node, ast.Constant)
				else constants.get(getattr(doctype_node, "id", None))
			)
			if doctype not in APP_DOCTYPES and doctype not in FRAPPE_DOCTYPES:
				continue
			known = fieldnames(doctype)
			used = set()
			for keyword in call.keywords:
				if keyword.arg in ("fields", "pluck") and isinstance(keyword.value, ast.List | ast.Constant):
					used |= {c.value for c in ast.walk(keyword.value) if isinstance(c, ast.Constant)}
				if keyword.arg == "filters" and isinstance(keyword.value, ast.Dict):
					used |= {k.value for k in keyword.value.keys if isinstance(k, ast.Constant)}
			for arg in call.args[1:]:
				if isinstance(arg, ast.Dict):
					used |= {k.value for k in arg.keys if isinstance(k, ast.Constant)}
				if isinstance(arg, ast.List):
					used |= {c.value for c in arg.elts if isinstance(c, ast.Constant)}
			if name in {"frappe.db.get_value", "frappe.db.set_value"} and len(call.args) > 2:
				if isinstance(call.args[2], ast.Constant):
					used.add(call.args[2].value)
			used = {u for u in used if isinstance(u, str) and u != "*"}
			assert used <= known, f"{path.name}:{call.lineno} {doctype}: unknown {used - known}"
			checked += 1
	assert checked > 10


def child_doctype(doctype, table_field):
	[options] = [f["options"] for f in APP_DOCTYPES[doctype]["fields"] if f["fieldname"] == table_field]
	return options


def test_form_scripts_use_fields_that_exist():
	for path in MODULE.glob("doctype/*/*.js"):
		doctype = load(path.parent / f"{path.parent.name}.json")["name"]
		source = path.read_text()
		if "frappe.ui.form.on(" in source:  # the form's own handlers, not the helpers below it
			handlers_block = source.split("frappe.ui.form.on(")[1].split("\n});")[0]
		else:
			handlers_block = ""
		used = set(re.findall(r"frm\.doc\.(?!__)(\w+)", source))  # __onload: Frappe's, not a field
		# a query on a child table's field: the field is the child doctype's
		child_queries = re.findall(r"frm\.set_query\(\s*\"(\w+)\",\s*\"(\w+)\"", source)
		for field, table in child_queries:
			assert field in fieldnames(child_doctype(doctype, table)), f"{path.name}: {field} in {table}"
		used |= set(
			re.findall(
				r"frm\.(?:set_value|set_query|toggle_display|toggle_reqd|get_field)\(\s*\"(\w+)\"(?!,\s*\")",
				source,
			)
		)
		handlers = re.findall(r"^\t(\w+)\(frm\)", handlers_block, re.M)
		used |= {
			h
			for h in handlers
			if h
			not in {
				"setup",
				"onload",
				"refresh",
				"validate",
				"before_save",
				"after_save",
				"onload_post_render",
			}
		}
		assert used <= fieldnames(doctype), f"{path.name}: {used - fieldnames(doctype)}"


def test_templates_the_code_renders_exist():
	for path in python_sources():
		for template in re.findall(r"\"(email_campaign_app/templates/[\w/.]+\.html)\"", path.read_text()):
			assert (ROOT / template).exists(), template


def test_core_modules_do_not_import_frappe():
	for path in [*sorted((PACKAGE / "core").glob("*.py")), PACKAGE / "__init__.py", PACKAGE / "hooks.py"]:
		tree = ast.parse(path.read_text())
		imported = {
			a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names
		}
		imported |= {
			n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module
		}
		assert "frappe" not in imported, path.name
