// The dashboard's shell: start-up, hash routing (#/devices?os_family=iOS), the navigation
// bar, language switch and sign-out. Pages live in pages/*.js and export
// render(main, route) returning a Promise. Single-threaded (the browser's main thread).

import { initI18n, t, setLang, getLang, setZone } from './i18n.js';
import { getSession, signOut, setUnauthorizedHandler } from './api.js';
import { h, clear } from './dom.js';

const PAGES = {
  signin: () => import('./pages/signin.js'),
  overview: () => import('./pages/overview.js'),
  devices: () => import('./pages/devices.js'),
  device: () => import('./pages/device.js'),
  people: () => import('./pages/people.js'),
  person: () => import('./pages/person.js'),
  findings: () => import('./pages/findings.js'),
  policies: () => import('./pages/policies.js'),
  campaign: () => import('./pages/campaign.js'),
};
const NAV = ['overview', 'devices', 'people', 'findings', 'policies'];

let session = null;
let renderSeq = 0;

// "#/devices/abc?os_family=iOS" -> {page:'device', id:'abc', params: URLSearchParams}
export function parseRoute(hash = location.hash) {
  const raw = hash.replace(/^#\/?/, '');
  const [path, query = ''] = raw.split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  const params = new URLSearchParams(query);
  const [first = 'overview', id] = parts;
  const single = { devices: 'device', people: 'person', campaigns: 'campaign' };
  if (id && single[first]) return { page: single[first], id, params, section: first };
  return { page: PAGES[first] ? first : 'overview', params, section: first };
}

export function go(hash) { if (location.hash !== hash) location.hash = hash; else route(); }

export function currentSession() { return session; }

async function route() {
  const seq = ++renderSeq;
  const r = parseRoute();
  const main = document.getElementById('main');
  if (!session && r.page !== 'signin') { go('#/signin'); return; }
  if (session && r.page === 'signin') { go('#/overview'); return; }
  document.getElementById('topbar').hidden = !session;
  markNav(r.section);
  const mod = await PAGES[r.page]();
  if (seq !== renderSeq) return;
  const holder = h('div.page');
  try {
    await mod.render(holder, r);
  } catch (e) {
    if (e.status === 401) return;
    console.warn('page failed', e);
    clear(holder).append(h('div.error', { role: 'alert' }, `${t('error.load')}: ${e.message}`));
  }
  if (seq !== renderSeq) return;
  clear(main).append(holder);
  document.title = `${holder.dataset.title || t('app.title')} · fleetward`;
  window.dispatchEvent(new CustomEvent('fw:rendered', { detail: r }));
}

function markNav(section) {
  for (const a of document.querySelectorAll('#nav a')) {
    const on = a.dataset.page === section || (section === 'campaigns' && a.dataset.page === 'policies')
      || (!PAGES[section] && !['campaigns'].includes(section) && a.dataset.page === 'overview');
    if (on) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
}

function buildShell() {
  const nav = clear(document.getElementById('nav'));
  nav.setAttribute('aria-label', t('nav.main'));
  for (const p of NAV) nav.append(h('a', { href: `#/${p}`, dataset: { page: p } }, t(`nav.${p}`)));
  const toggle = document.getElementById('menu-toggle');
  toggle.textContent = '☰';
  toggle.setAttribute('aria-label', t('nav.menu'));
  toggle.onclick = () => {
    const open = nav.classList.toggle('open');
    toggle.setAttribute('aria-expanded', String(open));
  };
  nav.onclick = () => { nav.classList.remove('open'); toggle.setAttribute('aria-expanded', 'false'); };
  document.getElementById('lang-label').textContent = t('nav.language');
  const sel = document.getElementById('lang');
  sel.value = getLang();
  sel.onchange = () => { setLang(sel.value); location.reload(); };
  const out = document.getElementById('signout');
  out.textContent = t('nav.signout');
  out.onclick = async () => {
    await signOut();
    session = null;
    go('#/signin');
  };
  document.querySelector('.skip').textContent = t('nav.skip');
}

export function signedIn(s) {
  session = s;
  if (s?.timezone) setZone(s.timezone);
}

async function start() {
  await initI18n();
  buildShell();
  setUnauthorizedHandler(() => { session = null; go('#/signin'); });
  try { signedIn(await getSession()); } catch { session = null; }
  window.addEventListener('hashchange', route);
  await route();
}

start().catch((e) => {
  console.error(e);
  document.getElementById('main').textContent = `fleetward: ${e.message}`;
});
