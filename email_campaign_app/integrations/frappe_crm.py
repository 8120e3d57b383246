"""Beside Frappe CRM (the crm app): what this app sets up on a site that has it, and takes back.

- CRM Form Scripts (crm_form_scripts/): on a lead in Frappe CRM's interface (/crm), the actions
  *Add to Email Campaign* and *Email Campaigns* (which campaigns it is in, and their status); in
  its leads list, the bulk action *Add to Email Campaign*.
- One kind of lead: a new Email Campaign is for a CRM Lead unless the user chooses otherwise,
  and the app's workspace shows CRM Lead where it shows Lead. The app's own Lead doctype stays
  (the site may hold Leads made before), only out of sight.

`set_up` runs after this app's install and after every migrate, and when Frappe CRM is
installed after this app; before Frappe CRM is uninstalled, or this app, `take_back` undoes it.
"""

from pathlib import Path

import frappe

from email_campaign_app.sending.recipients import CRM_LEAD

CRM_APP = "crm"
SCRIPTS = Path(__file__).parent / "crm_form_scripts"
# CRM Form Script name: (its view, the files it is made of)
FORM_SCRIPTS = {
	"Email Campaign App: CRM Lead": ("Form", ("common.js", "lead_form.js")),
	"Email Campaign App: CRM Lead list": ("List", ("common.js", "lead_list.js")),
}
DEFAULTS = {("Email Campaign", "email_campaign_for"), ("Campaign Enrolment Rule", "document_type")}
WORKSPACE = "CRM"  # this app's workspace (email_campaign_app/workspace/crm)


def has_crm() -> bool:
	return CRM_APP in frappe.get_installed_apps()


def set_up():
	"""Hook (after_install, after_migrate): in step with whether Frappe CRM is installed."""
	if has_crm():
		install_form_scripts()
		set_defaults(CRM_LEAD)
		show_in_workspace("Lead", CRM_LEAD)
	else:
		take_back()


def after_app_install(app_name: str):
	"""Hook: any app was installed on the site; Frappe CRM after this app."""
	if app_name == CRM_APP:
		set_up()


def before_app_uninstall(app_name: str):
	"""Hook: an app is being uninstalled; Frappe CRM takes its doctypes and records away."""
	if app_name == CRM_APP:
		take_back()


def take_back():
	"""What set_up made goes (Frappe CRM leaves, or this app does)."""
	if frappe.db.table_exists("CRM Form Script"):
		frappe.db.delete("CRM Form Script", {"name": ("in", list(FORM_SCRIPTS))})
	set_defaults(None)
	show_in_workspace(CRM_LEAD, "Lead")


def form_script(files: tuple[str, ...]) -> str:
	return "\n".join((SCRIPTS / name).read_text() for name in files)


def install_form_scripts():
	for name, (view, files) in FORM_SCRIPTS.items():
		values = {"dt": CRM_LEAD, "view": view, "enabled": 1, "script": form_script(files)}
		if frappe.db.exists("CRM Form Script", name):
			frappe.db.set_value("CRM Form Script", name, values)
		else:
			doc = frappe.get_doc({"doctype": "CRM Form Script", "name": name, **values})
			doc.insert(ignore_permissions=True, set_name=name)


def set_defaults(doctype: str | None):
	"""The default of "Email Campaign For" and of an enrolment rule's doctype: CRM Lead, or the
	app's own default again (None)."""
	for parent, fieldname in DEFAULTS:
		frappe.db.delete(
			"Property Setter", {"doc_type": parent, "field_name": fieldname, "property": "default"}
		)
		if doctype:
			frappe.make_property_setter(
				{
					"doctype": parent,
					"fieldname": fieldname,
					"property": "default",
					"value": doctype,
					"property_type": "Text",
				},
				validate_fields_for_doctype=False,
			)
		frappe.clear_cache(doctype=parent)


def show_in_workspace(old: str, new: str):
	"""The workspace's shortcut and link to `old` lead to `new` (written to the database only:
	saving a standard Workspace in developer mode would export it into this app's files)."""
	if not frappe.db.exists("Workspace", WORKSPACE):
		return
	for child in ("Workspace Shortcut", "Workspace Link"):
		frappe.db.set_value(
			child,
			{"parent": WORKSPACE, "link_to": old},
			{"link_to": new, "label": new},
			update_modified=False,
		)
	content = frappe.db.get_value("Workspace", WORKSPACE, "content") or ""
	shortcut = '"shortcut_name": "{0}"'
	if shortcut.format(old) in content:
		frappe.db.set_value(
			"Workspace",
			WORKSPACE,
			"content",
			content.replace(shortcut.format(old), shortcut.format(new)),
			update_modified=False,
		)
	frappe.clear_cache()
