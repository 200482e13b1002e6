// Person detail: who they are, their manager, their devices and their findings.
// Single-threaded.

import { h, clear } from '../dom.js';
import { t, ago, dateTime } from '../i18n.js';
import { api } from '../api.js';
import { loadOrgUnits, typeLabel, osLabel, statusBadge, severityBadge, personLink, deviceLink } from '../common.js';

export async function render(root, route) {
  const id = route.id;
  const [p, devs, finds, units] = await Promise.all([
    api(`people/${encodeURIComponent(id)}`),
    api('devices', { params: { owner_id: id, limit: 200 } }),
    api('findings', { params: { person_id: id, limit: 200 } }),
    loadOrgUnits(),
  ]);
  const unit = units.find((u) => u.path === p.org_unit);
  let manager = null;
  if (p.manager_id) manager = await api(`people/${encodeURIComponent(p.manager_id)}`).catch(() => null);
  const failing = (finds.items || []).filter((f) => f.status !== 'pass');

  clear(root).append(
    h('nav.crumbs', { 'aria-label': t('common.breadcrumbs') }, h('a', { href: '#/people' }, t('people.title')), ' › ', p.name || p.id),
    h('h1', p.name || p.id),
    h('dl.facts',
      h('dt', t('person.email')), h('dd', p.email ? h('a', { href: `mailto:${p.email}` }, p.email) : '—'),
      h('dt', t('person.login')), h('dd', p.login || '—'),
      h('dt', t('person.title')), h('dd', p.title || '—'),
      h('dt', t('common.org_unit')), h('dd', unit ? `${unit.name} (${unit.path})` : p.org_unit || '—'),
      h('dt', t('person.manager')), h('dd', personLink(p.manager_id, manager?.name))),
    h('section', { 'aria-labelledby': 'pd-devices' },
      h('h2#pd-devices', t('person.devices'), ' ', h('span.muted', `(${(devs.items || []).length})`)),
      table([t('device.id'), t('device.os'), t('device.type'), t('device.managed'), t('device.last_seen')],
        (devs.items || []).map((d) => [deviceLink(d.id, [d.vendor, d.model].filter(Boolean).join(' ') || d.id),
          osLabel(d), typeLabel(d.type), d.managed ? t('common.yes') : t('common.no'), ago(d.last_seen)]), 'person-devices')),
    h('section', { 'aria-labelledby': 'pd-findings' },
      h('h2#pd-findings', t('person.findings'), ' ', h('span.muted', `(${failing.length})`)),
      table([t('finding.rule'), t('finding.status'), t('finding.severity'), t('finding.device'), t('finding.since')],
        failing.map((f) => [f.rule_key, statusBadge(f.status), severityBadge(f.severity), deviceLink(f.device_id, f.device_label),
          dateTime(f.status_since)]), 'person-findings')),
  );
  root.dataset.title = p.name || p.id;
}

export function table(headers, rows, testid) {
  return h('div.table-wrap', h('table.list', { 'data-testid': testid },
    h('thead', h('tr', headers.map((x) => h('th', { scope: 'col' }, x)))),
    h('tbody', rows.length ? rows.map((r) => h('tr', r.map((c, i) => h('td', { 'data-label': headers[i] }, c ?? '—'))))
      : h('tr', h('td.empty', { colspan: headers.length }, t('list.empty'))))));
}
