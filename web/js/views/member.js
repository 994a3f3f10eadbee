// Member pages: home, key (create, back up, restore), join, delegations,
// delegation graph, receipts.

import { api, submit } from '../api.js';
import { download } from '../bytes.js';
import { delegationGraph } from '../charts.js';
import { h, shortKey } from '../dom.js';
import { fmtTime, num, t } from '../i18n.js';
import { createKey, exportBackup, importKeyFile, KeyError, restoreBackup } from '../keys.js';
import { verifyReceipt } from '../merkle.js';
import { deleteKey, listReceipts, putReceipt, useKey } from '../store.js';
import { choiceLabel, delegatesDid, field, memberLink, memberPicker, msg, needKey, openBillsList, outcomeText, page, pathView, topicOrder } from './common.js';

export async function notFound() {
  return page(t('notfound.title'), h('p', {}, t('notfound.text')), h('a', { href: '#/' }, t('nav.home')));
}

export async function home(app) {
  if (!app.server.assembly) {
    return page(t('home.title'), h('p', {}, t('home.empty_server')), h('p', {}, h('a', { class: 'button', href: '#/found' }, t('nav.found'))));
  }
  if (app.isOrganizer()) return organizerHome(app);
  const parts = [h('p', { class: 'lead' }, t('home.intro'))];
  if (!app.isMember()) {
    // A visitor learns in one screen what this is and how to come in.
    parts.push(h('ul', { class: 'how' }, ['home.how_vote', 'home.how_delegate', 'home.how_check'].map((k) => h('li', {}, t(k)))),
      h('div', { class: 'card notice', id: 'how-to-join' }, h('p', {}, t(app.me && !app.member?.member ? 'home.join_key' : 'home.join_needs')),
        h('p', { class: 'actions' }, h('a', { class: 'button', href: '#/join' }, t('home.join')), ' ',
          h('a', { class: 'button secondary', href: '#/bills' }, t('home.browse')))));
  } else {
    parts.push(h('p', {}, t('home.welcome', { name: app.member.name || t('member.anonymous') }), ' ',
      h('a', { href: '#/member', id: 'my-page-link' }, t('home.my_page'))));
    parts.push(await delegatesDid(app));
  }
  parts.push(h('h2', {}, t('bills.open')), await openBillsList(app));
  return page(app.server.name || t('home.title'), ...parts);
}

/** An organizer's home: the state of the assembly and what to do next. */
async function organizerHome(app) {
  const [inv, { motions }, { roster }, page1] = await Promise.all([api.invites(0, 1), api.motions(), api.deputies(), api.delegates('', { limit: 1 })]);
  const by = (st) => motions.filter((m) => m.state === st).length;
  const card = (id, title, value, href, action) => h('div', { class: 'card stat', id },
    h('h2', {}, title), h('p', { class: 'stat-value' }, value), h('p', {}, h('a', { href }, action)));
  const parts = [h('p', { class: 'lead' }, t('orghome.intro', { name: app.member?.name || t('member.anonymous') })),
    h('div', { class: 'stats' },
      card('org-members', t('orghome.members'), t('n.members', { n: page1.members }), '#/org/members', t('orghome.members_action')),
      card('org-invites', t('orghome.invites'), t('orghome.invites_value', { used: inv.used, unused: inv.unused }), '#/org/invites', t('orghome.invites_action')),
      card('org-bills', t('orghome.bills'), t('orghome.bills_value', { open: by('open'), upcoming: by('upcoming'), closed: by('closed') }), '#/org/bills', t('orghome.bills_action')),
      card('org-roster', t('orghome.roster'), t('n.deputies', { n: roster.length }), '#/org/roster', t('orghome.roster_action')))];
  if (app.isMember()) parts.push(await delegatesDid(app));
  parts.push(h('h2', {}, t('bills.open')), await openBillsList(app));
  return page(t('orghome.title', { assembly: app.server.name || t('home.title') }), ...parts);
}

/** A key as a person knows it: pseudonym (if enrolled) and fingerprint. */
function keyLabel(app, pub) {
  const name = app.name(pub);
  return name ? `${name} (${pub.slice(0, 8)}…)` : `${pub.slice(0, 8)}…`;
}

export async function keyPage(app) {
  const out = msg();
  const parts = [];
  await app.learnNames(app.keys.map((k) => k.pub));
  // The keys this browser holds, and which one is in use.
  if (app.keys.length) {
    parts.push(h('div', { class: 'card', id: 'my-keys' }, h('h2', {}, t('keys.title')),
      h('p', {}, t('keys.text')),
      h('ul', { class: 'keys' }, app.keys.map((k) => {
        const inUse = k.pub === app.me?.pub;
        const b = inUse ? null : h('button', { type: 'button', class: 'small secondary', 'data-use': k.pub, onclick: () => app.act(b, out, async () => {
          await useKey(k.pub);
          app.done('#/key', t('keys.switched', { key: keyLabel(app, k.pub) }), '#my-keys');
        }) }, t('keys.use'));
        return h('li', { 'data-key': k.pub, class: inUse ? 'in-use' : null }, h('code', {}, keyLabel(app, k.pub)), ' ',
          inUse ? h('strong', {}, t('keys.in_use_mark')) : b);
      }))));
  }
  const create = h('button', { type: 'button', id: 'create-key', onclick: () => app.act(create, out, async () => {
    await createKey();
    app.done('#/key', t('key.created'), '#backup-form');
  }) }, app.me ? t('key.create_another') : t('key.create'));
  const createCard = h('div', { class: 'card' }, h('h2', {}, t('key.new_title')), h('p', {}, t('key.new_text')), create);
  if (!app.me) parts.push(createCard);
  else {
    parts.push(h('div', { class: 'card' }, h('h2', {}, t('key.yours')),
      h('p', {}, t('key.public')), h('p', {}, h('code', { class: 'key', id: 'my-key' }, app.me.pub)),
      app.member ? h('p', {}, t('key.status', { name: app.member.name || t('member.anonymous'),
        roles: [app.member.active ? t('role.member') : null, app.member.organizer ? t('role.organizer') : null,
          app.member.deputy ? t('role.deputy') : null].filter(Boolean).join(', ') || t('role.none') })) : null));
    // Backup.
    const pass1 = field('backup.pass', { type: 'password', name: 'pass1', autocomplete: 'new-password', required: true, minlength: 8 }, 'backup.pass_hint');
    const pass2 = field('backup.pass_again', { type: 'password', name: 'pass2', autocomplete: 'new-password', required: true });
    const bout = msg();
    const bbtn = h('button', { type: 'submit' }, t('backup.download'));
    parts.push(h('form', { class: 'card', id: 'backup-form', onsubmit: (e) => {
      e.preventDefault();
      const f = e.target;
      app.act(bbtn, bout, async () => {
        if (f.pass1.value !== f.pass2.value) { bout.textContent = t('backup.mismatch'); bout.className = 'msg error'; return; }
        const b = await exportBackup(app.me, f.pass1.value);
        download(`liquid-mandate-key-${app.me.pub.slice(0, 8)}.json`, JSON.stringify(b, null, 2));
        f.reset();
        bout.textContent = t('backup.done');
        bout.className = 'msg ok';
      });
    } }, h('h2', {}, t('backup.title')), h('p', {}, t('backup.text')), pass1, pass2, bbtn, bout));
    const forget = h('button', { type: 'button', class: 'danger', onclick: () => app.act(forget, out, async () => {
      if (!confirm(t('key.forget_confirm'))) return;
      await deleteKey(app.me.pub);
      app.go('#/key');
    }) }, t('key.forget'));
    parts.push(h('div', { class: 'card' }, h('h2', {}, t('key.forget_title')), h('p', {}, t('key.forget_text')), forget));
    parts.push(createCard);
  }
  // Restore a backup (the browser's or the command line's encrypted format).
  const rout = msg();
  const rbtn = h('button', { type: 'submit' }, t('restore.button'));
  parts.push(h('form', { class: 'card', id: 'restore-form', onsubmit: (e) => {
    e.preventDefault();
    const f = e.target;
    app.act(rbtn, rout, async () => {
      const file = f.file.files[0];
      if (!file) throw new Error(t('restore.no_file'));
      const rec = await restoreBackup(await file.text(), f.pass.value);
      app.done('#/', t('restore.done', { key: rec.pub.slice(0, 8) }));
    });
  } }, h('h2', {}, t('restore.title')), h('p', {}, t('restore.text')),
  field('restore.file', { type: 'file', name: 'file', accept: 'application/json,.json', required: true }),
  field('restore.pass', { type: 'password', name: 'pass', autocomplete: 'current-password', required: true }), rbtn, rout));
  // Import a command-line key file (plain seed): protect it with a passphrase at once.
  const iout = msg();
  const ibtn = h('button', { type: 'submit' }, t('import.button'));
  parts.push(h('form', { class: 'card', id: 'import-form', onsubmit: (e) => {
    e.preventDefault();
    const f = e.target;
    app.act(ibtn, iout, async () => {
      const file = f.file.files[0];
      if (!file) throw new Error(t('restore.no_file'));
      if (f.pass1.value !== f.pass2.value) throw new Error(t('backup.mismatch'));
      if (f.pass1.value.length < 8) throw new KeyError('weak_passphrase');
      const rec = await importKeyFile(await file.text());
      const b = await exportBackup(rec, f.pass1.value);
      download(`liquid-mandate-key-${rec.pub.slice(0, 8)}.json`, JSON.stringify(b, null, 2));
      app.done('#/key', t('import.done', { key: rec.pub.slice(0, 8) }), '#my-keys');
    });
  } }, h('h2', {}, t('import.title')), h('p', {}, t('import.text')),
  field('import.file', { type: 'file', name: 'file', required: true }),
  field('backup.pass', { type: 'password', name: 'pass1', autocomplete: 'new-password', required: true, minlength: 8 }, 'import.pass_hint'),
  field('backup.pass_again', { type: 'password', name: 'pass2', autocomplete: 'new-password', required: true }), ibtn, iout));
  return page(t('key.title'), out, ...parts);
}

export async function join(app) {
  if (!app.server.assembly) return notFound();
  if (!app.me) return page(t('join.title'), needKey(app));
  if (app.member && app.member.member) return page(t('join.title'), h('p', {}, t('join.already')));
  const out = msg();
  const btn = h('button', { type: 'submit' }, t('join.button'));
  return page(t('join.title'), h('p', {}, t('join.text')), h('p', { class: 'notice' }, t('public.notice')),
    h('form', { id: 'join-form', onsubmit: (e) => {
      e.preventDefault();
      const f = e.target;
      let code = f.code.value.trim();
      if (/^[0-9a-fA-F-]+$/.test(code)) code = code.toLowerCase();
      app.act(btn, out, async () => {
        await submit(app.me, app.server.assembly, 'enroll', { code, name: f.name.value.trim() });
        app.done('#/', t('join.done'));
      });
    } }, field('join.code', { name: 'code', required: true, autocomplete: 'off', spellcheck: 'false' }),
    field('join.name', { name: 'name', autocomplete: 'nickname', maxlength: 100 }, 'join.name_hint'), btn, out));
}

function scopeLabel(scope, topics, motions) {
  if (scope === '*') return t('scope.all');
  const [kind, id] = [scope.slice(0, scope.indexOf(':')), scope.slice(scope.indexOf(':') + 1)];
  if (kind === 'topic') return t('scope.topic', { title: topics.find((x) => x.id === id)?.title || id });
  return t('scope.motion', { title: motions.find((x) => x.id === id)?.title || id });
}


export async function delegations(app, [preselect]) {
  const need = needKey(app);
  if (need) return page(t('deleg.title'), need);
  const [{ topics }, { motions }, me] = await Promise.all([api.topics(), api.motions(), api.member(app.me.pub)]);
  await app.learnNames([...(me.delegations || []).map((d) => d.to).filter((k) => k !== 'self'), ...(me.delegated_by || []).map((d) => d.member), preselect].filter(Boolean));
  const open = motions.filter((m) => m.state !== 'closed');
  const settings = me.delegations || [];
  const current = h('table', { id: 'my-delegations' },
    h('caption', {}, t('deleg.current')),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('deleg.scope')), h('th', { scope: 'col' }, t('deleg.to')), h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, t('deleg.actions'))))),
    h('tbody', {}, settings.length ? settings.map((d) => {
      const b = h('button', { type: 'button', class: 'small', onclick: () => app.act(b, out, async () => {
        await submit(app.me, app.server.assembly, 'delegate', { scope: d.scope, to: null });
        app.done('#/delegations', t('deleg.removed'));
      }) }, t('deleg.remove'));
      return h('tr', {}, h('td', {}, scopeLabel(d.scope, topics, motions)),
        h('td', {}, d.to === 'self' ? t('deleg.self') : memberLink(app, d.to)), h('td', {}, b));
    }) : h('tr', {}, h('td', { colspan: 3 }, t('deleg.none')))));
  const out = msg();
  const scopes = [['*', t('scope.all')], ...topicOrder(topics).map(([tp, d]) => [`topic:${tp.id}`, `${'— '.repeat(d)}${t('scope.topic', { title: tp.title })}`]),
    ...open.map((m) => [`motion:${m.id}`, t('scope.motion', { title: m.title })])];
  const scopeField = field('deleg.scope', { tag: 'select', name: 'scope', options: scopes });
  const scopeSelect = scopeField.querySelector('select');
  // The delegate: searched by part of a pseudonym, heaviest first, each with
  // the votes they carry in the scope being chosen and how they voted lately
  // (GET /api/delegates?scope=).
  const picker = memberPicker(app, {
    name: 'to',
    legend: t('deleg.to'),
    extra: [{ key: 'self', label: t('deleg.self_option') }],
    checked: new Set([preselect && /^[0-9a-f]{64}$/.test(preselect) ? preselect : 'self']),
    search: async (q) => (await api.delegates(q, { exclude: app.me.pub, limit: 15, scope: scopeSelect.value })).delegates,
    describe: (m) => (m.weight === undefined ? null : h('span', { class: 'pick-detail' },
      ' — ', t('pick.weight', { n: m.weight }),
      m.recent && m.recent.length ? [' · ', t('pick.recent'), ' ', m.recent.map((v) => t('pick.recent_vote', { title: v.title, choice: choiceLabel(v.choice) })).join(', ')] : [' · ', t('pick.no_recent')],
      ' · ', h('a', { href: `#/member/${m.key}` }, t('pick.see_page')))),
  });
  await picker.ready;
  scopeSelect.addEventListener('change', () => picker.refresh());
  const btn = h('button', { type: 'submit' }, t('deleg.button'));
  const form = h('form', { class: 'card', id: 'delegate-form', onsubmit: (e) => {
    e.preventDefault();
    const f = e.target;
    app.act(btn, out, async () => {
      const to = f.querySelector('input[name=to]:checked')?.value;
      if (!to) throw new Error(t('deleg.pick_one'));
      await submit(app.me, app.server.assembly, 'delegate', { scope: f.scope.value, to });
      app.done('#/delegations', t('deleg.saved'), '#delegate-form');
    });
  } }, h('h2', {}, t('deleg.new')), h('p', {}, t('deleg.explain')),
  scopeField, picker, btn, out);
  // Who carries my vote on each open bill, whose votes I carry.
  const openNow = motions.filter((m) => m.state === 'open');
  const paths = await Promise.all(openNow.map((m) => api.votePath(app.me.pub, m.id).then((p) => [m, p]).catch(() => [m, null])));
  const carriedBy = h('table', { id: 'vote-paths' }, h('caption', {}, t('deleg.paths')),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('bills.bill')), h('th', { scope: 'col' }, t('path.path')),
      h('th', { scope: 'col' }, t('path.outcome')), h('th', { scope: 'col' }, t('path.weight')))),
    h('tbody', {}, paths.length ? paths.map(([m, p]) => h('tr', { 'data-motion': m.id },
      h('td', {}, h('a', { href: `#/bill/${encodeURIComponent(m.id)}` }, m.title)),
      h('td', {}, p ? pathView(app, p.path) : '—'),
      h('td', {}, p ? outcomeText(p) : '—'),
      h('td', { class: 'num' }, p ? num(p.weight) : '—'))) : h('tr', {}, h('td', { colspan: 4 }, t('bills.none_open')))));
  const by = me.delegated_by || [];
  const carry = h('div', { class: 'card' }, h('h2', {}, t('deleg.by_title')),
    by.length ? h('ul', { id: 'delegated-by' }, by.map((d) => h('li', {}, memberLink(app, d.member), ' — ',
      d.scopes.map((sc) => scopeLabel(sc, topics, motions)).join(', ')))) : h('p', {}, t('deleg.by_none')));
  const extra = await Promise.all((app.sections?.delegations || []).map((section) => section(app)));
  return page(t('deleg.title'), h('p', { class: 'notice' }, t('public.notice')), current, form, carriedBy, carry, extra);
}

// Beyond this many members the graph shows the largest delegates' trees and
// the concentration figures instead of one circle per member.
const GRAPH_CIRCLES_UP_TO = 300;

export async function graph(app, [scopeParam]) {
  const scope = scopeParam || '*';
  // The three reads at once: the summary costs its page whatever the size (SPEC 9, People).
  const summaryRead = api.graphSummary(scope).then((v) => ({ v }), (e) => ({ e }));
  const [{ topics }, { motions }] = await Promise.all([api.topics(), api.motions()]);
  const scopes = [['*', t('scope.all')], ...topicOrder(topics).map(([tp, d]) => [`topic:${tp.id}`, `${'— '.repeat(d)}${t('scope.topic', { title: tp.title })}`]),
    ...motions.map((m) => [`motion:${m.id}`, t('scope.motion', { title: m.title })])];
  const select = field('graph.scope', { tag: 'select', name: 'scope' });
  const sel = select.querySelector('select');
  for (const [v, label] of scopes) sel.append(h('option', { value: v, selected: v === scope }, label));
  sel.addEventListener('change', () => app.go(`#/graph/${encodeURIComponent(sel.value)}`));
  const read = await summaryRead;
  if (read.e) return page(t('graph.title'), select, h('p', { class: 'msg error', role: 'alert' }, app.errorText(read.e)));
  const summary = read.v;
  const figures = powerFigures(summary);
  // A closed bill's graph is the one of its close (SPEC 9): said so, with the entry.
  const closed = summary.as_of !== null && summary.as_of !== undefined;
  const title = closed ? t('graph.title_closed') : t('graph.title');
  const asOf = closed ? h('p', { class: 'meta', id: 'graph-as-of', 'data-as-of': summary.as_of }, t('graph.as_of_close', { index: String(summary.as_of) })) : null;
  if (summary.members > GRAPH_CIRCLES_UP_TO) {
    return page(title, h('p', {}, t('graph.text_large', { n: summary.members })), asOf, select, figures, largestTrees(app, summary));
  }
  let g;
  try { g = await api.graph(scope); } catch (e) { return page(title, select, h('p', { class: 'msg error', role: 'alert' }, app.errorText(e))); }
  const names = { ...app.names, ...(g.names || {}) };
  Object.assign(app.names, g.names || {});
  const c = g.counts || {};
  return page(title, h('p', {}, t('graph.text')), asOf, select, delegationGraph(withWeights(g), names),
    h('p', { class: 'legend' }, h('span', { class: 'swatch swatch-cycle' }), t('graph.legend_cycle')),
    (g.cycles || []).length ? h('div', {}, h('h2', {}, t('graph.cycles')), h('ul', { id: 'cycles' },
      g.cycles.map((cy) => h('li', {}, cy.map((k) => names[k] || k.slice(0, 8)).join(' → '), ' → …')))) : null,
    h('p', {}, t('graph.counts', { members: t('n.members', { n: c.members ?? 0 }), edges: t('n.delegations', { n: g.edges.length }),
      cycles: t('n.cycles', { n: (g.cycles || []).length }) })),
    figures, largestTrees(app, summary));
}

/** The concentration figures of GET /api/graph/summary, in words. */
function powerFigures(s) {
  const f = s.figures;
  const gini = new Intl.NumberFormat(document.documentElement.lang, { minimumFractionDigits: 2, maximumFractionDigits: 2 })
    .format(Math.floor(f.gini.per_mille / 10) / 100);
  const row = (id, label, value) => [h('dt', {}, label), h('dd', { id, 'data-value': value.raw }, value.text)];
  return h('div', { class: 'card', id: 'graph-figures' }, h('h2', {}, t('graph.figures')),
    h('dl', { class: 'facts' },
      row('fig-members', t('graph.fig_members'), { raw: s.members, text: num(s.members) }),
      row('fig-delegated', t('graph.fig_delegated'), { raw: f.delegated, text: t('n.votes', { n: f.delegated }) }),
      row('fig-largest', t('graph.fig_largest'), { raw: f.largest, text: t('n.votes', { n: f.largest }) }),
      row('fig-half', t('graph.fig_half'), { raw: f.half, text: f.delegated ? t('graph.fig_half_value', { n: f.half }) : t('graph.fig_half_none') }),
      row('fig-gini', t('graph.fig_gini'), { raw: `${f.gini.numerator}/${f.gini.denominator}`, text: gini })),
    h('p', { class: 'muted' }, t('graph.fig_explain')));
}

/** The heaviest members and, under each, whose votes reach them. */
function largestTrees(app, s) {
  const node = (n) => h('li', { 'data-key': n.member, 'data-weight': n.weight },
    memberLink(app, n.member, n.name), ' ', h('span', { class: 'weight' }, t('n.votes', { n: n.weight })),
    n.from.length || n.more ? h('ul', {}, n.from.map(node), n.more ? h('li', { class: 'muted' }, t('graph.more', { n: n.more })) : null) : null);
  return h('div', { class: 'card', id: 'largest-trees' }, h('h2', {}, t('graph.largest')),
    s.largest.length ? h('ol', { class: 'trees' }, s.largest.map(node)) : h('p', {}, t('graph.empty')));
}

/** Node weight for drawing: 1 + every member whose delegations reach it. */
function withWeights(g) {
  const next = new Map(g.edges);
  const weights = {};
  const nodes = new Set(g.edges.flat());
  for (const k of nodes) weights[k] = 1;
  for (const start of nodes) {
    const seen = new Set([start]);
    for (let k = next.get(start); k !== undefined && !seen.has(k); k = next.get(k)) { weights[k]++; seen.add(k); }
  }
  return { ...g, weights };
}

/** The receipt of one of my entries: from this browser's cache, or fetched
 * again from the log (entry, latest signed checkpoint, inclusion proof). */
async function receiptOf(app, e) {
  const cached = (await listReceipts(app.me.pub)).find((r) => r.index === e.index);
  if (cached) return cached;
  const checkpoint = await api.checkpoint();
  const size = Number(checkpoint.split('\n')[1]);
  const { proof } = await api.inclusion(e.index, size);
  const r = { index: e.index, entry_hash: e.entry_hash, entry: e.entry, checkpoint, proof, saved: new Date().toISOString() };
  await putReceipt(r);
  return r;
}

export async function receipts(app, [focusParam]) {
  const need = app.me ? null : needKey(app);
  if (need) return page(t('receipts.title'), need);
  const [mine, { motions }, { topics }] = await Promise.all([app.myEntries(), api.motions(), api.topics()]);
  const list = [...mine].sort((a, b) => b.index - a.index);
  await app.learnNames(list.map((e) => e.entry.statement.to).filter((k) => k && k !== 'self'));
  const out = msg();
  const all = h('button', { type: 'button', onclick: () => app.act(all, out, async () => {
    const rs = [];
    for (const e of list) rs.push(await receiptOf(app, e));
    download('liquid-mandate-receipts.json', JSON.stringify(rs, null, 2));
  }) }, t('receipts.download_all'));
  const rows = list.map((e) => {
    const st = e.entry.statement;
    const result = h('span', { class: 'check' });
    const check = h('button', { type: 'button', class: 'small', 'data-check': e.index, onclick: () => app.act(check, result, async () => {
      const r = await receiptOf(app, e);
      const cp = await verifyReceipt(r, app.server.server_key, app.server.assembly || st.assembly);
      result.textContent = t('receipts.ok', { index: String(e.index), size: cp.size });
      result.className = 'check ok';
      app.say(result.textContent);
    }) }, t('receipts.check'));
    const dl = h('button', { type: 'button', class: 'small secondary', onclick: () => app.act(dl, result, async () => {
      download(`receipt-${e.index}.json`, JSON.stringify(await receiptOf(app, e), null, 2));
    }) }, t('receipts.download'));
    return h('tr', { 'data-index': e.index, id: `receipt-${e.index}`, tabindex: -1, class: String(e.index) === focusParam ? 'focus' : null },
      h('td', { class: 'num' }, String(e.index)),
      h('td', {}, t(`kind.${st.kind}`)),
      h('td', {}, describe(app, st, motions, topics)),
      h('td', {}, fmtTime(e.entry.received)),
      h('td', { class: 'actions' }, check, dl, result));
  });
  const node = page(t('receipts.title'), h('p', {}, t('receipts.text')), out,
    list.length ? h('div', {}, h('p', {}, all), h('div', { class: 'scroll' }, h('table', { id: 'receipts' },
      h('thead', {}, h('tr', {}, ['receipts.index', 'receipts.kind', 'receipts.what', 'receipts.when', 'receipts.actions']
        .map((k) => h('th', { scope: 'col' }, t(k))))),
      h('tbody', {}, rows)))) : h('p', {}, t('receipts.none')));
  if (focusParam) app.after(0, () => node.querySelector(`#receipt-${CSS.escape(focusParam)}`)?.focus());
  return node;
}

function describe(app, st, motions, topics) {
  const bill = (id) => motions.find((m) => m.id === id)?.title || id;
  switch (st.kind) {
    case 'ballot': return t('receipts.ballot', { bill: bill(st.motion), choice: choiceLabel(st.choice) });
    case 'delegate': return `${scopeLabel(st.scope, topics, motions)} → ${st.to === null ? t('deleg.removed_short') : st.to === 'self' ? t('deleg.self') : (app.name(st.to) || shortKey(st.to))}`;
    case 'enroll': return st.name || '';
    case 'topic': case 'motion': return st.title;
    case 'invite': return st.note || '';
    case 'assembly': return st.name;
    case 'deputies': return t('roster.count', { n: st.roster.length });
    default: return '';
  }
}
