// Message catalogues and reader-facing formatting (numbers, dates) for the dashboard.
// Catalogues are /i18n/<lang>.json; Russian is the default; the choice is kept in
// localStorage. Dates are shown in the organisation's time zone (Europe/Moscow unless
// the server says otherwise). Single-threaded (the browser's main thread).

const LANGS = ['ru', 'en'];
let lang = 'ru';
let messages = {};
let fallback = {};
let zone = 'Europe/Moscow';

export async function initI18n() {
  const saved = localStorage.getItem('fw.lang');
  lang = LANGS.includes(saved) ? saved : 'ru';
  const [m, f] = await Promise.all([load(lang), lang === 'en' ? null : load('en')]);
  messages = m;
  fallback = f || m;
  document.documentElement.lang = lang;
}

async function load(l) {
  const r = await fetch(`/i18n/${l}.json`, { credentials: 'same-origin' });
  if (!r.ok) throw new Error(`i18n ${l}: HTTP ${r.status}`);
  return r.json();
}

export function getLang() { return lang; }
export function setLang(l) {
  if (!LANGS.includes(l)) return;
  localStorage.setItem('fw.lang', l);
}
export function setZone(z) { if (z) zone = z; }
export function getZone() { return zone; }

// t('devices.count', {n: 3}) -> message with {n} replaced (numbers formatted).
// Plural forms: a message may be an object {one, few, many, other} chosen with Intl.PluralRules.
export function t(key, params = {}) {
  let m = messages[key] ?? fallback[key];
  if (m === undefined) return key;
  if (typeof m === 'object') {
    const rule = new Intl.PluralRules(lang).select(Number(params.n ?? 0));
    m = m[rule] ?? m.other;
  }
  return m.replace(/\{(\w+)\}/g, (_, k) => {
    const v = params[k];
    if (v === undefined || v === null) return '';
    return typeof v === 'number' ? num(v) : String(v);
  });
}

const nf = {};
function fmt(key, opts) {
  const k = lang + key;
  return nf[k] ??= new Intl.NumberFormat(lang, opts);
}
export function num(n) { return n === null || n === undefined || Number.isNaN(n) ? '—' : fmt('n', {}).format(n); }
// pct(0.873) -> "87,3 %" (ru) / "87.3%" (en). Input is a fraction.
export function pct(f) {
  if (f === null || f === undefined || Number.isNaN(f)) return '—';
  return fmt('p', { style: 'percent', maximumFractionDigits: 1 }).format(f);
}

const df = {};
function dfmt(key, opts) {
  const k = lang + zone + key;
  return df[k] ??= new Intl.DateTimeFormat(lang, { timeZone: zone, ...opts });
}
function toDate(v) {
  if (!v) return null;
  const d = v instanceof Date ? v : new Date(v);
  return Number.isNaN(d.getTime()) ? null : d;
}
export function date(v) { const d = toDate(v); return d ? dfmt('d', { dateStyle: 'medium' }).format(d) : '—'; }
export function dateShort(v) { const d = toDate(v); return d ? dfmt('ds', { day: 'numeric', month: 'short' }).format(d) : '—'; }
export function dateTime(v) { const d = toDate(v); return d ? dfmt('dt', { dateStyle: 'medium', timeStyle: 'short' }).format(d) : '—'; }
// Relative age such as "3 days ago", for last-seen columns.
export function ago(v) {
  const d = toDate(v);
  if (!d) return '—';
  const s = (d.getTime() - Date.now()) / 1000;
  const rtf = new Intl.RelativeTimeFormat(lang, { numeric: 'auto' });
  const a = Math.abs(s);
  if (a < 3600) return rtf.format(Math.round(s / 60), 'minute');
  if (a < 86400) return rtf.format(Math.round(s / 3600), 'hour');
  if (a < 86400 * 60) return rtf.format(Math.round(s / 86400), 'day');
  return date(d);
}
