// The operator console in a real browser: Debian's Chromium, headless, driven by
// puppeteer-core, against a real flowmonkey-server (scripts/with-test-server) seeded by
// seed.py. Run by tests/console/run.sh, once per mode:
//   FM_CONSOLE_MODE=keys  API keys and TLS: an operator key and two tenant keys (acme, globex)
//   FM_CONSOLE_MODE=open  no keys: no key box, every action allowed
// Environment: FM_CONSOLE_URL, FM_SEED_FILE, FM_DATABASE_URL, FM_KEY_OPERATOR / FM_KEY_ACME
// (keys mode), FM_CONSOLE_SHOTS (screenshots, default /tmp/fm-console-shots).
//
// Every page fails the run on a JavaScript dialog (alert: markup from the data ran) or an
// uncaught page error, and every request to another host than 127.0.0.1 is blocked and fails
// the run. Waits are for selectors (generous timeouts), never for time.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';

import puppeteer from 'puppeteer-core';

const BASE = process.env.FM_CONSOLE_URL;
const MODE = process.env.FM_CONSOLE_MODE || 'keys';
const SEED = JSON.parse(readFileSync(process.env.FM_SEED_FILE, 'utf8'));
const SHOTS = process.env.FM_CONSOLE_SHOTS || '/tmp/fm-console-shots';
const TIMEOUT_MS = 20000;
const STATUSES = ['PENDING', 'RUNNING', 'WAITING', 'CANCELLING', 'CANCELLED', 'COMPLETED', 'FAILED'];

const dialogs = [];
const pageErrors = [];
const offHost = [];
const requested = new Set();
let browser;

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  browser = await puppeteer.launch({
    executablePath: process.env.FM_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    acceptInsecureCerts: true,
    args: ['--no-sandbox', '--ignore-certificate-errors', '--disable-gpu', '--disable-dev-shm-usage',
      '--no-first-run', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--disable-extensions', '--disable-default-apps'],
  });
});

after(async () => {
  if (browser) await browser.close();
});

// ---- Helpers ------------------------------------------------------------------------------

function sql(query) {
  return execFileSync('psql', ['-d', process.env.FM_DATABASE_URL, '-XAtq', '-c', query],
    { encoding: 'utf8' }).trim();
}
const lit = (text) => `'${String(text).replace(/'/g, "''")}'`;

// A page in its own browser context (its own sessionStorage), signed in with `key`.
async function open(key, route = '#/executions') {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT_MS);
  await page.setViewport({ width: 1280, height: 900 });
  page.on('dialog', async (dialog) => {
    dialogs.push(`${dialog.type()}: ${dialog.message()}`);
    await dialog.dismiss();
  });
  page.on('pageerror', (error) => pageErrors.push(String(error)));
  await page.setRequestInterception(true);
  page.on('request', (request) => {
    if (request.isInterceptResolutionHandled()) return;
    const url = new URL(request.url());
    requested.add(`${url.protocol}//${url.host}`);
    const local = url.protocol === 'data:' || url.protocol === 'about:' || url.protocol === 'blob:' ||
      url.hostname === '127.0.0.1';
    if (!local) offHost.push(request.url());
    (local ? request.continue() : request.abort('blockedbyclient')).catch(() => {});
  });
  await page.goto(`${BASE}/${route}`, { waitUntil: 'domcontentloaded' });
  if (key) await signIn(page, key);
  return { page, close: () => context.close() };
}

async function signIn(page, key) {
  await page.waitForSelector('[data-testid=key-form]:not([hidden])');
  await page.$eval('[data-testid=api-key]', (input, value) => { input.value = value; }, key);
  await page.click('[data-testid=api-key-submit]');
  await page.waitForSelector('[data-testid=whoami]:is([data-role=operator], [data-role=tenant])');
}

const text = (page, selector) => page.$eval(selector, (el) => el.textContent);
const rowIds = (page) => page.$$eval('[data-testid=execution-row]', (rows) => rows.map((r) => r.dataset.id));

// Navigates to `hash` and waits until the console has rendered it, then for readySelector.
async function go(page, hash, readySelector) {
  await page.evaluate((h) => { location.hash = h; }, hash);
  await page.waitForFunction(() => {
    const main = document.querySelector('main');
    return main.dataset.hash === location.hash && main.getAttribute('aria-busy') === 'false';
  });
  await page.waitForSelector(readySelector);
}

// Every execution id over every page of the current list (clicks Next until disabled).
async function allPages(page) {
  const ids = [];
  for (let n = 1; ; n++) {
    await page.waitForSelector(`[data-testid=page-label][data-page="${n}"]`);
    ids.push(...await rowIds(page));
    if (await page.$eval('[data-testid=page-next]', (b) => b.disabled)) return ids;
    await page.click('[data-testid=page-next]');
  }
}

async function confirm(page, button) {
  await page.$eval('[data-testid=notice]', (n) => { n.hidden = true; n.removeAttribute('data-kind'); });
  await page.click(button);
  await page.waitForSelector('[data-testid=confirm-dialog][open]');
  await page.click('[data-testid=confirm-ok]');
  await page.waitForSelector('[data-testid=notice][data-kind]:not([hidden])');
  const kind = await page.$eval('[data-testid=notice]', (n) => `${n.dataset.kind}: ${n.textContent}`);
  assert.match(kind, /^ok: /);
}

async function shot(page, name) {
  await page.screenshot({ path: `${SHOTS}/${MODE}-${name}.png`, fullPage: true });
}

function countsShown(page) {
  return page.evaluate((statuses) => Object.fromEntries(statuses.map((s) =>
    [s, Number(document.querySelector(`[data-testid=status-count-${s}]`).textContent)])), STATUSES);
}

const expectedCounts = (counts) => Object.fromEntries(STATUSES.map((s) => [s, counts[s] || 0]));

function assertClean() {
  assert.deepEqual(dialogs, [], 'a JavaScript dialog opened: markup from the data ran');
  assert.deepEqual(pageErrors, [], 'uncaught errors in the page');
  assert.deepEqual(offHost, [], 'requests to another host than 127.0.0.1');
  for (const origin of requested) assert.match(origin, /^(https?:\/\/127\.0\.0\.1:\d+|data:\/\/|about:\/\/|blob:\/\/)$/);
}

// ---- With API keys (TLS) ------------------------------------------------------------------

describe('console with API keys', { skip: MODE !== 'keys' }, () => {
  let operator;
  before(async () => { operator = await open(process.env.FM_KEY_OPERATOR); });
  after(async () => { if (operator) await operator.close(); });

  test('asks for a key, refuses a wrong one, names who you are', async () => {
    const { page, close } = await open(null);
    try {
      await page.waitForSelector('[data-testid=auth-required]');
      assert.equal(await text(page, '[data-testid=whoami]'), 'no key');
      await page.$eval('[data-testid=api-key]', (input) => { input.value = 'not-a-key'; });
      await page.click('[data-testid=api-key-submit]');
      await page.waitForSelector('[data-testid=whoami][data-role=none]');
      await page.waitForFunction(() =>
        document.querySelector('[data-testid=whoami]').textContent === 'key not accepted');
      await signIn(page, process.env.FM_KEY_ACME);
      assert.equal(await text(page, '[data-testid=whoami]'), 'tenant acme');
      assert.equal(await page.evaluate(() => sessionStorage.getItem('fm.console.key')), process.env.FM_KEY_ACME);
    } finally {
      await close();
    }
    assert.equal(await text(operator.page, '[data-testid=whoami]'), 'operator');
  });

  test('executions: counts per status and two pages of running ones', async () => {
    const { page } = operator;
    await go(page, '#/executions', '[data-testid=status-tab-RUNNING].active');
    assert.deepEqual(await countsShown(page), expectedCounts(SEED.counts));
    const first = await rowIds(page);
    assert.equal(first.length, 20);
    await shot(page, 'executions');
    await page.click('[data-testid=page-next]');
    await page.waitForSelector('[data-testid=page-label][data-page="2"]');
    const second = await rowIds(page);
    assert.equal(second.length, SEED.running.length - 20);
    assert.deepEqual(second.filter((id) => first.includes(id)), [], 'page 2 repeats page 1');
    assert.deepEqual([...first, ...second].sort(), [...SEED.running].sort());
    await page.click('[data-testid=page-prev]');
    await page.waitForSelector('[data-testid=page-label][data-page="1"]');
    assert.deepEqual(await rowIds(page), first);
  });

  test('executions: the status, flow and tenant filters', async () => {
    const { page } = operator;
    await go(page, '#/executions?status=FAILED', '[data-testid=status-tab-FAILED].active');
    assert.deepEqual((await rowIds(page)).sort(), [...SEED.failed].sort());
    const shown = await page.$$eval('[data-testid=execution-row] [data-status]', (b) => b.map((x) => x.dataset.status));
    assert.ok(shown.every((s) => s === 'FAILED'), shown.join());

    await go(page, '#/executions', '[data-testid=status-tab-RUNNING].active [data-testid=status-count-RUNNING]');
    await page.$eval('[data-testid=filter-flow]', (input) => { input.value = 'billing-flow'; });
    await page.click('[data-testid=filter-apply]');
    await page.waitForSelector('[data-testid=filter-flow][value=billing-flow]');
    assert.equal(Number(await text(page, '[data-testid=status-count-RUNNING]')), SEED.billingCounts.RUNNING);
    assert.equal(Number(await text(page, '[data-testid=status-count-COMPLETED]')), SEED.billingCounts.COMPLETED);
    assert.deepEqual((await rowIds(page)).sort(), ['globex-run-0', 'globex-run-1', 'globex-run-2']);

    await go(page, '#/executions?status=RUNNING&tenant=globex', '[data-testid=filter-tenant][value=globex]');
    assert.deepEqual((await rowIds(page)).sort(), ['globex-run-0', 'globex-run-1', 'globex-run-2']);
  });

  test('an execution id that is markup is shown as text', async () => {
    const { page } = operator;
    await go(page, '#/executions?status=WAITING', '[data-testid=status-tab-WAITING].active');
    const link = `[data-testid=execution-row][data-id="${CSS_escape(SEED.scriptId)}"] [data-testid=execution-link]`;
    assert.equal(await text(page, link), SEED.scriptId);
    await page.click(link);
    await page.waitForSelector('[data-testid=execution-page]');
    assert.equal(await text(page, '[data-testid=execution-id]'), SEED.scriptId);
    assert.match(await text(page, '[data-testid=context-json]'), /"note": "<script>alert\(4\)<\/script>"/);
    assert.match(await text(page, '[data-field="Wait reason"]'), /^approval <b>needed<\/b>$/);
    const injected = await page.evaluate(() => ({
      scripts: [...document.scripts].map((s) => s.getAttribute('src')),
      images: document.images.length,
      bold: document.querySelectorAll('main b').length,
    }));
    assert.deepEqual(injected, { scripts: ['/console.js'], images: 0, bold: 0 });
    assert.deepEqual(dialogs, []);
  });

  test('execution detail: fields, context, timeline, jobs, tokens, lease', async () => {
    const { page } = operator;
    await go(page, `#/executions/${encodeURIComponent(SEED.detailId)}`, '[data-testid=execution-page]');
    assert.equal(await text(page, '[data-testid=execution-id]'), SEED.detailId);
    assert.equal(await text(page, '[data-field=Tenant]'), 'acme');
    assert.equal(await text(page, '[data-testid=execution-flow]'), 'order-flow@2.0.0');
    const context = await text(page, '[data-testid=context-json]');
    assert.match(context, /"id": 4711/);
    assert.match(context, /"note": "<img src=x onerror=alert\(3\)>"/);

    // The large value: listed with its summary and size, loaded on demand.
    const ref = `[data-testid=context-ref][data-key=${SEED.contextKey}]`;
    assert.match(await text(page, `${ref} [data-testid=context-summary]`), /^Object \{lines\}/);
    assert.match(await text(page, `${ref} [data-testid=context-size]`), /KiB$/);
    await page.click(`${ref} [data-testid=context-load]`);
    await page.waitForSelector(`${ref} [data-testid=context-value]`);
    assert.match(await text(page, `${ref} [data-testid=context-value]`), /"sku": "SKU-0199"/);

    const events = await page.$$eval('[data-testid=event]', (items) => items.map((li) => li.dataset.type));
    assert.deepEqual(events.filter((t) => t !== 'job.failed'),
      ['execution.created', 'step.started', 'step.completed', 'step.started']);
    assert.ok(events.includes('job.failed'), events.join());
    const data = await page.$$eval('[data-testid=event-data]', (pres) => pres.map((p) => p.textContent));
    assert.ok(data.some((d) => d.includes('"comment": "<b>ok</b>"')), data.join('\n'));

    const jobs = await page.$$eval('[data-testid=execution-jobs] [data-testid=job-row]', (rows) =>
      rows.map((r) => ({ id: r.dataset.id, status: r.dataset.status, stalled: r.classList.contains('stalled'),
        error: r.querySelector('[data-testid=job-error]').textContent,
        actions: [...r.querySelectorAll('button')].map((b) => b.dataset.testid) })));
    const byId = Object.fromEntries(jobs.map((j) => [j.id, j]));
    assert.equal(jobs.length, 3);
    assert.deepEqual(byId[SEED.stalledJobId], { id: SEED.stalledJobId, status: 'RUNNING', stalled: true, error: '', actions: ['reset-job'] });
    assert.deepEqual(byId[SEED.failedJobId], { id: SEED.failedJobId, status: 'FAILED', stalled: false,
      error: 'CARD_DECLINED: card declined <b>4242</b>', actions: ['retry-job'] });
    assert.deepEqual(byId[SEED.pendingJobId], { id: SEED.pendingJobId, status: 'PENDING', stalled: false, error: '', actions: [] });

    const tokens = await page.$$eval('[data-testid=token-row]', (rows) => rows.map((r) => [r.dataset.idPrefix, r.dataset.status]));
    assert.deepEqual(tokens, [[SEED.tokenId.slice(0, 12), 'PENDING']]);
    assert.ok(!(await page.content()).includes(SEED.tokenValue), 'the resume token itself is on the page');
    assert.ok(!(await page.content()).includes(SEED.tokenId), 'the whole token id is on the page');

    await page.waitForSelector('[data-testid=lease] [data-held=true]');
    assert.equal(await text(page, '[data-testid=lease-owner]'), 'engine-7');
    await shot(page, 'execution');
  });

  test('jobs: the stalled job is highlighted; status and handler filters', async () => {
    const { page } = operator;
    await go(page, '#/jobs', '[data-testid=jobs-page]');
    const running = await page.$$eval('[data-testid=job-row]', (rows) => rows.map((r) => [r.dataset.id, r.className]));
    assert.deepEqual(running, [[SEED.stalledJobId, 'stalled']]);
    assert.equal(await text(page, '[data-testid=job-row].stalled [data-testid=stalled]'), 'STALLED');
    await shot(page, 'jobs');

    await page.select('[data-testid=job-status]', 'FAILED');
    await page.waitForSelector('[data-testid=job-status] option[value=FAILED][selected]');
    const failed = await page.$$eval('[data-testid=job-row]', (rows) => rows.map((r) => r.dataset.id));
    assert.deepEqual(failed.sort(), [SEED.failedJobId, SEED.globexFailedJobId].sort());
    assert.equal(await text(page, `[data-testid=job-row][data-id="${SEED.failedJobId}"] [data-testid=job-error]`),
      'CARD_DECLINED: card declined <b>4242</b>');

    await go(page, '#/jobs?status=PENDING&handler=shipping.label', '[data-testid=filter-handler][value="shipping.label"]');
    assert.deepEqual(await page.$$eval('[data-testid=job-row]', (rows) => rows.map((r) => r.dataset.id)), [SEED.pendingJobId]);
    await go(page, '#/jobs?status=PENDING&handler=fraud.check', '[data-testid=filter-handler][value="fraud.check"]');
    await page.waitForSelector('[data-testid=jobs-table-empty]');
  });

  test('flows: versions and the step graph', async () => {
    const { page } = operator;
    await go(page, '#/flows', '[data-testid=flows-page]');
    const flows = await page.$$eval('[data-testid=flow-row]', (rows) => rows.map((r) => r.dataset.id));
    assert.deepEqual(flows, ['billing-flow', 'order-flow']);
    await page.click('[data-testid=flow-row][data-id=order-flow] [data-testid=flow-link]');
    await page.waitForSelector('[data-testid=flow-graph]');
    const versions = await page.$$eval('[data-testid=version-row]', (rows) =>
      rows.map((r) => [r.dataset.version, r.querySelector('[data-status]').dataset.status]));
    assert.deepEqual(versions, [['2.0.0', 'PUBLISHED'], ['1.0.0', 'PUBLISHED']]);

    const graph = await page.evaluate(() => ({
      nodes: [...document.querySelectorAll('[data-testid=graph-node]')].map((n) => n.dataset.step),
      unreachable: [...document.querySelectorAll('[data-testid=graph-node].unreachable')].map((n) => n.dataset.step),
      initial: document.querySelector('[data-testid=graph-node].initial').dataset.step,
      edges: [...document.querySelectorAll('[data-testid=graph-edge]')].map((e) => `${e.dataset.from}-${e.dataset.label}->${e.dataset.to}`),
      labels: [...document.querySelectorAll('[data-testid=graph-edge] text')].map((t) => t.textContent),
      titles: [...document.querySelectorAll('[data-testid=graph-node] title')].map((t) => t.textContent),
      images: document.querySelectorAll('img, svg image').length,
    }));
    assert.deepEqual(graph.nodes.sort(), ['approve', 'charge', 'refund', 'ship', 'validate', SEED.markupStep].sort());
    assert.deepEqual(graph.unreachable, [SEED.markupStep]);
    assert.equal(graph.initial, 'validate');
    assert.deepEqual(graph.edges.sort(), [
      'validate-onSuccess->charge', 'validate-onFailure->refund', 'charge-onSuccess->approve',
      'charge-onFailure->refund', 'approve-onSuccess->ship', 'approve-onFailure->refund',
      'approve-onTimeout->refund', `${SEED.markupStep}-onSuccess->ship`].sort());
    assert.ok(graph.labels.includes('onTimeout'));
    assert.ok(graph.titles.includes(`${SEED.markupStep} (legacy)`), graph.titles.join());
    assert.equal(graph.images, 0);
    await shot(page, 'flow-graph');

    await page.click('[data-testid=version-row][data-version="1.0.0"] [data-testid=version-link]');
    await page.waitForSelector('[data-testid=version-row].selected[data-version="1.0.0"]');
    assert.equal(await page.$$eval('[data-testid=graph-node]', (n) => n.length), 3);
    assert.ok(await page.$('[data-testid=graph-edge][data-from=charge][data-to=validate][data-label=onFailure]'));
  });

  test('a tenant key sees only its own tenant', async () => {
    const { page, close } = await open(process.env.FM_KEY_ACME);
    try {
      await page.waitForSelector('[data-testid=status-tab-RUNNING].active');
      assert.equal(await page.$('[data-testid=filter-tenant]'), null);
      assert.deepEqual(await countsShown(page), expectedCounts(SEED.acmeCounts));
      const running = await allPages(page);
      assert.deepEqual(running.sort(), [...SEED.acmeRunning].sort());
      await go(page, '#/executions?status=WAITING', '[data-testid=status-tab-WAITING].active');
      const waiting = await rowIds(page);
      assert.ok(waiting.includes(SEED.scriptId));
      assert.ok(!waiting.includes(SEED.globexId), 'acme sees a globex execution');

      await go(page, `#/executions/${encodeURIComponent(SEED.globexId)}`, '[data-testid=not-found]');
      await go(page, '#/jobs?status=FAILED', '[data-testid=jobs-page]');
      const jobs = await page.$$eval('[data-testid=job-row]', (rows) => rows.map((r) => r.dataset.id));
      assert.deepEqual(jobs, [SEED.failedJobId]);
    } finally {
      await close();
    }
  });

  test('a tenant key cannot act', async () => {
    const { page, close } = await open(process.env.FM_KEY_ACME);
    try {
      await go(page, `#/executions/${encodeURIComponent(SEED.refusedId)}`, '[data-testid=execution-page]');
      assert.equal(await page.$eval('[data-testid=cancel-execution]', (b) => b.disabled), true);
      // What the button would send, sent anyway with the tenant's key: refused by the server.
      const answer = await page.evaluate(async (id) => {
        const response = await fetch('/api/Console/CancelExecution', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${sessionStorage.getItem('fm.console.key')}` },
          body: JSON.stringify({ executionId: id, reason: 'tenant tries' }),
        });
        return [response.status, (await response.json()).code];
      }, SEED.refusedId);
      assert.deepEqual(answer, [403, 'PERMISSION_DENIED']);
      assert.equal(sql(`SELECT status FROM fm_executions WHERE id = ${lit(SEED.refusedId)}`), 'pending');
    } finally {
      await close();
    }
  });

  test('operator actions change PostgreSQL', async () => {
    const { page } = operator;
    // Cancel an execution; the dialog's Cancel first changes nothing.
    await go(page, `#/executions/${encodeURIComponent(SEED.cancelId)}`, '[data-testid=cancel-execution]');
    await page.click('[data-testid=cancel-execution]');
    await page.waitForSelector('[data-testid=confirm-dialog][open]');
    await page.click('[data-testid=confirm-cancel]');
    await page.waitForSelector('[data-testid=confirm-dialog]:not([open])');
    assert.equal(sql(`SELECT status FROM fm_executions WHERE id = ${lit(SEED.cancelId)}`), 'running');
    await confirm(page, '[data-testid=cancel-execution]');
    await page.waitForSelector('[data-testid=execution-status] [data-status=CANCELLED]');
    assert.equal(sql(`SELECT status FROM fm_executions WHERE id = ${lit(SEED.cancelId)}`), 'cancelled');

    // Retry the failed job, reset the stalled one, revoke the token (the detail page).
    await go(page, `#/executions/${encodeURIComponent(SEED.detailId)}`, '[data-testid=retry-job]');
    await confirm(page, `[data-testid=job-row][data-id="${SEED.failedJobId}"] [data-testid=retry-job]`);
    await page.waitForSelector(`[data-testid=job-row][data-id="${SEED.failedJobId}"][data-status=PENDING]`);
    assert.equal(sql(`SELECT status || ' ' || attempts FROM fm_jobs WHERE id = ${lit(SEED.failedJobId)}`), 'pending 0');
    await confirm(page, `[data-testid=job-row][data-id="${SEED.stalledJobId}"] [data-testid=reset-job]`);
    await page.waitForSelector(`[data-testid=job-row][data-id="${SEED.stalledJobId}"][data-status=PENDING]`);
    assert.equal(sql(`SELECT status FROM fm_jobs WHERE id = ${lit(SEED.stalledJobId)}`), 'pending');
    await confirm(page, '[data-testid=revoke-token]');
    await page.waitForSelector('[data-testid=token-row][data-status=REVOKED]');
    assert.equal(sql(`SELECT status FROM fm_resume_tokens WHERE token_hash = ${lit(SEED.tokenId)}`), 'revoked');

    // Archive a flow version.
    await go(page, '#/flows/order-flow?version=1.0.0', '[data-testid=version-row][data-version="1.0.0"] [data-testid=archive-version]');
    await confirm(page, '[data-testid=version-row][data-version="1.0.0"] [data-testid=archive-version]');
    await page.waitForSelector('[data-testid=version-row][data-version="1.0.0"] [data-status=ARCHIVED]');
    assert.equal(sql("SELECT status FROM fm_flows WHERE id = 'order-flow' AND version = '1.0.0'"), 'archived');
  });

  test('no dialog, no page error, no request off 127.0.0.1', () => assertClean());
});

// ---- Without API keys ---------------------------------------------------------------------

describe('console without API keys', { skip: MODE !== 'open' }, () => {
  test('no key box; lists, shows markup as text, cancels', async () => {
    const { page, close } = await open(null);
    try {
      await page.waitForSelector('[data-testid=status-tab-RUNNING].active');
      assert.equal(await page.$eval('[data-testid=key-form]', (f) => f.hidden), true);
      assert.equal(await text(page, '[data-testid=whoami]'), 'open access (no API keys configured)');
      assert.deepEqual(await countsShown(page), expectedCounts(SEED.counts));
      assert.deepEqual((await rowIds(page)).sort(), [...SEED.running].sort());
      const link = `[data-testid=execution-row][data-id="${CSS_escape(SEED.scriptId)}"] [data-testid=execution-link]`;
      assert.equal(await text(page, link), SEED.scriptId);

      await go(page, `#/executions/${encodeURIComponent(SEED.cancelId)}`, '[data-testid=cancel-execution]:not([disabled])');
      await confirm(page, '[data-testid=cancel-execution]');
      await page.waitForSelector('[data-testid=execution-status] [data-status=CANCELLED]');
      assert.equal(sql(`SELECT status FROM fm_executions WHERE id = ${lit(SEED.cancelId)}`), 'cancelled');

      await go(page, `#/flows/${SEED.flowId}`, '[data-testid=flow-graph]');
      assert.equal(await page.$$eval('[data-testid=graph-node]', (n) => n.length), 6);
    } finally {
      await close();
    }
  });

  test('no dialog, no page error, no request off 127.0.0.1', () => assertClean());
});

// An attribute value inside "...": backslash and double quote escaped.
function CSS_escape(value) {
  return value.replace(/["\\]/g, (c) => `\\${c}`);
}
