// Bills: the list by topic with time left, and one bill: vote, my vote's
// path, live tally, result and hemicycle once closed.

import { api, submit } from '../api.js';
import { hemicycle, tallyBars } from '../charts.js';
import { fill, h, shortKey } from '../dom.js';
import { fmtTime, getLang, t } from '../i18n.js';
import { choiceLabel, countdown, msg, needKey, openBillsList, outcomeText, page, pathView, topicTitle } from './common.js';

export async function list(app) {
  return page(t('bills.title'),
    h('h2', {}, t('bills.open')), await openBillsList(app, 'open'),
    h('h2', {}, t('bills.upcoming')), await openBillsList(app, 'upcoming'),
    h('h2', {}, t('bills.closed')), await openBillsList(app, 'closed'));
}

const CHOICES = ['yes', 'no', 'abstain'];

/** My own vote on the motion, from the log: the path's end is me, voting. */
const directVote = (p) => (p && p.reason === 'voted' && p.path.length === 1 ? p.outcome : null);

/** "You have not voted; your vote counts yes through A → B", or why it does not count. */
function notVoted(app, p) {
  if (p && p.reason === 'delegated' && CHOICES.includes(p.outcome)) {
    return t('vote.through', { choice: choiceLabel(p.outcome).toLocaleLowerCase(getLang()), path: p.path.slice(1).map((k) => app.name(k) || shortKey(k)).join(' → ') });
  }
  return t('vote.none');
}

export async function bill(app, [id]) {
  const [d, { topics }] = await Promise.all([api.motion(id), api.topics()]);
  const m = d.motion;
  const out = msg();
  const parts = [
    h('p', { class: 'meta' }, t('bill.topic', { topic: topicTitle(topics, m.topic) }), ' · ',
      h('span', { class: `badge state-${d.state}`, id: 'bill-state' }, t(`state.${d.state}`)),
      ' · ', d.state === 'closed' ? t('bill.closed_at', { when: fmtTime(m.closes) }) : countdown(app, { ...m, state: d.state })),
    h('p', { class: 'summary' }, m.summary),
    m.url && !m.url.startsWith('proposal:') ? h('p', {}, h('a', { href: m.url, rel: 'noopener noreferrer' }, t('bill.read_text'))) : null,
    h('p', { class: 'meta' }, t('bill.window', { opens: fmtTime(m.opens), closes: fmtTime(m.closes) })),
  ];
  // Where my vote goes, read from the log through the API (never from what
  // this browser remembers): the same in a fresh browser as in this one.
  let path = app.isMember() ? await api.votePath(app.me.pub, m.id) : null;
  if (path) await app.learnNames([...path.path, ...path.carried]);
  const pathBox = h('div', { class: 'card', id: 'my-path' });
  const showPath = () => {
    const p = path;
    // A closed bill: the path as it stood at the close (the server keeps it),
    // whatever delegations and members changed since; ballots froze then.
    const closed = d.state === 'closed';
    const title = d.state === 'upcoming' ? 'path.title_upcoming' : closed ? 'path.title_closed' : 'path.title';
    const carry = closed ? 'path.carried_at_close' : 'path.carry';
    fill(pathBox, h('h2', {}, t(title)),
      closed ? h('p', { class: 'meta', id: 'path-as-of', 'data-as-of': p.as_of ?? '' }, t('path.as_of_close', { index: String(p.as_of ?? m.close_index) })) : null,
      pathView(app, p.path),
      h('p', { class: 'outcome', 'data-outcome': p.outcome }, d.state === 'upcoming' ? t('path.upcoming') : outcomeText(p)),
      p.weight > 0 ? h('p', { class: 'weight', 'data-weight': p.weight }, p.weight === 1 ? t(`${carry}_alone`) : t(carry, { n: p.weight - 1 }))
        : (CHOICES.includes(p.outcome) ? h('p', { class: 'weight', 'data-weight': 0 }, t(closed ? 'path.carry_none_closed' : 'path.carry_none')) : null),
      p.carried?.length ? h('p', {}, t(closed ? 'path.carried_from_closed' : 'path.carried'), ' ', p.carried.map((k) => app.name(k) || shortKey(k)).join(', ')) : null);
  };
  const refreshPath = async () => {
    if (!app.isMember()) return;
    path = await api.votePath(app.me.pub, m.id);
    await app.learnNames([...path.path, ...path.carried]);
    showPath();
    showMine();
  };
  // Voting.
  let showMine = () => {};
  if (d.state === 'open') {
    const need = needKey(app);
    if (need) parts.push(need);
    else {
      const firstEver = !(await app.myEntries()).some((e) => e.kind === 'ballot');
      const status = h('p', { class: 'current', id: 'my-vote' });
      const done = h('p', { class: 'msg ok', id: 'vote-done', tabindex: -1 });
      const vote = (choice) => (e) => {
        const button = e.currentTarget;
        done.replaceChildren();
        app.act(button, out, async () => {
          const r = await submit(app.me, app.server.assembly, 'ballot', { motion: m.id, choice });
          fill(done, choice === null ? t('vote.withdrawn') : t('vote.done', { choice: choiceLabel(choice) }), ' — ',
            h('a', { href: `#/receipts/${r.index}` }, t('vote.receipt', { index: String(r.index) })));
          app.say(choice === null ? t('vote.withdrawn') : t('vote.counted', { choice: choiceLabel(choice), index: String(r.index) }));
          await refreshPath();
          // The withdraw button hides once there is no vote: focus the choices
          // then, at once (not after another request, leaving the focus on nothing).
          if (choice === null) buttons[0].focus();
          const fresh = await api.motion(m.id);
          if (fresh.tally) showTally(fresh.tally, false);
        }, { retry: true });
      };
      const buttons = CHOICES.map((c) => h('button', { type: 'button', class: `vote vote-${c}`, 'data-choice': c,
        'aria-pressed': 'false', onclick: vote(c) }, t(`choice.${c}`)));
      const withdraw = h('button', { type: 'button', class: 'secondary', 'data-choice': 'null', onclick: vote(null) }, t('vote.withdraw'));
      showMine = () => {
        const current = directVote(path);
        status.textContent = current ? t('vote.current', { choice: choiceLabel(current) }) : notVoted(app, path);
        buttons.forEach((b) => b.setAttribute('aria-pressed', String(b.dataset.choice === current)));
        withdraw.hidden = !current;
      };
      showMine();
      parts.push(h('div', { class: 'card', id: 'vote-box' },
        h('h2', {}, t('vote.title')),
        h('p', { class: 'notice', id: 'public-notice' }, t(firstEver ? 'public.notice_first' : 'public.notice')),
        status,
        h('div', { class: 'vote-buttons', role: 'group', 'aria-label': t('vote.title') }, buttons, withdraw), done, out));
    }
  }
  if (path) { showPath(); parts.push(pathBox); }
  // Tally, live or final.
  const tallyBox = h('div', { class: 'card', id: 'tally' });
  const showTally = (tally, final) => {
    fill(tallyBox, h('h2', {}, t(final ? 'tally.final' : 'tally.live')),
      tallyBars(tally),
      tally.quorum ? h('p', {}, t(tally.quorum.met ? 'tally.quorum_met' : 'tally.quorum_not_met', { required: tally.quorum.required })) : null,
      tally.seats ? h('p', {}, t('tally.seats', { yes: tally.seats.yes, no: tally.seats.no, abstain: tally.seats.abstain })) : null);
  };
  if (d.state === 'closed' && d.result) {
    showTally(d.result, true);
    await app.learnNames(d.result.instructions.map((i) => i.deputy));
    parts.push(tallyBox, h('div', { class: 'card', id: 'hemicycle' }, h('h2', {}, t('hemi.title')),
      hemicycle(d.result.instructions, app.me?.pub, app.names),
      m.result_index != null ? h('p', {}, h('a', { href: `#/entry/${m.result_index}` }, t('bill.result_entry', { index: String(m.result_index) }))) : null,
      d.result.instructions.length ? h('p', {}, h('a', { href: `#/compliance/motion/${encodeURIComponent(m.id)}`, id: 'how-deputies-voted' }, t('compliance.how_voted'))) : null));
  } else if (d.state === 'closed') {
    parts.push(h('p', {}, t('bill.counting')));
  } else if (d.tally) {
    showTally(d.tally, false);
    parts.push(tallyBox);
  }
  // Live: the chart moves silently; screen readers hear one short sentence,
  // at most every 30 s, not the whole tally on each vote.
  app.onLive('tally', async (ev) => {
    if (ev.motion !== m.id || d.state !== 'open') return;
    showTally(ev.tally, false);
    app.sayNow('tally', t('tally.updated'), 30000);
    await refreshPath().catch(() => {});
  });
  app.onLive('entry', (ev) => {
    if (ev.motion === m.id && (ev.kind === 'result' || ev.kind === 'close')) app.go(`#/bill/${encodeURIComponent(m.id)}`);
    else if (ev.kind === 'delegate' && app.isMember()) refreshPath().catch(() => {});
  });
  // Back from a pause of the live updates: what was missed is read again.
  app.onLive('reconnect', async () => {
    if (d.state !== 'open') return;
    const fresh = await api.motion(m.id).catch(() => null);
    if (fresh?.state !== d.state) app.go(`#/bill/${encodeURIComponent(m.id)}`);
    else if (fresh.tally) { showTally(fresh.tally, false); await refreshPath().catch(() => {}); }
  });
  if (d.state !== 'closed') {
    // The server closes a motion within a second after `closes`: reload then.
    const due = new Date(d.state === 'upcoming' ? m.opens : m.closes).getTime() - Date.now();
    // (A timer cannot wait beyond 2^31 - 1 ms: a page open for weeks re-arms it.)
    app.after(Math.min(Math.max(0, due) + 1500, 2 ** 31 - 1), () => app.go(`#/bill/${encodeURIComponent(m.id)}`));
  }
  for (const section of app.sections?.bill || []) parts.push(await section(app, m, d.state));
  return page(m.title, ...parts);
}
