import frappe
from frappe import _

from email_campaign_app import permissions
from email_campaign_app.integrations import frappe_crm
from email_campaign_app.sending import email_links

# Each of these apps ships its own Campaign, Email Campaign and Lead doctypes.
CONFLICTING_APPS = ("erpnext",)


def before_install():
	refuse_beside_conflicting_apps()
	load_this_apps_modules()


def refuse_beside_conflicting_apps():
	for app in CONFLICTING_APPS:
		if app in frappe.get_installed_apps():
			frappe.throw(
				_(
					"{0} is installed on this site and already provides Campaign, Email Campaign and Lead. "
					"Use its Email Campaign instead of installing email_campaign_app."
				).format(app),
				title=_("Cannot install email_campaign_app"),
			)


def load_this_apps_modules():
	"""`install-app` creates the DocTypes of the modules `frappe.local.app_modules` lists for the
	app. On a site whose module map was cached before the app joined sites/apps.txt (`bench
	get-app`, then `install-app` on a site in use), that map lacks the app, and Frappe v16's
	clear_cache() no longer rebuilds it: the install would succeed and create no DocType.
	Rebuild the map then (on a fresh map this does nothing)."""
	if "email_campaign_app" not in (frappe.local.app_modules or {}):
		frappe.cache.delete_value("app_modules")
		frappe.setup_module_map()


def after_install():
	permissions.grant_core_permissions()
	make_signing_key()
	frappe_crm.set_up()  # where Frappe CRM is installed: its leads get campaigns


def make_signing_key():
	"""The key that signs the links of campaign emails exists before the first link is signed,
	so that no two processes make one each (see email_links.get_secret)."""
	email_links.get_secret()


APP_DOCTYPES = (
	"Campaign",
	"Campaign Email Schedule",
	"Campaign Enrolment Rule",
	"Email Campaign",
	"Email Campaign Send Log",
	"Email Campaign Settings",
	"Email Campaign Suppression",
	"Lead",
)
# Records of other apps that point at this app's documents: cleared, so their history stays.
REFERENCES_TO_CLEAR = {
	"Communication": ("reference_doctype", "reference_name"),
	"Email Queue": ("reference_doctype", "reference_name"),
	"Error Log": ("reference_doctype", "reference_name"),
	"ToDo": ("reference_type", "reference_name"),
}
# Records that only make sense with this app's documents: deleted.
REFERENCES_TO_DELETE = {
	"Communication Link": "link_doctype",
	"Email Unsubscribe": "reference_doctype",
	"Comment": "reference_doctype",
	"Version": "ref_doctype",
	"DocShare": "share_doctype",
}


def before_uninstall():
	"""Leave no link behind to the doctypes that uninstalling removes, nor a daily job to run."""
	for doctype, (doctype_field, name_field) in REFERENCES_TO_CLEAR.items():
		frappe.db.set_value(
			doctype,
			{doctype_field: ("in", APP_DOCTYPES)},
			{doctype_field: None, name_field: None},
			update_modified=False,
		)
	for doctype, doctype_field in REFERENCES_TO_DELETE.items():
		frappe.db.delete(doctype, {doctype_field: ("in", APP_DOCTYPES)})
	frappe.db.delete("Scheduled Job Type", {"method": ("like", "email_campaign_app.%")})
	permissions.revoke_core_permissions()
	frappe_crm.take_back()  # the CRM Form Scripts and defaults it installed
