// Shared by the browser tests: starts `fleetward demo` on a free loopback port and reads the
// URL and admin token it prints; launches Debian's Chromium through playwright-core (never
// a downloaded browser) with a fresh profile; collects console errors. Node, one process.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.FW_CHROMIUM || '/usr/bin/chromium';

export function args(argv = process.argv.slice(2)) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    if (argv[i].startsWith('--')) {
      const k = argv[i].slice(2);
      const v = argv[i + 1] && !argv[i + 1].startsWith('--') ? argv[++i] : 'true';
      out[k] = v;
    }
  }
  return out;
}

export async function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
    s.on('error', reject);
  });
}

// Starts the demo and resolves once it prints its URL and token and /healthz answers.
export async function startDemo(bin, extra = [], timeoutMs = 600_000) {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fw-web-demo-'));
  const child = spawn(bin, ['demo', '--listen', `127.0.0.1:${port}`, '--data-dir', path.join(dir, 'data'), ...extra], {
    cwd: dir, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { out += d; });
  const started = Date.now();
  let exited = null;
  child.on('exit', (code) => { exited = code; });
  for (;;) {
    if (exited !== null) throw new Error(`fleetward demo exited with ${exited}:\n${out}`);
    if (Date.now() - started > timeoutMs) { child.kill('SIGTERM'); throw new Error(`fleetward demo did not start:\n${out}`); }
    const token = /\b(fw_[0-9a-f]{16,})\b/.exec(out)?.[1];
    const url = /(http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1];
    if (token && url) {
      try {
        const r = await fetch(`${url}/healthz`);
        if (r.ok) return { url, token, child, dir, output: () => out, startMs: Date.now() - started };
      } catch { /* not yet */ }
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

// Stops the demo's server and starts `fleetward serve` on the same database and port (a
// restart, as after an upgrade); demo.child becomes the new process. Resolves once /healthz
// answers.
// `fleetward serve` on an existing database (e.g. a demo kept by perf.mjs --keep), signed in
// with a new admin token made by `fleetward token create`. Returns what startDemo returns
// (dir is null: stopDemo leaves the database alone).
export async function startServe(bin, db, timeoutMs = 600_000) {
  const made = spawnSync(bin, ['token', 'create', '--db', db, '--name', 'perf.mjs', '--role', 'admin'], { encoding: 'utf8' });
  const token = /\b(fw_[0-9a-f]{16,})\b/.exec(made.stdout || '')?.[1];
  if (made.status !== 0 || !token) throw new Error(`fleetward token create failed:\n${made.stdout}${made.stderr}`);
  const port = await freePort();
  const child = spawn(bin, ['serve', '--db', db, '--listen', `127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { out += d; });
  const url = `http://127.0.0.1:${port}`;
  const started = Date.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`fleetward serve exited with ${child.exitCode}:\n${out}`);
    if (Date.now() - started > timeoutMs) { child.kill('SIGTERM'); throw new Error(`fleetward serve did not start:\n${out}`); }
    try {
      if ((await fetch(`${url}/healthz`)).ok) return { url, token, child, dir: null, output: () => out, startMs: Date.now() - started };
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 200));
  }
}

// db: the database to serve (default: the demo's own, in demo.dir).
export async function restartAsServe(demo, bin, timeoutMs = 120_000, db = null) {
  const exited = new Promise((r) => demo.child.once('exit', r));
  demo.child.kill('SIGTERM');
  await exited;
  const listen = new URL(demo.url).host;
  db = db || path.join(demo.dir, 'data', 'fleetward.db');
  const child = spawn(bin, ['serve', '--db', db, '--listen', listen], { cwd: demo.dir || os.tmpdir(), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { out += d; });
  demo.child = child;
  const prev = demo.output;
  demo.output = () => `${prev()}\n--- after restart ---\n${out}`;
  const started = Date.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`fleetward serve exited with ${child.exitCode}:\n${out}`);
    if (Date.now() - started > timeoutMs) throw new Error(`fleetward serve did not start:\n${out}`);
    try {
      if ((await fetch(`${demo.url}/healthz`)).ok) return Date.now() - started;
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function stopDemo(demo) {
  if (!demo) return;
  if (demo.child.exitCode === null) {
    demo.child.kill('SIGTERM');
    await new Promise((r) => { demo.child.once('exit', r); setTimeout(r, 10_000); });
  }
  if (demo.dir) fs.rmSync(demo.dir, { recursive: true, force: true });
}

export async function launch(downloadsPath) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'fw-chromium-'));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    acceptDownloads: true,
    downloadsPath,
    viewport: { width: 1280, height: 900 },
    locale: 'ru-RU',
    timezoneId: 'Europe/Moscow',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  return { ctx, close: async () => { await ctx.close(); fs.rmSync(profile, { recursive: true, force: true }); } };
}

// Watches a page for console errors, uncaught exceptions and failed requests to our server
// (other than the expected 401 of the session probe before sign-in).
export function watchErrors(page, base) {
  const errors = [];
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const loc = m.location()?.url || '';
    if (/401 \(Unauthorized\)/.test(m.text()) && loc.includes('/api/v1/session')) return;
    errors.push(`console: ${m.text()} ${loc}`);
  });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('requestfailed', (r) => {
    if (r.url().startsWith(base) && !/ERR_ABORTED/.test(r.failure()?.errorText || '')) errors.push(`requestfailed: ${r.url()} ${r.failure()?.errorText}`);
  });
  return errors;
}

// Navigates to a hash route and waits for the app's "rendered" event; returns milliseconds.
export async function visit(page, hash) {
  const t0 = Date.now();
  await page.evaluate((h) => new Promise((resolve) => {
    window.addEventListener('fw:rendered', () => resolve(), { once: true });
    if (location.hash === h) window.dispatchEvent(new HashChangeEvent('hashchange')); else location.hash = h;
  }), hash);
  return Date.now() - t0;
}
