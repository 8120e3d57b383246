app_name = "email_campaign_app"
app_title = "Email Campaign App"
app_publisher = "email_campaign_app developers"
app_description = "Email Campaigns (drip sequences of Email Templates to a Lead, a Contact or an Email Group) for Frappe sites"
app_email = "dev@email-campaign-app.local"
app_license = "mit"

# Installation
# ------------

before_install = "email_campaign_app.install.before_install"
after_install = "email_campaign_app.install.after_install"
before_uninstall = "email_campaign_app.install.before_uninstall"

# Document Events
# ---------------

doc_events = {
	"Email Unsubscribe": {
		"after_insert": "email_campaign_app.unsubscribe.on_email_unsubscribe",
	},
}

# Scheduled Tasks
# ---------------

scheduler_events = {
	"daily": ["email_campaign_app.tasks.daily"],
}

# Email
# -----

# Adds the RFC 8058 List-Unsubscribe headers to this app's emails only.
make_email_body_message = ["email_campaign_app.sending.add_list_unsubscribe_headers"]
