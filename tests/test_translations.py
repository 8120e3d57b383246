"""Every user-facing string of the app has a French translation (translations/fr.csv)."""

import ast
import csv
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "email_campaign_app"
SKIP = {"testing.py"}


def python_strings(path):
	tree = ast.parse(path.read_text())
	for node in ast.walk(tree):
		if (
			isinstance(node, ast.Call)
			and isinstance(node.func, ast.Name)
			and node.func.id == "_"
			and node.args
			and isinstance(node.args[0], ast.Constant)
		):
			yield node.args[0].value


def doctype_strings(path):
	doc = json.loads(path.read_text())
	yield doc["name"]
	for field in doc["fields"]:
		for key in ("label", "description"):
			if field.get(key):
				yield field[key]
		if field["fieldtype"] == "Select":  # words only: "09:00" needs no translation
			yield from (option for option in field["options"].split("\n") if any(c.isalpha() for c in option))


def translatable_strings():
	strings = set()
	for path in PACKAGE.rglob("*.py"):
		if path.name not in SKIP and not path.name.startswith("test_"):
			strings |= set(python_strings(path))
	for path in PACKAGE.rglob("*.js"):
		strings |= set(re.findall(r'__\("((?:[^"\\]|\\.)+)"', path.read_text()))
	for path in PACKAGE.rglob("*.html"):
		strings |= set(re.findall(r'_\("((?:[^"\\]|\\.)+)"\)', path.read_text()))
	for path in PACKAGE.glob("email_campaign_app/doctype/*/*.json"):
		strings |= set(doctype_strings(path))
	return strings


def french():
	with open(PACKAGE / "translations" / "fr.csv", newline="") as f:
		return {row[0]: row[1] for row in csv.reader(f) if row}


def test_every_string_has_a_french_translation():
	missing = sorted(translatable_strings() - set(french()))
	assert not missing, "\n".join(missing)


def test_translations_keep_their_placeholders():
	for source, translated in french().items():
		assert translated.strip(), source
		assert sorted(re.findall(r"\{\d\}", source)) == sorted(re.findall(r"\{\d\}", translated)), source


def test_the_user_documentation_terms_are_used():
	fr = french()
	expected = {
		"Email Campaign": "Campagne e-mail",
		"Start Date": "Date de début",
		"End Date": "Date de fin",
		"Recipient": "Destinataire",
		"Sender": "Expéditeur",
		"Scheduled": "Programmée",
		"In Progress": "En cours",
		"Completed": "Terminé",
		"Unsubscribed": "Désinscrit",
		"Paused": "En pause",
		"Replied": "A répondu",
		"Send After (days)": "Envoyer après (jours)",
	}
	assert {key: fr.get(key) for key in expected} == expected
