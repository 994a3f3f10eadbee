// Proposals and amendments by members (docs/SPEC.md section 13): listed by
// support, support and unsupport, "ready" once supporters × 10 ≥ the active
// members, and for an organizer "turn into a bill" in one step (a motion
// whose url is proposal:<id>, which links the bill back to the proposal and
// its supporters). The arguments on a proposal are debate.js's.

import { api, submit } from '../api.js';
import { h, shortKey } from '../dom.js';
import { t } from '../i18n.js';
import { discussion } from './debate.js';
import { field, msg, needKey, page, topicOrder } from './common.js';

/** My latest support of each proposal, read from the log (my signed entries). */
async function mySupport(app) {
  const mine = {};
  for (const e of await app.myEntries()) {
    if (e.kind === 'support') mine[e.entry.statement.proposal] = e.entry.statement.on;
  }
  return mine;
}

function progress(p, needed) {
  return h('span', { class: 'support-progress', 'data-supporters': p.supporters },
    h('progress', { max: Math.max(needed, 1), value: Math.min(p.supporters, Math.max(needed, 1)), 'aria-hidden': 'true' }), ' ',
    t('proposal.support_of', { n: p.supporters, needed: needed }));
}

function status(p) {
  if (p.motion) return h('a', { class: 'badge adopted', href: `#/bill/${encodeURIComponent(p.motion)}` }, t('proposal.became', { id: p.motion }));
  return p.ready ? h('span', { class: 'badge ready' }, t('proposal.ready')) : null;
}

function supportButton(app, p, supported, after) {
  if (!app.isMember() || p.motion) return null;
  const out = msg();
  const button = h('button', { type: 'button', class: supported ? 'secondary support' : 'support', 'aria-pressed': String(!!supported), 'data-proposal': p.id },
    supported ? t('proposal.unsupport') : t('proposal.support'));
  button.addEventListener('click', () => app.act(button, out, async () => {
    await submit(app.me, app.server.assembly, 'support', { proposal: p.id, on: !supported });
    app.entries = null;
    app.say(supported ? t('proposal.unsupported_done') : t('proposal.supported_done'));
    await after();
  }));
  return h('span', {}, button, out);
}

export async function list(app, [action, amends]) {
  if (action === 'new') return newProposal(app, amends || null);
  const [doc, mine] = await Promise.all([api.proposals(), mySupport(app)]);
  const open = doc.proposals.filter((p) => !p.motion);
  const adopted = doc.proposals.filter((p) => p.motion);
  const item = (p) => h('li', { class: 'proposal-item', 'data-proposal': p.id, 'data-ready': String(p.ready) },
    h('a', { href: `#/proposal/${encodeURIComponent(p.id)}` }, p.title), ' ',
    p.amends ? h('span', { class: 'meta' }, t('proposal.amends', { id: p.amends })) : null, ' ',
    progress(p, doc.needed), ' ', status(p), ' ', supportButton(app, p, mine[p.id], () => app.go('#/proposals')));
  return page(t('proposals.title'),
    h('p', {}, t('proposals.text', { needed: doc.needed, members: doc.members })),
    app.isMember() ? h('p', {}, h('a', { class: 'button', id: 'new-proposal', href: '#/proposals/new' }, t('proposals.new'))) : needKey(app),
    h('h2', {}, t('proposals.open')),
    open.length ? h('ol', { class: 'proposals', id: 'proposals-open' }, open.map(item)) : h('p', { class: 'muted' }, t('proposals.none')),
    adopted.length ? [h('h2', {}, t('proposals.adopted')), h('ul', { class: 'proposals', id: 'proposals-adopted' }, adopted.map(item))] : null);
}

async function newProposal(app, amends) {
  const need = needKey(app);
  if (need) return page(t('proposals.new'), need);
  const [{ topics }, { motions }] = await Promise.all([api.topics(), api.motions()]);
  const amendable = motions.filter((m) => m.state !== 'closed');
  const out = msg();
  const btn = h('button', { type: 'submit' }, t('proposal_form.button'));
  const target = amends ? amendable.find((m) => m.id === amends) : null;
  const form = h('form', { class: 'card', id: 'proposal-form', onsubmit: (e) => {
    e.preventDefault();
    const f = e.target;
    app.act(btn, out, async () => {
      const id = f.id_.value.trim();
      await submit(app.me, app.server.assembly, 'proposal', { id, topic: f.topic.value, title: f.title.value.trim(),
        summary: f.summary.value.trim(), url: f.url.value.trim(), amends: f.amends.value || null });
      app.say(t('proposal_form.done'));
      app.go(`#/proposal/${encodeURIComponent(id)}`);
    });
  } }, h('h2', {}, target ? t('proposal_form.amend_title', { title: target.title }) : t('proposal_form.title')),
  field('proposal_form.id', { name: 'id_', required: true, pattern: '[a-z0-9][a-z0-9\\-]{0,63}', autocomplete: 'off' }, 'slug.hint'),
  field('proposal_form.topic', { tag: 'select', name: 'topic', options: topicOrder(topics).map(([tp, d]) => [tp.id, `${'— '.repeat(d)}${tp.title}`]) }),
  field('proposal_form.title_field', { name: 'title', required: true }),
  field('proposal_form.summary', { tag: 'textarea', name: 'summary', rows: 4, required: true }),
  field('proposal_form.url', { type: 'url', name: 'url' }),
  field('proposal_form.amends', { tag: 'select', name: 'amends', options: [['', t('proposal_form.no_amend')], ...amendable.map((m) => [m.id, m.title])] }),
  h('p', { class: 'notice', id: 'proposal-permanent' }, t('proposal_form.permanent')), btn, out);
  if (target) {
    form.amends.value = target.id;
    form.topic.value = target.topic;
  }
  return page(t('proposals.new'), form);
}

/** One proposal: its text, support, supporters, arguments; "turn into a bill". */
export async function proposal(app, [id]) {
  const [p, mine] = await Promise.all([api.proposal(id), mySupport(app)]);
  const reload = () => app.go(`#/proposal/${encodeURIComponent(id)}`);
  const parts = [
    h('p', { class: 'meta' }, t('proposal.by', { name: p.name || shortKey(p.author) }), ' · ', h('a', { href: `#/entry/${p.index}` }, `#${p.index}`),
      p.amends ? [' · ', t('proposal.amends', { id: '' }), h('a', { href: `#/bill/${encodeURIComponent(p.amends)}`, id: 'amends-link' }, p.amends)] : null),
    h('p', { class: 'summary' }, p.summary),
    p.url ? h('p', {}, h('a', { href: p.url, rel: 'noopener noreferrer' }, t('bill.read_text'))) : null,
    h('div', { class: 'card', id: 'support-box' }, h('h2', {}, t('proposal.support_title')),
      h('p', {}, progress(p, p.needed), ' ', status(p)),
      h('p', { class: 'hint' }, t('proposals.text', { needed: p.needed, members: p.members })),
      supportButton(app, p, mine[p.id], reload),
      h('details', {}, h('summary', {}, t('proposal.supporters', { n: p.supporters })),
        h('ul', { id: 'supporters' }, p.supporters_list.map((s) => h('li', { 'data-key': s.key }, s.name || shortKey(s.key)))))),
  ];
  if (app.isOrganizer() && !p.motion) parts.push(adoptForm(app, p));
  const d = await discussion(app, { proposal: p.id }, { canWrite: true });
  parts.push(h('div', { class: 'card', id: 'debate-card' }, h('h2', {}, t('debate.title')), d.node));
  return page(p.title, ...parts);
}

function localInput(date) {
  const p = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${p(date.getMonth() + 1)}-${p(date.getDate())}T${p(date.getHours())}:${p(date.getMinutes())}:${p(date.getSeconds())}`;
}

function toUtc(value) {
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) throw new Error(t('bill_form.bad_time'));
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** An organizer turns a ready proposal into a bill in one step. */
function adoptForm(app, p) {
  const out = msg();
  const now = new Date();
  const btn = h('button', { type: 'submit', disabled: !p.ready }, t('adopt.button'));
  return h('form', { class: 'card', id: 'adopt-form', onsubmit: (e) => {
    e.preventDefault();
    const f = e.target;
    app.act(btn, out, async () => {
      const id = f.id_.value.trim();
      await submit(app.me, app.server.assembly, 'motion', { id, topic: p.topic, title: p.title, summary: p.summary,
        url: `proposal:${p.id}`, opens: toUtc(f.opens.value), closes: toUtc(f.closes.value), quorum: null });
      app.say(t('adopt.done'));
      app.go(`#/bill/${encodeURIComponent(id)}`);
    });
  } }, h('h2', {}, t('adopt.title')),
  h('p', {}, p.ready ? t('adopt.text') : t('adopt.not_ready')),
  field('bill_form.id', { name: 'id_', required: true, value: p.id, pattern: '[a-z0-9][a-z0-9\\-]{0,63}', autocomplete: 'off' }, 'slug.hint'),
  field('bill_form.opens', { type: 'datetime-local', name: 'opens', step: 1, required: true, value: localInput(new Date(now.getTime() - 2000)) }),
  field('bill_form.closes', { type: 'datetime-local', name: 'closes', step: 1, required: true, value: localInput(new Date(now.getTime() + 7 * 86400000)) }),
  h('p', { class: 'notice' }, t('proposal_form.permanent')), btn, out);
}
