"""The figures the Desk shows: per step, what became of the emails (the Email Campaign's
schedule view, and the Email Campaign Performance report)."""

from datetime import date

import frappe
from frappe import _
from frappe.query_builder import Order
from frappe.query_builder.functions import Coalesce, Count, Sum
from frappe.utils import add_days, getdate
from pypika.terms import Case

from email_campaign_app.core import failures, schedule, statuses
from email_campaign_app.sending import pausing, releasing
from email_campaign_app.sending.ledger import LEDGER

STEP_FIGURES = (
	"queued", "in_queue", "waiting", "sent", "skipped", "failed", "retrying", "may_have_been_sent", "bounced", "complaints", "opened", "clicked", "clicks", "replied", "unsubscribed",
)  # fmt: skip
# what a marketer reads: the share of the emails sent that were opened, clicked, answered…
RATES = {
	"open_rate": "opened", "click_rate": "clicked", "reply_rate": "replied", "unsubscribe_rate": "unsubscribed",
	"bounce_rate": "bounced", "complaint_rate": "complaints",
}  # fmt: skip
IN_QUEUE = ("Not Sent", "Sending")  # Email Queue statuses of an email that has not left yet


def rate(count, sent) -> float:
	return round(100.0 * float(count or 0) / float(sent), 1) if sent else 0.0


def add_rates(row: dict) -> dict:
	"""The row with its rates: percentages of the emails sent."""
	row.update({name: rate(row.get(figure), row.get("sent")) for name, figure in RATES.items()})
	return row


def step_counts(filters: dict, group_by_campaign: bool = False) -> list[dict]:
	"""Per step: emails queued, sent, skipped (a condition not met…), failed (for good), retrying,
	bounced (after the server accepted them), complained about, opened, clicked (and the
	clicks), replied to, recipients who unsubscribed after it, and the most common reason of the
	failures.

	`filters` take `email_campaign`, `campaign_name`, `from_date`, `to_date` (ledger creation).
	"""
	Ledger = frappe.qb.DocType(LEDGER)
	keys = [Ledger.email_template, Ledger.send_after_days]
	if group_by_campaign:
		keys.insert(0, Ledger.campaign_name)
	rows = ledger_figures(Ledger, keys, in_scope(Ledger, filters))
	unsubscribed = unsubscribes_by_step(filters, group_by_campaign)
	reasons = main_failure_reasons(filters, group_by_campaign)
	held = held_back(filters, group_by_campaign, {row.get("campaign_name") for row in rows})
	for row in rows:
		key = (row.get("campaign_name"), row.email_template, row.send_after_days)
		row.unsubscribed = unsubscribed.get(key, 0)
		row.failure_reason = reasons.get(key, "")
		count, why = held.get(key, (0, ""))
		row.waiting += count
		row.waiting_reason = why
		add_rates(row)
	return rows


def variant_counts(filters: dict, group_by_campaign: bool = False) -> list[dict]:
	"""Per step with A/B variants, per variant (`variant`): the figures of its emails, test emails
	and winners alike, and how many were test emails (`test_emails`); none without variants."""
	if not frappe.db.exists(
		"Campaign Email Schedule", {"parenttype": "Campaign", "variant_of": ("is", "set")}
	):
		return []
	Ledger = frappe.qb.DocType(LEDGER)
	keys = [Ledger.email_template, Ledger.send_after_days, Ledger.variant]
	if group_by_campaign:
		keys.insert(0, Ledger.campaign_name)
	scope = in_scope(Ledger, filters) & Ledger.variant.isnotnull()
	rows = ledger_figures(Ledger, keys, scope, count_where(Ledger.in_test == 1).as_("test_emails"))
	for row in rows:
		row.update(unsubscribed=0, failure_reason="", waiting_reason="")
		add_rates(row)
	return rows


def count_where(condition):
	return Sum(Case().when(condition, 1).else_(0))


def ledger_figures(Ledger, keys: list, scope, *extra) -> list[dict]:
	"""The ledger's figures per `keys` (one query), over the rows in `scope`."""
	EmailQueue, Communication = frappe.qb.DocType("Email Queue"), frappe.qb.DocType("Communication")
	count = count_where
	return (
		frappe.qb.from_(Ledger)
		.left_join(EmailQueue)
		.on(EmailQueue.name == Ledger.email_queue)
		.left_join(Communication)
		.on(Communication.name == Ledger.communication)
		.select(
			*keys,
			count(Ledger.email_queue.isnotnull()).as_("queued"),
			count(
				Ledger.email_queue.isnotnull()
				& (Ledger.status == statuses.QUEUED)
				& EmailQueue.status.isin(IN_QUEUE)
			).as_("in_queue"),
			count(Ledger.status == statuses.WAITING).as_("waiting"),
			count(EmailQueue.status == "Sent").as_("sent"),
			count(Ledger.status == statuses.SKIPPED).as_("skipped"),  # a condition not met, among others
			count(Ledger.status == statuses.FAILED).as_("failed"),
			count(
				(Ledger.status == statuses.ERROR)
				| ((Ledger.status == "Queued") & EmailQueue.status.isin(("Error", "Expired")))
			).as_("retrying"),
			count(Ledger.status == statuses.MAY_HAVE_BEEN_SENT).as_("may_have_been_sent"),
			count(Ledger.bounce.isin(("Hard", "Soft"))).as_("bounced"),
			count(Ledger.bounce == "Complaint").as_("complaints"),
			count(Communication.read_by_recipient == 1).as_("opened"),
			count(Ledger.replied_on.isnotnull()).as_("replied"),
			count(Ledger.clicks > 0).as_("clicked"),
			Sum(Coalesce(Ledger.clicks, 0)).as_("clicks"),
			*extra,
		)
		.where(scope)
		.groupby(*keys)
		.orderby(*keys)
		.run(as_dict=True)
	)


def held_back(filters: dict, group_by_campaign: bool, campaigns: set) -> dict[tuple, tuple[int, str]]:
	"""Per step, the emails due that the dispatcher holds for a limit or a cap, and why."""
	email_campaign = single_value(filters, "email_campaign")
	if email_campaign:
		campaigns = {frappe.db.get_value("Email Campaign", email_campaign, "campaign_name")}
	elif single_value(filters, "campaign_name"):
		campaigns = {single_value(filters, "campaign_name")}
	held: dict[tuple, tuple[int, str]] = {}
	for campaign_name in campaigns - {None}:
		for template, days, why, count in releasing.waiting_of(campaign_name, email_campaign):
			key = (campaign_name if group_by_campaign else None, template, days)
			held[key] = (held.get(key, (0, ""))[0] + count, why)
	return held


def main_failure_reasons(filters: dict, group_by_campaign: bool) -> dict[tuple, str]:
	"""Per step, the most common reason its emails Failed, with how many it stopped."""
	Ledger = frappe.qb.DocType(LEDGER)
	rows = (
		frappe.qb.from_(Ledger)
		.select(
			Ledger.campaign_name,
			Ledger.email_template,
			Ledger.send_after_days,
			Ledger.error,
			Count("*").as_("count"),
		)
		.where(in_scope(Ledger, filters) & (Ledger.status == statuses.FAILED))
		.groupby(Ledger.campaign_name, Ledger.email_template, Ledger.send_after_days, Ledger.error)
		.orderby(Count("*"), order=Order.desc)
		.run(as_dict=True)
	)
	reasons: dict[tuple, str] = {}
	for row in rows:  # most common first
		key = (row.campaign_name if group_by_campaign else None, row.email_template, row.send_after_days)
		reason = failures.classify(row.error).reason or _("Unknown error")  # one line, also for older rows
		reasons.setdefault(key, f"{reason} ({row.count})")
	return reasons


def in_scope(Ledger, filters: dict):
	"""The ledger rows the filters select."""
	condition = Ledger.name.isnotnull()
	for field in ("email_campaign", "campaign_name"):
		if value := single_value(filters, field):
			condition &= getattr(Ledger, field) == value
	if from_date := date_filter(filters, "from_date"):
		condition &= Ledger.creation >= from_date
	if to_date := date_filter(filters, "to_date"):
		condition &= Ledger.creation < add_days(to_date, 1)
	return condition


def date_filter(filters: dict, field: str) -> date | None:
	value = single_value(filters, field)
	if not value:
		return None
	if not (parsed := getdate(value)):
		frappe.throw(_("{0} is not a valid date string.").format(frappe.bold(value)), title=_("Invalid Date"))
	return parsed


def single_value(filters: dict, field: str):
	"""A filter's one value; a list, an operator or an object is refused (not written into SQL)."""
	value = filters.get(field)
	if value and not isinstance(value, (str, date)):
		frappe.throw(
			_("The filter {0} takes a single value, not {1}.").format(
				frappe.bold(field), frappe.bold(type(value).__name__)
			),
			title=_("Invalid Filter"),
		)
	return value


def unsubscribes_by_step(filters: dict, group_by_campaign: bool) -> dict[tuple, int]:
	"""Each unsubscribe counts for the last step its recipient was sent before leaving.

	One query, over the recipients who left only: their emails sent before they left.
	"""
	Ledger = frappe.qb.DocType(LEDGER)
	Unsubscribe = frappe.qb.DocType("Email Unsubscribe")
	sent_before_leaving = (
		frappe.qb.from_(Ledger)
		.join(Unsubscribe)
		.on(
			(Unsubscribe.reference_doctype == "Email Campaign")
			& (Unsubscribe.reference_name == Ledger.email_campaign)
			& (Unsubscribe.email == Ledger.recipient_email)
		)
		.select(
			Ledger.email_campaign,
			Ledger.recipient_email,
			Ledger.campaign_name,
			Ledger.email_template,
			Ledger.send_after_days,
		)
		.where(
			in_scope(Ledger, filters)
			& Ledger.email_queue.isnotnull()
			& (Ledger.creation <= Unsubscribe.creation)
		)
		.orderby(Ledger.creation)
		.run(as_dict=True)
	)
	last_step = {
		(row.email_campaign, row.recipient_email.lower()): (
			row.campaign_name if group_by_campaign else None,
			row.email_template,
			row.send_after_days,
		)
		for row in sent_before_leaving  # in creation order: the last one wins
	}
	counts: dict[tuple, int] = {}
	for step in last_step.values():
		counts[step] = counts.get(step, 0) + 1
	return counts


def schedule_view(email_campaign: str) -> list[dict]:
	"""Each step of the Email Campaign with its planned date and, once sent, its counts."""
	doc = frappe.get_doc("Email Campaign", email_campaign)
	counts = {(r.email_template, r.send_after_days): r for r in step_counts({"email_campaign": doc.name})}
	start, calendar = getdate(doc.start_date), doc.get_calendar()
	dates = pausing.send_dates(doc)  # the real dates of what is left, catch-up included
	held = held_back({"email_campaign": doc.name}, False, set())
	tests = doc.get_campaign().get_tests()
	by_variant = variants_by_step(variant_counts({"email_campaign": doc.name})) if tests else {}
	rows = []
	for step in schedule.in_schedule_order(doc.get_steps()):
		figures = counts.get((step.email_template, step.send_after_days))
		if not figures:  # nothing written yet: what the dispatcher holds, if anything
			count, why = held.get((None, step.email_template, step.send_after_days), (0, ""))
			figures = {"waiting": count, "waiting_reason": why}
		rows.append(
			{
				"email_template": step.email_template,
				"send_after_days": step.send_after_days,
				"send_date": dates.get(step.send_after_days, step.send_date(start, calendar)),
				**{key: figures.get(key, 0) for key in (*STEP_FIGURES, *RATES)},
				"failure_reason": figures.get("failure_reason", ""),
				"waiting_reason": figures.get("waiting_reason", ""),
			}
		)
		if step in tests:
			rows += variant_rows(rows[-1], tests[step].variants, by_variant.get(step, {}))
	return rows


def variants_by_step(counts: list[dict]) -> dict[schedule.Step, dict[str, dict]]:
	by_step = {}
	for row in counts:
		by_step.setdefault(schedule.Step(row.email_template, row.send_after_days), {})[row.variant] = row
	return by_step


def variant_rows(step_row: dict, variants: tuple[str, ...], counted: dict[str, dict]) -> list[dict]:
	"""Under a step's row, one row per variant: what the emails that carried it became."""
	return [
		{
			**step_row,
			**{key: counted.get(variant, {}).get(key, 0) for key in (*STEP_FIGURES, *RATES, "test_emails")},
			**{"email_template": variant, "variant_of": step_row["email_template"]},
			**{"failure_reason": "", "waiting_reason": ""},
		}
		for variant in variants
	]
