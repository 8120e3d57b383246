import frappe
from frappe import _

# Each of these apps ships its own Campaign, Email Campaign and Lead doctypes.
CONFLICTING_APPS = ("erpnext",)


def before_install():
	for app in CONFLICTING_APPS:
		if app in frappe.get_installed_apps():
			frappe.throw(
				_(
					"{0} is installed on this site and already provides Campaign, Email Campaign and Lead. "
					"Use its Email Campaign instead of installing email_campaign_app."
				).format(app),
				title=_("Cannot install email_campaign_app"),
			)


def before_uninstall():
	"""Leave no link behind to the doctypes that uninstalling removes."""
	doctypes = ("Email Campaign", "Campaign", "Lead", "Email Campaign Send Log")
	for table, fields in (
		("Communication", ("reference_doctype", "reference_name")),
		("Email Queue", ("reference_doctype", "reference_name")),
	):
		frappe.db.set_value(
			table, {fields[0]: ("in", doctypes)}, {fields[0]: None, fields[1]: None}, update_modified=False
		)
	frappe.db.delete("Communication Link", {"link_doctype": ("in", doctypes)})
	frappe.db.delete("Email Unsubscribe", {"reference_doctype": ("in", doctypes)})
