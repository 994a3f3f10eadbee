// Pieces shared by the views: headings, forms, key-required notices, topic
// order, vote paths, bill lists. Views import this module and never each
// other; live updates and timers are methods of the app object they receive.

import { api } from '../api.js';
import { h, shortKey } from '../dom.js';
import { t, timeLeft } from '../i18n.js';

export const page = (title, ...children) => h('section', {}, h('h1', { tabindex: -1 }, title), ...children);

export const msg = () => h('p', { class: 'msg', role: 'alert' });

let ids = 0;
/** A labelled input: field('invite.count', {type: 'number', name: 'count'}). */
export function field(labelKey, attrs = {}, hintKey = null) {
  const id = attrs.id || `f${++ids}`;
  const hint = hintKey ? h('small', { id: `${id}-hint`, class: 'hint' }, t(hintKey)) : null;
  const control = attrs.tag === 'textarea' ? h('textarea', { ...attrs, tag: null, id, 'aria-describedby': hint ? `${id}-hint` : null })
    : attrs.tag === 'select' ? h('select', { ...attrs, tag: null, options: null, id, 'aria-describedby': hint ? `${id}-hint` : null },
      (attrs.options || []).map(([v, label]) => h('option', { value: v }, label)))
      : h('input', { ...attrs, id, 'aria-describedby': hint ? `${id}-hint` : null });
  return h('div', { class: 'field' }, h('label', { for: id }, t(labelKey)), control, hint);
}

export function who(app, key) {
  if (!key) return '—';
  const name = app.name(key);
  return h('span', { class: 'who', title: key }, name ? `${name} ` : '', h('code', {}, shortKey(key)));
}

/** Shown when an action needs a key this browser does not have, or membership. */
export function needKey(app) {
  if (!app.me) {
    return h('div', { class: 'card notice' }, h('p', {}, t('key.none')),
      h('p', {}, h('a', { class: 'button', href: '#/key' }, t('key.go_create'))));
  }
  if (!app.isMember()) {
    return h('div', { class: 'card notice' }, h('p', {}, t('member.not_yet')),
      h('p', {}, h('a', { class: 'button', href: '#/join' }, t('member.go_join'))));
  }
  return null;
}

export function choiceLabel(c) {
  return c === null || c === undefined ? t('choice.none') : t(`choice.${c}`);
}

/** A topic's title for people to read (its identifier only if it has none). */
export function topicTitle(topics, id) {
  return topics.find((x) => x.id === id)?.title || id;
}

/** Topics depth-first, each with its depth: [[topic, depth], …]. */
export function topicOrder(topics) {
  const out = [];
  const visit = (parent, depth) => {
    for (const tp of topics.filter((x) => (x.parent || null) === parent)) { out.push([tp, depth]); visit(tp.id, depth + 1); }
  };
  visit(null, 0);
  return out;
}

export function pathView(app, path) {
  return h('ol', { class: 'path' }, path.map((k) => h('li', {}, who(app, k))));
}

export function outcomeText(p) {
  const reason = t(`reason.${String(p.reason).replace(/ /g, '_')}`);
  return `${t(`outcome.${p.outcome}`)} — ${reason}`;
}

/** Time left before a bill opens or closes, ticking each second while the page is shown. */
export function countdown(app, m) {
  const el = h('span', { class: 'time-left', 'data-closes': m.closes });
  const tick = () => {
    const left = timeLeft(m.state === 'upcoming' ? m.opens : m.closes);
    el.textContent = left === null ? t(m.state === 'upcoming' ? 'bills.opening' : 'bills.closing')
      : t(m.state === 'upcoming' ? 'bills.opens_in' : 'bills.closes_in', { left });
  };
  tick();
  app.every(1000, tick);
  return el;
}

function billItem(app, m) {
  return h('li', { class: 'bill-item', 'data-motion': m.id },
    h('a', { href: `#/bill/${encodeURIComponent(m.id)}` }, m.title), ' ',
    m.state === 'closed' ? h('span', { class: 'badge' }, t('state.closed')) : countdown(app, m));
}

/** Open bills grouped by topic (tree order). */
export async function openBillsList(app, state = 'open') {
  const [{ motions }, { topics }] = await Promise.all([api.motions(state), api.topics()]);
  if (!motions.length) return h('p', { class: 'muted' }, t(`bills.none_${state}`));
  const groups = [];
  for (const [tp, depth] of topicOrder(topics)) {
    const here = motions.filter((m) => m.topic === tp.id);
    if (here.length) groups.push(h('div', { class: 'topic-group', style: `--depth:${depth}` }, h('h3', {}, tp.title), h('ul', { class: 'bills' }, here.map((m) => billItem(app, m)))));
  }
  return h('div', { class: 'bill-groups', id: `bills-${state}` }, groups);
}
