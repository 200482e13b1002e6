// End-to-end test of the dashboard in Debian's headless Chromium against a real
// `fleetward demo`: sign in, overview (burn-down points = report API), devices filtered to
// iOS, sorting by a column (checked against the API), a person's page, a device's findings
// history, CSV export, search, sorting by owner, a server restart without signing out, sign
// out, a revoked token ending its session, no console errors,
// phone-sized layout, Russian number formatting.
// Screenshots go to --artifacts. Usage:
//   node dashboard.test.mjs --fleetward build/src/cli/fleetward --artifacts build/test-artifacts/web
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { args, startDemo, stopDemo, restartAsServe, launch, watchErrors, visit } from './harness.mjs';

const opt = args();
const bin = path.resolve(opt.fleetward || '../../build/src/cli/fleetward');
const artifacts = path.resolve(opt.artifacts || 'test-artifacts');
fs.mkdirSync(artifacts, { recursive: true });

let passed = 0, failed = 0;
async function step(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    passed++;
    console.log(`ok - ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    failed++;
    console.log(`not ok - ${name}\n  ${String(e.stack || e).split('\n').join('\n  ')}`);
    throw e;
  }
}
const shot = (page, name) => page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: true });

let demo, browser;
try {
  demo = await startDemo(bin, opt.devices ? ['--devices', opt.devices] : []);
  console.log(`# demo at ${demo.url} (started in ${demo.startMs} ms)`);
  browser = await launch(artifacts);
  const page = browser.ctx.pages()[0] || await browser.ctx.newPage();
  const errors = watchErrors(page, demo.url);
  // The test's own deliberate 401/403 probes log "Failed to load resource"; drop those.
  const probe = async (fn) => {
    const mark = errors.length;
    const r = await fn();
    await page.waitForTimeout(200);
    errors.splice(mark);
    return r;
  };
  const api = (p) => page.evaluate(async (u) => {
    const r = await fetch(u, { credentials: 'same-origin' });
    return { status: r.status, body: r.headers.get('content-type')?.includes('json') ? await r.json() : await r.text() };
  }, p);

  await step('the sign-in page is served from the binary and rejects a bad token', async () => {
    await page.goto(demo.url + '/');
    await page.waitForSelector('#token');
    assert.equal(await page.getAttribute('html', 'lang'), 'ru');
    await page.fill('#token', 'fw_' + '0'.repeat(64));
    await page.click('form.signin button[type=submit]');
    await page.waitForSelector('form.signin .error:not([hidden])');
    await shot(page, '01-signin');
  });

  await step('sign in with the admin token sets an HttpOnly SameSite=Strict cookie', async () => {
    await page.fill('#token', demo.token);
    await Promise.all([page.waitForSelector('[data-testid=burndown] svg'), page.click('form.signin button[type=submit]')]);
    const cookies = await browser.ctx.cookies(demo.url);
    const c = cookies.find((x) => x.name === 'fw_session');
    assert.ok(c, 'session cookie set');
    assert.equal(c.httpOnly, true);
    assert.equal(c.sameSite, 'Strict');
    assert.ok(c.expires > Date.now() / 1000, 'cookie has an expiry');
    assert.equal(await page.evaluate(() => document.cookie.includes('fw_session')), false, 'not readable by scripts');
  });

  await step('a state-changing request without the CSRF header is refused', async () => {
    const r = await probe(() => page.evaluate(async () => (await fetch('/api/v1/session', { method: 'DELETE', credentials: 'same-origin' })).status));
    assert.equal(r, 403);
    const s = await api('/api/v1/session');
    assert.equal(s.status, 200, 'still signed in');
  });

  let report;
  await step('the overview shows the burn-down with one point per day of the report', async () => {
    const href = await page.getAttribute('[data-testid=report-html]', 'href');
    const m = /\/api\/v1\/reports\/([^?]+)/.exec(href);
    assert.ok(m, `report link ${href}`);
    const r = await api(`/api/v1/reports/${m[1]}`);
    assert.equal(r.status, 200);
    report = r.body;
    const points = await page.locator('[data-testid=burndown] circle.bd-point').count();
    assert.ok(report.burndown.length > 1, 'the demo has history');
    assert.equal(points, report.burndown.length);
    assert.equal(await page.locator('[data-testid=burndown] line.deadline').count(), 1, 'deadline marker');
    const tree = await page.locator('[data-testid=unit-tree] [role=treeitem]').count();
    assert.equal(tree, report.units.length);
    await shot(page, '02-overview');
  });

  await step('the overdue list names failing rules by their titles, the id on hover', async () => {
    // The demo's campaign is before its deadline (nobody overdue): the report the page reads
    // gets one overdue person, failing the first rule, on its way from the server.
    const rule = report.rules[0];
    assert.ok(rule.title && rule.title !== rule.id, 'the demo names its rules');
    const pattern = /\/api\/v1\/reports\/[^?]+(\?.*)?$/;
    await page.route(pattern, async (route) => {
      const res = await route.fetch();
      if (!(res.headers()['content-type'] || '').includes('json')) return route.fulfill({ response: res });
      const body = await res.json();
      body.overdue = [{ person_id: 'p-test', name: 'Test Person', unit: 'Test unit', manager: '', devices: ['d-test'],
        rules: [rule.id, 'no-such-rule'], days_overdue: 3 }];
      await route.fulfill({ response: res, json: body });
    });
    try {
      await visit(page, '#/overview');
      await page.reload();
      await page.waitForSelector('[data-testid=overdue] tbody td span[title]');
      const cell = page.locator('[data-testid=overdue] tbody tr').first().locator('td').nth(4);
      assert.equal(await cell.textContent(), `${rule.title}, no-such-rule`);
      assert.equal(await cell.locator('span').getAttribute('title'), rule.id);
    } finally {
      await page.unroute(pattern);
    }
  });

  await step('the devices list filters to iOS on the server', async () => {
    await visit(page, '#/devices');
    await page.selectOption('select[name=os_family]', 'iOS');
    await page.waitForFunction(() => location.hash.includes('os_family=iOS') && document.querySelector('table.list tbody tr td'));
    await page.waitForSelector('table.list tbody tr td[data-label]');
    const osCells = await page.locator('table.list tbody tr td:nth-child(2)').allTextContents();
    assert.ok(osCells.length > 0, 'some iPhones');
    for (const c of osCells) assert.match(c, /^iOS\b/);
    await shot(page, '03-devices-ios');
  });

  await step('CSV export of the filtered list downloads every iOS device', async () => {
    const [dl] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=export-csv]')]);
    const file = path.join(artifacts, 'devices-ios.csv');
    await dl.saveAs(file);
    const lines = fs.readFileSync(file, 'utf8').replace(/^\uFEFF/, '').trim().split(/\r\n/);
    const header = lines[0].split(',');
    const col = header.indexOf('os_family');
    assert.ok(col >= 0, `os_family column in ${header}`);
    assert.ok(lines.length > 1);
    for (const l of lines.slice(1)) assert.equal(l.split(',')[col], 'iOS');
    const count = await page.evaluate(async () => {
      let n = 0, cursor = '';
      for (;;) {
        const r = await (await fetch(`/api/v1/devices?os_family=iOS&limit=1000${cursor ? '&cursor=' + encodeURIComponent(cursor) : ''}`)).json();
        n += r.items.length;
        if (!r.next_cursor) return n;
        cursor = r.next_cursor;
      }
    });
    assert.equal(lines.length - 1, count);
  });

  await step('sorting by a column orders the list on the server, both ways', async () => {
    await visit(page, '#/devices');
    const header = page.locator('table.list thead th').nth(6);  // "last seen"
    assert.equal(await header.getAttribute('aria-sort'), 'none');
    await header.locator('a.sort').click();
    await page.waitForFunction(() => location.hash.includes('sort=last_seen') && document.querySelector('th[aria-sort=ascending]'));
    await page.waitForSelector('table.list tbody tr td[data-label]');
    const want = await api('/api/v1/devices?sort=last_seen&limit=50');
    assert.equal(want.status, 200);
    const seen = want.body.items.map((d) => Date.parse(d.last_seen));
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i - 1] <= seen[i], 'API order ascending by last_seen');
    const shown = await page.locator('table.list tbody tr td:first-child a').evaluateAll((as) => as.map((a) => decodeURIComponent(a.getAttribute('href').replace('#/devices/', ''))));
    assert.deepEqual(shown, want.body.items.map((d) => d.id), 'the page shows the API order');
    await page.locator('table.list thead th[aria-sort=ascending] a.sort').click();
    await page.waitForFunction(() => location.hash.includes('sort=-last_seen') && document.querySelector('th[aria-sort=descending]'));
    const desc = await api('/api/v1/devices?sort=-last_seen&limit=50');
    const seenDesc = desc.body.items.map((d) => Date.parse(d.last_seen));
    for (let i = 1; i < seenDesc.length; i++) assert.ok(seenDesc[i - 1] >= seenDesc[i], 'API order descending');
    await page.waitForFunction((first) => document.querySelector('table.list tbody tr td:first-child a')?.getAttribute('href') === '#/devices/' + encodeURIComponent(first), desc.body.items[0].id);
    // The next page continues the order.
    const next = await api(`/api/v1/devices?sort=-last_seen&limit=50&cursor=${encodeURIComponent(desc.body.next_cursor)}`);
    assert.ok(Date.parse(next.body.items[0].last_seen) <= seenDesc[seenDesc.length - 1]);
    // Owners are shown by name (from the list query), not by id.
    const owner = desc.body.items.find((d) => d.owner_id);
    assert.ok(owner?.owner_name, 'owner_name in the API');
    const bad = await probe(() => api('/api/v1/devices?sort=shoe_size'));
    assert.equal(bad.status, 400);
    assert.match(JSON.stringify(bad.body), /shoe_size/);
    await shot(page, '03b-devices-sorted');
  });

  await step('searching devices finds them by model and by owner name on the server', async () => {
    const sample = await api('/api/v1/devices?limit=100');
    const dev = sample.body.items.find((d) => d.owner_name && d.model && d.model.length >= 3);
    assert.ok(dev, 'a device with an owner and a model');
    for (const q of [dev.model.toUpperCase(), dev.owner_name.split(' ').pop()]) {
      await visit(page, '#/devices');
      await page.fill('input[name=search]', q);
      await page.press('input[name=search]', 'Enter');
      await page.waitForFunction((want) => new URLSearchParams(location.hash.split('?')[1] || '').get('search') === want, q);
      await page.waitForSelector('table.list tbody tr td[data-label]');
      const want = await api(`/api/v1/devices?search=${encodeURIComponent(q)}&limit=50`);
      assert.equal(want.status, 200);
      assert.ok(want.body.items.some((d) => d.id === dev.id) || want.body.next_cursor, `"${q}" finds ${dev.id}`);
      const low = q.toLowerCase();
      for (const d of want.body.items) {
        const text = [d.id, d.model, d.vendor, d.owner_name].join('\n').toLowerCase();
        assert.ok(text.includes(low) || d.owner_id, `${d.id} matches "${q}"`);
      }
      const shown = await page.locator('table.list tbody tr td:first-child a').evaluateAll((as) => as.map((a) => decodeURIComponent(a.getAttribute('href').replace('#/devices/', ''))));
      assert.deepEqual(shown, want.body.items.map((d) => d.id), 'the page shows the API rows');
    }
    await shot(page, '03c-devices-search');
  });

  await step('sorting devices by owner orders them by the owner name, in stable pages', async () => {
    await visit(page, '#/devices');
    const header = page.locator('table.list thead th').nth(3);  // "owner"
    await header.locator('a.sort').click();
    await page.waitForFunction(() => location.hash.includes('sort=owner') && document.querySelector('th[aria-sort=ascending]'));
    await page.waitForSelector('table.list tbody tr td[data-label]');
    const first = await api('/api/v1/devices?sort=owner&limit=50');
    const second = await api(`/api/v1/devices?sort=owner&limit=50&cursor=${encodeURIComponent(first.body.next_cursor)}`);
    const names = [...first.body.items, ...second.body.items].map((d) => d.owner_name || '');
    for (let i = 1; i < names.length; i++) assert.ok(names[i - 1] <= names[i], `owner order: "${names[i - 1]}" <= "${names[i]}"`);
    const ids = new Set([...first.body.items, ...second.body.items].map((d) => d.id));
    assert.equal(ids.size, 100, 'no row twice across pages');
    const shown = await page.locator('table.list tbody tr td:first-child a').evaluateAll((as) => as.map((a) => decodeURIComponent(a.getAttribute('href').replace('#/devices/', ''))));
    assert.deepEqual(shown, first.body.items.map((d) => d.id), 'the page shows the API order');
    await shot(page, '03d-devices-by-owner');
  });

  await step('a person page shows their devices and findings', async () => {
    const href = await page.locator('table.list tbody tr td:nth-child(4) a').first().getAttribute('href');
    assert.ok(href?.startsWith('#/people/'));
    await visit(page, href);
    await page.waitForSelector('[data-testid=person-devices]');
    assert.ok(await page.locator('[data-testid=person-devices] tbody tr a').count() >= 1);
    await shot(page, '04-person');
    const dev = await page.locator('[data-testid=person-devices] tbody tr a').first().getAttribute('href');
    await visit(page, dev);
    await page.waitForSelector('[data-testid=device-apps]');
    await shot(page, '05-device');
  });

  await step("a device's findings history lists its status changes, newest first", async () => {
    // A device of the campaign with some history: the first failing finding's device.
    const f = await api(`/api/v1/findings?status=fail&policy_id=${encodeURIComponent(report.campaign)}&limit=1`);
    assert.equal(f.status, 200);
    const id = f.body.items[0].device_id;
    assert.ok(f.body.items[0].person_name, 'person_name in the findings list');
    const hist = await api(`/api/v1/dashboard/devices/${encodeURIComponent(id)}/history`);
    assert.equal(hist.status, 200);
    assert.ok(hist.body.items.length >= 1, 'a failing finding has at least one change');
    const at = hist.body.items.map((c) => Date.parse(c.at));
    for (let i = 1; i < at.length; i++) assert.ok(at[i - 1] >= at[i], 'newest first');
    await visit(page, `#/devices/${encodeURIComponent(id)}`);
    await page.waitForSelector('[data-testid=device-history]');
    const rows = await page.locator('[data-testid=device-history] tbody tr').count();
    assert.equal(rows, hist.body.items.length);
    // Times in the organisation's zone (the session names it), formatted for the reader (ru).
    const zone = (await api('/api/v1/session')).body.timezone;
    assert.ok(zone, 'the session names the time zone');
    const want = new Intl.DateTimeFormat('ru', { timeZone: zone, dateStyle: 'medium', timeStyle: 'short' }).format(new Date(hist.body.items[0].at));
    assert.equal((await page.locator('[data-testid=device-history] tbody tr td').first().textContent()).trim(), want);
    await shot(page, '05b-device-history');
  });

  await step('people, findings and policies pages render', async () => {
    await visit(page, '#/people');
    await page.waitForSelector('table.list tbody tr');
    await shot(page, '06-people');
    await visit(page, '#/findings?status=fail');
    await page.waitForSelector('table.list tbody tr');
    await shot(page, '07-findings');
    await visit(page, '#/policies');
    await shot(page, '08-policies');
    await visit(page, `#/campaigns/${encodeURIComponent(report.campaign)}`);
    await page.waitForSelector('[data-testid=campaign-rules]');
    await shot(page, '09-campaign');
  });

  await step('the campaign HTML report opens', async () => {
    const href = await page.getAttribute('[data-testid=campaign-report]', 'href');
    const r = await api(href);
    assert.equal(r.status, 200);
    assert.match(r.body, /<svg/);
  });

  await step('the overview is usable on a phone-sized screen', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await visit(page, '#/overview');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 1, `no horizontal scrolling (overflow ${overflow}px)`);
    // The projection's method is in the reader's language (the report JSON's text is English).
    const projection = await page.textContent('[data-testid=projection]');
    assert.ok(/МНК/.test(projection) && !/least-squares/.test(projection), `Russian method text: ${projection}`);
    assert.equal(await page.getAttribute('#nav', 'aria-label'), 'Главное меню');
    await shot(page, '10-overview-phone');
    await page.click('#menu-toggle');
    await shot(page, '11-menu-phone');
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  await step('English is one switch away', async () => {
    await page.selectOption('#lang', 'en');
    await page.waitForFunction(() => document.documentElement.lang === 'en' && document.querySelector('#signout')?.textContent === 'Sign out');
    await page.waitForSelector('[data-testid=burndown] svg');
    await shot(page, '12-overview-en');
    await page.selectOption('#lang', 'ru');
    await page.waitForFunction(() => document.documentElement.lang === 'ru');
    await page.waitForSelector('[data-testid=burndown] svg');
  });

  await step('numbers are formatted for the reader (ru: thin-space thousands)', async () => {
    await visit(page, '#/devices');
    const text = await page.locator('[data-testid=list-count]').textContent();
    const total = (await api('/api/v1/dashboard/device-count')).body.total;
    const ru = new Intl.NumberFormat('ru').format(total);
    assert.ok(text.includes(ru), `"${text}" shows ${ru}`);
    if (total >= 1000) assert.match(ru, /\d[\u00a0\u202f]\d{3}/, 'a non-breaking (thin) space groups thousands');
  });

  await step('a restart of the server keeps the session: reload and still signed in', async () => {
    const ms = await restartAsServe(demo, bin);
    console.log(`# restarted as fleetward serve in ${ms} ms`);
    await Promise.all([page.waitForSelector('[data-testid=burndown] svg'), page.goto(demo.url + '/#/overview')]);
    assert.equal(await page.locator('#token').count(), 0, 'no sign-in form');
    const s = await api('/api/v1/session');
    assert.equal(s.status, 200);
    await shot(page, '12b-after-restart');
  });

  await step('sign out ends the session', async () => {
    await page.click('#signout');
    await page.waitForSelector('#token');
    const s = await probe(() => api('/api/v1/session'));
    assert.equal(s.status, 401);
    const d = await probe(() => api('/api/v1/devices?limit=1'));
    assert.equal(d.status, 401);
    await shot(page, '13-signed-out');
  });

  await step('revoking a token ends the dashboard session it signed in', async () => {
    const bearer = (method, p, body) => fetch(demo.url + p, {
      method, headers: { Authorization: `Bearer ${demo.token}`, 'Content-Type': 'application/json' },
      body: body ? JSON.stringify(body) : undefined,
    }).then(async (r) => ({ status: r.status, body: await r.json() }));
    const made = await bearer('POST', '/api/v1/tokens', { name: 'browser test', role: 'admin' });
    assert.equal(made.status, 201);
    await page.fill('#token', made.body.secret);
    await Promise.all([page.waitForSelector('[data-testid=burndown] svg'), page.click('form.signin button[type=submit]')]);
    assert.equal((await api('/api/v1/session')).status, 200);
    const gone = await bearer('DELETE', `/api/v1/tokens/${made.body.id}`);
    assert.equal(gone.status, 200);
    assert.equal(gone.body.sessions_ended, 1);
    await probe(async () => {
      await page.evaluate(() => { location.hash = '#/people'; });
      await page.waitForSelector('#token');  // the 401 sends the reader to the sign-in form
    });
    const s = await probe(() => api('/api/v1/session'));
    assert.equal(s.status, 401);
    await shot(page, '14-revoked');
  });

  await step('no console errors', async () => {
    assert.deepEqual(errors, []);
  });
} catch (e) {
  if (!failed) { failed++; console.log(`not ok - setup\n  ${e.stack || e}`); }
  if (demo) console.log(`# demo output:\n${demo.output().split('\n').slice(-30).join('\n')}`);
} finally {
  await browser?.close();
  await stopDemo(demo);
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
