// Arguments on a bill or a proposal (docs/SPEC.md section 14): for, against
// and neutral, threaded replies, counts per stance, the strongest first (most
// replied-to, then most recent: a fact anyone can recount, never a score of
// votes), each text checked in this browser against the hash its author
// signed; redaction with a public reason; "your delegate A wrote …" marks.
// The bill page shows `billSection`; the proposal page `discussion`.

import { api, submit } from '../api.js';
import { concat, fromHex, randomBytes, sha256, toHex, utf8 } from '../bytes.js';
import { fill, h, shortKey } from '../dom.js';
import { fmtTime, num, t } from '../i18n.js';
import { msg } from './common.js';

export const STANCES = ['for', 'against', 'neutral'];
const MAX_TEXT = 4000;
const PER_STANCE = 5;

/** Whether the text and salt hash to the text_hash the author signed. */
export async function textMatches(c) {
  if (c.text == null || c.salt == null) return false;
  const digest = await sha256(concat(fromHex(c.salt), utf8(c.text)));
  return toHex(digest) === c.text_hash;
}

/** Signs a comment and posts it with its text and salt beside the envelope. */
async function postComment(app, fields, text) {
  const salt = randomBytes(16);
  const textHash = toHex(await sha256(concat(salt, utf8(text))));
  return submit(app.me, app.server.assembly, 'comment', { ...fields, text_hash: textHash }, { text, salt: toHex(salt) });
}

const codePoints = (s) => [...s].length;

/** A textarea with its stance choice and a live count of characters. */
function writeForm(app, { id, stance = null, label, onPost }) {
  const out = msg();
  const area = h('textarea', { name: 'text', id: `${id}-text`, rows: 3, style: 'display:block;width:100%', required: true, maxlength: MAX_TEXT * 2, 'aria-describedby': `${id}-count ${id}-notice` });
  const count = h('small', { id: `${id}-count`, class: 'hint', 'aria-live': 'polite' });
  const showCount = () => { count.textContent = t('debate.count', { n: codePoints(area.value), max: MAX_TEXT }); };
  area.addEventListener('input', showCount);
  showCount();
  const stances = stance ? null : h('fieldset', { class: 'stances' }, h('legend', {}, t('debate.stance')),
    STANCES.map((s, i) => h('label', {}, h('input', { type: 'radio', name: 'stance', value: s, checked: i === 2 }), ' ', t(`stance.${s}`))));
  const button = h('button', { type: 'submit' }, t('debate.post'));
  const form = h('form', { id, class: 'debate-form', onsubmit: (e) => {
    e.preventDefault();
    const text = area.value.trim();
    app.act(button, out, async () => {
      if (!text) throw Object.assign(new Error(t('problem.bad_text_length')), {});
      const chosen = stance || form.querySelector('input[name=stance]:checked').value;
      const r = await onPost(text, chosen);
      area.value = '';
      showCount();
      app.say(t('debate.posted', { index: String(r.index) }));
    });
  } },
  h('label', { for: `${id}-text` }, label), area, count, stances,
  h('p', { class: 'notice', id: `${id}-notice` }, t('debate.permanent')), button, out);
  return form;
}

/** One comment: who, stance, when, its text (checked) or why it was erased. */
function commentView(app, c, ctx) {
  const textBox = h('div', { class: 'comment-text', lang: '' });
  const mark = h('span', { class: 'text-check' });
  if (c.redacted) {
    textBox.append(h('em', { class: 'redacted' }, t('debate.redacted', { reason: c.reason || '' })));
  } else if (c.text == null) {
    textBox.append(h('em', {}, t('debate.text_missing')));
  } else {
    textBox.textContent = c.text;
    textMatches(c).then((ok) => {
      c.checked = ok;
      mark.textContent = ok ? t('debate.verified') : t('debate.mismatch');
      mark.className = ok ? 'text-check ok' : 'text-check bad';
      if (!ok) mark.setAttribute('role', 'alert');
    });
  }
  const delegate = ctx.delegate && c.author === ctx.delegate;
  const name = c.name || shortKey(c.author);
  const head = h('p', { class: 'comment-head' },
    h('span', { class: `badge stance-${c.stance}` }, t(`stance.${c.stance}`)), ' ',
    delegate ? h('strong', { class: 'delegate-mark' }, t('debate.your_delegate', { name })) : h('strong', {}, name), ' ',
    h('span', { class: 'meta' }, c.received ? fmtTime(c.received) : '', ' · ', h('a', { href: `#/entry/${c.index}` }, `#${c.index}`)), ' ', mark);
  const actions = h('div', { class: 'comment-actions' });
  const node = h('li', { class: `comment depth-${Math.min(c.depth, 4)}`, style: `margin-inline-start:${1.25 * Math.min(c.depth, 4)}rem`, 'data-comment': c.index, 'data-stance': c.stance, 'data-author': c.author, 'data-redacted': String(c.redacted) },
    head, textBox, actions);
  // Open reply and redact forms are kept in ctx.kept across live refreshes
  // (someone else argued): the member's draft, focus and message survive.
  const replyKey = `reply-${c.index}`, redactKey = `redact-${c.index}`;
  if (ctx.canWrite && app.isMember()) {
    const reply = h('button', { type: 'button', class: 'small secondary reply', 'aria-expanded': 'false' }, t('debate.reply'));
    reply.addEventListener('click', () => {
      const open = ctx.kept.get(replyKey);
      if (open && open.isConnected) { open.remove(); ctx.kept.delete(replyKey); reply.setAttribute('aria-expanded', 'false'); return; }
      reply.setAttribute('aria-expanded', 'true');
      if (open) { actions.append(open); open.querySelector('textarea').focus(); return; }
      const form = writeForm(app, { id: replyKey, label: t('debate.reply_to', { name }), onPost: (text, stance) => postComment(app, { ...ctx.target, stance, reply_to: c.index }, text).then(async (r) => { ctx.kept.delete(replyKey); await ctx.reload(); return r; }) });
      ctx.kept.set(replyKey, form);
      actions.append(form);
      form.querySelector('textarea').focus();
    });
    actions.append(reply);
    if (ctx.kept.has(replyKey)) { reply.setAttribute('aria-expanded', 'true'); actions.append(ctx.kept.get(replyKey)); }
  }
  const mayRedact = app.me && !c.redacted && (c.author === app.me.pub || app.isOrganizer());
  if (mayRedact) {
    const out = msg();
    const redact = h('button', { type: 'button', class: 'small secondary redact' }, t('debate.redact'));
    redact.addEventListener('click', () => {
      if (ctx.kept.has(redactKey)) return;
      const reason = h('input', { name: 'reason', id: `reason-${c.index}`, required: true, maxlength: 500 });
      const go = h('button', { type: 'submit', class: 'small' }, t('debate.redact_confirm'));
      const form = h('form', { class: 'redact-form', onsubmit: (e) => {
        e.preventDefault();
        app.act(go, out, async () => {
          const r = await submit(app.me, app.server.assembly, 'redact', { entry: c.index, reason: reason.value.trim() });
          app.say(t('debate.redacted_done', { index: String(r.index) }));
          ctx.kept.delete(redactKey);
          await ctx.reload();
        });
      } }, h('label', { for: `reason-${c.index}` }, t('debate.reason')), reason,
      h('p', { class: 'hint' }, t('debate.redact_notice')), go, out);
      ctx.kept.set(redactKey, form);
      actions.append(form);
      reason.focus();
    });
    actions.append(redact);
    if (ctx.kept.has(redactKey)) actions.append(ctx.kept.get(redactKey));
  }
  return node;
}

function threadView(app, th, ctx) {
  return h('li', { class: 'thread card', 'data-thread': th.comment.index },
    h('ul', { class: 'comments', style: 'list-style:none;padding:0' }, commentView(app, th.comment, ctx), th.replies.map((r) => commentView(app, r, ctx))),
    th.more_replies ? h('p', { class: 'meta' }, t('debate.more_replies', { n: th.more_replies })) : null);
}

/** Arguments on `target` ({motion} or {proposal}): per stance, strongest first. */
export async function discussion(app, target, { canWrite, delegate = null }) {
  const box = h('div', { class: 'debate', id: 'debate' });
  const fetchPage = (stance, offset) => (target.motion
    ? api.motionComments(target.motion, { stance, offset, limit: PER_STANCE })
    : api.proposalComments(target.proposal, { stance, offset, limit: PER_STANCE }));
  const ctx = { target: { motion: target.motion || null, proposal: target.proposal || null }, canWrite, delegate, reload: null, kept: new Map() };
  // One form for the life of the page: a live refresh (someone else argued)
  // re-renders the threads but keeps the member's draft and the last message.
  let form = null;
  const render = async () => {
    const pages = await Promise.all(STANCES.map((s) => fetchPage(s, 0)));
    // Before the threads are built: building them moves the kept forms (and so blurs them).
    const focused = box.contains(document.activeElement) ? document.activeElement : null;
    const counts = pages[0].counts;
    const columns = STANCES.map((s, i) => {
      const list = h('ol', { class: 'threads', id: `threads-${s}`, style: 'list-style:none;padding:0' }, pages[i].threads.map((th) => threadView(app, th, ctx)));
      let shown = pages[i].threads.length;
      const more = h('button', { type: 'button', class: 'small secondary more', hidden: shown >= pages[i].threads_total }, t('debate.more'));
      more.addEventListener('click', () => app.act(more, null, async () => {
        const next = await fetchPage(s, shown);
        next.threads.forEach((th) => list.append(threadView(app, th, ctx)));
        shown += next.threads.length;
        more.hidden = shown >= next.threads_total;
      }));
      return h('section', { class: `stance-column stance-${s}`, 'aria-labelledby': `col-${s}` },
        h('h3', { id: `col-${s}` }, t(`debate.col_${s}`), ' ', h('span', { class: 'count', 'data-count': counts[s] }, `(${num(counts[s])})`)),
        pages[i].threads.length ? list : h('p', { class: 'muted' }, t('debate.none')), more);
    });
    const total = counts.for + counts.against + counts.neutral;
    fill(box,
      h('p', { class: 'debate-counts', id: 'debate-counts' }, t('debate.counts', { for: counts.for, against: counts.against, neutral: counts.neutral })),
      h('p', { class: 'hint' }, t('debate.order')),
      canWrite && app.isMember()
        ? (form ||= writeForm(app, { id: 'argue-form', label: t('debate.write'), onPost: (text, stance) => postComment(app, { ...ctx.target, stance, reply_to: null }, text).then(async (r) => { await render(); return r; }) }))
        : (canWrite ? null : h('p', { class: 'muted', id: 'debate-closed' }, t('debate.closed'))),
      total ? null : h('p', { class: 'muted' }, t('debate.empty')),
      h('div', { class: 'stance-columns', style: 'display:grid;grid-template-columns:repeat(auto-fit,minmax(15rem,1fr));gap:1rem' }, columns));
    if (focused && focused !== document.activeElement && box.contains(focused)) focused.focus();  // a kept form moved
    return pages[0];
  };
  ctx.reload = render;
  const first = await render();
  return { node: box, first, reload: render };
}

/** The bill page's section: where the bill came from, its amendments, and
 * the arguments, with the marks of my delegate's arguments. */
export async function billSection(app, m, state) {
  const open = state !== 'closed';
  let delegate = null;
  if (app.isMember()) {
    try {
      const p = await api.votePath(app.me.pub, m.id);
      if (p.path.length > 1) delegate = p.path[1];
    } catch (e) { /* no path: no mark */ }
  }
  const d = await discussion(app, { motion: m.id }, { canWrite: open, delegate });
  const info = d.first;
  const origin = info.proposal;
  const parts = [h('h2', {}, t('debate.title'))];
  if (origin) {
    parts.push(h('p', { class: 'origin', id: 'bill-origin' }, t('debate.from_proposal', { name: origin.name || shortKey(origin.author), n: origin.supporters }), ' ',
      h('a', { href: `#/proposal/${encodeURIComponent(origin.id)}` }, origin.title)),
    h('details', { id: 'bill-supporters' }, h('summary', {}, t('debate.supporters')),
      h('ul', {}, origin.supporters_list.map((s) => h('li', {}, s.name || shortKey(s.key))))));
  }
  const amendments = h('div', { class: 'amendments', id: 'amendments' }, h('h3', {}, t('debate.amendments')),
    info.amendments.length ? h('ul', {}, info.amendments.map((a) => h('li', { 'data-proposal': a.id },
      h('a', { href: `#/proposal/${encodeURIComponent(a.id)}` }, a.title), ' ',
      h('span', { class: 'meta' }, t('proposal.support_count', { n: a.supporters })),
      a.motion ? h('span', { class: 'badge' }, t('proposal.adopted')) : (a.ready ? h('span', { class: 'badge ready' }, t('proposal.ready')) : null))))
      : h('p', { class: 'muted' }, t('debate.no_amendments')),
    open && app.isMember() ? h('p', {}, h('a', { class: 'button secondary', id: 'propose-amendment', href: `#/proposals/new/${encodeURIComponent(m.id)}` }, t('debate.propose_amendment'))) : null);
  parts.push(amendments, d.node);
  app.onLive('entry', (ev) => {
    // A redact names an entry, not a motion: any redaction may erase a text shown here.
    if ((ev.kind === 'comment' && ev.motion === m.id) || ev.kind === 'redact') d.reload().catch(() => {});
  });
  return h('div', { class: 'card', id: 'debate-card' }, parts);
}

/** "Your delegate A wrote …": the latest arguments of the members I delegate to. */
export async function delegateArguments(app) {
  if (!app.isMember()) return null;
  const targets = [...new Set((app.member.delegations || []).map((d) => d.to).filter((k) => k && k !== 'self'))];
  if (!targets.length) return null;
  const lists = await Promise.all(targets.map((k) => api.memberComments(k, 5).catch(() => ({ comments: [] }))));
  const items = [];
  for (const { comments } of lists) {
    for (const c of comments) {
      if (c.redacted) continue;
      const where = c.motion ? `#/bill/${encodeURIComponent(c.motion)}` : `#/proposal/${encodeURIComponent(c.proposal)}`;
      const text = h('q', {}, c.text && c.text.length > 200 ? `${c.text.slice(0, 200)}…` : c.text);
      const mark = h('span', { class: 'text-check' });
      textMatches(c).then((ok) => { mark.textContent = ok ? t('debate.verified') : t('debate.mismatch'); mark.className = ok ? 'text-check ok' : 'text-check bad'; });
      items.push(h('li', { class: 'delegate-argument', 'data-comment': c.index },
        h('strong', { class: 'delegate-mark' }, t('debate.your_delegate', { name: c.name || shortKey(c.author) })), ' ',
        h('span', { class: `badge stance-${c.stance}` }, t(`stance.${c.stance}`)), ' ', text, ' ', mark, ' ',
        h('a', { href: where }, c.title || c.motion || c.proposal)));
    }
  }
  return h('div', { class: 'card', id: 'delegate-arguments' }, h('h2', {}, t('debate.delegates_title')),
    items.length ? h('ul', {}, items) : h('p', { class: 'muted' }, t('debate.delegates_none')));
}
