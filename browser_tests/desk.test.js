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
	if (SCREENSHOTS) await page.screenshot({ path: `${SCREENSHOTS}/${name}.png`, fullPage: true });
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
	await save();
	const campaign = await page.evaluate(() => cur_frm.doc);
	assert.deepEqual(
		campaign.campaign_schedules.map((r) => r.send_after_days),
		[0, 3],
		"schedule sorted by day"
	);

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
		await dialog.locator(".btn-primary", { hasText: "Add 4 record(s)" }).click();

		const summary = user_page.locator(".msgprint .email-campaign-enrolment-summary");
		await summary.waitFor();
		const text = await summary.innerText();
		assert.match(text, /3 Email Campaign\(s\) created/);
		assert.match(text, new RegExp(`Skipped, no email address: ${without_email.name}`));
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
