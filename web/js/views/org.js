// Organizer pages: invitations, topics, bills, the deputies' roster, and
// founding the assembly on an empty server. Everything is signed here with
// the organizer's key held in this browser.

import { api, submit } from '../api.js';
import { download, randomBytes, sha256, toHex, utf8 } from '../bytes.js';
import { canonicalBytes } from '../canonical.js';
import { h } from '../dom.js';
import { t } from '../i18n.js';
import { field, msg, page, topicOrder, who } from './common.js';
import { witnessesTab as witnesses } from './witnesses.js';

const TABS = ['invites', 'topics', 'bills', 'roster', 'witnesses'];

/** 128 random bits as 8 groups of 4 hex digits, the CLI's format. */
export function newCode() {
  const hex = toHex(randomBytes(16));
  return hex.match(/.{4}/g).join('-');
}

export async function page_(app, [tab = 'invites']) {
  if (!app.server.assembly) return page(t('org.title'), h('p', {}, t('home.empty_server')));
  if (!app.me || !app.isOrganizer()) return page(t('org.title'), h('p', {}, t('org.not_organizer')));
  const nav = h('nav', { class: 'tabs', 'aria-label': t('org.sections') }, h('ul', {}, TABS.map((k) => h('li', {},
    h('a', { href: `#/org/${k}`, 'aria-current': k === tab ? 'page' : null }, t(`org.tab_${k}`))))));
  const body = await ({ invites, topics, bills, roster, witnesses }[tab] || invites)(app);
  return page(t('org.title'), nav, body);
}
export { page_ as page };

async function invites(app) {
  const out = msg();
  const btn = h('button', { type: 'submit' }, t('invite.button'));
  const result = h('div', { id: 'codes', 'aria-live': 'polite' });
  const form = h('form', { class: 'card', id: 'invite-form', onsubmit: (e) => {
    e.preventDefault();
    const f = e.target;
    const n = Number(f.count.value);
    app.act(btn, out, async () => {
      if (!Number.isInteger(n) || n < 1 || n > 500) throw new Error(t('invite.bad_count'));
      const codes = [];
      for (let i = 0; i < n; i++) {
        const code = newCode();
        await submit(app.me, app.server.assembly, 'invite', { code_hash: toHex(await sha256(utf8(code))), note: f.note.value });
        codes.push(code);
        out.textContent = t('invite.progress', { done: i + 1, n });
      }
      out.textContent = '';
      const text = codes.join('\n') + '\n';
      result.replaceChildren(h('div', { class: 'card' }, h('h2', {}, t('invite.codes_title')),
        h('p', { class: 'notice' }, t('invite.once')),
        h('ul', { class: 'codes' }, codes.map((c) => h('li', {}, h('code', { class: 'invite-code' }, c)))),
        h('button', { type: 'button', onclick: () => download('invitations.txt', text, 'text/plain') }, t('invite.download'))));
      f.reset();
      app.say(t('invite.done', { n }));
    });
  } }, h('h2', {}, t('invite.title')), h('p', {}, t('invite.text')),
  field('invite.count', { type: 'number', name: 'count', min: 1, max: 500, value: '1', required: true }),
  field('invite.note', { name: 'note' }, 'invite.note_hint'), btn, out);
  return h('div', {}, form, result);
}

async function topics(app) {
  const { topics: list } = await api.topics();
  const out = msg();
  const tree = topicOrder(list);
  const btn = h('button', { type: 'submit' }, t('topic.button'));
  return h('div', {},
    h('div', { class: 'card' }, h('h2', {}, t('topic.tree')),
      tree.length ? h('ul', { class: 'tree', id: 'topic-tree' }, tree.map(([tp, d]) => h('li', { style: `--depth:${d}`, 'data-topic': tp.id },
        h('strong', {}, tp.title), ' ', h('code', {}, tp.id), tp.description ? h('span', { class: 'muted' }, ` — ${tp.description}`) : null)))
        : h('p', {}, t('topic.none'))),
    h('form', { class: 'card', id: 'topic-form', onsubmit: (e) => {
      e.preventDefault();
      const f = e.target;
      app.act(btn, out, async () => {
        await submit(app.me, app.server.assembly, 'topic', { id: f.id_.value.trim(), title: f.title.value.trim(),
          description: f.description.value.trim(), parent: f.parent.value || null });
        app.done('#/org/topics', t('topic.done'), '#topic-form');
      });
    } }, h('h2', {}, t('topic.new')),
    field('topic.id', { name: 'id_', required: true, pattern: '[a-z0-9][a-z0-9\\-]{0,63}', autocomplete: 'off' }, 'slug.hint'),
    field('topic.title_field', { name: 'title', required: true }),
    field('topic.description', { tag: 'textarea', name: 'description', rows: 2 }),
    field('topic.parent', { tag: 'select', name: 'parent', options: [['', t('topic.no_parent')], ...tree.map(([tp, d]) => [tp.id, `${'— '.repeat(d)}${tp.title}`])] }),
    btn, out));
}

function localInput(date) {
  const p = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${p(date.getMonth() + 1)}-${p(date.getDate())}T${p(date.getHours())}:${p(date.getMinutes())}:${p(date.getSeconds())}`;
}

/** A datetime-local value (the user's time zone) as an RFC 3339 UTC time. */
function toUtc(value) {
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) throw new Error(t('bill_form.bad_time'));
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

async function bills(app) {
  const [{ topics: list }, { motions }] = await Promise.all([api.topics(), api.motions()]);
  const out = msg();
  const btn = h('button', { type: 'submit' }, t('bill_form.button'));
  const now = new Date();
  if (!list.length) return h('p', {}, t('bill_form.need_topic'), ' ', h('a', { href: '#/org/topics' }, t('org.tab_topics')));
  return h('div', {},
    h('form', { class: 'card', id: 'bill-form', onsubmit: (e) => {
      e.preventDefault();
      const f = e.target;
      app.act(btn, out, async () => {
        const quorum = f.quorum.value.trim() === '' ? null : Number(f.quorum.value);
        if (quorum !== null && !(Number.isInteger(quorum) && quorum >= 0 && quorum <= 100)) throw new Error(t('bill_form.bad_quorum'));
        const id = f.id_.value.trim();
        await submit(app.me, app.server.assembly, 'motion', { id, topic: f.topic.value, title: f.title.value.trim(),
          summary: f.summary.value.trim(), url: f.url.value.trim(), opens: toUtc(f.opens.value), closes: toUtc(f.closes.value), quorum });
        app.done(`#/bill/${encodeURIComponent(id)}`, t('bill_form.done'));
      });
    } }, h('h2', {}, t('bill_form.title')),
    field('bill_form.id', { name: 'id_', required: true, pattern: '[a-z0-9][a-z0-9\\-]{0,63}', autocomplete: 'off' }, 'slug.hint'),
    field('bill_form.topic', { tag: 'select', name: 'topic', options: topicOrder(list).map(([tp, d]) => [tp.id, `${'— '.repeat(d)}${tp.title}`]) }),
    field('bill_form.title_field', { name: 'title', required: true }),
    field('bill_form.summary', { tag: 'textarea', name: 'summary', rows: 3, required: true }),
    field('bill_form.url', { type: 'url', name: 'url' }),
    field('bill_form.opens', { type: 'datetime-local', name: 'opens', step: 1, required: true, value: localInput(now) }),
    field('bill_form.closes', { type: 'datetime-local', name: 'closes', step: 1, required: true, value: localInput(new Date(now.getTime() + 7 * 86400000)) }),
    field('bill_form.quorum', { type: 'number', name: 'quorum', min: 0, max: 100 }, 'bill_form.quorum_hint'),
    btn, out),
    h('div', { class: 'card' }, h('h2', {}, t('bills.title')), motions.length ? h('ul', {}, motions.map((m) => h('li', {},
      h('a', { href: `#/bill/${encodeURIComponent(m.id)}` }, m.title), ` — ${t(`state.${m.state}`)}`))) : h('p', {}, t('bills.none_open'))));
}

async function roster(app) {
  const members = (await app.loadNames()).filter((m) => m.active);
  const { roster: current } = await api.deputies();
  const out = msg();
  const btn = h('button', { type: 'submit' }, t('roster.button'));
  return h('form', { class: 'card', id: 'roster-form', onsubmit: (e) => {
    e.preventDefault();
    const keys = [...e.target.querySelectorAll('input[name=deputy]:checked')].map((x) => x.value);
    app.act(btn, out, async () => {
      if (!keys.length) throw new Error(t('roster.empty'));
      await submit(app.me, app.server.assembly, 'deputies', { roster: keys });
      app.done('#/org/roster', t('roster.done', { n: keys.length }), '#roster-form');
    });
  } }, h('h2', {}, t('roster.title')), h('p', {}, t('roster.text')),
  h('p', { id: 'roster-count', 'data-n': current.length }, t('roster.count', { n: current.length })),
  members.length ? h('fieldset', {}, h('legend', {}, t('roster.members')), members.map((m) => {
    const id = `dep-${m.key.slice(0, 16)}`;
    return h('div', { class: 'check-row' }, h('input', { type: 'checkbox', name: 'deputy', id, value: m.key, checked: current.includes(m.key) }),
      h('label', { for: id }, who(app, m.key)));
  })) : h('p', {}, t('roster.no_members')), btn, out);
}

/** The genesis `assembly` statement, signed with this browser's key, naming
 * the server's key. */
export async function found(app) {
  if (app.server.assembly) return page(t('found.title'), h('p', {}, t('found.already')), h('a', { href: '#/' }, t('nav.home')));
  if (!app.me) return page(t('found.title'), h('p', {}, t('found.need_key')), h('a', { class: 'button', href: '#/key' }, t('key.go_create')));
  const out = msg();
  const btn = h('button', { type: 'submit' }, t('found.button'));
  return page(t('found.title'), h('p', {}, t('found.text')),
    h('p', {}, t('found.server_key'), ' ', h('code', { class: 'key' }, app.server.server_key)),
    h('form', { class: 'card', id: 'found-form', onsubmit: (e) => {
      e.preventDefault();
      const f = e.target;
      app.act(btn, out, async () => {
        const others = f.organizers.value.split(/[\s,]+/).map((x) => x.trim().toLowerCase()).filter(Boolean);
        for (const k of others) if (!/^[0-9a-f]{64}$/.test(k)) throw new Error(t('found.bad_key', { key: k }));
        const organizers = [app.me.pub, ...others.filter((k) => k !== app.me.pub)];
        const quorum = Number(f.quorum.value);
        if (!Number.isInteger(quorum) || quorum < 0 || quorum > 100) throw new Error(t('bill_form.bad_quorum'));
        const fields = { name: f.name.value.trim(), organizers: [...new Set(organizers)], server: app.server.server_key,
          rules: { method: f.method.value, quorum, no_quorum: f.no_quorum.value } };
        const r = await submit(app.me, '', 'assembly', fields);
        const statement = r.entry.statement;
        const id = toHex(await sha256(canonicalBytes(statement)));
        app.done('#/org/topics', t('found.done', { id: id.slice(0, 12) }), '#topic-form');
      });
    } },
    field('found.name', { name: 'name', required: true }),
    field('found.organizers', { tag: 'textarea', name: 'organizers', rows: 2 }, 'found.organizers_hint'),
    field('found.method', { tag: 'select', name: 'method', options: ['largest_remainder', 'dhondt', 'sainte_lague'].map((m) => [m, t(`method.${m}`)]) }),
    field('found.quorum', { type: 'number', name: 'quorum', min: 0, max: 100, value: '0', required: true }, 'found.quorum_hint'),
    field('found.no_quorum', { tag: 'select', name: 'no_quorum', options: [['abstain', t('choice.abstain')], ['no', t('choice.no')]] }),
    btn, out));
}
