"""Who may do what: the app's roles on Frappe's own doctypes, and checks shared by the Desk methods.

The app's doctypes carry their permissions in their JSON. Frappe's Email Template, Email Group
and Email Group Member belong to Frappe, so the app grants its roles access to them with Custom
DocPerm rows on install and takes them back on uninstall.
"""

import frappe
from frappe import _
from frappe.permissions import setup_custom_perms

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
			_("Only a Sales Manager, a System Manager or {0}, who created this Email Campaign, may pause or resume it.").format(
				frappe.bold(email_campaign.owner)
			),
			frappe.PermissionError,
			title=_("Not Permitted"),
		)


def check_can_read_recipient(email_campaign, member: str | None = None):
	"""Previews and test emails show the recipient's data: only to users who may read it.

	A user who may read the Email Campaign (it was shared with them, say) does not always
	have the right to read its Lead or Contact, nor every member of its Email Group.
	"""
	from email_campaign_app import desk, sending

	if email_campaign.email_campaign_for == "Email Group":
		check_can_read("Email Group", email_campaign.recipient)
		email = desk.recipient_for_preview(email_campaign, member).email
		person = sending.find_people_by_email([email]).get(email.strip().lower())
	else:
		person = (email_campaign.email_campaign_for, email_campaign.recipient)
	if person and frappe.db.exists(*person):
		check_can_read(*person)


def check_can_read(doctype: str, name: str):
	if not frappe.has_permission(doctype, "read", name):
		frappe.throw(
			_(
				"You may not read {0} {1}, so this campaign's emails cannot be shown to you. Ask a Sales Manager to share it with you."
			).format(_(doctype), frappe.bold(name)),
			frappe.PermissionError,
			title=_("Not Permitted"),
		)
