// Draws by lot among volunteers (docs/SPEC.md section 4, draws): the list,
// and a draw's public page: the pool with certified marks, a countdown, then
// the chosen with the seed, the entry and how anyone can redo the draw.
// Members volunteer and withdraw; organizers certify before it opens, and
// make the chosen the roster once drawn.

import { api, submit } from '../api.js';
import { h } from '../dom.js';
import { fmtTime, num, t } from '../i18n.js';
import { confirmDialog, countdown, field, memberLink, memberPicker, msg, page, who } from './common.js';

// Views do not re-render themselves: a hashchange makes the shell render the route again.
const rerender = () => window.dispatchEvent(new HashChangeEvent('hashchange'));

/** The organizer's form: a draw is announced with its seats and window; it
 * cannot be undone, which the form says before signing. */
function drawForm(app) {
  const out = msg();
  const button = h('button', { type: 'submit' }, t('draws.announce'));
  const form = h('form', { id: 'draw-form', onsubmit: (e) => {
    e.preventDefault();
    const f = new FormData(form);
    const iso = (v) => new Date(String(v)).toISOString().replace(/\.\d+Z$/, 'Z');
    app.act(button, out, async () => {
      const title = String(f.get('title')).trim();
      const when = (v) => new Date(String(v)).toLocaleString(document.documentElement.lang);
      const ok = await confirmDialog({ title: t('draws.announce_confirm_title'), confirm: t('draws.announce_confirm_button'),
        text: t('draws.announce_confirm_text', { title, seats: Number(f.get('seats')), opens: when(f.get('opens')), closes: when(f.get('closes')) }) });
      if (!ok) return;
      await submit(app.me, app.server.assembly, 'draw', { id: String(f.get('id_')).trim(), title: String(f.get('title')).trim(),
        seats: Number(f.get('seats')), opens: iso(f.get('opens')), closes: iso(f.get('closes')), certified: f.get('certified') === 'on' });
      location.hash = `#/draw/${encodeURIComponent(String(f.get('id_')).trim())}`;
    });
  } },
  field('draws.f_id', { name: 'id_', required: true, pattern: '[a-z0-9][a-z0-9\\-]{0,63}' }),
  field('draws.f_title', { name: 'title', required: true }),
  field('draws.f_seats', { name: 'seats', type: 'number', min: 1, value: 5, required: true }),
  field('draws.f_opens', { name: 'opens', type: 'datetime-local', step: 1, required: true }),
  field('draws.f_closes', { name: 'closes', type: 'datetime-local', step: 1, required: true }),
  h('div', { class: 'field' }, h('label', {}, h('input', { type: 'checkbox', name: 'certified' }), ' ', t('draws.f_certified'))),
  h('p', { class: 'muted' }, t('draws.permanent')), button, out);
  return h('div', { class: 'card' }, h('h2', {}, t('draws.announce_title')), form);
}

export async function list(app) {
  const { draws } = await api.draws();
  return page(t('draws.title'), h('p', { class: 'muted' }, t('draws.explain')),
    app.isOrganizer() ? drawForm(app) : null,
    draws.length ? h('ul', { class: 'bill-list', id: 'draw-list' }, draws.map((d) => h('li', { 'data-draw': d.id },
      h('a', { href: `#/draw/${encodeURIComponent(d.id)}` }, d.title), ' ',
      h('span', { class: 'badge' }, t(`draws.state_${d.state}`)), ' ',
      t('draws.seats_pool', { seats: d.seats, pool: d.pool }))))
      : h('p', {}, t('draws.none')));
}

function action(app, label, id, fn) {
  const out = msg();
  const button = h('button', { type: 'button', id }, label);
  button.addEventListener('click', () => app.act(button, out, async () => { await fn(); rerender(); }));
  return [button, out];
}

export async function draw(app, [id]) {
  const { draw: d, people, drawn } = await api.draw(id);
  // Only the names this page shows (GET /api/members?keys=), not the whole member list.
  await app.learnNames([...people.map((p) => p.key), ...(drawn ? drawn.chosen : [])]);
  const me = app.me?.pub;
  const mine = people.find((p) => p.key === me);
  const parts = [
    h('p', {}, t('draws.facts', { seats: d.seats }), ' ',
      t(d.certified ? 'draws.certified_only' : 'draws.anyone'), ' · ',
      d.state === 'upcoming' || d.state === 'open' ? countdown(app, { ...d, state: d.state }) : t('draws.closed_at', { when: fmtTime(d.closes) })),
  ];
  if (d.state === 'open' && app.isMember()) {
    const standing = !!mine?.standing;
    parts.push(h('div', { class: 'card', id: 'volunteer-box' },
      h('p', {}, t(standing ? 'draws.you_stand' : 'draws.you_dont')),
      h('p', { class: 'muted' }, t('draws.public')),
      ...action(app, t(standing ? 'draws.withdraw' : 'draws.volunteer'), 'volunteer', () =>
        submit(app.me, app.server.assembly, 'volunteer', { draw: d.id, standing: !standing }))));
  }
  const rows = people.map((p) => {
    const cells = [
      h('th', { scope: 'row' }, who(app, p.key)),
      h('td', {}, t(p.standing ? 'draws.standing' : 'draws.not_standing')),
      h('td', {}, p.certified ? t('draws.certified') : '—'),
      h('td', {}, t(p.in_pool ? 'draws.in_pool' : 'draws.out_pool')),
    ];
    return h('tr', { 'data-key': p.key, 'data-in-pool': String(p.in_pool) }, cells);
  });
  parts.push(h('h2', {}, t('draws.pool', { n: num(d.pool) })),
    people.length ? h('div', { class: 'scroll' }, h('table', { id: 'draw-people' },
      h('caption', {}, t('draws.people_caption')),
      h('thead', {}, h('tr', {}, ['draws.member', 'draws.volunteer_col', 'draws.certified_col', 'draws.pool_col'].map((k) => h('th', { scope: 'col' }, t(k))))),
      h('tbody', {}, rows))) : h('p', { class: 'muted' }, t('draws.nobody')));
  if (app.isOrganizer() && d.state === 'upcoming' && d.certified) {
    // Searched, not listed: an assembly may have 10^5 members (GET /api/delegates).
    const certified = new Set(people.filter((p) => p.certified).map((p) => p.key));
    const out = msg();
    const picker = memberPicker(app, {
      name: 'certify',
      multiple: true,
      legend: t('draws.certify_label'),
      search: async (q) => (await api.delegates(q, { limit: 20 })).delegates.filter((m) => !certified.has(m.key)),
    });
    await picker.ready;
    const button = h('button', { type: 'button', id: 'certify' }, t('draws.certify'));
    button.addEventListener('click', () => app.act(button, out, async () => {
      const keys = [...picker.chosen];
      if (!keys.length) throw new Error(t('draws.certify_none'));
      const ok = await confirmDialog({ title: t('draws.certify_confirm_title'), confirm: t('draws.certify'),
        text: t('draws.certify_confirm_text', { n: keys.length, names: keys.map((k) => app.name(k) || k.slice(0, 8)).join(', ') }) });
      if (!ok) return;
      for (const member of keys) await submit(app.me, app.server.assembly, 'certify', { draw: d.id, member });
      rerender();
    }));
    parts.push(h('div', { class: 'card', id: 'certify-box' }, h('h2', {}, t('draws.certify_title')),
      h('p', { class: 'muted' }, t('draws.certify_explain')), picker, button, out));
  }
  if (drawn) {
    parts.push(h('div', { class: 'card', id: 'drawn' },
      h('h2', {}, t('draws.chosen_title')),
      h('ol', { id: 'chosen' }, drawn.chosen.map((k) => h('li', { 'data-key': k }, memberLink(app, k)))),
      h('p', {}, t('draws.seed'), ' ', h('code', { class: 'key', id: 'draw-seed' }, drawn.seed)),
      h('p', {}, h('a', { href: `#/entry/${d.drawn_index}` }, t('deputy.entry', { index: String(d.drawn_index) }))),
      h('p', { class: 'muted' }, t('draws.redo'))));
    if (app.isOrganizer() && drawn.chosen.length) {
      parts.push(h('div', { class: 'card' }, ...action(app, t('draws.make_roster'), 'make-roster', async () => {
        const ok = await confirmDialog({ title: t('roster.confirm_title'), confirm: t('roster.confirm_button'),
          text: t('roster.confirm_text', { n: drawn.chosen.length, names: drawn.chosen.map((k) => app.name(k) || k.slice(0, 8)).join(', ') }) });
        if (!ok) return;
        await submit(app.me, app.server.assembly, 'deputies', { roster: drawn.chosen });
      })));
    }
  }
  // A page left open renders the next state by itself (opens, closes, then drawn within seconds).
  const next = d.state === 'upcoming' ? d.opens : d.state === 'open' ? d.closes : null;
  if (next) app.after(Math.max(1000, new Date(next).getTime() - Date.now() + 1500), rerender);
  else if (d.state === 'closed') app.after(2000, rerender);
  return page(d.title, ...parts);
}
