// Did the deputies vote as the members decided? The public compliance table
// (docs/SPEC.md section 4): per deputy, per closed bill, the instruction, the
// deputy's own report and the organizers' official record side by side; a
// record never silently replaces a report.

import { api } from '../api.js';
import { h } from '../dom.js';
import { num, pct, t } from '../i18n.js';
import { page, who } from './common.js';

const get = (params) => api.compliance(params);

function voteCell(v) {
  if (!v) return h('td', { class: 'muted' }, t('compliance.none'));
  const src = v.source && /^https?:\/\//.test(v.source)
    ? [' ', h('a', { href: v.source, rel: 'noopener noreferrer' }, t('compliance.source'))] : [];
  return h('td', {}, t(`voted.${v.voted}`), ...src, v.note ? h('div', { class: 'note' }, '“', v.note, '”') : null);
}

function statusCell(r) {
  const label = t(`compliance.${r.status}`) + (r.conflict ? ` · ${t('compliance.conflict')}` : '');
  return h('td', {}, h('strong', { class: `status status-${r.status}` }, label));
}

function rowsTable(app, rows, captionKey, by) {
  return h('div', { class: 'scroll' }, h('table', { id: 'compliance-rows' },
    h('caption', {}, t(captionKey)),
    h('thead', {}, h('tr', {}, [by === 'motion' ? 'compliance.deputy' : 'compliance.bill', 'compliance.instruction',
      'compliance.report', 'compliance.record', 'compliance.status'].map((k) => h('th', { scope: 'col' }, t(k))))),
    h('tbody', {}, rows.map((r) => h('tr', { 'data-status': r.status, 'data-deputy': r.deputy, 'data-motion': r.motion,
      class: r.status === 'deviates' ? 'deviation' : null },
    h('th', { scope: 'row' }, by === 'motion'
      ? h('a', { href: `#/compliance/deputy/${r.deputy}` }, who(app, r.deputy))
      : h('a', { href: `#/bill/${encodeURIComponent(r.motion)}` }, r.title || r.motion)),
    h('td', {}, t(`choice.${r.instruction}`)), voteCell(r.report), voteCell(r.record), statusCell(r))))));
}

/** #/compliance, #/compliance/deputy/<key>, #/compliance/motion/<id> */
export async function page_(app, [what, id]) {
  if (what === 'deputy' && id) {
    const [{ rows }] = await Promise.all([get({ deputy: id }), app.learnNames([id])]);
    return page(t('compliance.deputy_title'), h('p', {}, who(app, id)),
      rows.length ? rowsTable(app, rows, 'compliance.caption_deputy', 'deputy') : h('p', {}, t('deputy.none')),
      h('p', {}, h('a', { href: '#/compliance' }, t('compliance.back'))));
  }
  if (what === 'motion' && id) {
    const { rows } = await get({ motion: id });
    await app.learnNames(rows.map((r) => r.deputy));
    return page(t('compliance.motion_title', { motion: id }),
      rows.length ? rowsTable(app, rows, 'compliance.caption_motion', 'motion') : h('p', {}, t('deputy.none')),
      h('p', {}, h('a', { href: '#/compliance' }, t('compliance.back'))));
  }
  const { deputies } = await get();
  await app.learnNames(deputies.map((d) => d.deputy));
  return page(t('compliance.title'), h('p', { class: 'muted' }, t('compliance.explain')),
    deputies.length ? h('div', { class: 'scroll' }, h('table', { id: 'compliance' },
      h('caption', {}, t('compliance.caption')),
      h('thead', {}, h('tr', {}, ['compliance.deputy', 'compliance.rate', 'compliance.agrees', 'compliance.deviates',
        'compliance.unknown', 'compliance.conflicts'].map((k) => h('th', { scope: 'col' }, t(k))))),
      h('tbody', {}, deputies.map((d) => h('tr', { 'data-deputy': d.deputy, class: d.deviates ? 'deviation' : null },
        h('th', { scope: 'row' }, h('a', { href: `#/compliance/deputy/${d.deputy}` }, who(app, d.deputy))),
        h('td', {}, pct(d.agrees, d.instructed)),
        h('td', {}, num(d.agrees)), h('td', {}, num(d.deviates)), h('td', {}, num(d.unknown)), h('td', {}, num(d.conflicts)))))))
      : h('p', {}, t('compliance.empty')));
}
export { page_ as page };
