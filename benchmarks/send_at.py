"""The production path of a group step: Send At a minute ahead, one RQ worker and Frappe's
scheduler at their default settings (`group_send.py --send-at` runs it).

The Email Campaign's Send At is set to the next whole minute at least 75 s ahead (written
directly: the form offers half hours), so that the dispatcher's every-minute tick comes before
it, as it does before 09:00. The clock starts at Send At and stops when the SMTP server has
every member's email: it prints the seconds from Send At to the first and to the last email
accepted, duplicates and missing. Then Frappe's Newsletter of the same group, scheduled at a
whole minute too, is sent by its own scheduled path (Frappe's hourly `send_scheduled_email`,
enqueued at that minute as the scheduler would at the top of the hour: its best case) and
Frappe's flush, measured the same way for at most `--newsletter-minutes`.

With `--limit-per-minute N`, the app's outgoing Email Account has that sending limit: the run
prints the arrival curve against the ideal one (the k-th email at Send At + 60 s * floor(k / N)) and
the most emails the server received in any rolling minute.
"""

import time
from collections import Counter
from datetime import timedelta

import frappe
from frappe.utils import now_datetime


def next_whole_minute(ahead_seconds: int = 75):
	moment = now_datetime() + timedelta(seconds=ahead_seconds)
	return moment.replace(second=0, microsecond=0) + timedelta(minutes=1)


def real_time_of(moment) -> float:
	"""The epoch seconds of a site-clock moment (the site's clock may be in another zone)."""
	return time.time() + (moment - now_datetime()).total_seconds()


def set_limit(account: str, per_minute: int | None):
	settings = frappe.get_single("Email Campaign Settings")
	settings.sending_limits = []
	if per_minute:
		settings.append("sending_limits", {"email_account": account, "per_minute": per_minute})
	settings.save(ignore_permissions=True)
	frappe.db.commit()


def wait_for(sink, prefix: str, members: int, until: float) -> list[float]:
	"""The arrival times of the emails to `prefix` addresses, once all came or at `until`."""
	while time.time() < until:
		arrived = [at for at, recipient in sink.arrivals() if recipient.startswith(prefix)]
		if len(arrived) >= members:
			break
		time.sleep(0.5)
	return [at for at, recipient in sink.arrivals() if recipient.startswith(prefix)]


def most_in_a_rolling_minute(moments: list[float]) -> int:
	moments, most, first = sorted(moments), 0, 0
	for last, at in enumerate(moments):
		while at - moments[first] >= 60:
			first += 1
		most = max(most, last - first + 1)
	return most


def figures(arrived: list[float], start: float, members: int, recipients: Counter) -> dict:
	return {
		"first after Send At (s)": min(arrived) - start if arrived else None,
		"last after Send At (s)": max(arrived) - start if len(arrived) >= members else None,
		"received": len(arrived),
		"duplicates": sum(n - 1 for n in recipients.values()),
		"missing": members - len(recipients),
	}


def limit_curve(arrived: list[float], start: float, per_minute: int) -> dict:
	arrived = sorted(arrived)
	ideal_last = 60 * ((len(arrived) - 1) // per_minute)
	lags = [at - start - 60 * (k // per_minute) for k, at in enumerate(arrived)]
	return {
		"ideal last after Send At (s)": ideal_last,
		"actual last after Send At (s)": arrived[-1] - start,
		"off the ideal duration (%)": 100 * (arrived[-1] - start - ideal_last) / ideal_last
		if ideal_last
		else 0,
		"largest lag behind the ideal (s)": max(lags),
		"most in a rolling minute": most_in_a_rolling_minute(arrived),
	}


def run_send_at(bench, sink, members: int, run: str, site: str, per_minute=None, newsletter_minutes=10):
	"""`bench` is group_send (its groups, steps, processes); the results by system."""
	results = {}
	app_group, news_group = bench.make_group("App", run, members), bench.make_group("News", run, members)
	email_campaign, newsletter = bench.make_app_step(app_group, run), bench.make_newsletter(news_group, run)
	set_limit(bench.ACCOUNT, per_minute)
	send_at = next_whole_minute()
	frappe.db.set_value(
		"Email Campaign", email_campaign, {"send_at": send_at.strftime("%H:%M"), "dispatched_on": None}
	)
	frappe.db.commit()
	processes = bench.start_processes(site)
	try:
		start = real_time_of(send_at)
		limit_minutes = members / per_minute + 3 if per_minute else 10
		arrived = wait_for(sink, f"app.{run}.", members, start + 60 * limit_minutes)
		recipients = bench.counts(sink, f"app.{run}.")
		results["app"] = figures(arrived, start, members, recipients)
		if per_minute and arrived:
			results["app"].update(limit_curve(arrived, start, per_minute))
		results["newsletter"] = run_newsletter(bench, sink, newsletter.name, members, run, newsletter_minutes)
	finally:
		bench.stop_processes(processes)
		set_limit(bench.ACCOUNT, None)
	return results


def run_newsletter(bench, sink, newsletter: str, members: int, run: str, minutes: int) -> dict:
	send_at = next_whole_minute(ahead_seconds=10)
	frappe.db.set_value("Newsletter", newsletter, {"schedule_sending": 1, "schedule_send": send_at})
	frappe.db.commit()
	start = real_time_of(send_at)
	time.sleep(max(0.0, start - time.time()))
	frappe.enqueue("frappe.email.doctype.newsletter.newsletter.send_scheduled_email", queue="default")
	frappe.db.commit()
	arrived = wait_for(sink, f"news.{run}.", members, start + 60 * minutes)
	result = figures(arrived, start, members, bench.counts(sink, f"news.{run}."))
	if len(arrived) < members and len(arrived) > 1:
		rate = (len(arrived) - 1) / (max(arrived) - min(arrived)) if max(arrived) > min(arrived) else 0
		result["stopped after (min)"] = minutes
		result["projected last after Send At (s), at its rate so far"] = (
			min(arrived) - start + (members - 1) / rate if rate else None
		)
	return result


def report(results: dict, members: int, per_minute=None):
	title = f"send-at, {members:,} members" + (f", limit {per_minute}/minute" if per_minute else "")
	print(f"\n== {title}")
	for system in ("app", "newsletter"):
		values = ", ".join(
			f"{key} {value:.1f}" if isinstance(value, float) else f"{key} {value}"
			for key, value in results[system].items()
		)
		print(f"{system:>10}: {values}")
