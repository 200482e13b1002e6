// Device detail: facts, installed apps, current findings and their history, sightings in
// access logs. Single-threaded.

import { h, clear } from '../dom.js';
import { t, dateTime, ago, num } from '../i18n.js';
import { api } from '../api.js';
import { typeLabel, sourceLabel, osLabel, statusBadge, severityBadge, personLink } from '../common.js';
import { table } from './person.js';

export async function render(root, route) {
  const id = encodeURIComponent(route.id);
  const [d, finds, hist, sights] = await Promise.all([
    api(`devices/${id}`),
    api('findings', { params: { device_id: route.id, limit: 200 } }),
    api(`dashboard/devices/${id}/history`, { params: { limit: 200 } }),
    api(`dashboard/devices/${id}/sightings`),
  ]);
  // The owner's name: from the findings list's join when the device has findings, else one more call.
  let ownerName = (finds.items || []).find((f) => f.person_id === d.owner_id)?.person_name;
  if (d.owner_id && !ownerName) ownerName = (await api(`people/${encodeURIComponent(d.owner_id)}`).catch(() => null))?.name;
  const label = [d.vendor, d.model].filter(Boolean).join(' ') || d.id;
  const facts = Object.entries(d.facts || {});

  clear(root).append(
    h('nav.crumbs', { 'aria-label': t('common.breadcrumbs') }, h('a', { href: '#/devices' }, t('devices.title')), ' › ', label),
    h('h1', label),
    h('dl.facts',
      h('dt', t('device.id')), h('dd', h('code', d.id)),
      h('dt', t('device.owner')), h('dd', personLink(d.owner_id, ownerName)),
      h('dt', t('device.org_unit')), h('dd', d.org_unit ? h('code', d.org_unit) : '—'),
      h('dt', t('device.os')), h('dd', osLabel(d), d.may_be?.length ? ` (${t('device.may_be')} ${d.may_be.join(', ')})` : ''),
      h('dt', t('device.type')), h('dd', typeLabel(d.type)),
      h('dt', t('device.source')), h('dd', sourceLabel(d.source)),
      h('dt', t('device.managed')), h('dd', d.managed ? t('common.yes') : t('common.no')),
      h('dt', t('device.first_seen')), h('dd', dateTime(d.first_seen)),
      h('dt', t('device.last_seen')), h('dd', `${dateTime(d.last_seen)} (${ago(d.last_seen)})`),
      facts.map(([k, v]) => [h('dt', k), h('dd', typeof v === 'object' ? JSON.stringify(v) : String(v))])),
    h('section', { 'aria-labelledby': 'dd-apps' },
      h('h2#dd-apps', t('device.apps'), ' ', h('span.muted', `(${(d.apps || []).length})`)),
      table([t('app.name'), t('app.id'), t('app.version')], (d.apps || []).map((a) => [a.name || a.id, h('code', a.id), a.version]), 'device-apps')),
    h('section', { 'aria-labelledby': 'dd-findings' },
      h('h2#dd-findings', t('device.findings')),
      table([t('finding.rule'), t('finding.status'), t('finding.severity'), t('finding.since'), t('finding.first_failed'),
        t('finding.evaluated'), t('finding.detail')],
        (finds.items || []).map((f) => [f.rule_key, statusBadge(f.status), severityBadge(f.severity), dateTime(f.status_since),
          f.first_failed_at ? dateTime(f.first_failed_at) : '—', dateTime(f.last_evaluated_at), f.detail || '—']),
        'device-findings')),
    h('section', { 'aria-labelledby': 'dd-history' },
      h('h2#dd-history', t('device.history')),
      table([t('finding.when'), t('finding.rule'), t('finding.status'), t('finding.policy')],
        (hist.items || []).map((c) => [dateTime(c.at), c.rule_key, statusBadge(c.status), c.policy_id]),
        'device-history')),
    h('section', { 'aria-labelledby': 'dd-sightings' },
      h('h2#dd-sightings', t('device.sightings')),
      table([t('sighting.user'), t('sighting.client'), t('sighting.ip'), t('sighting.count'), t('device.last_seen')],
        (sights.items || []).map((x) => [x.user, x.user_agent || x.activesync_id, x.client_ip, num(x.count), dateTime(x.last_seen)]),
        'device-sightings')),
  );
  root.dataset.title = label;
}
