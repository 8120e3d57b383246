"""What a published Frappe app declares: the Frappe versions it supports are the ones its CI
tests it on, and the apps screen shows it with a logo that ships with it."""

import importlib.util
import re
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "email_campaign_app"


def hooks():
	spec = importlib.util.spec_from_file_location("hooks", PACKAGE / "hooks.py")
	module = importlib.util.module_from_spec(spec)
	spec.loader.exec_module(module)  # hooks.py must not import frappe
	return module


def declared_majors() -> set[int]:
	"""The Frappe major versions `[tool.bench.frappe-dependencies]` admits: ">=15.0.0,<17.0.0" -> {15, 16}."""
	spec = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["bench"]["frappe-dependencies"][
		"frappe"
	]
	lower = re.fullmatch(r">=(\d+)\.0\.0", spec.split(",")[0].strip())
	upper = re.fullmatch(r"<(\d+)\.0\.0", spec.split(",")[1].strip())
	assert lower and upper, f"a bounded range of whole major versions, not {spec!r}"
	return set(range(int(lower[1]), int(upper[1])))


def test_the_declared_frappe_range_is_what_ci_tests():
	ci = (ROOT / ".ci" / "run").read_text()
	tested = {15} | {int(major) for major in re.findall(r"FRAPPE_BENCH_(\d+)=", ci)}
	assert declared_majors() == tested == {15, 16}


def test_the_readme_names_the_supported_versions():
	readme = (ROOT / "README.md").read_text()
	for major in declared_majors():
		assert f"Frappe v{major}" in readme


def test_the_apps_screen_shows_the_app_with_its_logo():
	app = hooks()
	[entry] = app.add_to_apps_screen
	assert entry["name"] == app.app_name
	assert entry["logo"] == app.app_logo_url
	for url in (entry["logo"], app.app_logo_url):
		assert url.startswith(f"/assets/{app.app_name}/"), url  # what bench links to the app's public folder
		logo = PACKAGE / "public" / url.removeprefix(f"/assets/{app.app_name}/")
		assert logo.is_file(), url
		assert logo.read_text().lstrip().startswith("<svg"), url
	module, _dot, function = entry["has_permission"].rpartition(".")
	source = (ROOT / Path(*module.split("."))).with_suffix(".py").read_text()
	assert f"def {function}(" in source
