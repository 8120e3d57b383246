// The documented Desk path, as a user clicks it: a Campaign with two steps, an Email Campaign
// from the Campaign dashboard's "+", its preview, and its status colour in the list.
// Needs a running site: BASE_URL (default http://127.0.0.1:8000), ADMIN_PASSWORD (default admin),
// CHROMIUM (default /usr/bin/chromium); BENCH_DIR and SITE to run the daily job and a worker.
const { test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const { chromium } = require("playwright-core");
const { execFileSync } = require("node:child_process");

const BASE_URL = process.env.BASE_URL || "http://127.0.0.1:8000";
const SCREENSHOTS = process.env.SCREENSHOTS;
const suffix = Date.now().toString(36);
let browser, page;

before(async () => {
	browser = await chromium.launch({
		executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
		args: [
			"--no-sandbox",
			"--disable-gpu",
			"--disable-background-networking",
			"--disable-component-update",
			"--disable-sync",
			"--no-first-run",
		],
	});
	page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
	page.setDefaultTimeout(20000);
});

after(async () => browser && browser.close());

async function shot(name) {
	await shot_of(page, name);
}

// The README's and the user guide's screenshots (docs/screenshots), when SCREENSHOTS names a folder
async function shot_of(on_page, name) {
	if (SCREENSHOTS) await on_page.screenshot({ path: `${SCREENSHOTS}/${name}.png`, fullPage: true });
}

async function save() {
	await page.keyboard.press("Control+s");
	const saved = page.waitForFunction(
		() => window.cur_frm && !cur_frm.is_new() && !cur_frm.is_dirty()
	);
	const refused = page
		.locator(".msgprint:visible")
		.first()
		.waitFor()
		.then(async () => {
			throw new Error(
				`save refused: ${await page.locator(".msgprint:visible").first().innerText()}`
			);
		});
	await Promise.race([saved, refused]);
}

async function pick_link(input, value) {
	await input.click();
	await input.fill(value);
	const option = page
		.locator('ul[role="listbox"]:visible [role="option"]', { hasText: value })
		.first();
	await option.waitFor({ state: "visible" });
	await option.click();
}

async function call(method, args) {
	return page.evaluate(
		({ method, args }) => frappe.call({ method, args }).then((r) => r.message),
		{ method, args }
	);
}

// What a person reads on a Campaign form, top to bottom: how many times the schedule is
// titled, whether it comes before the description, and its picture ("Day 0 · Welcome → Day 3 · …")
async function read_campaign_form(on_page) {
	await on_page.locator(".campaign-sequence-day").first().waitFor();
	const form = await on_page.evaluate(() => {
		const layout = cur_frm.layout.wrapper[0];
		const top = (selector) => layout.querySelector(selector).getBoundingClientRect().top;
		const texts = (selector) =>
			[...layout.querySelectorAll(selector)].map((el) => el.innerText.trim());
		const steps = [...layout.querySelectorAll(".campaign-sequence-step")].map((step) =>
			[
				step.querySelector(".campaign-sequence-day"),
				...step.querySelectorAll(".campaign-sequence-template"),
			]
				.map((el) => el.innerText.trim())
				.join(" · ")
		);
		return {
			lines: layout.innerText.split("\n").map((line) => line.trim()),
			schedule_before_description:
				top('[data-fieldname="campaign_schedules"]') <
				top('.form-section[data-fieldname="more_information_section"]'),
			picture_under_schedule:
				top(".campaign-sequence") > top('[data-fieldname="campaign_schedules"] .form-grid'),
			steps,
			arrows: texts(".campaign-sequence-arrow"),
			conditions: texts(".campaign-sequence-condition"), // "Only if Clicked: …"
			calendar: texts(".campaign-sequence-calendar").join(""),
			// what the description shows, when it is shown (typed in, or read only)
			description: (() => {
				const control = layout.querySelector('.frappe-control[data-fieldname="description"]');
				if (!control || control.offsetParent === null) return null;
				const input = control.querySelector("textarea");
				if (input && input.offsetParent !== null) return input.value.trim();
				return control.querySelector(".control-value").innerText.trim();
			})(),
		};
	});
	assert.ok(form.picture_under_schedule, "the picture sits under the schedule's table");
	assert.deepEqual(form.arrows, Array(form.steps.length - 1).fill("→"), "one arrow between days");
	return {
		...form,
		schedule_titles: (title) => form.lines.filter((line) => line === title).length,
		sequence: form.steps.join(" → "),
	};
}

test("a user builds a campaign and an email campaign from the Desk", async () => {
	await page.goto(`${BASE_URL}/login`);
	await page.fill("#login_email", "Administrator");
	await page.fill("#login_password", process.env.ADMIN_PASSWORD || "admin");
	await page.click(".btn-login");
	// the app's tile (add_to_apps_screen) is where a login lands when it is the site's only app
	// (v16 redirects /app/... to /desk/...)
	await page.waitForURL(/\/(app|desk)\/crm/);
	const logo = "/assets/email_campaign_app/images/logo.svg";
	assert.equal(
		await page.evaluate(() => frappe.boot.app_logo_url),
		logo,
		"the Desk shows the app's logo"
	);
	await page.locator(".widget.shortcut-widget-box").first().waitFor();
	await shot("workspace");
	const served = await page.request.get(`${BASE_URL}${logo}`);
	assert.equal(served.status(), 200);
	assert.match(served.headers()["content-type"], /svg/);

	// what the campaign needs: two Email Templates and a Lead
	const templates = [`Welcome ${suffix}`, `Follow-up ${suffix}`];
	for (const [i, name] of templates.entries()) {
		await call("frappe.client.insert", {
			doc: {
				doctype: "Email Template",
				name,
				subject: `Step ${i + 1} for {{ doc.first_name }}`,
				response: `<p>Hello {{ doc.first_name }}</p>`,
			},
		});
	}
	const lead = await call("frappe.client.insert", {
		doc: {
			doctype: "Lead",
			first_name: "Ada",
			last_name: `Browser ${suffix}`,
			email_id: `ada.${suffix}@example.com`,
		},
	});

	// the Campaign, with its schedule typed into the grid
	await page.goto(`${BASE_URL}/app/campaign/new`);
	await page.locator('input[data-fieldname="campaign_name"]').fill(`Launch ${suffix}`);
	for (const [i, [template, days]] of [
		[templates[1], 3],
		[templates[0], 0],
	].entries()) {
		await page.click('[data-fieldname="campaign_schedules"] .grid-add-row');
		const row = page.locator(
			`[data-fieldname="campaign_schedules"] .grid-row[data-idx="${i + 1}"]`
		);
		await row.locator('[data-fieldname="email_template"]').first().click();
		await pick_link(row.locator('input[data-fieldname="email_template"]'), template);
		await row.locator('[data-fieldname="send_after_days"]').first().click();
		await row.locator('input[data-fieldname="send_after_days"]').fill(String(days));
	}
	// the picture follows the grid as it is typed (once the field is left), in day order, unsaved
	await page.locator('input[data-fieldname="campaign_name"]').click();
	const typed = () =>
		page.evaluate(() =>
			[...cur_frm.layout.wrapper[0].querySelectorAll(".campaign-sequence-step")]
				.map((step) => step.innerText.replace(/\s+/g, " ").trim())
				.join(" → ")
		);
	const expected = `Day 0 ${templates[0]} → Day 3 ${templates[1]}`;
	await page
		.waitForFunction(
			(expected) =>
				[...cur_frm.layout.wrapper[0].querySelectorAll(".campaign-sequence-step")]
					.map((step) => step.innerText.replace(/\s+/g, " ").trim())
					.join(" → ") === expected,
			expected,
			{ timeout: 5000 }
		)
		.catch(async () => assert.equal(await typed(), expected, "the picture as typed"));
	await save();
	const campaign = await page.evaluate(() => cur_frm.doc);
	assert.deepEqual(
		campaign.campaign_schedules.map((r) => r.send_after_days),
		[0, 3],
		"schedule sorted by day"
	);
	// the schedule first, titled once, and its picture: Day 0 → Day 3
	const form = await read_campaign_form(page);
	assert.equal(form.schedule_titles("Campaign Schedules"), 1, "one Campaign Schedules title");
	assert.ok(form.schedule_before_description, "the schedule comes before the description");
	assert.equal(form.sequence, `Day 0 · ${templates[0]} → Day 3 · ${templates[1]}`);

	// the dashboard's "+" beside Email Campaign opens a new Email Campaign for this Campaign
	await page.click('.form-dashboard .document-link[data-doctype="Email Campaign"] .btn-new');
	await page.waitForURL(/\/app\/email-campaign\/new/);
	await page.waitForFunction(
		(name) => cur_frm.doc.doctype === "Email Campaign" && cur_frm.doc.campaign_name === name,
		campaign.name
	);
	await pick_link(page.locator('input[data-fieldname="recipient"]'), lead.name);
	await save();
	const email_campaign = await page.evaluate(() => cur_frm.doc);
	assert.equal(email_campaign.status, "In Progress");
	assert.equal(
		email_campaign.end_date,
		await page.evaluate(() => frappe.datetime.add_days(frappe.datetime.get_today(), 3))
	);
	await page.waitForSelector(".email-campaign-schedule tbody tr");
	assert.equal(await page.locator(".email-campaign-schedule tbody tr").count(), 2);
	await shot("email_campaign_form");

	// Preview shows each step rendered for the Lead
	await page.click("button:has-text('Preview')");
	const preview = page.locator(".modal:visible .email-campaign-preview");
	await preview.first().waitFor();
	assert.equal(await preview.count(), 2);
	assert.match(await preview.first().innerText(), /Step 1 for Ada/);
	await shot("preview");
	await page.keyboard.press("Escape");

	// the list shows the status in colour
	await page.goto(
		`${BASE_URL}/app/email-campaign?campaign_name=${encodeURIComponent(campaign.name)}`
	);
	const pill = page
		.locator(".list-row-container .indicator-pill", { hasText: "In Progress" })
		.first();
	await pill.waitFor();
	assert.match(await pill.getAttribute("class"), /\borange\b/);
	await shot("email_campaign_list");
});

test("a Sales User adds Leads to an Email Campaign from the Lead list", async () => {
	// what the Sales Manager prepared: a Campaign, and a Sales User to work with it
	const template = `Bulk ${suffix}`;
	await call("frappe.client.insert", {
		doc: {
			doctype: "Email Template",
			name: template,
			subject: "Hello {{ doc.first_name }}",
			response: "<p>Hello</p>",
		},
	});
	const campaign = await call("frappe.client.insert", {
		doc: {
			doctype: "Campaign",
			campaign_name: `Bulk ${suffix}`,
			campaign_schedules: [{ email_template: template, send_after_days: 0 }],
		},
	});
	const sales_user = {
		email: `sales.${suffix}@example.com`,
		password: `Sales-${suffix}-Pw!2026`,
	};
	await call("frappe.client.insert", {
		doc: {
			doctype: "User",
			email: sales_user.email,
			first_name: "Sales",
			new_password: sales_user.password,
			send_welcome_email: 0,
			roles: [{ role: "Sales User" }],
		},
	});
	const company_name = `Bulk Leads ${suffix}`;
	const leads = [];
	for (const [i, email_id] of ["ada", "grace", "alan", ""].entries()) {
		const doc = {
			doctype: "Lead",
			first_name: `Lead${i}`,
			company_name,
			email_id: email_id && `${email_id}.${suffix}@example.com`,
		};
		leads.push(await call("frappe.client.insert", { doc }));
	}
	const without_email = leads[3];

	// the Sales User, in a browser of their own
	const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
	const user_page = await context.newPage();
	user_page.setDefaultTimeout(20000);
	try {
		await user_page.goto(`${BASE_URL}/login`);
		await user_page.fill("#login_email", sales_user.email);
		await user_page.fill("#login_password", sales_user.password);
		await user_page.click(".btn-login");
		await user_page.waitForURL(/\/(app|desk)/);

		await user_page.goto(
			`${BASE_URL}/app/lead?company_name=${encodeURIComponent(company_name)}`
		);
		const rows = user_page.locator(".list-row-container .list-row-checkbox");
		await user_page.waitForFunction(
			() => document.querySelectorAll(".list-row-container .list-row-checkbox").length === 4
		);
		for (let i = 0; i < 4; i++) await rows.nth(i).check();
		await user_page.click(".actions-btn-group > button");
		await user_page.click(".actions-btn-group .dropdown-menu :text('Add to Email Campaign')");

		const dialog = user_page.locator(".modal:visible");
		await dialog.locator('input[data-fieldname="campaign_name"]').click();
		await dialog.locator('input[data-fieldname="campaign_name"]').fill(campaign.name);
		const option = user_page
			.locator('ul[role="listbox"]:visible [role="option"]', { hasText: campaign.name })
			.first();
		await option.waitFor({ state: "visible" });
		await option.click();
		assert.equal(
			await dialog.locator('input[data-fieldname="sender"]').count(),
			0,
			"a Sales User cannot choose another sender"
		);
		await dialog.locator(".btn-primary", { hasText: "Add 4 records" }).click();

		const summary = user_page.locator(".msgprint .email-campaign-enrolment-summary");
		await summary.waitFor();
		const text = await summary.innerText();
		assert.match(text, /3 Email Campaigns created/);
		assert.match(text, /Skipped, no email address: Lead3\b/, "the Lead by its name");
		assert.ok(!text.includes(without_email.name), "not by its ID");
		assert.match(text, /The first email leaves on /);
		if (SCREENSHOTS) {
			await user_page.waitForTimeout(500); // the dialog's fade-in
			await user_page.screenshot({ path: `${SCREENSHOTS}/bulk_enrolment.png` });
		}
		await user_page.keyboard.press("Escape");

		// the Lead's form counts its Email Campaign in the dashboard
		await user_page.goto(`${BASE_URL}/app/lead/${leads[0].name}`);
		const link = user_page.locator(
			'.form-dashboard .document-link[data-doctype="Email Campaign"] .count'
		);
		await user_page.waitForFunction(
			() =>
				document
					.querySelector(
						'.form-dashboard .document-link[data-doctype="Email Campaign"] .count'
					)
					?.innerText.trim() === "1"
		);
		assert.equal((await link.innerText()).trim(), "1");

		await user_page.goto(
			`${BASE_URL}/app/email-campaign?campaign_name=${encodeURIComponent(campaign.name)}`
		);
		await user_page.waitForFunction(
			() => document.querySelectorAll(".list-row-container").length === 3
		);
		const email_campaigns = await user_page.evaluate(
			(campaign_name) =>
				frappe.db.get_list("Email Campaign", {
					filters: { campaign_name },
					fields: ["recipient", "sender"],
				}),
			campaign.name
		);
		assert.deepEqual(
			email_campaigns.map((e) => e.recipient).sort(),
			leads
				.slice(0, 3)
				.map((l) => l.name)
				.sort()
		);
		assert.ok(
			email_campaigns.every((e) => e.sender === sales_user.email),
			"the Sales User sends as themselves"
		);
	} finally {
		await context.close();
	}
});

// A Sales User of their own, in a browser of their own, in their language and time zone.
async function sales_user_page({ language, time_zone, first_name }) {
	const user = {
		email: `${first_name.toLowerCase()}.${suffix}@example.com`,
		password: `Sales-${suffix}-Pw!2026`,
	};
	await call("frappe.client.insert", {
		doc: {
			doctype: "User",
			email: user.email,
			first_name,
			language,
			time_zone,
			new_password: user.password,
			send_welcome_email: 0,
			roles: [{ role: "Sales User" }],
		},
	});
	const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
	const user_page = await context.newPage();
	user_page.setDefaultTimeout(20000);
	await user_page.goto(`${BASE_URL}/login`);
	await user_page.fill("#login_email", user.email);
	await user_page.fill("#login_password", user.password);
	await user_page.click(".btn-login");
	await user_page.waitForURL(/\/(app|desk)/);
	return { user, context, user_page };
}

// "07-12-2026 14:30:12" (whatever the site's date format): the date and time a text shows
const DATETIME = /\d[\d./-]+\d \d{1,2}:\d{2}(:\d{2})?/;

test("a Sales User reads people by name, and notes at their time, in English and in French", async () => {
	const templates = ["Spring Welcome", "Case Study", "Last Call"].map((name) => `${name} ${suffix}`);
	const days = [0, 2, 5];
	// "Day 0 · Spring Welcome … → Day 2 · Case Study … → Day 5 · Last Call …", in a language's words
	const sequence = (day_word) =>
		templates.map((t, i) => `${day_word} ${days[i]} · ${t}`).join(" → ");
	for (const name of templates) {
		await call("frappe.client.insert", {
			doc: {
				doctype: "Email Template",
				name,
				subject: "Hello {{ doc.first_name }}",
				response: "<p>Hello {{ doc.first_name }}</p>",
			},
		});
	}
	// day 2 only to whoever clicked the previous step, day 5 to whoever did not click day 0's
	const conditions = [
		{},
		{ condition: "Clicked" },
		{ condition: "Not Clicked", condition_template: templates[0], condition_after_days: 0 },
	];
	const campaign = await call("frappe.client.insert", {
		doc: {
			doctype: "Campaign",
			campaign_name: `Spring ${suffix}`,
			description: "Three emails over a week for the Leads of the spring fair.",
			campaign_schedules: templates.map((email_template, i) => ({
				email_template,
				send_after_days: days[i],
				...conditions[i],
			})),
		},
	});
	// the same sequence counted in business days (Monday to Friday, the default)
	const business = await call("frappe.client.insert", {
		doc: {
			doctype: "Campaign",
			campaign_name: `Weekdays ${suffix}`,
			business_days: 1,
			campaign_schedules: templates.map((email_template, i) => ({
				email_template,
				send_after_days: days[i],
			})),
		},
	});
	// the Campaign form as its designer sees it: the schedule, its picture, the description below
	await page.goto(`${BASE_URL}/app/campaign/${encodeURIComponent(campaign.name)}`);
	const designed = await read_campaign_form(page);
	await shot("campaign_form");
	assert.equal(designed.sequence, sequence("Day"));
	assert.deepEqual(designed.conditions, [
		"Only if Clicked: the previous step",
		`Only if Not Clicked: ${templates[0]}, day 0`,
	]);
	assert.ok(designed.schedule_before_description, "the schedule comes before the description");
	assert.equal(
		designed.description,
		"Three emails over a week for the Leads of the spring fair.",
		"the description is shown, below"
	);
	const people = [];
	for (const [first_name, last_name] of [
		["Alice", "Martin"],
		["Denis", "Roy"],
	]) {
		people.push(
			await call("frappe.client.insert", {
				doc: {
					doctype: "Lead",
					first_name,
					last_name: `${last_name} ${suffix}`,
					email_id: `${first_name.toLowerCase()}.${suffix}@example.com`,
				},
			})
		);
	}

	// in English, six hours and a half from the site's time zone (Europe/Paris)
	const english = await sales_user_page({
		language: "en",
		time_zone: "Asia/Kolkata",
		first_name: "Emma",
	});
	const page_en = english.user_page;
	try {
		const today = await page_en.evaluate(() => frappe.datetime.get_today());
		const created = [];
		for (const lead of people) {
			created.push(
				await page_en.evaluate(
					(doc) => frappe.call("frappe.client.insert", { doc }).then((r) => r.message),
					{
						doctype: "Email Campaign",
						campaign_name: campaign.name,
						email_campaign_for: "Lead",
						recipient: lead.name,
						start_date: today,
						send_at: "23:30",
					}
				)
			);
		}

		// the list: each row titled by the person's name, no Lead ID in sight
		await page_en.goto(
			`${BASE_URL}/app/email-campaign?campaign_name=${encodeURIComponent(campaign.name)}`
		);
		await page_en.waitForFunction(
			() => document.querySelectorAll(".list-row-container").length === 2
		);
		const list = await page_en.locator(".result").innerText();
		for (const lead of people) {
			assert.ok(list.includes(`${lead.first_name} ${lead.last_name}`), `${lead.lead_name} by name`);
			assert.ok(!list.includes(lead.name), `not ${lead.name}`);
		}
		await shot_of(page_en, "email_campaign_list");

		// the Campaign, read by a Sales User: the days in order, one title for the schedule
		await page_en.goto(`${BASE_URL}/app/campaign/${encodeURIComponent(campaign.name)}`);
		const read_en = await read_campaign_form(page_en);
		assert.equal(read_en.sequence, sequence("Day"));
		assert.equal(read_en.schedule_titles("Campaign Schedules"), 1);
		assert.ok(read_en.schedule_before_description);
		await page_en.goto(`${BASE_URL}/app/campaign/${encodeURIComponent(business.name)}`);
		const weekdays_en = await read_campaign_form(page_en);
		assert.equal(weekdays_en.sequence, sequence("Business day"));
		assert.equal(
			weekdays_en.calendar,
			"Days are counted in business days: Monday, Tuesday, Wednesday, Thursday, Friday."
		);

		// the form: titled Alice Martin; its schedule shows the sequence day 0, 2, 5
		const alice = created[0];
		await page_en.goto(`${BASE_URL}/app/email-campaign/${alice.name}`);
		await page_en.waitForSelector(".email-campaign-schedule tbody tr");
		assert.equal(
			(await page_en.locator(".title-area .title-text").first().innerText()).trim(),
			`Alice Martin ${suffix}`
		);

		// Pause: the timeline's note and the Resume dialog show the same time, the reader's
		await page_en.click(".page-actions button:has-text('Pause')");
		await page_en.locator(".modal:visible .btn-primary").click();
		const note = page_en.locator(".timeline-item .email-campaign-note").first();
		await note.waitFor();
		const note_text = await note.innerText();
		assert.match(note_text, /Emma paused this Email Campaign on /);
		assert.ok(!/\b0 emails?\b/.test(note_text), "nothing withdrawn is not said");
		const paused_on = await page_en.evaluate(() =>
			frappe.datetime.str_to_user(cur_frm.doc.paused_on)
		);
		await page_en.click(".page-actions button:has-text('Resume')");
		const since = await page_en.locator(".modal:visible .help-box").first().innerText();
		assert.equal(since.match(DATETIME)[0], note_text.match(DATETIME)[0], "the dialog and the note agree");
		assert.equal(paused_on.match(DATETIME)[0], note_text.match(DATETIME)[0], "so does Paused On");
		await page_en.locator(".modal:visible .btn-primary").click();
		await page_en
			.locator(".timeline-item .email-campaign-note", { hasText: "resumed this Email Campaign" })
			.first()
			.waitFor();
		await shot_of(page_en, "email_campaign_form"); // the schedule, and the notes on the timeline

		// the report: per step, the rates a marketer reads
		await page_en.goto(
			`${BASE_URL}/app/query-report/Email Campaign Performance?campaign_name=${encodeURIComponent(
				campaign.name
			)}`
		);
		await page_en.locator(".dt-cell__content", { hasText: "Open Rate" }).first().waitFor();
		for (const rate of ["Click Rate", "Reply Rate", "Unsubscribe Rate"]) {
			assert.equal(
				await page_en.locator(".dt-cell__content", { hasText: rate }).count() > 0,
				true,
				rate
			);
		}
		// a step that sent nothing yet is shown
		await page_en.locator(".dt-row .dt-cell__content", { hasText: templates[2] }).first().waitFor();
		await shot_of(page_en, "performance_report");
	} finally {
		await english.context.close();
	}

	// in French, in New York: the same notes, told in French
	const french = await sales_user_page({
		language: "fr",
		time_zone: "America/New_York",
		first_name: "Louise",
	});
	try {
		const page_fr = french.user_page;
		// the Campaign in French: "Jour 0 → Jour 2 → Jour 5", in business days "Jour ouvré …"
		await page_fr.goto(`${BASE_URL}/app/campaign/${encodeURIComponent(campaign.name)}`);
		const read_fr = await read_campaign_form(page_fr);
		assert.equal(read_fr.sequence, sequence("Jour"));
		assert.deepEqual(read_fr.conditions, [
			"Seulement si Cliqué : l'étape précédente",
			`Seulement si Non cliqué : ${templates[0]}, jour 0`,
		]);
		assert.equal(read_fr.schedule_titles("Calendrier de la campagne"), 1);
		assert.equal(read_fr.schedule_titles("Campaign Schedules"), 0);
		assert.ok(read_fr.schedule_before_description);
		await page_fr.goto(`${BASE_URL}/app/campaign/${encodeURIComponent(business.name)}`);
		const weekdays_fr = await read_campaign_form(page_fr);
		assert.equal(weekdays_fr.sequence, sequence("Jour ouvré"));
		assert.equal(
			weekdays_fr.calendar,
			"Les jours sont comptés en jours ouvrés : Lundi, Mardi, Mercredi, Jeudi, Vendredi."
		);
		const alice = await page_fr.evaluate(
			(filters) =>
				frappe.db.get_list("Email Campaign", { filters, fields: ["name"] }).then((r) => r[0]),
			{ campaign_name: campaign.name, recipient: people[0].name }
		);
		await page_fr.goto(`${BASE_URL}/app/email-campaign/${alice.name}`);
		const notes = page_fr.locator(".timeline-item .email-campaign-note");
		await notes.first().waitFor();
		const told = (await notes.allInnerTexts()).join("\n");
		assert.match(told, /Emma a mis cette campagne e-mail en pause le /);
		assert.match(told, /Emma a repris cette campagne e-mail le /);
		assert.ok(!/paused|resumed/.test(told), `no English in a French timeline: ${told}`);
		await page_fr.goto(
			`${BASE_URL}/app/query-report/Email Campaign Performance?campaign_name=${encodeURIComponent(
				campaign.name
			)}`
		);
		await page_fr.locator(".dt-cell__content", { hasText: "Taux d'ouverture" }).first().waitFor();
	} finally {
		await french.context.close();
	}
});

// The daily job and a worker that runs what it queued, as the scheduler and RQ would.
function run_daily_job() {
	const bench = { cwd: process.env.BENCH_DIR, stdio: "pipe", timeout: 180000 };
	execFileSync("bench", ["--site", process.env.SITE, "execute", "email_campaign_app.tasks.daily"], bench);
	execFileSync("bench", ["--site", process.env.SITE, "worker", "--queue", "long", "--burst"], bench);
}

// An email in Error is retried the next day: its attempt moves back a day, and its Email
// Campaign is looked at again.
function as_if_a_day_passed(email_campaign) {
	const bench = { cwd: process.env.BENCH_DIR, stdio: "pipe", timeout: 180000 };
	const execute = (method, args) =>
		execFileSync(
			"bench",
			["--site", process.env.SITE, "execute", method, ...(args ? ["--args", JSON.stringify(args)] : [])],
			bench,
		);
	execute("frappe.db.set_value", [
		"Email Campaign Send Log",
		{ email_campaign, status: "Error" },
		"queued_on",
		"2000-01-01",
	]);
	execute("email_campaign_app.sending.dispatcher.dispatch_again_today");
}

// What runs or covers the page if the app lets markup through (security review, findings 1-3).
async function injected(on_page) {
	return on_page.evaluate(() => ({
		handler_ran: window.__xss || null,
		covering_links: document.querySelectorAll('a[href*="attacker.example"]').length,
	}));
}

test("nothing a user typed runs in an Administrator's browser", { skip: !process.env.BENCH_DIR }, async () => {
	const hostile = `Hostile ${suffix}`;
	const failing = `Failing ${suffix}`;
	await call("frappe.client.insert", {
		doc: {
			doctype: "Email Template",
			name: hostile,
			subject: '{{ "\\x3cimg src=x onerror=window.__xss=2\\x3e" }} Welcome {{ doc.first_name }}',
			response: '<p>Hello {{ doc.first_name }}</p><img src=x onerror="window.__xss=1">',
		},
	});
	await call("frappe.client.insert", {
		doc: {
			doctype: "Email Template",
			name: failing,
			subject: "Soon",
			response: "<p>{{ getdate('<img src=x onerror=window.__xss=3>') }}</p>",
		},
	});
	const lead = await call("frappe.client.insert", {
		doc: {
			doctype: "Lead",
			first_name:
				'<a href="https://attacker.example/login" style="position:fixed;top:0;left:0;width:100%;height:100%">Sign in</a>',
			email_id: `cover.${suffix}@example.com`,
		},
	});
	const campaign = await call("frappe.client.insert", {
		doc: {
			doctype: "Campaign",
			campaign_name: `Hostile ${suffix}`,
			campaign_schedules: [
				{ email_template: hostile, send_after_days: 0 },
				{ email_template: failing, send_after_days: 0 },
			],
		},
	});
	const today = await page.evaluate(() => frappe.datetime.get_today());
	const email_campaign = await call("frappe.client.insert", {
		doc: {
			doctype: "Email Campaign",
			campaign_name: campaign.name,
			email_campaign_for: "Lead",
			recipient: lead.name,
			sender: "Administrator",
			start_date: today,
			send_at: "00:00", // due as soon as the test runs, whatever the time of day
		},
	});
	for (let day = 0; day < 3; day++) {
		run_daily_job(); // the failing step: an error a day, Failed after the third
		as_if_a_day_passed(email_campaign.name);
	}

	await page.goto(`${BASE_URL}/app/email-campaign/${email_campaign.name}`);
	const sent = page.locator(".timeline-item", { hasText: "Welcome" }).first();
	await sent.waitFor();
	await page.waitForTimeout(1000); // images load, handlers would have run
	assert.deepEqual(await injected(page), { handler_ran: null, covering_links: 0 });

	await page.goto(`${BASE_URL}/app/lead/${lead.name}`);
	await page.locator(".timeline-item", { hasText: "Welcome" }).first().waitFor();
	await page.waitForTimeout(1000);
	assert.deepEqual(await injected(page), { handler_ran: null, covering_links: 0 });

	await page.goto(
		`${BASE_URL}/app/query-report/Email Campaign Performance?campaign_name=${encodeURIComponent(
			campaign.name
		)}`
	);
	await page.locator(".dt-cell__content", { hasText: "is not a valid date string" }).first().waitFor();
	await page.waitForTimeout(1000);
	assert.deepEqual(await injected(page), { handler_ran: null, covering_links: 0 });
});

test("a Campaign with an A/B test tells its variants, its test and its winner", async () => {
	const [a, b] = [`Subject A ${suffix}`, `Subject B ${suffix}`];
	for (const name of [a, b]) {
		await call("frappe.client.insert", {
			doc: { doctype: "Email Template", name, subject: name, response: "<p>Hello {{ doc.first_name }}</p>" },
		});
	}
	const campaign = await call("frappe.client.insert", {
		doc: {
			doctype: "Campaign",
			campaign_name: `A/B ${suffix}`,
			track_clicks: 1,
			campaign_schedules: [
				{ email_template: a, send_after_days: 0, test_share: 20, winner_by: "Clicks", decision_hours: 4 },
				{ email_template: b, send_after_days: 0, variant_of: a },
			],
		},
	});
	// what the planner records once the test is decided (tier 2 proves how it gets there)
	const figures = { delivered: 20, opened: 0, clicked: 3, replied: 0 };
	await call("frappe.client.insert", {
		doc: {
			doctype: "Campaign Variant Test",
			campaign: campaign.name,
			email_template: a,
			send_after_days: 0,
			started_on: "2026-12-01 09:30:00",
			winner: b,
			winner_by: "Clicks",
			decided_on: "2026-12-01 13:30:00",
			figures: JSON.stringify({ [a]: { ...figures, clicked: 1 }, [b]: figures }),
		},
	});

	await page.goto(`${BASE_URL}/app/campaign/${encodeURIComponent(campaign.name)}`);
	await page.locator(".campaign-sequence-variant").first().waitFor();
	const told = await page.evaluate(() =>
		[...cur_frm.layout.wrapper[0].querySelectorAll(".campaign-sequence-variant")].map((el) =>
			el.innerText.trim()
		)
	);
	assert.deepEqual(told, ["A/B test: 20 % tested, winner by Clicks", `A/B variant of ${a}`]);
	const section = page.locator(".form-dashboard-section", { hasText: "A/B Tests" });
	await section.waitFor();
	const tests = (await section.innerText()).replace(/\s+/g, " ");
	assert.match(tests, new RegExp(`Winner: ${b} \\(by Clicks\\)`));
	assert.match(tests, new RegExp(`${b}: 20 delivered, 0 opened, 3 clicked, 0 replied`));
	await shot("campaign_ab_test");

	// the step's row opens on its A/B Test section; a variant's row has none
	const open_row = async (idx) => {
		await page.click(`[data-fieldname="campaign_schedules"] .grid-row[data-idx="${idx}"] .btn-open-row`);
		const form = page.locator(".grid-row-open");
		await form.waitFor();
		const shown = await form.locator('[data-fieldname="test_share"]').first().isVisible();
		await page.keyboard.press("Escape");
		await form.waitFor({ state: "detached" }).catch(() => {});
		return shown;
	};
	assert.equal(await open_row(1), true, "the step's row shows its test share");
	assert.equal(await open_row(2), false, "a variant's row has no test of its own");
});
