// Page-load timings of the dashboard against `fleetward demo --devices N` (default 100,000),
// in Debian's headless Chromium: for each page, the time from the route change to the page's
// "rendered" event (all its API calls answered and the DOM built). Each page is first loaded
// once right after a fresh server start (`fleetward serve` restarted on the same database and
// port, measured once its start-up evaluation is over, i.e. its CPU is idle), so the server's
// cold caches (SQLite pages, prepared statements) are measured: the "first load"; then --runs
// more loads: median, and worst of all loads including the first. Also the server's CPU time
// (user + system of the fleetward process) of the first load and per later load, the slowest
// API call of the page (Resource Timing, median over the loads), and the baseline: the same
// page's API calls alone, fetched from the page (no rendering). And the cold start: a full
// browser load of "/" to the rendered overview. Prints the load average.
//   node perf.mjs --fleetward build/src/cli/fleetward [--devices 100000] [--runs 7] [--keep DIR | --db URL]
// --keep DIR: build the demo once into DIR/data (`fleetward demo --no-serve`) and on later
// runs serve that database again (`fleetward serve`, a new token from `fleetward token
// create`), so a re-measurement skips the minutes the demo takes to build.
// --db URL: serve this database instead (e.g. postgresql://...: the demo copied there by
// demo-to-postgres.sh), with a new token likewise. --db-pid-file F: the server CPU also counts
// the database server's processes (the postmaster whose pid is the first line of F, e.g. its
// postmaster.pid, and its children): a private PostgreSQL that nothing else uses.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { args, startDemo, startServe, stopDemo, restartAsServe, launch, watchErrors, visit } from './harness.mjs';

const opt = args();
const bin = path.resolve(opt.fleetward || '../../build/src/cli/fleetward');
const devices = opt.devices || '100000';
const runs = Number(opt.runs || 7);

const PAGES = [
  ['overview', '#/overview', ['campaigns', 'reports/{campaign}', 'dashboard/device-count?source=log&managed=false', 'dashboard/platform-mix']],
  ['devices', '#/devices', ['devices?limit=50', 'dashboard/device-count', 'org-units?limit=1000']],
  ['devices iOS', '#/devices?os_family=iOS', ['devices?os_family=iOS&limit=50', 'dashboard/device-count?os_family=iOS']],
  ['devices search', '#/devices?search=samsung', ['devices?search=samsung&limit=50', 'dashboard/device-count?search=samsung']],
  ['devices page 3', null, []],
  ['devices by last seen (desc)', '#/devices?sort=-last_seen', ['devices?sort=-last_seen&limit=50', 'dashboard/device-count']],
  ['devices by model', '#/devices?sort=model', ['devices?sort=model&limit=50', 'dashboard/device-count']],
  ['devices by owner', '#/devices?sort=owner', ['devices?sort=owner&limit=50', 'dashboard/device-count']],
  ['people', '#/people', ['people?limit=50']],
  ['people by name', '#/people?sort=name', ['people?sort=name&limit=50']],
  ['people by org unit (desc)', '#/people?sort=-org_unit', ['people?sort=-org_unit&limit=50']],
  ['people by manager', '#/people?sort=manager', ['people?sort=manager&limit=50']],
  ['people search "ivan"', '#/people?search=ivan', ['people?search=ivan&limit=50']],
  ['findings', '#/findings?status=fail', ['findings?status=fail&limit=50', 'policies']],
  ['findings by since (desc)', '#/findings?sort=-status_since', ['findings?sort=-status_since&limit=50', 'policies']],
  ['findings by owner', '#/findings?status=fail&sort=owner', ['findings?status=fail&sort=owner&limit=50', 'policies']],
  ['person', '#/people/{person}', ['people/{person}', 'devices?owner_id={person}&limit=200', 'findings?person_id={person}&limit=200']],
  ['device', '#/devices/{device}', ['devices/{device}', 'findings?device_id={device}&limit=200', 'dashboard/devices/{device}/history?limit=200', 'dashboard/devices/{device}/sightings']],
  ['policies', '#/policies', ['policies', 'campaigns']],
  ['campaign', '#/campaigns/{campaign}', ['campaigns', 'policies/{campaign}', 'exemptions?policy_id={campaign}', 'campaigns/{campaign}/actions?limit=200&people=false']],
];

// CPU time (user + system, ms) the server process has used so far: /proc/<pid>/stat fields
// 14 and 15, in clock ticks of 10 ms (Linux's USER_HZ).
const statOf = (pid) => {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return f.slice(f.lastIndexOf(')') + 2).split(' ');  // rest[1] = ppid, rest[11..12] = utime, stime
};
const dbPid = opt['db-pid-file'] ? Number(fs.readFileSync(opt['db-pid-file'], 'utf8').split('\n')[0]) : 0;
const cpuMs = (pid) => {
  const rest = statOf(pid);
  let ticks = Number(rest[11]) + Number(rest[12]);
  if (dbPid) {
    for (const d of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(d)) continue;
      try {
        const r = statOf(d);
        // The backends of connections that ended are counted by their parent (cutime, cstime).
        if (Number(d) === dbPid) ticks += Number(r[11]) + Number(r[12]) + Number(r[13]) + Number(r[14]);
        else if (Number(r[1]) === dbPid) ticks += Number(r[11]) + Number(r[12]);
      } catch { /* the process ended */ }
    }
  }
  return ticks * 10;
};
const stats = (xs) => { const s = [...xs].sort((a, b) => a - b); return { median: s[Math.floor(s.length / 2)], max: s[s.length - 1] }; };

// Waits until the server has used no CPU for 0.5 s (its start-up evaluation is over).
const settle = async (pid, timeoutMs = 120_000) => {
  const t0 = Date.now();
  let last = cpuMs(pid), quiet = 0;
  while (quiet < 5 && Date.now() - t0 < timeoutMs) {
    await new Promise((r) => setTimeout(r, 100));
    const now = cpuMs(pid);
    quiet = now === last ? quiet + 1 : 0;
    last = now;
  }
};

// The API calls the page made since the last clearResourceTimings: [path, ms] of the slowest.
const slowestApi = (page) => page.evaluate(() => {
  let worst = ['', 0];
  for (const e of performance.getEntriesByType('resource')) {
    const i = e.name.indexOf('/api/v1/');
    if (i >= 0 && e.duration > worst[1]) worst = [e.name.slice(i + 8).split('?')[0], e.duration];
  }
  performance.clearResourceTimings();
  return worst;
});

let demo, browser, db;
try {
  if (opt.db) {
    db = opt.db;
    demo = await startServe(bin, db);
  } else if (opt.keep) {
    db = path.join(opt.keep, 'data', 'fleetward.db');
    if (!fs.existsSync(db)) {
      const t0 = Date.now();
      const r = spawnSync(bin, ['demo', '--no-serve', '--devices', devices, '--data-dir', path.join(opt.keep, 'data')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
      if (r.status !== 0) throw new Error(`fleetward demo --no-serve failed (${r.status})`);
      console.log(`# demo with ${devices} devices built into ${opt.keep} in ${Date.now() - t0} ms`);
    }
    demo = await startServe(bin, db);
  } else {
    demo = await startDemo(bin, ['--devices', devices], 1_800_000);
    db = path.join(demo.dir, 'data', 'fleetward.db');
  }
  console.log(`# demo with ${devices} devices ready in ${demo.startMs} ms at ${demo.url}; load average: ${fs.readFileSync('/proc/loadavg', 'utf8').trim()}`);
  browser = await launch('/tmp');
  const page = browser.ctx.pages()[0] || await browser.ctx.newPage();
  const errors = watchErrors(page, demo.url);
  await page.goto(demo.url + '/');
  await page.fill('#token', demo.token);
  await Promise.all([page.waitForSelector('[data-testid=burndown] svg', { timeout: 120_000 }), page.click('form.signin button[type=submit]')]);
  const campaign = (await page.evaluate(async () => (await (await fetch('/api/v1/campaigns')).json()).items[0].id));
  const person = await page.evaluate(async () => (await (await fetch('/api/v1/devices?os_family=iOS&limit=1')).json()).items[0].owner_id);
  const device = await page.evaluate(async () => (await (await fetch('/api/v1/devices?os_family=iOS&limit=1')).json()).items[0].id);
  const fill = (s) => s.replace('{campaign}', encodeURIComponent(campaign)).replaceAll('{person}', encodeURIComponent(person))
    .replaceAll('{device}', encodeURIComponent(device));
  // Page 3 of the devices list: the cursor two pages in.
  const page3 = await page.evaluate(async () => {
    let c = '';
    for (let i = 0; i < 2; i++) c = (await (await fetch(`/api/v1/devices?limit=50${c ? '&cursor=' + encodeURIComponent(c) : ''}`)).json()).next_cursor;
    return c;
  });
  PAGES[4][1] = `#/devices?cursor=${encodeURIComponent(page3)}&prev=-,x`;
  PAGES[4][2] = [`devices?limit=50&cursor=${encodeURIComponent(page3)}`, 'dashboard/device-count'];

  // Cold start: a fresh load of the whole app (HTML, modules, catalogues, session, overview).
  const cold = [];
  for (let i = 0; i < 3; i++) {
    const t0 = Date.now();
    await page.goto(demo.url + '/#/overview');
    await page.waitForSelector('[data-testid=burndown] svg');
    cold.push(Date.now() - t0);
  }
  console.log('| page | first load after a server start, ms | median ms | worst ms (all loads) | server CPU ms: first load / per later load | slowest API call, median ms | baseline: API calls only, median ms |');
  console.log('|---|---|---|---|---|---|---|');
  console.log(`| cold load of / to the rendered overview | | ${stats(cold).median} | ${stats(cold).max} | | | |`);
  const rows = [];
  for (const [name, hash, calls] of PAGES) {
    const h = fill(hash);
    // The first load after a fresh server start (the session cookie survives it).
    await restartAsServe(demo, bin, 120_000, db);
    await settle(demo.child.pid);
    await page.evaluate(() => performance.clearResourceTimings());
    let c0 = cpuMs(demo.child.pid);
    const first = await visit(page, h);
    const firstCpu = cpuMs(demo.child.pid) - c0;
    const firstApi = await slowestApi(page);
    const times = [], base = [], apis = [firstApi];
    let cpu = 0;
    for (let i = 0; i < runs; i++) {
      await visit(page, '#/people?x=' + i);  // leave the page so the next visit renders anew
      await page.evaluate(() => performance.clearResourceTimings());
      c0 = cpuMs(demo.child.pid);
      times.push(await visit(page, h));
      cpu += cpuMs(demo.child.pid) - c0;
      apis.push(await slowestApi(page));
      base.push(await page.evaluate(async (urls) => {
        const t0 = performance.now();
        await Promise.all(urls.map(async (u) => { const r = await fetch('/api/v1/' + u); await r.text(); }));
        return performance.now() - t0;
      }, calls.map(fill)));
    }
    const s = stats(times), b = stats(base);
    const worst = Math.max(first, s.max);
    apis.sort((x, y) => x[1] - y[1]);
    const api = apis[Math.floor(apis.length / 2)];
    rows.push([name, s.median, worst, Math.round(b.median), first]);
    console.log(`| ${name} | ${first} | ${s.median} | ${worst} | ${firstCpu} / ${Math.round(cpu / runs)} | ${api[0]} ${Math.round(api[1])} | ${Math.round(b.median)} |`);
  }
  if (errors.length) console.log('# console errors:', errors);
  const worst = Math.max(...rows.map((r) => r[2]));
  const firsts = stats(rows.map((r) => r[4])), medians = stats(rows.map((r) => r[1]));
  console.log(`# first loads after a server start, over the ${rows.length} pages: median ${firsts.median} ms, worst ${firsts.max} ms; later loads: median of the pages' medians ${medians.median} ms, worst page median ${medians.max} ms`);
  console.log(`# worst page load over ${runs + 1} loads per page (the first after a server start): ${worst} ms (goal < 300 ms); load average now: ${fs.readFileSync('/proc/loadavg', 'utf8').trim()}`);
} finally {
  await browser?.close();
  await stopDemo(demo);
}
