"""Benchmark: what each page of the unsubscribe link costs a web worker.

Every page the link answers (the GET confirmation scanners open, the POST result, already
unsubscribed, the refusals, a campaign that no longer exists) is requested `--repeat` times
through Frappe's WSGI application in this process, as the tier-2 tests request it (a thread with
its own database connection), after one warm-up request. Run it with the bench's Python on a
throwaway site (it leaves its Leads and Email Campaigns there):

    cd ~/frappe-bench/sites
    ../env/bin/python ../apps/email_campaign_app/benchmarks/unsubscribe_pages.py --site bench.localhost

It prints, per page, its status, the median SQL statements the request ran (every
`frappe.db.sql` of the request's thread: Frappe's own session and request set-up included),
the median wall and CPU milliseconds of the request, and the page's size.
"""

import argparse
import statistics
import sys
import threading
import time
from urllib.parse import parse_qs, urlparse

import frappe
from frappe.database.database import Database
from frappe.tests.test_api import make_request
from frappe.utils import get_test_client

from email_campaign_app.api import guest
from email_campaign_app.sending import email_links
from email_campaign_app.tests.helpers import make_campaign, make_email_campaign, make_lead, warm_cache

PATH = "/api/method/email_campaign_app.api.unsubscribe"


class RequestQueries:
	"""Counts Database.sql calls made in the thread named `thread` while active."""

	def __init__(self):
		self.count, self.thread = 0, None

	def __enter__(self):
		real_sql = self.real_sql = Database.sql
		counter = self

		def counted(db, *args, **kwargs):
			if threading.current_thread() is counter.thread:
				counter.count += 1
			return real_sql(db, *args, **kwargs)

		Database.sql = counted
		return self

	def __exit__(self, *exc):
		Database.sql = self.real_sql


def link(email_campaign: str, email: str) -> dict:
	query = parse_qs(urlparse(email_links.unsubscribe_url(email_campaign, email)).query)
	return {key: values[0] for key, values in query.items()}


def request(method: str, query=None, form=None, headers=None) -> dict:
	"""One request in a thread of its own: status, queries, wall and CPU ms, bytes."""
	client = get_test_client(use_cookies=False)
	call = client.get if method == "GET" else client.post
	measured = {}

	def target():
		counter.thread = threading.current_thread()
		cpu, wall = time.thread_time(), time.perf_counter()
		response = call(PATH, query_string=query or {}, data=form, headers=headers or {})
		measured.update(cpu=1000 * (time.thread_time() - cpu), wall=1000 * (time.perf_counter() - wall))
		return response

	frappe.db.commit()
	with RequestQueries() as counter:
		response = make_request(target=target, args=(), kwargs={}, site=frappe.local.site)
	frappe.db.rollback()
	return {
		"status": response.status_code,
		"queries": counter.count,
		"bytes": len(response.get_data()),
		**measured,
	}


def pages(repeat: int) -> dict:
	"""page name: a function that makes the n-th request of that page."""
	campaign = make_campaign().name
	kept = make_lead()
	kept_ec = make_email_campaign(campaign, kept.name).name
	left = make_lead()
	left_ec = make_email_campaign(campaign, left.name).name
	leaving = [make_lead() for _ in range(repeat + 1)]
	leaving = [(make_email_campaign(campaign, lead.name).name, lead.email_id) for lead in leaving]
	frappe.db.commit()
	request("POST", form=link(left_ec, left.email_id))  # left is already unsubscribed
	forged = {**link(kept_ec, kept.email_id), "token": "forged"}
	one_click = {"List-Unsubscribe": "One-Click"}

	def refused(n, earlier_refusals=0):
		"""A forged token after `earlier_refusals` from this address (the 429 past the limit)."""
		frappe.cache.delete(guest.bad_token_key("127.0.0.1"))
		for _ in range(earlier_refusals):
			frappe.cache.incr(guest.bad_token_key("127.0.0.1"))
		return request("GET", forged)

	return {
		"GET confirmation": lambda n: request("GET", link(kept_ec, kept.email_id)),
		"GET already unsubscribed": lambda n: request("GET", link(left_ec, left.email_id)),
		"POST you are unsubscribed": lambda n: request("POST", link(*leaving[n]), headers=one_click),
		"POST again": lambda n: request("POST", link(left_ec, left.email_id), headers=one_click),
		"400 invalid link": refused,
		"400 not a recipient": lambda n: request("GET", link(kept_ec, "nobody@example.com")),
		"429 too many": lambda n: refused(n, guest.BAD_TOKEN_LIMIT),
		"campaign no longer exists": lambda n: request("GET", link("EC-gone-for-good", kept.email_id)),
	}


def main():
	parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
	parser.add_argument("--site", required=True)
	parser.add_argument("--repeat", type=int, default=20)
	args = parser.parse_args()
	frappe.init(site=args.site)
	frappe.connect()
	frappe.set_user("Administrator")
	warm_cache()  # the module map a running site has (the POST inserts records)
	try:
		print(f"{'page':<28} {'status':>6} {'queries':>8} {'wall ms':>8} {'CPU ms':>7} {'bytes':>7}")
		for name, make in pages(args.repeat).items():
			make(args.repeat)  # warm-up
			runs = [make(n) for n in range(args.repeat)]
			median = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
			print(
				f"{name:<28} {runs[0]['status']:>6} {median['queries']:>8.0f} {median['wall']:>8.1f}"
				f" {median['cpu']:>7.1f} {median['bytes']:>7.0f}"
			)
		frappe.cache.delete(guest.bad_token_key("127.0.0.1"))
	finally:
		frappe.destroy()
	sys.exit(0)


if __name__ == "__main__":
	main()
