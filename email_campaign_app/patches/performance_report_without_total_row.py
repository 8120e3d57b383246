"""The Email Campaign Performance report has no total row: it added up days and averaged rates
unweighted (its Group By Campaign filter gives the right totals). Frappe keeps a site's
add_total_row when it imports a standard report again, hence this patch."""

import frappe


def execute():
	frappe.db.set_value("Report", "Email Campaign Performance", "add_total_row", 0, update_modified=False)
