// Organizer pages: invitations, topics, bills, the deputies' roster, and
// founding the assembly on an empty server. Everything is signed here with
// the organizer's key held in this browser.

import { api, submit } from '../api.js';
import { download, randomBytes, sha256, toHex, utf8 } from '../bytes.js';
import { canonicalBytes } from '../canonical.js';
import { h } from '../dom.js';
import { t } from '../i18n.js';
import { confirmDialog, field, memberLink, memberPicker, msg, page, topicOrder } from './common.js';
import { witnessesTab as witnesses } from './witnesses.js';

const TABS = ['invites', 'members', 'topics', 'bills', 'roster', 'witnesses'];

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
  const body = await ({ invites, members, topics, bills, roster, witnesses }[tab] || invites)(app);
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
  return h('div', {}, form, result, await inviteList(app));
}

/** Every invitation published, used (by whom) or still unused. */
async function inviteList(app) {
  const inv = await api.invites(0, 200);
  const rows = inv.invites.map((i) => h('tr', { 'data-code-hash': i.code_hash, 'data-used': i.used_by ? 'true' : 'false' },
    h('td', {}, h('code', {}, `${i.code_hash.slice(0, 12)}…`)),
    h('td', {}, i.note || '—'),
    h('td', {}, i.used_by ? h('span', { class: 'badge ok' }, t('invites.used')) : h('span', { class: 'badge' }, t('invites.unused'))),
    h('td', {}, i.used_by ? [memberLink(app, i.used_by, i.name), i.active === false ? ` (${t('people.expelled')})` : null] : '—')));
  return h('div', { class: 'card', id: 'invite-list' }, h('h2', {}, t('invites.title')),
    h('p', { id: 'invite-counts', 'data-used': inv.used, 'data-unused': inv.unused }, t('invites.counts', { used: inv.used, unused: inv.unused })),
    h('p', { class: 'muted' }, t('invites.hash_only')),
    inv.invites.length ? h('div', { class: 'scroll' }, h('table', {},
      h('caption', { class: 'sr-only' }, t('invites.title')),
      h('thead', {}, h('tr', {}, ['invites.code', 'invite.note', 'invites.status', 'invites.member'].map((k) => h('th', { scope: 'col' }, t(k))))),
      h('tbody', {}, rows))) : h('p', {}, t('invites.none')),
    inv.next !== null ? h('p', { class: 'muted' }, t('invites.first', { n: inv.invites.length })) : null);
}

/** Members: find one by part of their pseudonym, open their page, or expel them. */
async function members(app) {
  const out = msg();
  const picker = memberPicker(app, {
    name: 'member',
    legend: t('orgmembers.legend'),
    search: async (q) => (await api.delegates(q, { limit: 25 })).delegates,
    describe: (m) => h('span', { class: 'pick-detail' }, ' — ', t('pick.weight', { n: m.weight }), ' · ',
      h('a', { href: `#/member/${m.key}` }, t('pick.see_page'))),
  });
  await picker.ready;
  const btn = h('button', { type: 'submit', class: 'danger' }, t('expel.button'));
  return h('form', { class: 'card', id: 'expel-form', onsubmit: (e) => {
    e.preventDefault();
    const f = e.target;
    const key = f.querySelector('input[name=member]:checked')?.value;
    const reason = f.reason.value.trim();
    app.act(btn, out, async () => {
      if (!key) throw new Error(t('expel.pick_one'));
      if (!reason) throw new Error(t('expel.need_reason'));
      const name = app.name(key) || (await api.member(key)).name || key.slice(0, 8);
      const ok = await confirmDialog({ title: t('expel.confirm_title'), confirm: t('expel.confirm_button'),
        text: t('expel.confirm_text', { name, reason }) });
      if (!ok) return;
      await submit(app.me, app.server.assembly, 'expel', { member: key, reason });
      app.done('#/org/members', t('expel.done', { name }), '#expel-form');
    });
  } }, h('h2', {}, t('orgmembers.title')), h('p', {}, t('orgmembers.text')), picker,
  field('expel.reason', { tag: 'textarea', name: 'reason', rows: 2, maxlength: 2000 }, 'expel.reason_hint'), btn, out);
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
        const fields = { id, topic: f.topic.value, title: f.title.value.trim(),
          summary: f.summary.value.trim(), url: f.url.value.trim(), opens: toUtc(f.opens.value), closes: toUtc(f.closes.value), quorum };
        const ok = await confirmDialog({ title: t('bill_form.confirm_title'), confirm: t('bill_form.confirm_button'),
          text: t('bill_form.confirm_text', { title: fields.title, closes: new Date(fields.closes).toLocaleString(document.documentElement.lang) }) });
        if (!ok) return;
        await submit(app.me, app.server.assembly, 'motion', fields);
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
  const { roster: current } = await api.deputies();
  await app.learnNames(current);
  const out = msg();
  const btn = h('button', { type: 'submit' }, t('roster.button'));
  const picker = memberPicker(app, {
    name: 'deputy',
    multiple: true,
    legend: t('roster.members'),
    checked: new Set(current),
    search: async (q) => (await api.delegates(q, { limit: 50 })).delegates,
    describe: (m) => (m.weight === undefined ? null : h('span', { class: 'pick-detail' }, ' — ', t('pick.weight', { n: m.weight }))),
  });
  await picker.ready;
  return h('form', { class: 'card', id: 'roster-form', onsubmit: (e) => {
    e.preventDefault();
    const keys = [...picker.chosen];
    app.act(btn, out, async () => {
      if (!keys.length) throw new Error(t('roster.empty'));
      const ok = await confirmDialog({ title: t('roster.confirm_title'), confirm: t('roster.confirm_button'),
        text: t('roster.confirm_text', { n: keys.length, names: keys.map((k) => app.name(k) || k.slice(0, 8)).join(', ') }) });
      if (!ok) return;
      await submit(app.me, app.server.assembly, 'deputies', { roster: keys });
      app.done('#/org/roster', t('roster.done', { n: keys.length }), '#roster-form');
    });
  } }, h('h2', {}, t('roster.title')), h('p', {}, t('roster.text')),
  h('p', { id: 'roster-count', 'data-n': current.length }, t('roster.count', { n: current.length })),
  current.length ? h('ul', { id: 'roster-now' }, current.map((k) => h('li', {}, memberLink(app, k)))) : null,
  picker, btn, out);
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
