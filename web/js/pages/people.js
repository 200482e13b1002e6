// People list: org-unit filter, search by name/e-mail/login, sorting, pagination, CSV.
// Single-threaded.

import { renderList } from '../list.js';
import { t } from '../i18n.js';
import { loadOrgUnits, orgUnitOptions, personLink } from '../common.js';

export async function render(root, route) {
  const units = await loadOrgUnits();
  const names = new Map(units.map((u) => [u.path, u.name || u.path]));
  await renderList(root, route, {
    resource: 'people',
    section: 'people',
    sortable: true,
    title: t('people.title'),
    searchLabel: t('people.search'),
    rowLink: (p) => `#/people/${encodeURIComponent(p.id)}`,
    columns: [
      { key: 'name', label: t('person.name'), sort: 'name', render: (p) => p.name || p.id },
      { key: 'email', label: t('person.email'), sort: 'email' },
      { key: 'title', label: t('person.title') },
      { key: 'org_unit', label: t('common.org_unit'), sort: 'org_unit', render: (p) => p.org_unit_name || names.get(p.org_unit) || p.org_unit },
      { key: 'manager', label: t('person.manager'), sort: 'manager', render: (p) => personLink(p.manager_id, p.manager_name) },
    ],
    filters: [
      { param: 'org_unit', label: t('common.org_unit'), options: orgUnitOptions(units) },
    ],
  });
}
