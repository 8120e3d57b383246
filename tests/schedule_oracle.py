"""One recipient's due steps, as the planner decides them (`plan` applies this rule to every
recipient at once): what the property tests check the rule with."""

from collections.abc import Iterable
from datetime import date

from email_campaign_app.core.schedule import Step, due_in_order, in_schedule_order
from email_campaign_app.core.sending_days import EVERY_DAY, Calendar


def due_steps(
	start_date: date,
	steps: Iterable[Step],
	today: date,
	done: set[Step],
	queued_today: bool = False,
	calendar: Calendar | None = None,
) -> list[Step]:
	calendar = calendar or EVERY_DAY
	days_elapsed = calendar.days_elapsed(start_date, today) if calendar.sends_on(today) else -1
	return due_in_order(in_schedule_order(steps), days_elapsed, done, queued_today)
