"""What leaves now: order, sending limits, per-recipient caps and what an SMTP refusal concerns."""

from collections import Counter
from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from email_campaign_app.core import failures, release
from email_campaign_app.core.release import Caps, Limits, Usage
from email_campaign_app.core.schedule import Recipient, Send, Step

DAY = date(2026, 12, 7)


def send(email="a@example.com", campaign="EC-1", days=0, template="T", send_date=DAY):
	return Send(campaign, Step(template, days), Recipient(email), send_date)


def test_room_is_the_tightest_window_and_none_without_limits():
	assert release.room(Limits(), Usage(5, 50, 500)) is None
	assert release.room(Limits(per_minute=30, per_day=10000), Usage(10, 100, 9990)) == 10
	assert release.room(Limits(per_minute=30, per_day=10000), Usage(29, 100, 100)) == 1
	assert release.room(Limits(per_hour=100), Usage(0, 120, 120)) == 0


def test_a_full_day_holds_until_tomorrow_a_full_minute_does_not():
	assert release.held_for_the_day(Limits(per_day=2000), Usage(0, 0, 2000))
	assert not release.held_for_the_day(Limits(per_minute=30, per_day=2000), Usage(30, 30, 1999))
	assert not release.held_for_the_day(Limits(), Usage(0, 0, 10**6))


def test_release_order_is_send_date_then_send_at_then_step():
	late = send("a@x", "EC-2", 0, send_date=DAY)
	overdue = send("b@x", "EC-2", 3, send_date=date(2026, 12, 5))
	early_campaign = send("c@x", "EC-1", 5, send_date=DAY)
	first_step = send("d@x", "EC-1", 2, send_date=DAY)
	send_at = {"EC-1": "08:00", "EC-2": "09:00"}
	ordered = release.in_release_order([late, early_campaign, overdue, first_step], send_at.get)
	assert ordered == [overdue, first_step, early_campaign, late]


def test_caps_spread_one_address_over_days_in_order():
	sends = [send("A@x", f"EC-{i}") for i in range(3)] + [send("b@x")]
	fit, wait = release.within_caps(sends, Counter(), Counter(), Caps(per_day=1))
	assert fit == [sends[0], sends[3]] and wait == sends[1:3]
	fit, wait = release.within_caps(sends, Counter({"a@x": 1}), Counter({"a@x": 1}), Caps(per_day=2))
	assert fit == [sends[0], sends[3]]
	fit, wait = release.within_caps(sends, Counter(), Counter({"a@x": 4}), Caps(per_week=5))
	assert fit == [sends[0], sends[3]]
	assert release.within_caps(sends, Counter(), Counter(), Caps()) == (sends, [])


@given(st.lists(st.sampled_from("abc"), max_size=30), st.integers(0, 4), st.integers(0, 6))
def test_caps_never_exceeded_and_nothing_lost(addresses, per_day, per_week):
	sends = [send(f"{a}@x", f"EC-{i}") for i, a in enumerate(addresses)]
	fit, wait = release.within_caps(sends, Counter(), Counter(), Caps(per_day, per_week))
	assert sorted(fit + wait) == sorted(sends)
	for _address, count in Counter(s.recipient.email for s in fit).items():
		assert not per_day or count <= per_day
		assert not per_week or count <= per_week


def test_week_is_the_last_seven_days():
	assert release.week_start(DAY) == date(2026, 12, 1)


def test_presets_are_the_providers_published_limits():
	assert release.PRESETS["Google Workspace"] == Limits(per_day=2000)
	assert release.PRESETS["Microsoft 365"] == Limits(per_minute=30, per_day=10000)


def test_what_an_smtp_refusal_concerns():
	verdict = failures.smtp_verdict
	assert verdict(421, "4.7.0 Too many connections, try again later") == failures.SLOW_DOWN
	assert verdict(421, "Service not available") == failures.SLOW_DOWN
	assert verdict(451, "4.7.1 Rate limit exceeded") == failures.SLOW_DOWN
	assert (
		verdict(450, "4.2.1 The user you are trying to contact is receiving mail at a rate")
		== failures.RECIPIENT
	)
	assert verdict(451, "4.3.0 Try again later") == failures.RECIPIENT
	assert verdict(452, "4.2.2 Mailbox full") == failures.RECIPIENT
	assert (
		verdict(550, "5.7.515 Access denied, sending domain does not meet the required authentication level")
		== failures.SENDER_REFUSED
	)
	assert verdict(535, "5.7.8 Username and Password not accepted") == failures.SENDER_REFUSED
	assert verdict(530, "5.7.0 Authentication Required") == failures.SENDER_REFUSED
	assert (
		verdict(550, "5.7.60 SMTP; Client does not have permissions to send as this sender")
		== failures.SENDER_REFUSED
	)
	assert (
		verdict(553, "5.1.8 Domain of sender address does not exist", at_mail_from=True)
		== failures.SENDER_REFUSED
	)
	assert verdict(550, "5.1.1 No such user") == failures.RECIPIENT
	assert verdict(550, "5.7.1 Message rejected as spam by Content Filtering") == failures.RECIPIENT
	assert verdict(554, "5.7.1 <x@y>: Recipient address rejected: Access denied") == failures.RECIPIENT


def test_backoff_grows_to_an_hour():
	assert [failures.backoff_minutes(n) for n in (1, 2, 3, 4, 7, 8, 20)] == [1, 2, 4, 8, 60, 60, 60]
