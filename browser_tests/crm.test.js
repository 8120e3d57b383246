// Frappe CRM's interface (/crm), as a Sales User uses it: select two leads in the leads list,
// add them to a Campaign with the action this app installs (a CRM Form Script), and, after the
// daily run, find the campaign email in a lead's history; on the lead, its Email Campaigns.
// Needs a running site with Frappe CRM installed and its interface built: BASE_URL,
// ADMIN_PASSWORD (default admin), CHROMIUM (default /usr/bin/chromium); BENCH_DIR and SITE to
// run the daily job and a worker; SCREENSHOTS, a folder for the README's screenshots.
const { test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const { chromium } = require("playwright-core");
const { execFileSync } = require("node:child_process");

const BASE_URL = process.env.BASE_URL || "http://127.0.0.1:8000";
const SCREENSHOTS = process.env.SCREENSHOTS;
const suffix = Date.now().toString(36);
let browser, admin;

before(async () => {
	browser = await chromium.launch({
		executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
		args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
	});
	admin = await login("Administrator", process.env.ADMIN_PASSWORD || "admin");
});

after(async () => browser && browser.close());

// A browser context logged in as `user` (through the API: the login page is the Desk's)
async function login(user, password) {
	const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
	const response = await context.request.post(`${BASE_URL}/api/method/login`, {
		form: { usr: user, pwd: password },
	});
	assert.equal(response.status(), 200, `${user} logs in`);
	return context;
}

async function call(context, method, args) {
	const response = await context.request.post(`${BASE_URL}/api/method/${method}`, {
		data: args || {},
	});
	const body = await response.json();
	assert.equal(response.status(), 200, `${method}: ${JSON.stringify(body).slice(0, 500)}`);
	return body.message;
}

async function shot(page, name) {
	if (SCREENSHOTS) await page.screenshot({ path: `${SCREENSHOTS}/${name}.png` });
}

// The daily job and a worker that runs what it queued, as the scheduler and RQ would.
function run_daily_job() {
	const bench = { cwd: process.env.BENCH_DIR, stdio: "pipe", timeout: 180000 };
	execFileSync("bench", ["--site", process.env.SITE, "execute", "email_campaign_app.tasks.daily"], bench);
	execFileSync("bench", ["--site", process.env.SITE, "worker", "--queue", "long", "--burst"], bench);
}

async function close_getting_started(page) {
	// Frappe CRM opens its onboarding panel on a fresh site: closed with its own button (the
	// last one in the panel's header), out of the way of the screenshots
	await page.getByText("Leads", { exact: true }).first().waitFor();
	await page.waitForTimeout(1000);
	await page.evaluate(() => {
		const heading = [...document.querySelectorAll("*")].find(
			(e) => !e.children.length && e.textContent.trim() === "Getting started" && e.getBoundingClientRect().x > 700
		);
		let box = heading && heading.parentElement;
		while (box && box.querySelectorAll("button").length < 2) box = box.parentElement;
		if (box) [...box.querySelectorAll("button")].pop().click();
	});
}

test("a Sales User adds two CRM Leads to a Campaign from /crm and finds the email in a lead's history", async () => {
	// what the Sales Manager prepared: a Campaign, and a Sales User with two leads of their own
	const template = `CRM ${suffix}`;
	await call(admin, "frappe.client.insert", {
		doc: {
			doctype: "Email Template",
			name: template,
			subject: `Hello {{ doc.first_name }} (${suffix})`,
			response: "<p>Dear {{ doc.first_name }}, here is our offer.</p>",
		},
	});
	await call(admin, "frappe.client.insert", {
		doc: {
			doctype: "Email Template",
			name: `${template} follow-up`,
			subject: "Still interested, {{ doc.first_name }}?",
			response: "<p>Dear {{ doc.first_name }}, a word about our offer.</p>",
		},
	});
	const campaign = await call(admin, "frappe.client.insert", {
		doc: {
			doctype: "Campaign",
			campaign_name: `Welcome ${suffix}`,
			campaign_schedules: [
				{ email_template: template, send_after_days: 0 },
				{ email_template: `${template} follow-up`, send_after_days: 3 },
			],
		},
	});
	const sales_user = { email: `crm.sales.${suffix}@example.com`, password: `Sales-${suffix}-Pw!2026` };
	await call(admin, "frappe.client.insert", {
		doc: {
			doctype: "User",
			email: sales_user.email,
			first_name: "Sam",
			last_name: "Seller",
			new_password: sales_user.password,
			send_welcome_email: 0,
			roles: [{ role: "Sales User" }],
		},
	});
	const organization = `Engines ${suffix}`;
	const leads = [];
	for (const first_name of ["Ada", "Grace"]) {
		leads.push(
			await call(admin, "frappe.client.insert", {
				doc: {
					doctype: "CRM Lead",
					first_name,
					last_name: "Example",
					organization,
					email: `${first_name.toLowerCase()}.${suffix}@example.com`,
					status: "New",
					lead_owner: sales_user.email,
				},
			})
		);
	}

	// the Sales User, in Frappe CRM's leads list: the two leads of the organization
	const context = await login(sales_user.email, sales_user.password);
	const page = await context.newPage();
	page.setDefaultTimeout(20000);
	await page.goto(`${BASE_URL}/crm/leads/view/list`);
	await close_getting_started(page);
	const search = page.getByPlaceholder("Organization").first();
	await search.fill(organization);
	await search.press("Enter");
	const row_of = (lead) => page.locator(`a[href*="/crm/leads/${lead.name}?"]`).first();
	for (const lead of leads) await row_of(lead).locator('input[type="checkbox"]').check();
	// the selection's menu ("…"): the bulk action this app's CRM Form Script adds
	await page.getByText("2 rows selected").waitFor();
	await page.locator('button[aria-haspopup="menu"]:has(svg.feather-more-horizontal)').last().click();
	await page.getByRole("menuitem", { name: "Add to Email Campaign" }).click();

	const dialog = page.getByRole("dialog");
	await dialog.getByText("Add to Email Campaign").first().waitFor();
	await dialog.locator("select").first().selectOption(campaign.name);
	assert.match(await dialog.innerText(), new RegExp(`Sender: ${sales_user.email.replace(/\./g, "\\.")}`));
	await shot(page, "crm_add_to_email_campaign");
	await dialog.getByRole("button", { name: "Add 2 records" }).click();
	await page.getByText(`2 Email Campaigns created for Campaign ${campaign.name}.`, { exact: true }).waitFor();

	const created = await call(admin, "frappe.client.get_list", {
		doctype: "Email Campaign",
		filters: { campaign_name: campaign.name },
		fields: ["recipient", "email_campaign_for", "sender", "owner"],
	});
	assert.deepEqual(
		created.map((row) => [row.email_campaign_for, row.sender, row.owner]),
		[
			["CRM Lead", sales_user.email, sales_user.email],
			["CRM Lead", sales_user.email, sales_user.email],
		]
	);
	assert.deepEqual(created.map((row) => row.recipient).sort(), leads.map((lead) => lead.name).sort());

	// the daily run sends the day-0 email; the lead's history in Frappe CRM shows it
	run_daily_job();
	await page.goto(`${BASE_URL}/crm/leads/${leads[0].name}#emails`);
	await close_getting_started(page);
	await page.getByText(`Hello Ada (${suffix})`).first().waitFor();
	await shot(page, "crm_lead_email_history");

	// and on the lead, its Email Campaigns and their status
	await page.getByRole("button", { name: "Email Campaigns" }).click();
	const campaigns = page.getByRole("dialog");
	await campaigns.getByText(campaign.name).waitFor();
	assert.match(await campaigns.innerText(), /In Progress/);
	await shot(page, "crm_lead_email_campaigns");
	await context.close();
});
