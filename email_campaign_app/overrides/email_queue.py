"""Frappe's Email Queue, sending this app's emails with their List-Unsubscribe on one line.

Frappe re-parses and re-serializes every stored message when it sends it; Python's email
package would then fold a long List-Unsubscribe into RFC 2047 encoded words, which mail
providers do not read (see email_headers.py). The header class is registered when an Email
Queue sends, in whatever process does it (an RQ worker, a web request, `bench execute
frappe.email.queue.flush`): every process resolves the Email Queue class through this hook.
"""

from frappe.email.doctype.email_queue.email_queue import EmailQueue as FrappeEmailQueue

from email_campaign_app.core import email_headers


class EmailQueue(FrappeEmailQueue):
	def send(self, *args, **kwargs):
		email_headers.register()
		return super().send(*args, **kwargs)
