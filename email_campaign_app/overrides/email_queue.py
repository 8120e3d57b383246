"""Frappe's Email Queue, sending this app's emails with their List-Unsubscribe on one line, and
within their account's sending limits.

Frappe re-parses and re-serializes every stored message when it sends it; Python's email
package would then fold a long List-Unsubscribe into RFC 2047 encoded words, which mail
providers do not read (see email_headers.py). The header class is registered when an Email
Queue sends, in whatever process does it (an RQ worker, a web request, `bench execute
frappe.email.queue.flush`): every process resolves the Email Queue class through this hook.

Frappe's flush sends a campaign email only when the app's delivery did not (a retry after a
passing refusal, a worker that died): it too takes a place in the account's limits, and leaves
the email for a later flush when there is none, or while the account backs off or is stopped.
"""

from frappe.email.doctype.email_queue.email_queue import EmailQueue as FrappeEmailQueue

from email_campaign_app.core import email_headers
from email_campaign_app.sending import limits


class EmailQueue(FrappeEmailQueue):
	def send(self, *args, **kwargs):
		email_headers.register()
		if self.reference_doctype != "Email Campaign" or not self.email_account:
			return super().send(*args, **kwargs)
		place = limits.take_one(self.email_account)
		if place is False:
			return None  # no place now: a later flush sends it
		result = super().send(*args, **kwargs)
		if place:
			limits.settle([place])
		return result
