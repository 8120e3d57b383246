"""Who may do what: the app's roles on Frappe's own doctypes, and checks shared by the Desk methods.

The app's doctypes carry their permissions in their JSON. Frappe's Email Template, Email Group
and Email Group Member belong to Frappe, so the app grants its roles access to them with Custom
DocPerm rows on install and takes them back on uninstall.
"""

import frappe
from frappe import _
from frappe.permissions import setup_custom_perms

from email_campaign_app import utils

SALES_USER = "Sales User"
SALES_MANAGER = "Sales Manager"
SYSTEM_MANAGER = "System Manager"
MANAGERS = (SALES_MANAGER, SYSTEM_MANAGER)
APP_ROLES = (SALES_USER, SALES_MANAGER, SYSTEM_MANAGER)

RIGHTS = (
	"select",
	"read",
	"write",
	"create",
	"delete",
	"submit",
	"cancel",
	"amend",
	"report",
	"export",
	"import",
	"share",
	"print",
	"email",
)
MANAGE = ("read", "write", "create", "delete", "report", "export", "share", "print", "email")


def has_app_permission() -> bool:
	"""The apps screen shows the app to the roles its CRM workspace is for."""
	return bool(set(APP_ROLES) & set(frappe.get_roles()))


# What the schedule needs from Frappe's own doctypes (Desk User already reads Email Templates).
CORE_DOCTYPE_RIGHTS = {
	"Email Template": {SALES_MANAGER: ("read", "write", "create", "report", "share", "print", "email")},
	"Email Group": {
		SALES_USER: ("read", "report"),
		SALES_MANAGER: ("read", "report"),
		SYSTEM_MANAGER: ("read", "report"),
	},
	"Email Group Member": {SALES_USER: ("read",), SALES_MANAGER: MANAGE, SYSTEM_MANAGER: MANAGE},
}


def grant_core_permissions():
	"""Add the app's roles to Frappe's doctypes, keeping every right the site already gives."""
	for doctype, roles in CORE_DOCTYPE_RIGHTS.items():
		setup_custom_perms(doctype)  # Custom DocPerm replaces DocPerm: copy the standard rows first
		for role, rights in roles.items():
			name = custom_perm_name(doctype, role)
			if name:
				frappe.db.set_value("Custom DocPerm", name, {right: 1 for right in rights})
			else:
				frappe.get_doc(
					{
						"doctype": "Custom DocPerm",
						"parent": doctype,
						"parenttype": "DocType",
						"parentfield": "permissions",
						"role": role,
						"permlevel": 0,
						**{right: int(right in rights) for right in RIGHTS},  # read and export default to 1
					}
				).insert(ignore_permissions=True)
		frappe.clear_cache(doctype=doctype)


def revoke_core_permissions():
	"""Take back what grant_core_permissions gave; a doctype left with only its standard rows
	goes back to them (no Custom DocPerm at all)."""
	for doctype, roles in CORE_DOCTYPE_RIGHTS.items():
		standard = standard_rights(doctype)
		for role, rights in roles.items():
			name = custom_perm_name(doctype, role)
			if not name:
				continue
			kept = standard.get(role, set())
			if role not in standard:
				frappe.db.delete("Custom DocPerm", {"name": name})
			else:
				frappe.db.set_value("Custom DocPerm", name, {right: int(right in kept) for right in rights})
		if custom_rights(doctype) == standard:
			frappe.db.delete("Custom DocPerm", {"parent": doctype})
		frappe.clear_cache(doctype=doctype)


def custom_perm_name(doctype: str, role: str) -> str | None:
	return frappe.db.get_value(
		"Custom DocPerm", {"parent": doctype, "role": role, "permlevel": 0, "if_owner": 0}, "name"
	)


def rights_by_role(perm_doctype: str, doctype: str) -> dict[str, set[str]]:
	rows = frappe.get_all(
		perm_doctype,
		filters={"parent": doctype, "permlevel": 0, "if_owner": 0},
		fields=["role", *RIGHTS],
	)
	return {row.role: {right for right in RIGHTS if row.get(right)} for row in rows}


def standard_rights(doctype: str) -> dict[str, set[str]]:
	return rights_by_role("DocPerm", doctype)


def custom_rights(doctype: str) -> dict[str, set[str]]:
	return rights_by_role("Custom DocPerm", doctype)


def is_manager(user: str | None = None) -> bool:
	return bool(set(MANAGERS) & set(frappe.get_roles(user)))


def check_is_manager():
	"""Like frappe.only_for(MANAGERS), which lets everyone through while tests run."""
	if not is_manager():
		frappe.throw(
			_("Only a Sales Manager or a System Manager may do this."),
			frappe.PermissionError,
			title=_("Not Permitted"),
		)


def check_can_pause(email_campaign):
	"""Pause and resume: a Sales Manager, a System Manager, or the Email Campaign's owner (who
	must still be allowed to change it)."""
	email_campaign.check_permission("write")
	if not (is_manager() or email_campaign.owner == frappe.session.user):
		frappe.throw(
			_(
				"Only a Sales Manager, a System Manager or {0}, who created this Email Campaign, may pause or resume it."
			).format(frappe.bold(email_campaign.owner)),
			frappe.PermissionError,
			title=_("Not Permitted"),
		)


def check_can_read(doctype: str, name: str):
	if not frappe.has_permission(doctype, "read", name):
		frappe.throw(
			_(
				"You may not read {0} {1}, so this campaign's emails cannot be shown to you. Ask a Sales Manager to share it with you."
			).format(_(doctype), frappe.bold(name)),
			frappe.PermissionError,
			title=_("Not Permitted"),
		)


# What the Email Campaign form checks, on every path that saves one (REST, bulk, rules)


def check_may_choose_recipient(email_campaign, recipient_doctypes: tuple):
	"""Who saves an Email Campaign must be allowed to read its recipient (the emails show the
	recipient's data on the timeline). The same message whether the record is missing or not
	readable, so that nobody learns which records exist."""
	if email_campaign.flags.ignore_permissions or not (
		email_campaign.is_new()
		or email_campaign.has_value_changed("recipient")
		or email_campaign.has_value_changed("email_campaign_for")
	):
		return
	if email_campaign.email_campaign_for not in recipient_doctypes or not email_campaign.recipient:
		return  # the mandatory check and validate_recipient say what is missing
	if not (
		frappe.db.exists(email_campaign.email_campaign_for, email_campaign.recipient)
		and frappe.has_permission(email_campaign.email_campaign_for, "read", email_campaign.recipient)
	):
		frappe.throw(
			_("{0} {1} does not exist or you may not read it. Choose a recipient you can open.").format(
				_(email_campaign.email_campaign_for), frappe.bold(email_campaign.recipient)
			),
			frappe.PermissionError,
			title=_("Not Permitted"),
		)


def check_sender_is_self(email_campaign):
	"""A Sales User sends as themselves; managers and the app's own code (enrolment rules a
	manager set up) may choose another sender."""
	if email_campaign.flags.ignore_permissions or not (
		email_campaign.is_new() or email_campaign.has_value_changed("sender")
	):
		return
	if email_campaign.sender != frappe.session.user and not is_manager():
		frappe.throw(
			_(
				"You can only send as yourself: set Sender to {0}, or ask a Sales Manager to choose another sender."
			).format(frappe.bold(frappe.session.user)),
			frappe.PermissionError,
			title=_("Invalid Sender"),
		)


def check_app_fields_unchanged(email_campaign, fieldnames: tuple):
	"""Pause and Resume alone move the schedule: no form, REST call or import writes these."""
	before = email_campaign.get_doc_before_save()
	for fieldname in fieldnames:
		was = utils.as_stored(email_campaign, fieldname, before.get(fieldname) if before else None)
		if utils.as_stored(email_campaign, fieldname, email_campaign.get(fieldname)) != was:
			frappe.throw(
				_(
					"{0} is set by Pause and Resume and cannot be written. Use the Pause and Resume buttons."
				).format(_(email_campaign.meta.get_label(fieldname))),
				frappe.PermissionError,
				title=_("Not Permitted"),
			)
