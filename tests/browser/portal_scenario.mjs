#!/usr/bin/env node
// Scenario 4 (customer access) in a real headless browser: Debian's Chromium driven by Playwright against the head-end
// daemon with the customer portal, on port 0 in a folder of its own. The customer activates the operator's
// invitation, signs in, watches a charging session appear while the HAN emulators charge, opens the usage chart on a
// normal day and on both days the clocks change, downloads Green Button data (ESPI XML, validated against
// schemas/espi.xsd, and CSV) and checks it against the intervals stored, opens a bill and its PDF, enrolls a PEV,
// changes a preference and signs out. axe-core runs on every page; a violation of impact serious or critical fails
// the test. The pages are seen once more at a phone's size. Screenshots, downloads, the axe report and the logs are
// kept in --artifacts.
//
// node tests/browser/portal_scenario.mjs --headend build/headend/core/headend --headendctl ... (see usage below;
// CTest passes everything: ctest --preset default -L browser)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

import { checkAccessibility, describeViolations } from './lib/accessibility.mjs';
import { Headend, TIME_ZONE } from './lib/headend.mjs';
import { localFields, localMidnight, nthSunday, pad2 } from './lib/local_time.mjs';
import { killAll, run, sleep, tail } from './lib/processes.mjs';
import { SEEDED_CHANNELS, dayIntervals, expectedHours, seedSql } from './lib/usage_data.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const USAGE = `usage: node portal_scenario.mjs --headend BIN --headendctl BIN --han-emulator BIN --headend-pki BIN
  --plugin pev-registration=LIB --plugin pev-binding=LIB --plugin interval-collection=LIB --plugin billing=LIB
  --plugin customer-portal=LIB --programs config/programs.toml --schemas schemas --artifacts DIR
  [--chromium /usr/bin/chromium] [--keep] [--deadline-s 240]`;

const { values: args } = parseArgs({
  options: {
    headend: { type: 'string' },
    headendctl: { type: 'string' },
    'han-emulator': { type: 'string' },
    'headend-pki': { type: 'string' },
    plugin: { type: 'string', multiple: true, default: [] },
    programs: { type: 'string' },
    schemas: { type: 'string' },
    artifacts: { type: 'string' },
    chromium: { type: 'string', default: process.env.CHROMIUM_PATH || '/usr/bin/chromium' },
    keep: { type: 'boolean', default: false },
    'deadline-s': { type: 'string', default: '240' },
  },
});
for (const required of ['headend', 'headendctl', 'han-emulator', 'headend-pki', 'programs', 'schemas', 'artifacts'])
  if (!args[required]) {
    console.error(`missing --${required}\n${USAGE}`);
    process.exit(2);
  }
const plugins = Object.fromEntries(args.plugin.map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)]));
for (const name of ['pev-registration', 'pev-binding', 'interval-collection', 'billing', 'customer-portal'])
  if (!plugins[name]) {
    console.error(`missing --plugin ${name}=LIB\n${USAGE}`);
    process.exit(2);
  }

// ---- what the test needs from the machine (scripts/bootstrap installs it)

let chromium;
try {
  ({ chromium } = await import('playwright-core'));
  await import('axe-core');
} catch (error) {
  console.error(`tests/browser: ${error.message}\nInstall the test's npm packages: scripts/bootstrap ` +
                `(or: cd ${here} && npm ci)`);
  process.exit(1);
}
if (!fs.existsSync(args.chromium)) {
  console.error(`tests/browser: no Chromium at ${args.chromium}; install Debian's chromium (scripts/bootstrap) or ` +
                `pass --chromium / set CHROMIUM_PATH`);
  process.exit(1);
}
for (const tool of ['sqlite3', 'xmllint', 'pdftotext']) {
  try {
    run(tool, ['--version'], { okCodes: [0, 1, 99] });
  } catch (error) {
    console.error(`tests/browser: ${tool} is missing (scripts/bootstrap installs it): ${error.message}`);
    process.exit(1);
  }
}

// ---- bookkeeping: steps, failures, artifacts

const started = Date.now();
const artifacts = path.resolve(args.artifacts);
fs.rmSync(artifacts, { recursive: true, force: true });
fs.mkdirSync(artifacts, { recursive: true });
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'portal-browser-'));
const failures = [];
const axeReports = [];
let shot = 0;

function log(message) {
  console.log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s] ${message}`);
}

// A check that does not stop the scenario: recorded, reported at the end, fails the test.
function check(condition, message) {
  if (!condition) {
    failures.push(message);
    log(`FAILED: ${message}`);
  }
  return condition;
}

// A check the rest of the scenario depends on.
function must(condition, message) {
  if (!condition)
    throw new Error(message);
}

function keepLogs() {
  for (const file of ['daemon.out', 'daemon.err', 'emulator.out', 'emulator.err', 'headend.toml'])
    if (fs.existsSync(path.join(dir, file)))
      fs.copyFileSync(path.join(dir, file), path.join(artifacts, file));
  fs.writeFileSync(path.join(artifacts, 'axe-report.json'), JSON.stringify(axeReports, null, 2));
}

const deadline = setTimeout(() => {
  console.error(`tests/browser: the scenario did not finish within ${args['deadline-s']} s`);
  killAll();
  keepLogs();
  process.exit(1);
}, Number(args['deadline-s']) * 1000);

for (const signal of ['SIGINT', 'SIGTERM'])
  process.on(signal, () => {
    killAll();
    process.exit(1);
  });

// ---- the days and the month the scenario looks at: the latest year whose November is over, so its bill can be
// issued, and its two days when the clocks change in America/Los_Angeles (2026-03-08 and 2026-11-01 in 2026).

const now = Math.floor(Date.now() / 1000);
let year = localFields(TIME_ZONE, now).year;
if (localMidnight(TIME_ZONE, `${year}-12-01`) > now)
  year -= 1;
const springDay = nthSunday(year, 3, 2);  // 23 hours
const fallDay = nthSunday(year, 11, 1);   // 25 hours
const normalDay = `${year}-11-18`;        // 24 hours
const billMonth = `${year}-11`;
const ACCOUNT = 'BRW-A1';
const PREMISES = 'BRW-P1';
const VIN = '1HGCM82633A004352';          // enrolled by the operator, charges during the test
const SECOND_VIN = '1M8GDM9AXKP042788';   // enrolled by the customer in the portal
const BAD_VIN = '1M8GDM9AXKP042789';      // its check digit is wrong
const PASSWORD = 'browser-test-password-1';

const headend = new Headend({
  dir,
  bins: { headend: args.headend, headendctl: args.headendctl, hanEmulator: args['han-emulator'],
          headendPki: args['headend-pki'] },
  plugins,
  programs: path.resolve(args.programs),
  schemas: path.resolve(args.schemas),
});

let browser;
let emulator;
const seeded = new Map();  // day -> intervals

async function main() {
  log(`test folder ${dir}; artifacts ${artifacts}`);
  log(`days: normal ${normalDay}, spring forward ${springDay}, fall back ${fallDay}; bill month ${billMonth}`);

  // ---- the operator's side: records, devices, past data, a bill, the invitation
  await headend.start();
  log(`head-end up: CoAPS ${headend.coapsPort}, admin ${headend.adminPort}, portal ${headend.portalUrl}`);
  headend.importCustomers('account_id,customer_id,customer_name,premises_id,service_address,default_rate,email\n' +
                          `${ACCOUNT},BRW-C1,"Doe, Jane",${PREMISES},1 Browser Lane,DOM-FLAT,\n`);
  headend.ctl(['enroll', '--account', ACCOUNT, '--customer', 'BRW-C1', '--premises', PREMISES, '--vin', VIN,
               '--program', 'EV-TOU']);
  const devices = headend.registerPremisesDevices(PREMISES);
  headend.ctl(['eumd', 'set-interval', '--premises', PREMISES, '--seconds', '60']);
  for (const day of [springDay, fallDay, normalDay])
    seeded.set(day, dayIntervals(TIME_ZONE, day));
  headend.sql(seedSql({ premisesId: PREMISES, esci: devices.esci, eumd: devices.eumd,
                        pevLfdi: 'C0FFEE0000000000000000000000000000000001', intervalsByDay: seeded,
                        receivedAt: now }));
  headend.ctl(['bill', 'run', '--month', billMonth]);
  const bills = headend.ctlJson(['bill', 'list', '--month', billMonth, '--account', ACCOUNT]).bills;
  must(bills.length === 1, `the bill cycle issued no bill for ${ACCOUNT} in ${billMonth}`);
  const invitation = JSON.parse(headend.ctl(['portal', 'invite', '--account', ACCOUNT, '--json']));
  must(invitation.link?.startsWith(`${headend.portalUrl}/activate?token=`), `invitation link ${invitation.link}`);
  log(`seeded ${[...seeded.values()].reduce((n, d) => n + d.length, 0)} quarter hours, issued the bill, invited`);

  // ---- the customer's browser
  const launchArgs = ['--disable-dev-shm-usage'];
  if (process.getuid?.() === 0)
    launchArgs.push('--no-sandbox');  // Chromium refuses to run as root with its sandbox (CI containers)
  browser = await chromium.launch({ executablePath: args.chromium, headless: true, args: launchArgs });
  const context = await browser.newContext({
    ignoreHTTPSErrors: true,  // the portal's certificate chains to the head-end's own CA (data/tls/ca.pem)
    bypassCSP: true,          // the portal's CSP forbids all script; axe-core is injected
    acceptDownloads: true,
    viewport: { width: 1280, height: 900 },
    locale: 'en-US',
    timezoneId: TIME_ZONE,
  });
  context.setDefaultTimeout(15_000);
  context.setDefaultNavigationTimeout(20_000);
  const page = await context.newPage();
  log(`Chromium ${browser.version()}`);

  // Whatever goes wrong in the page: server errors, failed requests, script errors, console errors.
  page.on('response', (response) => {
    check(response.status() < 500, `${response.request().method()} ${response.url()} answered ${response.status()}`);
  });
  page.on('requestfailed', (request) => {
    const failure = request.failure()?.errorText ?? '';
    // A download ends its navigation with ERR_ABORTED: that is how Chromium hands it to the download manager.
    if (failure.includes('ERR_ABORTED') && /\/download\/data|\/pdf$/.test(new URL(request.url()).pathname))
      return;
    check(false, `request ${request.method()} ${request.url()} failed: ${failure}`);
  });
  page.on('pageerror', (error) => check(false, `script error on ${page.url()}: ${error.message}`));
  page.on('console', (message) => {
    // Chromium logs every answer of 400 or more as "Failed to load resource"; answers are checked where they come.
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource'))
      check(false, `console error on ${page.url()}: ${message.text()} (${message.location()?.url})`);
  });

  const url = (p) => `${headend.portalUrl}${p}`;
  const pathOf = () => new URL(page.url()).pathname;
  const h1 = async () => (await page.locator('main h1').first().innerText()).trim();

  // Every page the customer sees: its stylesheet applied, a screenshot, axe.
  async function seen(label, { fullPage = true } = {}) {
    const file = `${String(++shot).padStart(2, '0')}-${label}.png`;
    await page.screenshot({ path: path.join(artifacts, file), fullPage });
    const styled = await page.evaluate(() => getComputedStyle(document.querySelector('header')).display === 'flex');
    check(styled, `${label}: the portal's stylesheet is not applied (${page.url()})`);
    const report = await checkAccessibility(page, label);
    axeReports.push(report);
    if (report.violations.length)
      log(`axe on ${label}: ${report.violations.length} violation(s), ${report.failing.length} serious or ` +
          `critical\n${describeViolations(report)}`);
    check(report.failing.length === 0,
          `${label} (${report.url}): ${report.failing.length} serious or critical accessibility violation(s): ` +
          report.failing.map((v) => `${v.id} [${v.impact}] at ${v.nodes.map((n) => n.target).join(', ')}`)
            .join('; '));
  }

  async function goto(p, expectedStatus = 200) {
    const response = await page.goto(url(p));
    check(response?.status() === expectedStatus, `GET ${p} answered ${response?.status()}, not ${expectedStatus}`);
    return response;
  }

  // Submits a form by its button and waits for the page it leads to, which must answer `status` (after redirects).
  async function submit(button, { status = 200 } = {}) {
    const [response] = await Promise.all([
      page.waitForNavigation({ waitUntil: 'load' }),
      button.click(),
    ]);
    if (response?.status() !== status) {
      const shown = (await page.locator('main').innerText().catch(() => '')).replaceAll('\n', ' / ');
      const origin = await response?.request().headerValue('origin');
      throw new Error(`${button} on ${page.url()} answered ${response?.status()}, not ${status}: "${shown}" ` +
                      `(the browser sent Origin: ${origin})`);
    }
    return response;
  }

  // ---- 1. the invitation: a mistyped confirmation first, then the password is set and the customer is signed in
  log('activate the invitation');
  await page.goto(invitation.link);
  must(await h1() === 'Activate your portal account', `activation page: h1 is "${await h1()}"`);
  check((await page.locator('main').innerText()).includes(ACCOUNT), 'the activation page names the account');
  await seen('activate');
  await page.getByLabel('New password (at least 12 characters)').fill(PASSWORD);
  await page.getByLabel('The same password again').fill(`${PASSWORD}x`);
  await submit(page.getByRole('button', { name: 'Set password and sign in', exact: true }), { status: 400 });
  check(await page.getByRole('alert').innerText() === 'The two passwords differ.', 'activation: passwords differ');
  await seen('activate-mismatch');
  await page.getByLabel('New password (at least 12 characters)').fill(PASSWORD);
  await page.getByLabel('The same password again').fill(PASSWORD);
  await submit(page.getByRole('button', { name: 'Set password and sign in', exact: true }));
  must(pathOf() === '/overview', `after activation the browser is at ${page.url()}`);
  const overview = await page.locator('main').innerText();
  check(overview.includes('Welcome, Doe, Jane. Account BRW-A1.'), `overview greets the customer: ${overview}`);
  check(overview.includes(`${VIN}: not yet bound`), 'overview lists the enrolled PEV, not yet bound');
  check(await page.getByRole('link', { name: `Bill for ${billMonth}`, exact: true }).count() === 1,
        'overview links the bill');
  await seen('overview');

  // ---- 2. sign out and in again (a wrong password first); the skip link is the first stop of the keyboard
  log('sign out, sign in');
  await submit(page.getByRole('button', { name: 'Sign out', exact: true }));
  must(pathOf() === '/signin', `after sign-out the browser is at ${page.url()}`);
  await page.keyboard.press('Tab');
  const focused = await page.evaluate(() => ({
    text: document.activeElement?.textContent, href: document.activeElement?.getAttribute('href'),
    inView: (() => {
      const r = document.activeElement.getBoundingClientRect();
      return r.width > 0 && r.height > 0 && r.left >= 0 && r.top >= 0 && r.right <= innerWidth;
    })(),
  }));
  check(focused.text === 'Skip to content' && focused.href === '#main' && focused.inView,
        `the first Tab focuses the visible skip link: ${JSON.stringify(focused)}`);
  await seen('signin');
  await page.getByLabel('Account number').fill(ACCOUNT);
  await page.getByLabel('Password', { exact: true }).fill('not-the-password-at-all');
  await submit(page.getByRole('button', { name: 'Sign in', exact: true }), { status: 401 });
  check(await page.getByRole('alert').innerText() === 'The account number or password is not right.',
        'a wrong password is told');
  check(await page.getByLabel('Account number').inputValue() === ACCOUNT, 'the account number is kept');
  await seen('signin-wrong-password');
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await submit(page.getByRole('button', { name: 'Sign in', exact: true }));
  must(pathOf() === '/overview', `after sign-in the browser is at ${page.url()}`);
  for (const cookie of await context.cookies())
    check(cookie.httpOnly && cookie.secure && cookie.sameSite === 'Strict' && cookie.path === '/' &&
          cookie.name.startsWith('__Host-'), `cookie ${cookie.name} is not __Host-, HttpOnly, Secure, SameSite=Strict`);

  // ---- 3. the premises charges: the PEV binds and plugs in; My PEVs shows it (the session comes in step 7)
  log('the HAN emulator charges (scenarios 1, 2, 3)');
  emulator = headend.startEmulator(devices, VIN);
  await page.getByRole('link', { name: 'My PEVs', exact: true }).click();
  await page.waitForURL(url('/pevs'));
  const pevSection = (vin) =>
    page.locator('section.pev', { has: page.getByRole('heading', { name: `PEV ${vin}`, exact: true }) });
  const chargingNow = async () => {
    const dt = pevSection(VIN).locator('dt', { hasText: 'Charging now' });
    return (await dt.count()) ? (await dt.locator('xpath=following-sibling::dd[1]').innerText()).trim() : '';
  };
  const pluggedBy = Date.now() + 45_000;
  let status = await chargingNow();
  while (!/^plugged in/.test(status) && Date.now() < pluggedBy) {
    must(emulator.alive || emulator.exitCode === 0, `the emulator failed:\n${tail(emulator.output())}`);
    await sleep(1000);
    await page.reload();
    status = await chargingNow();
  }
  must(/^plugged in/.test(status), `My PEVs never showed the PEV plugged in; last: "${status}"`);
  const binding = (await pevSection(VIN).locator('dt:text-is("Binding") + dd').innerText()).trim();
  check(binding.startsWith('bound: the program rate applies, at home at premises BRW-P1'), `binding: ${binding}`);
  log(`My PEVs: ${status}; ${binding}`);
  await seen('pevs-charging');

  // ---- 4. the usage chart: a normal day (24 bars), spring forward (23), fall back (25), and the month
  log('usage chart');
  await page.getByRole('link', { name: 'Usage', exact: true }).click();
  await page.waitForURL(/\/usage/);
  await seen('usage-today');
  for (const [day, hours, name] of [[normalDay, 24, 'normal'], [springDay, 23, 'spring-forward'],
                                    [fallDay, 25, 'fall-back']]) {
    await page.getByLabel('Show the day of').fill(day);
    await submit(page.getByRole('button', { name: 'Show', exact: true }));
    check(new URL(page.url()).searchParams.get('date') === day, `usage form leads to ${page.url()}`);
    const expected = expectedHours(TIME_ZONE, seeded.get(day));
    must(expected.length === hours, `the test's own hours of ${day}: ${expected.length}`);
    const bars = await page.locator('svg.chart rect.premises').count();
    check(bars === hours, `usage ${day}: ${bars} bars, not ${hours}`);
    const pevBars = await page.locator('svg.chart rect.pev').count();
    const expectedPevBars = expected.filter((h) => h.pevWh > 0).length;
    check(pevBars === expectedPevBars, `usage ${day}: ${pevBars} PEV bars, not ${expectedPevBars}`);
    const rows = await page.locator('table.usage tbody tr').evaluateAll((trs) =>
      trs.map((tr) => [...tr.children].map((c) => c.textContent.trim())));
    check(rows.length === hours, `usage ${day}: ${rows.length} table rows, not ${hours}`);
    const shown = rows.map((r) => ({ label: r[0], premisesWh: Math.round(Number(r[1]) * 1000),
                                     pevWh: Math.round(Number(r[2]) * 1000) }));
    const wanted = expected.map((h) => ({ label: h.label, premisesWh: h.premisesWh, pevWh: h.pevWh }));
    check(JSON.stringify(shown) === JSON.stringify(wanted),
          `usage ${day}: the table differs from the stored intervals\n  shown  ${JSON.stringify(shown)}\n` +
          `  stored ${JSON.stringify(wanted)}`);
    const barTitles = await page.locator('svg.chart rect.premises > title').allTextContents();
    check(barTitles.every((t, i) => t.startsWith(`${wanted[i]?.label}: premises `)),
          `usage ${day}: bar titles ${JSON.stringify(barTitles.slice(0, 4))}...`);
    if (name === 'spring-forward')
      check(!rows.some((r) => r[0].startsWith('02:')), `usage ${day}: an hour 02:00 on the day it is skipped`);
    if (name === 'fall-back')
      check(rows.some((r) => r[0] === '01:00 PDT') && rows.some((r) => r[0] === '01:00 PST'),
            `usage ${day}: the repeated hour is not shown as 01:00 PDT and 01:00 PST: ${rows.map((r) => r[0])}`);
    await seen(`usage-day-${name}`);
  }
  // The month of the bill: a bar per day, the stored days' energy on their own bars.
  await page.getByRole('link', { name: 'Month', exact: true }).click();
  await page.waitForURL(/view=month/);
  const monthRows = await page.locator('table.usage tbody tr').evaluateAll((trs) =>
    trs.map((tr) => [...tr.children].map((c) => c.textContent.trim())));
  check(monthRows.length === 30, `usage month ${billMonth}: ${monthRows.length} rows, not 30`);
  for (const day of [fallDay, normalDay]) {
    const label = `${new Date(`${day}T12:00:00Z`).toUTCString().slice(0, 3)} ${Number(day.slice(8))}`;
    const want = seeded.get(day).reduce((s, i) => s + i.premisesWh, 0);
    const row = monthRows.find((r) => r[0] === label);
    check(row && Math.round(Number(row[1]) * 1000) === want,
          `usage month: ${label} shows ${row?.[1]} kWh, stored ${want / 1000}`);
  }
  await seen('usage-month');

  // ---- 5. Green Button: ESPI for the fall-back day to the normal day, CSV of the spring-forward day
  log('Green Button download');
  await page.getByRole('link', { name: 'Download my data', exact: true }).click();
  await page.waitForURL(url('/download'));
  await seen('download');
  await page.getByLabel('First day').fill(normalDay);
  await page.getByLabel('Last day').fill(fallDay);
  await submit(page.getByRole('button', { name: 'Download', exact: true }), { status: 400 });
  check((await page.getByRole('alert').innerText()).startsWith('Choose a first day and a last day'),
        'a last day before the first is refused with a message');
  await seen('download-bad-range');
  await page.getByLabel('First day').fill(fallDay);
  await page.getByLabel('Last day').fill(normalDay);
  check(await page.getByLabel('Green Button (ESPI XML)').isChecked(), 'ESPI is the default format');
  const espi = await download(page, page.getByRole('button', { name: 'Download', exact: true }));
  check(espi.name === `usage-${fallDay}-to-${normalDay}.xml`, `ESPI file name ${espi.name}`);
  checkEspi(espi.file, [fallDay, normalDay]);
  await page.getByLabel('First day').fill(springDay);
  await page.getByLabel('Last day').fill(springDay);
  await page.getByLabel('CSV').check();
  const csv = await download(page, page.getByRole('button', { name: 'Download', exact: true }));
  check(csv.name === `usage-${springDay}-to-${springDay}.csv`, `CSV file name ${csv.name}`);
  checkCsv(csv.file, springDay);

  // ---- 6. the bill, as a page and as PDF
  log('bills');
  await page.getByRole('link', { name: 'Bills', exact: true }).click();
  await page.waitForURL(url('/bills'));
  check(await page.getByRole('link', { name: `Bill for ${billMonth} (PDF)`, exact: true }).count() === 1,
        'the bills link the PDF');
  await seen('bills');
  await page.getByRole('link', { name: billMonth, exact: true }).click();
  await page.waitForURL(url(`/bills/${billMonth}`));
  // One h1, the bill's own: "Bill for November 2026".
  const monthName = new Date(`${billMonth}-15T12:00:00Z`).toLocaleString('en-US', { month: 'long', year: 'numeric', timeZone: 'UTC' });
  check(await page.locator('h1').count() === 1 && await h1() === `Bill for ${monthName}`, `bill page h1: ${await h1()}`);
  const billText = await page.locator('main').innerText();
  const novemberWh = [fallDay, normalDay].reduce((s, d) => s + seeded.get(d).reduce((t, i) => t + i.premisesWh, 0), 0);
  check(billText.includes(ACCOUNT), 'the bill names the account');
  check(numbersIn(billText).includes(novemberWh / 1000),
        `the bill shows the premises energy of ${billMonth}, ${novemberWh / 1000} kWh`);
  await seen('bill');
  const pdfLink = page.getByRole('link', { name: 'The same bill as PDF', exact: true });
  const pdfHref = new URL(await pdfLink.getAttribute('href'), page.url()).toString();
  const pdf = await context.request.get(pdfHref);
  check(pdf.status() === 200 && pdf.headers()['content-type'] === 'application/pdf',
        `bill PDF: ${pdf.status()} ${pdf.headers()['content-type']}`);
  const pdfBody = await pdf.body();
  check(pdfBody.subarray(0, 5).toString() === '%PDF-', 'the bill PDF is a PDF');
  const pdfFile = path.join(artifacts, `bill-${billMonth}.pdf`);
  fs.writeFileSync(pdfFile, pdfBody);
  const pdfText = run('pdftotext', ['-layout', pdfFile, '-']).stdout;
  check(pdfText.includes(ACCOUNT) && numbersIn(pdfText).includes(novemberWh / 1000),
        'the bill PDF names the account and the premises energy');

  // ---- 7. the charging session appears while the emulators charge (the EUMD posts its first complete interval)
  log('waiting for the charging session');
  await page.getByRole('link', { name: 'Charging sessions', exact: true }).click();
  await page.waitForURL(url('/sessions'));
  const sessionRows = () => page.locator('table.sessions tbody tr:not(.period)').evaluateAll((trs) =>
    trs.map((tr) => [...tr.children].map((c) => c.textContent.trim())));
  const sessionBy = Date.now() + 100_000;
  let sessions = await page.locator('table.sessions').count() ? await sessionRows() : [];
  while (sessions.length === 0 && Date.now() < sessionBy) {
    must(emulator.alive || emulator.exitCode === 0, `the emulator failed:\n${tail(emulator.output())}`);
    await sleep(2000);
    await page.reload();
    sessions = await page.locator('table.sessions').count() ? await sessionRows() : [];
  }
  must(sessions.length > 0, 'no charging session appeared on the Charging sessions page');
  log(`charging sessions: ${JSON.stringify(sessions)}`);
  const emulated = await emulator.exited;
  must(emulated.code === 0, `the emulator failed (${emulated.code ?? emulated.signal}):\n${tail(emulator.output())}`);
  const held = emulator.output().match(/energy the head-end holds for the PEV: (\d+) Wh/);
  must(held, `the emulator did not report the energy:\n${tail(emulator.output())}`);
  // The page may have been read before the last interval: read it again now that the emulator is done.
  await page.reload();
  sessions = await sessionRows();
  check(sessions.some((r) => Math.round(Number(r[3]) * 1000) === Number(held[1]) && r[2].includes(PREMISES)),
        `a session of ${held[1]} Wh at ${PREMISES}: ${JSON.stringify(sessions)}`);
  await seen('sessions');
  await page.getByRole('link', { name: 'Overview', exact: true }).click();
  await page.waitForURL(url('/overview'));
  check((await page.locator('main').innerText()).includes(`${VIN}: bound: the program rate applies`),
        'the overview shows the PEV bound');

  // ---- 8. the customer enrolls a second PEV (a VIN with a wrong check digit first) and changes its preferences
  log('enroll a PEV, change a preference');
  await page.getByRole('link', { name: 'My PEVs', exact: true }).click();
  await page.waitForURL(url('/pevs'));
  await page.getByLabel('Vehicle identification number (VIN, 17 characters)').fill(BAD_VIN);
  await page.getByLabel('Home premises').selectOption(PREMISES);
  await page.getByLabel('Program', { exact: true }).selectOption('EV-TOU');
  await submit(page.getByRole('button', { name: 'Enroll', exact: true }), { status: 400 });
  check((await page.getByRole('alert').innerText()).startsWith('Not enrolled:'), 'a bad VIN is refused');
  await seen('pevs-bad-vin');
  await page.getByLabel('Vehicle identification number (VIN, 17 characters)').fill(SECOND_VIN);
  await page.getByLabel('Program', { exact: true }).selectOption('EV-TOU');
  await submit(page.getByRole('button', { name: 'Enroll', exact: true }), { status: 201 });
  check(await page.getByRole('status').innerText() === `Enrolled ${SECOND_VIN}.`, 'the enrollment is confirmed');
  const second = pevSection(SECOND_VIN);
  must(await second.count() === 1, `no section for ${SECOND_VIN} after enrolling it`);
  await second.getByLabel("It may charge at other program customers' premises (guest charging)").check();
  await second.getByLabel('Who pays for guest charging').selectOption('host');
  await submit(second.getByRole('button', { name: 'Save preferences', exact: true }), { status: 200 });
  check(await page.getByRole('status').innerText() === `Saved the preferences of ${SECOND_VIN}.`,
        'the preferences are confirmed');
  await page.reload();
  check(await pevSection(SECOND_VIN).getByLabel(/guest charging\)$/).isChecked(), 'guest charging stays ticked');
  check(await pevSection(SECOND_VIN).getByLabel('Who pays for guest charging').inputValue() === 'host',
        'the host pays, after a reload');
  const enrolled = headend.ctlJson(['enrollment', 'show', SECOND_VIN]).enrollment;
  check(enrolled.account_id === ACCOUNT && enrolled.allow_guest_charging === true &&
        enrolled.guest_charging_payer === 'host' && enrolled.channel === 'portal',
        `the head-end holds the enrollment as the customer left it: ${JSON.stringify(enrolled)}`);
  await seen('pevs-enrolled');

  // ---- 9. the remaining pages
  for (const [link, p, label] of [['Program and tariff', '/program', 'program'],
                                  ['Password', '/password', 'password']]) {
    await page.getByRole('link', { name: link, exact: true }).click();
    await page.waitForURL(url(p));
    await seen(label);
  }

  // ---- 10. a phone: every page once at 375 x 740, nothing wider than the screen but the tables' own boxes
  log('phone-sized viewport');
  await page.setViewportSize({ width: 375, height: 740 });
  for (const [p, label] of [['/overview', 'overview'], ['/program', 'program'], ['/pevs', 'pevs'],
                            ['/sessions', 'sessions'], [`/usage?view=day&date=${fallDay}`, 'usage-fall-back'],
                            ['/bills', 'bills'], [`/bills/${billMonth}`, 'bill'], ['/download', 'download'],
                            ['/password', 'password']]) {
    await goto(p);
    const width = await page.evaluate(() => ({ page: document.documentElement.scrollWidth, screen: innerWidth }));
    check(width.page <= width.screen, `phone ${p}: the page is ${width.page} px wide on a ${width.screen} px screen`);
    await seen(`phone-${label}`);
  }
  await page.setViewportSize({ width: 1280, height: 900 });

  // ---- 11. sign out: every page leads to the sign-in page again, also with the old session's cookie
  log('sign out');
  const session = (await context.cookies()).filter((c) => c.httpOnly && c.secure);
  await page.goto(url('/overview'));
  await submit(page.getByRole('button', { name: 'Sign out', exact: true }));
  must(pathOf() === '/signin', `after sign-out the browser is at ${page.url()}`);
  for (const p of ['/overview', '/pevs', `/bills/${billMonth}`, `/bills/${billMonth}/pdf`, '/sessions',
                   `/download/data?from=${fallDay}&to=${fallDay}&format=csv`]) {
    await page.goto(url(p));
    check(pathOf() === '/signin', `after sign-out ${p} leads to ${page.url()}`);
  }
  await context.addCookies(session);
  await page.goto(url('/overview'));
  check(pathOf() === '/signin', `the signed-out session's cookie still opens ${page.url()}`);
  const replayed = await context.request.get(url(`/bills/${billMonth}/pdf`), { maxRedirects: 0 });
  check(replayed.status() === 303 && replayed.headers().location === '/signin',
        `the PDF with the old cookie: ${replayed.status()} ${replayed.headers().location}`);
  await seen('signed-out');
  await browser.close();
  browser = undefined;
}

function numbersIn(text) {
  return [...text.matchAll(/-?\d+(?:\.\d+)?/g)].map((m) => Number(m[0]));
}

// A file the page downloads when `button` is clicked: saved among the artifacts.
async function download(page, button) {
  const [file] = await Promise.all([page.waitForEvent('download'), button.click()]);
  const name = file.suggestedFilename();
  const target = path.join(artifacts, name);
  await file.saveAs(target);
  const failure = await file.failure();
  check(!failure, `download ${name} failed: ${failure}`);
  return { name, file: target };
}

// The ESPI feed: valid against schemas/espi.xsd, and per stored channel exactly its intervals of `days`, one interval
// block per local day (100 quarter hours on the fall-back day). Other usage points of the premises (the EUMD's mirror
// of the PEV charging now) have no intervals in those days.
function checkEspi(file, days) {
  const validated = run('xmllint', ['--noout', '--schema', path.join(path.resolve(args.schemas), 'espi.xsd'), file],
                        { okCodes: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] });
  check(validated.status === 0, `the ESPI feed does not validate against espi.xsd:\n${validated.stderr}`);
  const xml = fs.readFileSync(file, 'utf8');
  const usagePoints = new Map();  // mRID -> {title, blocks: [[{start, duration, value}]]}
  for (const entry of xml.split('<entry>').slice(1)) {
    const id = entry.match(/<id>([^<]*)<\/id>/)?.[1] ?? '';
    const title = entry.match(/<title>([^<]*)<\/title>/)?.[1] ?? '';
    const point = id.match(/:UsagePoint:([0-9A-F]+)$/);
    if (point && /<UsagePoint[\s>]/.test(entry))
      usagePoints.set(point[1], { title, blocks: [] });
    const block = id.match(/:UsagePoint:([0-9A-F]+):MeterReading:([0-9A-F]+):IntervalBlock:\d+$/);
    if (block) {
      must(usagePoints.has(block[1]), `ESPI: an IntervalBlock of ${block[1]} before its UsagePoint`);
      usagePoints.get(block[1]).blocks.push([...entry.matchAll(/<IntervalReading>([\s\S]*?)<\/IntervalReading>/g)]
        .map((m) => ({
          start: Number(m[1].match(/<start>(\d+)</)?.[1]),
          duration: Number(m[1].match(/<duration>(\d+)</)?.[1]),
          value: Number(m[1].match(/<value>(\d+)</)?.[1]),
        })));
    }
  }
  for (const [name, channel] of Object.entries(SEEDED_CHANNELS)) {
    const point = usagePoints.get(channel.mup);
    if (!check(point, `ESPI: no UsagePoint ${channel.mup} (${name})`))
      continue;
    const title = name === 'pev' ? `PEV charging at premises ${PREMISES}` : `Whole premises at premises ${PREMISES}`;
    check(point.title === title, `ESPI: UsagePoint ${channel.mup} is titled "${point.title}", not "${title}"`);
    const want = days.map((d) => seeded.get(d).filter((i) => i[channel.field] > 0)
      .map((i) => ({ start: i.start, duration: 900, value: i[channel.field] })));
    check(JSON.stringify(point.blocks) === JSON.stringify(want),
          `ESPI ${name}: blocks of ${point.blocks.map((b) => b.length)} readings, stored ${want.map((b) => b.length)}` +
          ' (or their values differ)');
  }
  check(usagePoints.get(SEEDED_CHANNELS.premises.mup)?.blocks[0]?.length === 100,
        'ESPI: the fall-back day has no block of 100 premises quarter hours');
  for (const [mrid, point] of usagePoints)
    if (!Object.values(SEEDED_CHANNELS).some((c) => c.mup === mrid))
      check(point.blocks.length === 0, `ESPI: UsagePoint ${mrid} has ${point.blocks.length} blocks in those days`);
}

// The CSV of the spring-forward day: a header, a row per stored interval with its local time and offset.
function checkCsv(file, day) {
  const lines = fs.readFileSync(file, 'utf8').split('\r\n');
  check(lines[0] === 'usage_point,meter_reading,premises,channel,start_utc,start_local,duration_s,wh,quality,cost',
        `CSV header: ${lines[0]}`);
  check(lines.at(-1) === '', 'the CSV ends with CRLF');
  const rows = lines.slice(1, -1).map((l) => l.split(','));
  for (const [channel, { mup, mmr, field }] of Object.entries(SEEDED_CHANNELS)) {
    const got = rows.filter((r) => r[0] === `"${mup}"`)
      .map((r) => `${r[1]} ${r[2]} ${r[3]} ${r[4]} ${r[5]} ${r[6]} ${r[7]} ${r[8]} ${r[9]}`);
    const want = seeded.get(day).filter((i) => i[field] > 0).map((i) => {
      const utc = new Date(i.start * 1000).toISOString().replace('.000Z', 'Z');
      const l = localFields(TIME_ZONE, i.start);
      const offset = l.zone === 'PDT' ? '-07:00' : '-08:00';
      const local = `${l.year}-${pad2(l.month)}-${pad2(l.day)}T${pad2(l.hour)}:${pad2(l.minute)}:00${offset}`;
      // What the interval adds to the bill: the meter's energy at DOM-FLAT (0.32000 $/kWh, so Wh × 32 in 10^-5 $);
      // the PEV's seeded energy is outside any binding, in the premises total, so it adds nothing.
      const cost = channel === 'premises' ? i[field] * 32 : 0;
      const money = `${Math.floor(cost / 100000)}.${String(cost % 100000).padStart(5, '0')}`;
      return `"${mmr}" "${PREMISES}" ${channel} ${utc} ${local} 900 ${i[field]} 0 ${money}`;
    });
    check(JSON.stringify(got) === JSON.stringify(want),
          `CSV ${channel} of ${day}: ${got.length} rows, stored ${want.length} (or they differ): ` +
          `first ${got[0]} / ${want[0]}`);
  }
  check(rows.filter((r) => r[3] === 'premises').length === 92, 'CSV: the spring-forward day has 92 quarter hours');
  check(rows.every((r) => Object.values(SEEDED_CHANNELS).some((c) => r[0] === `"${c.mup}"`)),
        'CSV: rows of a usage point that has no interval on that day');
}

let code = 0;
try {
  await main();
} catch (error) {
  code = 1;
  console.error(`tests/browser: ${error.stack ?? error}`);
  if (browser) {
    try {
      const pages = browser.contexts().flatMap((c) => c.pages());
      if (pages[0])
        await pages[0].screenshot({ path: path.join(artifacts, 'failure.png'), fullPage: true });
    } catch {
      // the browser is gone
    }
  }
} finally {
  try {
    await browser?.close();
  } catch {
    // already closed
  }
  if (emulator?.alive)
    await emulator.stop(5000);
  const problem = await headend.stop();
  if (problem)
    failures.push(`${problem}; see daemon.out and daemon.err`);
  keepLogs();
  clearTimeout(deadline);
}
const pages = axeReports.length;
const violations = axeReports.reduce((n, r) => n + r.violations.length, 0);
console.log(`\naxe-core on ${pages} page views: ${violations} violation(s) in all, ` +
            `${axeReports.reduce((n, r) => n + r.failing.length, 0)} serious or critical (report: ` +
            `${path.join(artifacts, 'axe-report.json')})`);
console.log(`screenshots, downloads and logs: ${artifacts}`);
if (failures.length) {
  code = 1;
  console.log(`\n${failures.length} check(s) failed:\n${failures.map((f) => `- ${f}`).join('\n')}`);
}
if (code === 0 && !args.keep)
  fs.rmSync(dir, { recursive: true, force: true });
else
  console.log(`test folder kept: ${dir}`);
console.log(code === 0 ? 'PASSED' : 'FAILED');
process.exit(code);
