// Findings list: status, severity, policy and org-unit filters, search, sorting,
// pagination, CSV. Single-threaded.

import { renderList } from '../list.js';
import { t, dateTime } from '../i18n.js';
import { api } from '../api.js';
import { STATUSES, loadOrgUnits, orgUnitOptions, statusBadge, severityBadge, personLink,
  deviceLink } from '../common.js';

export async function render(root, route) {
  const [units, pols] = await Promise.all([loadOrgUnits(), api('policies')]);
  await renderList(root, route, {
    resource: 'findings',
    section: 'findings',
    title: t('findings.title'),
    defaultSort: '',
    sortable: true,
    columns: [
      { key: 'rule_key', label: t('finding.rule'), sort: 'rule_key' },
      { key: 'status', label: t('finding.status'), sort: 'status', render: (f) => statusBadge(f.status) },
      { key: 'severity', label: t('finding.severity'), render: (f) => severityBadge(f.severity) },
      { key: 'device', label: t('finding.device'), sort: 'device', render: (f) => deviceLink(f.device_id, f.device_label) },
      { key: 'person', label: t('finding.person'), sort: 'owner', render: (f) => personLink(f.person_id, f.person_name) },
      { key: 'since', label: t('finding.since'), sort: 'status_since', render: (f) => dateTime(f.status_since) },
    ],
    filters: [
      { param: 'status', label: t('finding.status'), options: STATUSES.map((s) => [s, t(`status.${s}`)]) },
      { param: 'policy_id', label: t('finding.policy'), options: (pols.items || []).map((p) => [p.id, p.id]) },
      { param: 'subtree', label: t('common.org_unit'), options: orgUnitOptions(units) },
    ],
  });
}
