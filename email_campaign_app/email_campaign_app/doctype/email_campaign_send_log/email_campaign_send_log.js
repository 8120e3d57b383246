// Copyright (c) 2026, email_campaign_app developers and contributors
// For license information, please see license.txt

frappe.ui.form.on("Email Campaign Send Log", {});
