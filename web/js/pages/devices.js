// Devices list: server-side filters (OS family, type, source, managed, org unit), search by
// name/e-mail/model, server-side sorting by the columns (?sort=), keyset pagination, CSV
// export in the same order; owners' names come with the page. Single-threaded.

import { renderList, yesNo } from '../list.js';
import { t, ago } from '../i18n.js';
import { OS_FAMILIES, DEVICE_TYPES, SOURCES, loadOrgUnits, orgUnitOptions, typeLabel, sourceLabel,
  osLabel, personLink } from '../common.js';

export async function render(root, route) {
  const units = await loadOrgUnits();
  await renderList(root, route, {
    resource: 'devices',
    section: 'devices',
    countPath: 'dashboard/device-count',
    sortable: true,
    title: t('devices.title'),
    searchLabel: t('devices.search'),
    rowLink: (d) => `#/devices/${encodeURIComponent(d.id)}`,
    columns: [
      { key: 'id', label: t('device.id'), sort: 'model', render: (d) => [d.vendor, d.model].filter(Boolean).join(' ') || d.id },
      { key: 'os', label: t('device.os'), sort: 'os', render: osLabel },
      { key: 'type', label: t('device.type'), sort: 'type', render: (d) => typeLabel(d.type) },
      { key: 'owner', label: t('device.owner'), sort: 'owner', render: (d) => personLink(d.owner_id, d.owner_name) },
      { key: 'source', label: t('device.source'), sort: 'source', render: (d) => sourceLabel(d.source) },
      { key: 'managed', label: t('device.managed'), sort: 'managed', render: (d) => yesNo(d.managed) },
      { key: 'last_seen', label: t('device.last_seen'), sort: 'last_seen', render: (d) => ago(d.last_seen) },
    ],
    filters: [
      { param: 'os_family', label: t('device.os'), options: OS_FAMILIES.map((f) => [f, f]) },
      { param: 'type', label: t('device.type'), options: DEVICE_TYPES.map((v) => [v, typeLabel(v)]) },
      { param: 'source', label: t('device.source'), options: SOURCES.map((v) => [v, sourceLabel(v)]) },
      { param: 'managed', label: t('device.managed'), options: [['true', t('common.yes')], ['false', t('common.no')]] },
      { param: 'org_unit', label: t('common.org_unit'), options: orgUnitOptions(units) },
    ],
  });
}
