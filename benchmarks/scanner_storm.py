"""Benchmark: mail security scanners open every link and image of a group step, under gunicorn.

Safe Links, Gmail's image proxy and mail gateways open each tracked link and tracking pixel of
every email within minutes of delivery. Run it with the bench's Python on a throwaway site:

    cd ~/frappe-bench/sites
    ../env/bin/python ../apps/email_campaign_app/benchmarks/scanner_storm.py --site bench.localhost

A step with a link, click tracking and an Email Account that tracks opens goes to an Email Group
(`--members`, 5,000) through the app's own path (group_send.py's loop) to an SMTP server on
127.0.0.1 that keeps every message. The site is then served as `bench setup production` runs it
(the bench's gunicorn, `--workers`, --preload, Frappe's default max-requests). A load generator
on 127.0.0.1 opens the tracked link and the pixel found in every message as the server received
it (`--scanners` times each, about at once), paced over `--seconds` with at most
`--concurrency` requests in flight, while a logged-in Sales User loads the Email Campaign form
(getdoc, then the schedule view its refresh asks for) in a loop, in a process of its own; the
form is timed alone first (`--quiet-seconds`). With `--unsubscribe-every N`, every N-th email's
unsubscribe link (the List-Unsubscribe header's) is opened too, by GET as scanners do: nothing
may change (its confirmation page is a small page of the app's own: see docs/benchmarks.md).

It prints requests per second, p50/p99 latency and errors of the scanner requests, the form's
p95 quiet and during the storm, the database's statements and row-lock waits (MariaDB's global
counters: other sites' work on the same server counts too), the CPU the web workers, MariaDB and
the load generator used, and checks the ledger: every click counted, every opened email's
Communication read once (the app's rule: an open is the first load of the pixel). It exits 1
when a check fails.
"""

import argparse
import html
import multiprocessing
import os
import re
import subprocess
import sys
import threading
import time
from contextlib import suppress
from email import message_from_bytes, policy
from http.client import HTTPConnection
from pathlib import Path
from urllib.parse import quote, urlsplit

import frappe
from frappe.installer import update_site_config

sys.path.insert(0, os.path.dirname(__file__))
import group_send
from daily_run import QueryCounter

from email_campaign_app.sending.ledger import LEDGER
from email_campaign_app.tests import smtp_sink
from email_campaign_app.tests.http import ensure_user

OFFER = "https://shop.example.com/spring?from=mail&size=big"
BODY = group_send.BODY + f'<p><a href="{html.escape(OFFER)}">See the whole catalogue</a></p>'
DESK_USER, DESK_PASSWORD = "scanner-storm-desk@example.com", "Storm-Desk-2026!"
LINK = re.compile(r'href="([^"]*email_campaign_app\.api\.click[^"]*)"')
PIXEL = re.compile(r'src="([^"]*email_campaign_app\.api\.email_opened[^"]*)"')
EXPECTED = {"click": 302, "pixel": 200, "unsubscribe": 200}
CPU_OF = ("web workers", "MariaDB (every site)", "load generator")
MYSQL_COUNTERS = ("Questions", "Com_select", "Com_update", "Innodb_row_lock_waits", "Innodb_row_lock_time")


class KeepingSink(group_send.Sink):
	"""group_send's SMTP server process, keeping each message's bytes (N.eml) in `folder`."""

	def __init__(self, port: int, folder: str):
		self.port, self.log, self.folder = port, f"/tmp/scanner_storm_sink_{port}.log", Path(folder)
		self.folder.mkdir(exist_ok=True)
		for old in self.folder.glob("*.eml"):
			old.unlink()
		open(self.log, "w").close()
		command = [sys.executable, __file__, "--serve-sink", str(port), self.log, folder]
		self.process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
		while "listening" not in self.process.stderr.readline():  # importing Frappe may warn first
			if self.process.poll() is not None:
				raise RuntimeError("the SMTP server did not start")

	def messages(self):
		return (
			message_from_bytes(path.read_bytes(), policy=policy.default) for path in self.folder.iterdir()
		)


def serve_sink(port: int, log_path: str, folder: str):
	class Kept(smtp_sink.LoggedMessages):
		kept = 0

		def append(self, message):  # under the sink's lock
			self.kept += 1
			Path(folder, f"{self.kept}.eml").write_bytes(message.data)
			super().append(message)

	with open(log_path, "a", buffering=1) as log:

		class Sink(smtp_sink.SMTPSink):
			def __init__(self):
				super().__init__(port)
				self.messages = Kept(log)

		with Sink():
			print(f"listening on 127.0.0.1:{port}", file=sys.stderr, flush=True)
			while True:
				time.sleep(3600)


def urls_received(sink: KeepingSink, prefix: str) -> list[dict]:
	"""Per message to `prefix` addresses: its tracked link(s), its pixel, its unsubscribe link."""
	found = []
	for message in sink.messages():
		if not str(message["To"]).startswith(prefix):
			continue
		content = message.get_body(preferencelist=("html",)).get_content()
		found.append(
			{
				"click": [html.unescape(url) for url in LINK.findall(content)],
				"pixel": [html.unescape(url) for url in PIXEL.findall(content)],
				"unsubscribe": [str(message["List-Unsubscribe"]).strip("<>")],
			}
		)
	return found


def plan_requests(emails, scanners: int, unsubscribe_every: int) -> list[tuple[str, str]]:
	"""(kind, url) in the order scanners open them: each email's links and pixel together."""
	planned = []
	for number, urls in enumerate(emails):
		kinds = ("click", "pixel") + (
			("unsubscribe",) if unsubscribe_every and number % unsubscribe_every == 0 else ()
		)
		for _scanner in range(scanners):
			planned += [(kind, url) for kind in kinds for url in urls[kind]]
	return planned


class Web:
	"""The site under gunicorn as Frappe's production supervisor config starts it."""

	def __init__(self, site: str, port: int, workers: int):
		self.site, self.port = site, port
		bench = frappe.utils.get_bench_path()
		command = [
			f"{bench}/env/bin/gunicorn", "-b", f"127.0.0.1:{port}", "-w", str(workers),
			"--max-requests", "5000", "--max-requests-jitter", "500", "-t", "120",
			"--graceful-timeout", "30", "frappe.app:application", "--preload",
		]  # fmt: skip
		self.log = open("/tmp/scanner_storm_gunicorn.log", "w")
		self.process = subprocess.Popen(
			command, cwd=f"{bench}/sites", stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
		)
		deadline = time.time() + 60
		while self.get("/api/method/ping")[0] != 200:
			if time.time() > deadline or self.process.poll() is not None:
				raise RuntimeError("gunicorn did not answer: see /tmp/scanner_storm_gunicorn.log")
			time.sleep(0.5)

	def get(self, path: str, host: str | None = None, headers=None, method="GET", body=None):
		"""(status, seconds, headers) of one request on a new connection, as a scanner opens it."""
		connection = HTTPConnection("127.0.0.1", self.port, timeout=60)
		started = time.perf_counter()
		try:
			connection.request(
				method, path, body=body, headers={"Host": host or self.site, **(headers or {})}
			)
			response = connection.getresponse()
			response.read()
			return response.status, time.perf_counter() - started, response
		except OSError as error:
			return f"{type(error).__name__}", time.perf_counter() - started, None
		finally:
			connection.close()

	def open(self, url: str):
		parts = urlsplit(url)
		return self.get(f"{parts.path}?{parts.query}", host=parts.netloc)

	def workers(self) -> list[int]:
		children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text()
		return [int(pid) for pid in children.split()]

	@property
	def mariadb(self) -> int:
		return int(subprocess.check_output(["pgrep", "-o", "-x", "mariadbd"]).split()[0])

	def stop(self):
		os.killpg(self.process.pid, 15)
		self.process.wait(timeout=60)
		self.log.close()


def storm(web: Web, planned, seconds: float, concurrency: int, deadline: float) -> tuple[list[tuple], float]:
	"""Open every (kind, url) at an even pace over `seconds`, `concurrency` at most at once;
	what is not started by `deadline` is not sent. (kind, status, seconds, Location, url)."""
	results, lock, next_index = [], threading.Lock(), [0]
	start = time.perf_counter()
	pace = seconds / max(1, len(planned))

	def scanner():
		while True:
			with lock:
				index = next_index[0]
				next_index[0] += 1
			if index >= len(planned):
				return
			time.sleep(max(0.0, start + index * pace - time.perf_counter()))
			if time.perf_counter() > start + deadline:
				return
			kind, url = planned[index]
			status, took, response = web.open(url)
			location = response.getheader("Location") if response else None
			with lock:
				results.append((kind, status, took, location, url))

	threads = [threading.Thread(target=scanner) for _ in range(concurrency)]
	for thread in threads:
		thread.start()
	for thread in threads:
		thread.join()
	return results, time.perf_counter() - start


def desk_session(web: Web) -> str:
	"""A Sales User logged in through the login form's request: their `sid` cookie."""
	ensure_user(DESK_USER, ("Sales User",))
	frappe.utils.password.update_password(DESK_USER, DESK_PASSWORD)
	frappe.db.commit()
	body = f"usr={DESK_USER}&pwd={DESK_PASSWORD}"
	status, _took, response = web.get(
		"/api/method/login",
		method="POST",
		body=body,
		headers={"Content-Type": "application/x-www-form-urlencoded"},
	)
	assert status == 200, f"login answered {status}"
	cookies = response.headers.get_all("Set-Cookie")
	return next(cookie.split(";")[0] for cookie in cookies if cookie.startswith("sid="))


def load_form(web: Web, cookie: str, email_campaign: str) -> tuple[float, float, int]:
	"""What opening the Email Campaign form asks: (getdoc s, schedule view s, first bad status or 200)."""
	name, headers = quote(email_campaign), {"Cookie": cookie}
	getdoc = web.get(
		f"/api/method/frappe.desk.form.load.getdoc?doctype=Email%20Campaign&name={name}", headers=headers
	)
	view = web.get(
		f"/api/method/email_campaign_app.api.email_campaign.get_schedule_view?email_campaign={name}",
		headers=headers,
	)
	return getdoc[1], view[1], getdoc[0] if getdoc[0] != 200 else view[0]


def desk_loop(web: Web, cookie: str, email_campaign: str, stop: threading.Event, think: float = 0.2):
	"""The Email Campaign form loaded again and again, `think` seconds apart."""
	loads = []
	while not stop.is_set():
		loads.append(load_form(web, cookie, email_campaign))
		stop.wait(think)
	return loads


def desk_elsewhere(web: Web, cookie: str, email_campaign: str):
	"""desk_loop in a process of its own (its timings not delayed by the scanners' threads):
	call the returned function to stop it and get its loads."""
	context = multiprocessing.get_context("fork")
	stop, results = context.Event(), context.SimpleQueue()
	process = context.Process(target=lambda: results.put(desk_loop(web, cookie, email_campaign, stop)))
	process.start()

	def finish():
		stop.set()
		loads = results.get()
		process.join()
		return loads

	return finish


def cpu_seconds(pids) -> float:
	"""User + system CPU time the processes used so far (Linux /proc)."""
	total = 0
	for pid in pids:
		with suppress(FileNotFoundError):
			fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
			total += int(fields[11]) + int(fields[12])
	return total / os.sysconf("SC_CLK_TCK")


def percentile(values, share: float) -> float:
	values = sorted(values)
	return values[min(len(values) - 1, int(share * len(values)))] if values else float("nan")


def mysql_counters() -> dict:
	rows = frappe.db.sql(f"show global status where Variable_name in {MYSQL_COUNTERS}")
	return {name: int(value) for name, value in rows}


def ledger_figures(email_campaign: str) -> dict:
	frappe.db.rollback()  # a fresh snapshot: what the web workers committed
	Ledger, Communication = frappe.qb.DocType(LEDGER), frappe.qb.DocType("Communication")
	clicks = frappe.db.sql(
		f"select coalesce(sum(clicks), 0), count(if(clicks > 0, 1, null)) from `tab{LEDGER}` where email_campaign = %s",
		email_campaign,
	)[0]
	opened = (
		frappe.qb.from_(Ledger)
		.join(Communication)
		.on(Communication.name == Ledger.communication)
		.select(frappe.query_builder.functions.Count("*"))
		.where((Ledger.email_campaign == email_campaign) & (Communication.read_by_recipient == 1))
		.run()[0][0]
	)
	return {"clicks": int(clicks[0]), "rows clicked": int(clicks[1]), "opened": opened}


def unsubscribe_changes(email_campaign: str, group: str) -> int:
	"""What a GET of unsubscribe links may not do: Email Unsubscribe rows, members unsubscribed."""
	return frappe.db.count(
		"Email Unsubscribe", {"reference_doctype": "Email Campaign", "reference_name": email_campaign}
	) + frappe.db.count("Email Group Member", {"email_group": group, "unsubscribed": 1})


def deliver_step(sink, members: int, run: str) -> tuple[str, str]:
	"""The step, with a tracked link and a pixel, in every member's inbox (group_send's loop)."""
	group = group_send.make_group("App", run, members)
	email_campaign = group_send.make_app_step(group, run, body=BODY, track_clicks=1)
	deliveries = group_send.queue_app_step(email_campaign)
	group_send.deliver_app_step(deliveries, QueryCounter())
	group_send.wait_for(sink, f"app.{run}.", members, 120)
	return group, email_campaign


def scanner_figures(results, took: float, planned: int) -> dict:
	errors = [r for r in results if r[1] != EXPECTED[r[0]] or (r[0] == "click" and r[3] != OFFER)]
	latencies = [r[2] for r in results]
	return {
		"planned": planned,
		"sent": len(results),
		"seconds": took,
		"rps": len(results) / took,
		"p50 ms": 1000 * percentile(latencies, 0.50),
		"p99 ms": 1000 * percentile(latencies, 0.99),
		"max ms": 1000 * max(latencies, default=0),
		"errors": len(errors) + planned - len(results),
		"error samples": sorted({f"{r[0]} {r[1]}" for r in errors})[:5],
		**{f"{kind} requests": sum(1 for r in results if r[0] == kind) for kind in EXPECTED},
	}


def desk_figures(loads) -> dict:
	return {
		"loads": len(loads),
		"p95 ms (getdoc + schedule view)": 1000 * percentile([a + b for a, b, _s in loads], 0.95),
		"p95 ms getdoc": 1000 * percentile([a for a, _b, _s in loads], 0.95),
		"p50 ms (getdoc + schedule view)": 1000 * percentile([a + b for a, b, _s in loads], 0.50),
		"errors": sum(1 for _a, _b, status in loads if status != 200),
	}


def run(args, sink) -> dict:
	run_id = frappe.generate_hash(length=6)
	group, email_campaign = deliver_step(sink, args.members, run_id)
	emails = urls_received(sink, f"app.{run_id}.")
	planned = plan_requests(emails, args.scanners, args.unsubscribe_every)
	web = Web(args.site, args.port, args.workers)
	try:
		cookie = desk_session(web)
		for _warm in range(4 * args.workers):  # every worker past its first requests
			web.open(emails[0]["pixel"][0].replace("token=", "token=x"))  # a forged pixel: changes nothing
			load_form(web, cookie, email_campaign)
		finish = desk_elsewhere(web, cookie, email_campaign)
		time.sleep(args.quiet_seconds)
		quiet = finish()
		errors_before, counters_before = frappe.db.count("Error Log"), mysql_counters()
		cpu_before = [cpu_seconds(web.workers()), cpu_seconds([web.mariadb]), time.process_time()]
		finish = desk_elsewhere(web, cookie, email_campaign)
		results, took = storm(web, planned, args.seconds, args.concurrency, args.seconds * 2)
		during = finish()
		cpu_after = [cpu_seconds(web.workers()), cpu_seconds([web.mariadb]), time.process_time()]
		cpu = {of: after - before for of, after, before in zip(CPU_OF, cpu_after, cpu_before, strict=True)}
		frappe.db.rollback()
		counters = {k: v - counters_before[k] for k, v in mysql_counters().items()}
		new_errors = frappe.db.count("Error Log") - errors_before
	finally:
		web.stop()
	figures = {
		"emails received": len(emails),
		"scanners": scanner_figures(results, took, len(planned)),
		"desk quiet": desk_figures(quiet),
		"desk storm": desk_figures(during),
		"database (global)": {**counters, "per request": counters["Questions"] / max(1, len(results))},
		"CPU s in the storm": {**cpu, "web ms per request": 1000 * cpu["web workers"] / max(1, len(results))},
		"Error Log entries": new_errors,
		"ledger": ledger_figures(email_campaign),
		"unsubscribe changes": unsubscribe_changes(email_campaign, group),
	}
	clicked = [r for r in results if r[0] == "click" and r[1] == 302]
	opened = {r[4] for r in results if r[0] == "pixel" and r[1] == 200}
	figures["expected"] = {"clicks": len(clicked), "opened": len(opened)}
	return figures


def report(figures: dict, args) -> bool:
	print(f"\n== scanner storm, {args.members:,} members, {args.workers} gunicorn workers")
	for key, value in figures.items():
		if isinstance(value, dict):
			value = ", ".join(
				f"{k} {v:.1f}" if isinstance(v, float) else f"{k} {v}" for k, v in value.items()
			)
		print(f"{key:>20}: {value}")
	scanners, ledger, expected = figures["scanners"], figures["ledger"], figures["expected"]
	checks = {
		"0 errors": scanners["errors"] == 0 and figures["Error Log entries"] == 0,
		"p99 under 500 ms": scanners["p99 ms"] < 500,
		"Desk p95 at most twice quiet": figures["desk storm"]["p95 ms (getdoc + schedule view)"]
		<= 2 * figures["desk quiet"]["p95 ms (getdoc + schedule view)"],
		"every click counted": ledger["clicks"] == expected["clicks"],
		"every opened email read once": ledger["opened"] == expected["opened"],
		"unsubscribe GETs changed nothing": figures["unsubscribe changes"] == 0,
	}
	for check, passed in checks.items():
		print(f"{'PASS' if passed else 'FAIL'}: {check}")
	return all(checks.values())


def main():
	if sys.argv[1:2] == ["--serve-sink"]:
		return serve_sink(int(sys.argv[2]), sys.argv[3], sys.argv[4])
	parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
	parser.add_argument("--site", required=True)
	parser.add_argument("--members", type=int, default=5000)
	parser.add_argument("--workers", type=int, default=4)
	parser.add_argument("--port", type=int, default=8123)
	parser.add_argument("--seconds", type=float, default=120, help="the storm's pace (twice that at most)")
	parser.add_argument("--concurrency", type=int, default=16)
	parser.add_argument("--scanners", type=int, default=1, help="times each link and pixel is opened")
	parser.add_argument("--unsubscribe-every", type=int, default=0, help="0: none")
	parser.add_argument("--quiet-seconds", type=float, default=40)
	args = parser.parse_args()
	frappe.init(site=args.site)
	frappe.connect()
	frappe.set_user("Administrator")
	host_name = frappe.conf.get("host_name")
	update_site_config("host_name", f"http://{args.site}:{args.port}")  # the links' host
	sink = KeepingSink(2798, "/tmp/scanner_storm_messages")
	try:
		group_send.point_outbox_at(sink.port)
		frappe.db.set_value("Email Account", group_send.ACCOUNT, "track_email_status", 1)
		group_send.forget_earlier_runs(args.site)
		passed = report(run(args, sink), args)
	finally:
		sink.stop()
		update_site_config("host_name", host_name or "None")
	frappe.destroy()
	sys.exit(0 if passed else 1)


if __name__ == "__main__":
	main()
