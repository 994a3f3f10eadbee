// Pages about people (issue 14): a member's public record, the deputies'
// roster, and "what my delegates did" for the home page. Everything here is
// public: any visitor can hold a delegate to account.

import { api } from '../api.js';
import { h } from '../dom.js';
import { fmtTime, num, t } from '../i18n.js';
import { billLink, choiceLabel, countdown, expelForm, memberLink, page } from './common.js';

function scopeText(scope, topics, motions) {
  if (scope === '*') return t('scope.all');
  const i = scope.indexOf(':');
  const kind = scope.slice(0, i), id = scope.slice(i + 1);
  if (kind === 'topic') return t('scope.topic', { title: topics.find((x) => x.id === id)?.title || id });
  return t('scope.motion', { title: motions.find((x) => x.id === id)?.title || id });
}

const entryLink = (index) => h('a', { href: `#/entry/${index}`, class: 'entry-link' }, t('people.entry', { index: String(index) }));

function table(id, caption, heads, rows, empty) {
  return h('div', { class: 'scroll' }, h('table', { id },
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, heads.map((k) => h('th', { scope: 'col' }, t(k))))),
    h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', { colspan: heads.length }, empty)))));
}

/** #/member/KEY: who they are, how they voted, whom they trust, who trusts them. */
export async function member(app, [keyParam]) {
  const key = keyParam || app.me?.pub;
  if (!key) return page(t('people.title'), h('p', {}, t('people.no_key')));
  let r;
  try {
    r = await api.record(key);
  } catch (e) {
    return page(t('people.title'), h('p', { class: 'msg error', role: 'alert' }, app.errorText(e)));
  }
  const [{ topics }, { motions }] = await Promise.all([api.topics(), api.motions()]);
  await app.learnNames(r.delegations.map((d) => d.to).filter((k) => k !== 'self'));
  for (const d of r.delegated_by) app.names[d.member] = d.name;
  const roles = [r.active ? t('role.member') : (r.member ? t('people.expelled') : null), r.organizer ? t('role.organizer') : null,
    r.deputy ? t('role.deputy') : null].filter(Boolean).join(', ') || t('role.none');
  const facts = h('dl', { class: 'facts', id: 'member-facts' },
    h('dt', {}, t('people.key')), h('dd', {}, h('code', { class: 'key', id: 'member-key' }, r.key)),
    h('dt', {}, t('people.fingerprint')), h('dd', {}, h('code', { id: 'member-fingerprint' }, r.fingerprint)),
    h('dt', {}, t('people.roles')), h('dd', { id: 'member-roles' }, roles),
    r.enrolled_index !== null ? [h('dt', {}, t('people.enrolled')), h('dd', {}, entryLink(r.enrolled_index))] : null);
  const carries = table('member-carries', t('people.carries'), ['bills.bill', 'people.weight', 'people.passing', 'people.closes'],
    r.carries.map((c) => h('tr', { 'data-motion': c.motion, 'data-weight': c.weight },
      h('td', {}, billLink(c.motion, c.title)),
      h('td', { class: 'num' }, c.weight ? num(c.weight) : t('people.not_voted')),
      h('td', { class: 'num' }, num(c.passing)),
      h('td', {}, countdown(app, { state: 'open', closes: c.closes })))), t('bills.none_open'));
  const votes = table('member-votes', t('people.votes'), ['bills.bill', 'people.choice', 'people.when', 'people.proof'],
    r.votes.map((v) => h('tr', { 'data-motion': v.motion, 'data-choice': v.choice },
      h('td', {}, billLink(v.motion, v.title), v.state === 'closed' ? [' ', h('span', { class: 'badge' }, t('state.closed'))] : null),
      h('td', {}, h('strong', { class: `instr instr-${v.choice}` }, choiceLabel(v.choice))),
      h('td', {}, fmtTime(v.received)),
      h('td', {}, entryLink(v.index)))), t('people.no_votes'));
  const delegations = table('member-delegations', t('people.delegations'), ['deleg.scope', 'deleg.to', 'people.when'],
    r.delegations.map((d) => h('tr', { 'data-scope': d.scope },
      h('td', {}, scopeText(d.scope, topics, motions)),
      h('td', {}, d.to === 'self' ? t('deleg.self') : memberLink(app, d.to)),
      h('td', {}, fmtTime(d.received)))), t('people.no_delegations'));
  const by = h('div', { class: 'card' }, h('h2', {}, t('people.delegated_by')),
    r.delegated_by.length ? h('ul', { id: 'member-delegated-by' }, r.delegated_by.map((d) => h('li', { 'data-key': d.member },
      memberLink(app, d.member, d.name), ' — ', d.scopes.map((s) => scopeText(s, topics, motions)).join(', '))))
      : h('p', {}, t('people.nobody_delegates')));
  const comments = r.comments.length ? h('div', { class: 'card', id: 'member-comments' }, h('h2', {}, t('people.comments')),
    h('ul', {}, r.comments.map((c) => h('li', { 'data-index': c.index },
      h('span', { class: 'badge' }, t(`people.stance_${c.stance}`)), ' ',
      c.target.startsWith('motion:') ? billLink(c.target.slice(7), motions.find((m) => m.id === c.target.slice(7))?.title) : c.target, ' — ',
      c.redacted ? h('em', {}, t('people.redacted')) : (c.text ?? ''))))) : null;
  const links = [h('li', {}, h('a', { href: `#/deputy/${key}` }, t('people.instructions_link')))];
  if (r.deputy) links.push(h('li', {}, h('a', { href: `#/compliance/deputy/${key}` }, t('compliance.see'))));
  if (r.active) links.push(h('li', {}, h('a', { href: `/api/members/${key}/feed.atom`, type: 'application/atom+xml', id: 'member-feed' }, t('people.feed_link'))));
  if (app.isMember() && r.active && key !== app.me.pub) links.push(h('li', {}, h('a', { href: `#/delegations/${key}`, id: 'delegate-here' }, t('people.delegate_here'))));
  const parts = [h('p', { class: 'lead' }, t('people.accountable')), facts, h('ul', { class: 'links', id: 'member-links' }, links),
    carries, votes, delegations, by, comments];
  if (app.isOrganizer() && r.active) parts.push(expelForm(app, r));
  return page(r.name || t('member.anonymous'), ...parts);
}

/** #/deputies: the roster, each with their page, instructions and record. */
export async function deputies(app) {
  const { roster } = await api.deputies();
  const [{ deputies: summary }] = await Promise.all([api.compliance(), app.learnNames(roster)]);
  const byKey = Object.fromEntries((summary || []).map((d) => [d.deputy, d]));
  return page(t('deputies.title'), h('p', {}, t('deputies.text')),
    table('deputies', t('deputies.caption', { n: roster.length }), ['deputies.who', 'deputies.instructions', 'deputies.record'],
      roster.map((k) => {
        const s = byKey[k];
        return h('tr', { 'data-key': k },
          h('td', {}, memberLink(app, k)),
          h('td', {}, h('a', { href: `#/deputy/${k}` }, t('deputies.instructions_n', { n: s ? s.instructed : 0 }))),
          h('td', {}, h('a', { href: `#/compliance/deputy/${k}` }, s ? t('deputies.agrees', { agrees: s.agrees, instructed: s.instructed }) : t('compliance.none'))));
      }), t('deputies.none')));
}
