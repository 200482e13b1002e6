// Shared bits of the pages: canonical values (OS families, device types, finding status)
// with their labels, the org-unit options, status badges. Single-threaded.

import { api } from './api.js';
import { h } from './dom.js';
import { t } from './i18n.js';

export const OS_FAMILIES = ['iOS', 'iPadOS', 'Android', 'HarmonyOS', 'Aurora OS', 'Sailfish OS', 'KaiOS',
  'Windows', 'macOS', 'Linux', 'ChromeOS', 'Other'];
export const DEVICE_TYPES = ['phone', 'tablet', 'desktop', 'other'];
export const SOURCES = ['agent', 'log', 'exchange', 'import'];
export const STATUSES = ['fail', 'unknown', 'exempt', 'pass'];
export const SEVERITIES = ['critical', 'high', 'medium', 'low'];

let orgUnits = null;
// All org units (there are few: departments and offices), cached for the page's life.
export async function loadOrgUnits() {
  if (orgUnits) return orgUnits;
  const out = [];
  let cursor = '';
  for (let i = 0; i < 20; i++) {
    const r = await api('org-units', { params: { limit: 1000, cursor } });
    out.push(...(r.items || []));
    if (!r.next_cursor) break;
    cursor = r.next_cursor;
  }
  out.sort((a, b) => a.path.localeCompare(b.path));
  orgUnits = out;
  return out;
}

export function orgUnitOptions(units) {
  return units.map((u) => [u.path, `${'  '.repeat(u.path.split('/').length - 2)}${u.name || u.path}`]);
}

export function statusBadge(status) {
  return h(`span.badge.st-${status}`, t(`status.${status}`));
}
export function severityBadge(sev) {
  return sev ? h(`span.badge.sev-${sev}`, t(`severity.${sev}`)) : '—';
}
export function typeLabel(ty) { return ty ? t(`type.${ty}`) : '—'; }
export function sourceLabel(s) { return s ? t(`source.${s}`) : '—'; }
export function osLabel(d) { return [d.os_family, d.os_version].filter(Boolean).join(' ') || '—'; }

export function personLink(id, name) {
  return id ? h('a', { href: `#/people/${encodeURIComponent(id)}` }, name || id) : '—';
}
export function deviceLink(id, label) {
  return id ? h('a', { href: `#/devices/${encodeURIComponent(id)}` }, label || id) : '—';
}
