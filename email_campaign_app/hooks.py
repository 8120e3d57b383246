app_name = "email_campaign_app"
app_title = "Email Campaign App"
app_publisher = "email_campaign_app developers"
app_description = "Email Campaigns (drip sequences of Email Templates to a Lead, a Contact or an Email Group) for Frappe sites"
app_email = "dev@email-campaign-app.local"
app_license = "mit"
app_logo_url = "/assets/email_campaign_app/images/logo.svg"

# Apps
# ------------------

# The app's tile on the apps screen (/apps; on Frappe v16 the desktop), for the roles the CRM
# workspace is for. /app/crm is the workspace's path on v15; v16 redirects /app/... to /desk/...
add_to_apps_screen = [
	{
		"name": "email_campaign_app",
		"logo": "/assets/email_campaign_app/images/logo.svg",
		"title": "Email Campaign",
		"route": "/app/crm",
		"has_permission": "email_campaign_app.permissions.has_app_permission",
	}
]

# Installation
# ------------

before_install = "email_campaign_app.install.before_install"
after_install = "email_campaign_app.install.after_install"
before_uninstall = "email_campaign_app.install.before_uninstall"
after_migrate = [
	"email_campaign_app.install.make_signing_key",
	"email_campaign_app.integrations.frappe_crm.set_up",
]
# Frappe CRM installed or removed after this app (integrations/frappe_crm.py)
after_app_install = "email_campaign_app.integrations.frappe_crm.after_app_install"
before_app_uninstall = "email_campaign_app.integrations.frappe_crm.before_app_uninstall"

# Desk
# ----

# Actions > Add to Email Campaign in the Lead, Contact and CRM Lead lists (Desk)
doctype_list_js = {
	"Lead": "public/js/add_to_email_campaign.js",
	"Contact": "public/js/add_to_email_campaign.js",
	"CRM Lead": "public/js/add_to_email_campaign.js",
}
# Create > Email Campaign, and the dashboard's "+", on Lead, Contact and CRM Lead forms (Desk)
doctype_js = {
	"Lead": "public/js/email_campaign_person.js",
	"Contact": "public/js/email_campaign_person.js",
	"CRM Lead": "public/js/email_campaign_person.js",
}
# An Email Campaign's notes (paused, resumed, unsubscribed), told in the reader's language and time zone
additional_timeline_content = {
	"Email Campaign": ["email_campaign_app.desk.timeline.email_campaign_notes"],
}
override_doctype_dashboards = {
	"Contact": "email_campaign_app.desk.dashboards.contact_dashboard",
}

# Document Events
# ---------------

doc_events = {
	"Email Template": {
		# before Frappe's own validate compiles it (Jinja folds constants while compiling)
		"before_validate": "email_campaign_app.sending.rendering.check_email_template_budget",
		"validate": "email_campaign_app.sending.rendering.validate_email_template",
	},
	# Bounces, complaints and automatic replies first (bounces.py), then stop on reply (replies.py)
	"Communication": {
		"validate": [
			"email_campaign_app.engagement.bounces.on_validate",
			"email_campaign_app.engagement.replies.on_validate",
		],
		"after_insert": [
			"email_campaign_app.engagement.bounces.on_after_insert",
			"email_campaign_app.engagement.replies.on_after_insert",
		],
	},
	"Email Unsubscribe": {
		"after_insert": "email_campaign_app.engagement.unsubscribe.on_email_unsubscribe",
		"on_update": "email_campaign_app.engagement.unsubscribe.drop_left_conversation_label",
	},
	# Campaign enrolment rules
	"Lead": {
		"before_save": "email_campaign_app.enrolment.rules.remember_rules_matched",
		"on_update": [
			"email_campaign_app.enrolment.rules.enrol_by_rules",
			"email_campaign_app.sending.recipients.update_recipient_names",
		],
	},
	# the person's data is erased: the app finishes what Frappe redacted (sending/privacy.py)
	"Personal Data Deletion Request": {
		"on_change": "email_campaign_app.sending.privacy.on_deletion_request_change",
	},
	"Contact": {
		"before_save": "email_campaign_app.enrolment.rules.remember_rules_matched",
		"on_update": [
			"email_campaign_app.enrolment.rules.enrol_by_rules",
			"email_campaign_app.sending.recipients.update_recipient_names",
		],
	},
	# Frappe CRM's lead, where Frappe CRM is installed
	"CRM Lead": {
		"before_save": "email_campaign_app.enrolment.rules.remember_rules_matched",
		"on_update": [
			"email_campaign_app.enrolment.rules.enrol_by_rules",
			"email_campaign_app.sending.recipients.update_recipient_names",
		],
	},
}

# Personal data: what Frappe's Personal Data Download and Deletion Requests include (privacy.py)
user_data_fields = [
	{
		"doctype": "Lead",
		"filter_by": "email_id",
		"redact_fields": ["first_name", "last_name", "lead_name", "company_name"],
	},
	{"doctype": "Email Campaign Send Log", "filter_by": "recipient_email", "partial": True},
	{"doctype": "Email Campaign Note", "filter_by": "email", "partial": True},
	{"doctype": "Email Campaign Suppression", "filter_by": "email", "partial": True},
	# the app's Error Log entries name the recipient (a failed email, a bounce): every entry
	{"doctype": "Error Log", "strict": True},
]

# Scheduled Tasks
# ---------------

scheduler_events = {
	"all": ["email_campaign_app.tasks.sync_ledger"],
	"daily": ["email_campaign_app.tasks.daily"],
	"cron": {"* * * * *": ["email_campaign_app.tasks.dispatch"]},
}

# Email
# -----

# Whatever process sends an Email Queue (a worker, a web request, bench execute) writes
# List-Unsubscribe on one line (see overrides/email_queue.py).
override_doctype_class = {
	"Email Queue": "email_campaign_app.overrides.email_queue.EmailQueue",
}
