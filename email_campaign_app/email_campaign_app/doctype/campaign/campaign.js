// Copyright (c) 2026, email_campaign_app developers and contributors
// For license information, please see license.txt

frappe.ui.form.on("Campaign", {
	setup(frm) {
		// a condition is on a step of an earlier day: offer only those rows' Email Templates
		frm.set_query("condition_template", "campaign_schedules", (doc, cdt, cdn) => {
			const templates = campaign.earlier_rows(frm, locals[cdt][cdn]).map((row) => row.email_template);
			return { filters: { name: ["in", templates.length ? templates : [""]] } };
		});
	},

	refresh(frm) {
		campaign.render_sequence(frm);
		if (!frm.is_new()) {
			campaign.render_tests(frm);
			frm.add_custom_button(
				__("Email Campaign"),
				() => {
					frappe.new_doc("Email Campaign", { campaign_name: frm.doc.name });
				},
				__("Create")
			);
		}
	},

	// the picture follows the schedule and the sending days as they are typed
	business_days(frm) {
		campaign.render_sequence(frm);
	},
	send_on_monday(frm) {
		campaign.render_sequence(frm);
	},
	send_on_tuesday(frm) {
		campaign.render_sequence(frm);
	},
	send_on_wednesday(frm) {
		campaign.render_sequence(frm);
	},
	send_on_thursday(frm) {
		campaign.render_sequence(frm);
	},
	send_on_friday(frm) {
		campaign.render_sequence(frm);
	},
	send_on_saturday(frm) {
		campaign.render_sequence(frm);
	},
	send_on_sunday(frm) {
		campaign.render_sequence(frm);
	},
});

frappe.ui.form.on("Campaign Email Schedule", {
	email_template: (frm) => campaign.render_sequence(frm),
	send_after_days: (frm) => campaign.render_sequence(frm),
	campaign_schedules_remove: (frm) => campaign.render_sequence(frm),
	condition: (frm) => campaign.render_sequence(frm),
	condition_after_days: (frm) => campaign.render_sequence(frm),
	variant_of: (frm) => campaign.render_sequence(frm),
	test_share: (frm) => campaign.render_sequence(frm),
	winner_by: (frm) => campaign.render_sequence(frm),
	condition_template(frm, cdt, cdn) {
		// the day of the earlier row that has this template (the latest, if several)
		const row = locals[cdt][cdn];
		const days = campaign
			.earlier_rows(frm, row)
			.filter((earlier) => earlier.email_template === row.condition_template)
			.map((earlier) => cint(earlier.send_after_days));
		if (days.length) {
			frappe.model.set_value(cdt, cdn, "condition_after_days", Math.max(...days));
		}
		campaign.render_sequence(frm);
	},
});

frappe.ui.form.on("Campaign Enrolment Rule", {
	set_filters(frm, cdt, cdn) {
		campaign.edit_rule_filters(locals[cdt][cdn]);
	},

	document_type(frm, cdt, cdn) {
		frappe.model.set_value(cdt, cdn, "filters_json", "[]"); // a Lead's filters mean nothing to a Contact
	},
});

const campaign = {
	WEEKDAYS: [
		["send_on_monday", "Monday"],
		["send_on_tuesday", "Tuesday"],
		["send_on_wednesday", "Wednesday"],
		["send_on_thursday", "Thursday"],
		["send_on_friday", "Friday"],
		["send_on_saturday", "Saturday"],
		["send_on_sunday", "Sunday"],
	],

	// the rows of the schedule on a day before `row`'s: the steps its condition may be on
	earlier_rows(frm, row) {
		return (frm.doc.campaign_schedules || []).filter(
			(earlier) => earlier.email_template && cint(earlier.send_after_days) < cint(row.send_after_days)
		);
	},

	// "Only if Clicked: Welcome, day 0" under a conditional row's template (escaped: names are typed)
	// "A/B variant of X" under a variant; "A/B test: 20 % tested, winner by Clicks" under its step
	variant_line(frm, row) {
		if (row.variant_of) {
			return `<div class="campaign-sequence-variant small">${__("A/B variant of {0}", [
				frappe.utils.escape_html(row.variant_of),
			])}</div>`;
		}
		const tested = (frm.doc.campaign_schedules || []).some(
			(other) =>
				other.variant_of === row.email_template &&
				cint(other.send_after_days) === cint(row.send_after_days)
		);
		if (!tested) return "";
		return `<div class="campaign-sequence-variant small">${__("A/B test: {0} % tested, winner by {1}", [
			flt(row.test_share),
			frappe.utils.escape_html(__(row.winner_by || "Clicks")),
		])}</div>`;
	},

	condition_of(row) {
		if (!row.condition || row.condition === "Always") {
			return "";
		}
		const condition = frappe.utils.escape_html(__(row.condition));
		const text = row.condition_template
			? __("Only if {0}: {1}, day {2}", [
					condition,
					frappe.utils.escape_html(row.condition_template),
					cint(row.condition_after_days),
			  ])
			: __("Only if {0}: the previous step", [condition]);
		return `<div class="campaign-sequence-condition small">${text}</div>`;
	},

	// "Day 0 → Day 2 → Day 5", each day with its Email Templates (business days when counted so)
	// and each row's condition
	render_sequence(frm) {
		const $wrapper = frm.get_field("sequence_html").$wrapper;
		const by_day = new Map();
		(frm.doc.campaign_schedules || [])
			.filter((row) => row.email_template && row.send_after_days != null)
			.sort((a, b) => a.send_after_days - b.send_after_days)
			.forEach((row) => {
				const day = cint(row.send_after_days);
				by_day.set(day, [...(by_day.get(day) || []), row]);
			});
		if (!by_day.size) {
			$wrapper.html(
				`<p class="campaign-sequence-empty text-muted small">${__(
					"Add the emails of the sequence above: each Email Template and the day it is sent."
				)}</p>`
			);
			return;
		}
		const business = cint(frm.doc.business_days);
		const steps = [...by_day].map(
			([day, rows]) => `<div class="campaign-sequence-step border rounded px-3 py-2">
				<div class="campaign-sequence-day font-weight-bold">${
					business ? __("Business day {0}", [day]) : __("Day {0}", [day])
				}</div>
				${rows
					.map(
						(row) =>
							`<div class="campaign-sequence-template text-muted small">${frappe.utils.escape_html(
								row.email_template
							)}</div>${campaign.condition_of(row)}${campaign.variant_line(frm, row)}`
					)
					.join("")}
			</div>`
		);
		const days = campaign.WEEKDAYS.filter(([fieldname]) => cint(frm.doc[fieldname])).map(([, day]) =>
			__(day)
		);
		const counted = business
			? `<p class="campaign-sequence-calendar text-muted small mt-2">${__(
					"Days are counted in business days: {0}.",
					[days.join(", ")]
			  )}</p>`
			: "";
		$wrapper.html(`<div class="campaign-sequence mb-3">
			<div class="campaign-sequence-steps d-flex flex-wrap align-items-center">
				${steps.join('<span class="campaign-sequence-arrow text-muted mx-2">→</span>')}
			</div>${counted}
		</div>`);
	},

	// Frappe's own filter UI (as on a list), for the Leads or Contacts the rule enrols
	edit_rule_filters(rule) {
		let filter_group;
		const dialog = new frappe.ui.Dialog({
			title: __("Filters of enrolment rule {0}", [rule.idx]),
			fields: [
				{ fieldname: "filter_area", fieldtype: "HTML" },
				{
					fieldname: "help",
					fieldtype: "HTML",
					options: `<p class="text-muted small">${__(
						"No filter: every new {0} is enrolled.",
						[__(rule.document_type)]
					)}</p>`,
				},
			],
			primary_action_label: __("Set Filters"),
			primary_action() {
				frappe.model.set_value(
					rule.doctype,
					rule.name,
					"filters_json",
					JSON.stringify(filter_group.get_filters())
				);
				dialog.hide();
			},
		});
		frappe.model.with_doctype(rule.document_type, () => {
			filter_group = new frappe.ui.FilterGroup({
				parent: dialog.get_field("filter_area").$wrapper,
				doctype: rule.document_type,
				on_change: () => {},
			});
			filter_group.add_filters_to_filter_group(campaign.stored_filters(rule));
			dialog.show();
		});
	},

	// each A/B test of the schedule: its step, when it started, its winner and its figures
	async render_tests(frm) {
		const tests = await frappe.db.get_list("Campaign Variant Test", {
			filters: { campaign: frm.doc.name },
			fields: ["email_template", "send_after_days", "started_on", "winner", "winner_by", "decided_on", "figures"],
			order_by: "send_after_days asc",
		});
		if (!tests.length) return;
		const esc = frappe.utils.escape_html;
		const items = tests.map((test) => {
			const step = __("Day {0}: {1}", [test.send_after_days, esc(test.email_template)]);
			const state = test.winner
				? __("Winner: {0} (by {1}), decided on {2}", [
						`<b>${esc(test.winner)}</b>`,
						esc(__(test.winner_by)),
						frappe.datetime.str_to_user(test.decided_on),
				  ])
				: __("Testing since {0}", [frappe.datetime.str_to_user(test.started_on)]);
			const figures = Object.entries(campaign.parsed(test.figures))
				.map(
					([variant, f]) => `<div class="text-muted small">${__(
						"{0}: {1} delivered, {2} opened, {3} clicked, {4} replied",
						[esc(variant), cint(f.delivered), cint(f.opened), cint(f.clicked), cint(f.replied)]
					)}</div>`
				)
				.join("");
			return `<div class="mb-2"><div>${step} · ${state}</div>${figures}</div>`;
		});
		frm.dashboard.add_section(items.join(""), __("A/B Tests"));
	},

	parsed(json) {
		try {
			const value = typeof json === "string" ? JSON.parse(json || "{}") : json;
			return value && typeof value === "object" ? value : {};
		} catch (e) {
			return {};
		}
	},

	stored_filters(rule) {
		try {
			const filters = JSON.parse(rule.filters_json || "[]");
			return Array.isArray(filters) ? filters : [];
		} catch (e) {
			return [];
		}
	},
};
