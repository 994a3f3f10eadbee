// Deputies: every closed bill with their binding instruction, the share of
// votes behind it, and the result entry with its inclusion proof. Printable.

import { api, submit } from '../api.js';
import { canonicalBytes } from '../canonical.js';
import { fromHex, sha256, toHex } from '../bytes.js';
import { h } from '../dom.js';
import { fmtTime, num, pct, t } from '../i18n.js';
import { leafHash, verifyCheckpoint, verifyInclusion } from '../merkle.js';
import { field, memberLink, msg, page } from './common.js';

const VOTED = ['yes', 'no', 'abstain', 'absent'];

export async function page_(app, [keyParam]) {
  const key = keyParam || app.me?.pub;
  if (!key) return page(t('deputy.title'), h('p', {}, t('deputy.no_key')), h('a', { class: 'button', href: '#/key' }, t('key.go_create')));
  const [{ instructions }, { motions }, { roster }] = await Promise.all([api.instructions(key), api.motions('closed'), api.deputies(), app.learnNames([key])]);
  const titles = Object.fromEntries(motions.map((m) => [m.id, m.title]));
  const onRoster = roster.includes(key);
  const mine = app.me?.pub === key;
  const rows = instructions.map((i) => {
    const voted = i.yes + i.no + i.abstain;
    const behind = i[i.choice] ?? 0;
    const quorumFailed = i.quorum && !i.quorum.met;
    return h('tr', { 'data-motion': i.motion, 'data-choice': i.choice },
      h('td', {}, h('a', { href: `#/bill/${encodeURIComponent(i.motion)}` }, i.title || titles[i.motion] || i.motion)),
      h('td', {}, h('strong', { class: `instr instr-${i.choice}` }, t(`choice.${i.choice}`))),
      h('td', {}, quorumFailed ? t('deputy.no_quorum') : t('deputy.share', { share: pct(behind, voted), votes: behind, voted, members: i.members })),
      h('td', {}, t('tally.seats', i.seats)),
      h('td', {}, h('a', { href: `#/entry/${i.result_index}`, class: 'entry-link', 'data-index': i.result_index }, t('deputy.entry', { index: String(i.result_index) }))),
      h('td', {}, i.report ? t(`voted.${i.report.voted}`) : t('compliance.none'), mine ? reportForm(app, i) : null));
  });
  return page(t('deputy.title'),
    h('p', {}, t('deputy.for'), ' ', memberLink(app, key)),
    h('p', {}, t(onRoster ? 'deputy.on_roster' : 'deputy.not_on_roster')),
    h('p', { class: 'no-print' }, h('button', { type: 'button', onclick: () => window.print() }, t('deputy.print'))),
    instructions.length ? h('div', { class: 'scroll' }, h('table', { id: 'instructions' },
      h('caption', {}, t('deputy.caption')),
      h('thead', {}, h('tr', {}, ['deputy.bill', 'deputy.instruction', 'deputy.behind', 'deputy.seats', 'deputy.proof', 'compliance.report'].map((k) => h('th', { scope: 'col' }, t(k))))),
      h('tbody', {}, rows))) : h('p', {}, t('deputy.none')),
    h('p', { class: 'muted' }, t('deputy.explain')),
    h('p', {}, h('a', { href: `#/compliance/deputy/${key}`, id: 'compliance-link' }, t('compliance.see'))));
}
export { page_ as page };

/** The deputy's form under one instruction: what I voted, the official
 * record's URL, a public note. A later report replaces the earlier one. */
export function reportForm(app, instruction) {
  const out = msg();
  const voted = field('compliance.voted', { tag: 'select', name: 'voted', options: VOTED.map((v) => [v, t(`voted.${v}`)]) });
  const source = field('compliance.source_url', { type: 'url', name: 'source', placeholder: 'https://' });
  const note = field('compliance.note', { tag: 'textarea', name: 'note', rows: 2, maxlength: 2000 });
  const done = h('p', { class: 'msg ok', tabindex: -1 });
  const button = h('button', { type: 'submit' }, t('compliance.send'));
  const form = h('form', { class: 'report-form', 'data-motion': instruction.motion, onsubmit: (e) => {
    e.preventDefault();
    const data = new FormData(form);
    app.act(button, out, async () => {
      const r = await submit(app.me, app.server.assembly, 'report', { motion: instruction.motion,
        voted: data.get('voted'), source: String(data.get('source') || '').trim(), note: String(data.get('note') || '') });
      done.replaceChildren(t('compliance.sent', { voted: t(`voted.${data.get('voted')}`) }), ' — ',
        h('a', { href: `#/receipts/${r.index}` }, t('vote.receipt', { index: String(r.index) })));
    });
  } }, voted, source, note, h('p', { class: 'muted' }, t('compliance.permanent')), button, done, out);
  const current = instruction.report ? h('p', {}, t('compliance.reported', { voted: t(`voted.${instruction.report.voted}`) })) : null;
  return h('details', { class: 'report' }, h('summary', {}, t('compliance.report_title')), current, form);
}


/** One log entry, its hash recomputed here, and its inclusion proof in the
 * latest checkpoint, checked here against the server key. */
export async function entry(app, [indexParam]) {
  const index = Number(indexParam);
  const { entry: e, entry_hash: hash } = await api.entry(index);
  const out = h('p', { class: 'msg', id: 'proof-result', 'aria-live': 'polite' });
  const btn = h('button', { type: 'button', id: 'check-proof', onclick: () => app.act(btn, out, async () => {
    const bytes = canonicalBytes(e);
    const mine = toHex(await sha256(bytes));
    if (mine !== hash) throw new Error(t('prooferr.entry_hash'));
    const note = await api.checkpoint();
    const cp = await verifyCheckpoint(note, app.server.server_key, app.server.assembly);
    const p = await api.inclusion(index, cp.size);
    await verifyInclusion({ index, size: cp.size, leaf: await leafHash(bytes), proof: p.proof.map(fromHex), root: cp.root });
    out.textContent = t('entry.proof_ok', { index: String(index), size: cp.size });
    out.className = 'msg ok';
  }) }, t('entry.check'));
  const st = e.statement;
  const summary = st.kind === 'result' ? h('dl', { class: 'facts' },
    ['members', 'yes', 'no', 'abstain', 'direct', 'delegated', 'dead_end', 'cycle', 'absent'].map((k) => [h('dt', {}, t(`count.${k}`)), h('dd', {}, num(st[k]))]),
    h('dt', {}, t('count.method')), h('dd', {}, t(`method.${st.method}`)),
    h('dt', {}, t('count.quorum')), h('dd', {}, t(st.quorum.met ? 'tally.quorum_met' : 'tally.quorum_not_met', { required: st.quorum.required }))) : null;
  return page(t('entry.title', { index: String(index) }),
    h('p', {}, t('entry.kind', { kind: t(`kind.${st.kind}`) }), ' · ', fmtTime(e.received)),
    h('p', {}, t('entry.hash'), ' ', h('code', { class: 'key' }, hash)),
    summary,
    h('p', { class: 'no-print' }, btn), out,
    h('details', {}, h('summary', {}, t('entry.raw')), h('pre', { class: 'raw' }, JSON.stringify(e, null, 2))));
}

export { msg };
