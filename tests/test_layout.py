"""The package's layout: subpackages along the data's way, imports that go one way, short modules."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "email_campaign_app"
# each subpackage may import those before it, never those after it
LAYERS = ["core", "sending", "engagement", "enrolment", "desk", "api"]
# what Frappe looks for at the root, the app-wide rules, and one compatibility path
ROOT_MODULES = {"__init__", "hooks", "install", "tasks", "permissions", "utils", "delivery"}
OLD_JOB_PATHS = {  # jobs queued before the layout still run after an upgrade (for one release)
	"email_campaign_app.sending.send_batch",
	"email_campaign_app.delivery.send_email_queues",
	"email_campaign_app.enrolment.enrol_in_background",
}


def app_sources():
	return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def imports_of(path: Path) -> list[tuple[str, bool]]:
	"""(module, outside any function) for each import of the app's own modules."""
	tree = ast.parse(path.read_text())
	in_functions = {
		id(inner)
		for function in ast.walk(tree)
		if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef)
		for inner in ast.walk(function)
	}
	found = []
	for node in ast.walk(tree):
		if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("email_campaign_app"):
			found.append((node.module, id(node) not in in_functions))
		elif isinstance(node, ast.Import):
			found += [
				(a.name, id(node) not in in_functions)
				for a in node.names
				if a.name.startswith("email_campaign_app")
			]
	return found


def layer_of(module: str) -> str | None:
	parts = module.split(".")
	return parts[1] if len(parts) > 1 and parts[1] in LAYERS else None


def test_the_root_keeps_what_frappe_looks_for_and_little_else():
	assert {p.stem for p in PACKAGE.glob("*.py")} <= ROOT_MODULES
	assert len(list(PACKAGE.glob("*.py"))) <= 10


def test_imports_go_one_way():
	for path in app_sources():
		here = layer_of("email_campaign_app." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts))
		if here is None:
			continue
		for module, _top in imports_of(path):
			there = layer_of(module)
			if there:
				assert LAYERS.index(there) <= LAYERS.index(here), (
					f"{path.relative_to(PACKAGE)} imports {module}"
				)


def test_no_function_imports_the_apps_own_modules():
	"""An import inside a function hides a cycle; tests may import what they patch."""
	for path in app_sources():
		if path.name.startswith("test_"):
			continue
		late = [module for module, top in imports_of(path) if not top]
		assert late == [], f"{path.relative_to(PACKAGE)} imports {late} inside a function"


def test_no_module_passes_300_lines():
	for path in app_sources():
		if path.name.startswith("test_"):
			continue
		assert len(path.read_text().splitlines()) <= 300, path.relative_to(PACKAGE)


def test_jobs_queued_under_the_old_paths_still_resolve():
	for dotted in OLD_JOB_PATHS:
		module, _, function = dotted.rpartition(".")
		path = PACKAGE.parent.joinpath(*module.split("."))
		source = (path / "__init__.py" if path.is_dir() else path.with_suffix(".py")).read_text()
		assert function in source, dotted
