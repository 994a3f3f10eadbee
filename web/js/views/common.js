// Pieces shared by the views: headings, forms, key-required notices, topic
// order, vote paths, bill lists. Views import this module and never each
// other; live updates and timers are methods of the app object they receive.

import { api, submit } from '../api.js';
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
  // Each step is a link to that member's page: whoever carries my vote is one click from their record.
  return h('ol', { class: 'path' }, path.map((k) => h('li', {}, memberLink(app, k))));
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

/** A member as a link to their page (pseudonym and short key). */
export function memberLink(app, key, name) {
  if (!key) return '—';
  const shown = name === undefined ? app.name(key) : name;
  return h('a', { class: 'who member-link', href: `#/member/${key}`, title: key, 'data-key': key },
    shown ? `${shown} ` : '', h('code', {}, shortKey(key)));
}

/** Asks before an action that cannot be taken back, in a modal dialog of
 * the page (so it reads in the page's language, and focus comes back to
 * the control that opened it). Resolves true when confirmed. */
export function confirmDialog({ title, text, confirm }) {
  return new Promise((resolve) => {
    const yes = h('button', { type: 'button', class: 'danger', id: 'confirm-yes' }, confirm);
    const no = h('button', { type: 'button', class: 'secondary', id: 'confirm-no' }, t('confirm.cancel'));
    const d = h('dialog', { class: 'confirm', id: 'confirm-dialog', 'aria-labelledby': 'confirm-title', 'aria-describedby': 'confirm-text' },
      h('h2', { id: 'confirm-title' }, title),
      h('p', { id: 'confirm-text' }, text),
      h('p', { class: 'notice', id: 'confirm-permanent' }, t('confirm.permanent')),
      h('p', { class: 'actions' }, yes, ' ', no));
    const back = document.activeElement;
    const finish = (v) => {
      d.close();
      d.remove();
      if (back && back.isConnected) back.focus();
      resolve(v);
    };
    yes.addEventListener('click', () => finish(true));
    no.addEventListener('click', () => finish(false));
    d.addEventListener('cancel', (e) => { e.preventDefault(); finish(false); });
    document.body.append(d);
    d.showModal();
    no.focus();
  });
}

/** A searchable, sorted list of members to pick from: a search box and
 * radio buttons (or checkboxes with `multiple`), filled by `search(q)`
 * (an array of {key, name, weight?, recent?}); `extra` options go first.
 * `node.refresh()` searches again. */
export function memberPicker(app, { name, legend, search, multiple = false, extra = [], checked = new Set(), describe = null }) {
  const id = `pick-${name}`;
  const list = h('div', { class: 'pick-list', id: `${id}-list`, role: 'group', 'aria-labelledby': `${id}-legend` });
  const status = h('p', { class: 'muted pick-status', id: `${id}-status`, 'aria-live': 'polite' });
  const input = h('input', { type: 'search', id: `${id}-q`, class: 'pick-q', autocomplete: 'off', 'aria-describedby': `${id}-status`, 'aria-controls': `${id}-list` });
  const chosen = new Set(checked);
  const row = (m) => {
    const rid = `${id}-${(m.key || 'x').slice(0, 16)}`;
    const box = h('input', { type: multiple ? 'checkbox' : 'radio', name, id: rid, value: m.key, checked: chosen.has(m.key),
      onchange: (e) => { if (!multiple) chosen.clear(); if (e.target.checked) chosen.add(m.key); else chosen.delete(m.key); } });
    return h('div', { class: 'check-row pick-row', 'data-key': m.key },
      box, h('label', { for: rid }, m.label || [h('strong', {}, m.name || t('member.anonymous')), ' ', h('code', {}, shortKey(m.key))],
        describe ? describe(m) : null));
  };
  let ticket = 0;
  const run = async () => {
    const mine = ++ticket;
    const q = input.value.trim();
    list.setAttribute('aria-busy', 'true');  // until the answer to the latest search is shown
    const found = await search(q);
    if (mine !== ticket) return;
    // Remembered, so that a confirmation can name who was picked.
    for (const m of found) if (m.key && m.name && !app.names[m.key]) app.names[m.key] = m.name;
    const keys = new Set(found.map((m) => m.key));
    // What is already chosen stays on the list, so a search never unchecks it.
    const kept = [...chosen].filter((k) => !keys.has(k) && !extra.some((x) => x.key === k)).map((k) => ({ key: k, name: app.name(k) }));
    list.replaceChildren(...extra.map(row), ...kept.map(row), ...found.map(row));
    list.dataset.q = q;  // what the list now shows the answer to
    list.setAttribute('aria-busy', 'false');
    status.textContent = found.length ? t('pick.found', { n: found.length }) : t('pick.none', { q });
  };
  let timer = null;
  input.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(run, 150); });
  input.addEventListener('keydown', (e) => { if (e.key === 'Enter') { e.preventDefault(); clearTimeout(timer); run(); } });
  const node = h('fieldset', { class: 'picker', id }, h('legend', { id: `${id}-legend` }, legend),
    h('label', { for: `${id}-q` }, t('pick.search')), input, status, list);
  node.ready = run();
  node.chosen = chosen;
  node.refresh = run;  // search again, e.g. when what `search` depends on changed
  return node;
}

export const billLink = (id, title) => h('a', { href: `#/bill/${encodeURIComponent(id)}` }, title || id);

/** Expelling a member: a reason (published) and a confirmation first. */
export function expelForm(app, r, after = null) {
  const out = msg();
  const btn = h('button', { type: 'submit', class: 'danger' }, t('expel.button'));
  return h('form', { class: 'card', id: 'expel-form', onsubmit: (e) => {
    e.preventDefault();
    const reason = e.target.reason.value.trim();
    app.act(btn, out, async () => {
      if (!reason) throw new Error(t('expel.need_reason'));
      const ok = await confirmDialog({ title: t('expel.confirm_title'), confirm: t('expel.confirm_button'),
        text: t('expel.confirm_text', { name: r.name || r.key.slice(0, 8), reason }) });
      if (!ok) return;
      await submit(app.me, app.server.assembly, 'expel', { member: r.key, reason });
      app.done(after || `#/member/${r.key}`, t('expel.done', { name: r.name || r.key.slice(0, 8) }));
    });
  } }, h('h2', {}, t('expel.title')), h('p', {}, t('expel.text')),
  field('expel.reason', { tag: 'textarea', name: 'reason', rows: 2, required: true, maxlength: 2000 }, 'expel.reason_hint'), btn, out);
}

/** "What my delegates did": open bills where a delegate's vote counts for me. */
export async function delegatesDid(app) {
  const { votes } = await api.delegatedVotes(app.me.pub);
  await app.learnNames(votes.flatMap((v) => v.path));
  const feed = h('a', { href: `/api/members/${app.me.pub}/feed.atom`, type: 'application/atom+xml', id: 'my-feed' }, t('did.feed'));
  return h('div', { class: 'card', id: 'delegates-did' }, h('h2', {}, t('did.title')),
    votes.length ? h('ul', { class: 'did' }, votes.map((v) => h('li', { 'data-motion': v.motion, 'data-choice': v.choice },
      billLink(v.motion, v.title), ' — ',
      t('did.voted', { choice: choiceLabel(v.choice) }), ' ', memberLink(app, v.carrier, v.carrier_name),
      v.path.length > 2 ? h('span', { class: 'muted' }, ` ${t('did.through', { n: v.path.length - 2 })}`) : null, ' — ',
      countdown(app, { state: 'open', closes: v.closes }), ' ',
      h('span', {}, t('did.override')), ' ', h('a', { href: `#/bill/${encodeURIComponent(v.motion)}`, class: 'button small' }, t('did.vote_myself')))))
      : h('p', {}, t('did.none')),
    h('p', {}, feed, ' ', h('small', { class: 'muted' }, t('did.feed_hint'))));
}

