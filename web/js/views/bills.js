// Bills: the list by topic with time left, and one bill: vote, my vote's
// path, live tally, result and hemicycle once closed.

import { api, submit } from '../api.js';
import { hemicycle, tallyBars } from '../charts.js';
import { fill, h } from '../dom.js';
import { fmtTime, t } from '../i18n.js';
import { listReceipts } from '../store.js';
import { choiceLabel, countdown, msg, needKey, openBillsList, outcomeText, page, pathView } from './common.js';

export async function list(app) {
  return page(t('bills.title'),
    h('h2', {}, t('bills.open')), await openBillsList(app, 'open'),
    h('h2', {}, t('bills.upcoming')), await openBillsList(app, 'upcoming'),
    h('h2', {}, t('bills.closed')), await openBillsList(app, 'closed'));
}

async function myLastBallot(motion) {
  const rs = (await listReceipts()).filter((r) => r.entry.statement.kind === 'ballot' && r.entry.statement.motion === motion);
  return rs.length ? rs[0] : null;
}

export async function bill(app, [id]) {
  const d = await api.motion(id);
  const m = d.motion;
  await app.loadNames();
  const out = msg();
  const parts = [
    h('p', { class: 'meta' }, t('bill.topic', { topic: m.topic }), ' · ', h('span', { class: `badge state-${d.state}`, id: 'bill-state' }, t(`state.${d.state}`)),
      ' · ', d.state === 'closed' ? t('bill.closed_at', { when: fmtTime(m.closes) }) : countdown(app, { ...m, state: d.state })),
    h('p', { class: 'summary' }, m.summary),
    m.url ? h('p', {}, h('a', { href: m.url, rel: 'noopener noreferrer' }, t('bill.read_text'))) : null,
    h('p', { class: 'meta' }, t('bill.window', { opens: fmtTime(m.opens), closes: fmtTime(m.closes) })),
  ];
  // Voting.
  if (d.state === 'open') {
    const need = needKey(app);
    if (need) parts.push(need);
    else {
      const last = await myLastBallot(m.id);
      const current = last ? last.entry.statement.choice : null;
      const firstEver = !(await listReceipts()).some((r) => r.entry.statement.kind === 'ballot');
      const vote = (choice) => (e) => app.act(e.target, out, async () => {
        const r = await submit(app.me, app.server.assembly, 'ballot', { motion: m.id, choice });
        app.say(choice === null ? t('vote.withdrawn') : t('vote.counted', { choice: choiceLabel(choice), index: String(r.index) }));
        await refreshMine();
        const fresh = await api.motion(m.id);
        if (fresh.tally) showTally(fresh.tally, false);
        mine.querySelector('.current').textContent = t('vote.current', { choice: choiceLabel(choice) });
        buttons.forEach((b) => b.setAttribute('aria-pressed', String(b.dataset.choice === String(choice))));
      });
      const buttons = ['yes', 'no', 'abstain'].map((c) => h('button', { type: 'button', class: `vote vote-${c}`, 'data-choice': c,
        'aria-pressed': String(current === c), onclick: vote(c) }, t(`choice.${c}`)));
      const withdraw = h('button', { type: 'button', class: 'secondary', 'data-choice': 'null', onclick: vote(null) }, t('vote.withdraw'));
      const mine = h('div', { class: 'card', id: 'vote-box' },
        h('h2', {}, t('vote.title')),
        h('p', { class: 'notice', id: 'public-notice' }, t(firstEver ? 'public.notice_first' : 'public.notice')),
        h('p', { class: 'current' }, t('vote.current', { choice: choiceLabel(current) })),
        h('div', { class: 'vote-buttons', role: 'group', 'aria-label': t('vote.title') }, buttons, withdraw), out);
      parts.push(mine);
    }
  }
  // Where my vote goes.
  const pathBox = h('div', { class: 'card', id: 'my-path', 'aria-live': 'polite' });
  const refreshMine = async () => {
    if (!app.isMember()) return;
    const p = await api.votePath(app.me.pub, m.id);
    fill(pathBox, h('h2', {}, t('path.title')), pathView(app, p.path),
      h('p', { class: 'outcome', 'data-outcome': p.outcome }, outcomeText(p)),
      p.weight > 0 ? h('p', { class: 'weight', 'data-weight': p.weight }, p.weight === 1 ? t('path.carry_alone') : t('path.carry', { n: p.weight - 1 }))
        : (['yes', 'no', 'abstain'].includes(p.outcome) ? h('p', { class: 'weight', 'data-weight': 0 }, t('path.carry_none')) : null),
      p.carried?.length ? h('p', {}, t('path.carried'), ' ', p.carried.map((k) => app.name(k) || k.slice(0, 8)).join(', ')) : null);
  };
  if (app.isMember()) { await refreshMine(); parts.push(pathBox); }
  // Tally, live or final.
  const tallyBox = h('div', { class: 'card', id: 'tally', 'aria-live': 'polite' });
  const showTally = (tally, final) => {
    fill(tallyBox, h('h2', {}, t(final ? 'tally.final' : 'tally.live')),
      tallyBars(tally),
      tally.quorum ? h('p', {}, t(tally.quorum.met ? 'tally.quorum_met' : 'tally.quorum_not_met', { required: tally.quorum.required })) : null,
      tally.seats ? h('p', {}, t('tally.seats', { yes: tally.seats.yes, no: tally.seats.no, abstain: tally.seats.abstain })) : null);
  };
  if (d.state === 'closed' && d.result) {
    showTally(d.result, true);
    parts.push(tallyBox, h('div', { class: 'card', id: 'hemicycle' }, h('h2', {}, t('hemi.title')),
      hemicycle(d.result.instructions, app.me?.pub),
      m.result_index != null ? h('p', {}, h('a', { href: `#/entry/${m.result_index}` }, t('bill.result_entry', { index: String(m.result_index) }))) : null));
  } else if (d.state === 'closed') {
    parts.push(h('p', {}, t('bill.counting')));
  } else if (d.tally) {
    showTally(d.tally, false);
    parts.push(tallyBox);
  }
  app.onLive('tally', async (ev) => {
    if (ev.motion !== m.id) return;
    showTally(ev.tally, false);
    await refreshMine().catch(() => {});
  });
  app.onLive('entry', (ev) => {
    if (ev.motion === m.id && ev.kind === 'result') app.go(`#/bill/${encodeURIComponent(m.id)}`);
    else if (ev.kind === 'delegate' && app.isMember()) refreshMine().catch(() => {});
  });
  if (d.state !== 'closed') {
    // The server closes a motion within a second after `closes`: reload then.
    const due = new Date(d.state === 'upcoming' ? m.opens : m.closes).getTime() - Date.now();
    if (due < 86400000) {
      app.after(Math.max(0, due) + 1500, () => app.go(`#/bill/${encodeURIComponent(m.id)}`));
    }
  }
  return page(m.title, ...parts);
}
