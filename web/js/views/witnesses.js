// The organizer's witness page (DESIGN 9.1): the policy in force and, per
// witness, what the server's submissions got (GET /api/witnesses): the
// largest size it cosigned, its last success and last error. Refreshed every
// few seconds while open. A policy is set by a `witnesses` statement (the
// command line's `witnesses` command or any signed client). The witnesses of
// an earlier policy that still governs an unwitnessed close are listed after
// the policy's, marked (docs/SPEC.md 14.2: the server still submits to them).

import { h } from '../dom.js';
import { fmtTime, t } from '../i18n.js';

async function status() {
  const r = await fetch('/api/witnesses', { cache: 'no-store', headers: { accept: 'application/json' } });
  if (!r.ok) throw new Error(`GET /api/witnesses: HTTP ${r.status}`);
  return r.json();
}

const when = (secs) => (secs ? fmtTime(new Date(secs * 1000).toISOString()) : t('witnesses.never'));

function stateOf(w) {
  if (w.blocked) return 'blocked';
  if (w.consecutive_failures > 0) return 'failing';
  return w.cosigned_size ? 'ok' : 'waiting';
}

function render(st) {
  if (!st.policy) return [h('p', {}, t('witnesses.none'))];
  const p = st.policy;
  return [
    h('p', { id: 'witness-policy' }, t('witnesses.policy', {
      quorum: p.quorum, n: p.cosigners.length, grace: p.grace, index: String(p.index), size: st.size,
    })),
    st.allowed_hosts ? h('p', {}, t('witnesses.allowed', { hosts: st.allowed_hosts.join(', ') || '—' })) : null,
    h('table', { class: 'witnesses' },
      h('thead', {}, h('tr', {}, ['name', 'url', 'cosigned', 'state', 'last_ok', 'error'].map((c) => h('th', { scope: 'col' }, t(`witnesses.col_${c}`))))),
      h('tbody', {}, st.witnesses.map((w) => h('tr', { 'data-witness': w.name, class: w.current === false ? 'witness-earlier' : null },
        h('td', {}, h('code', {}, w.name), w.current === false
          ? h('div', { class: 'witness-earlier-note' }, t('witnesses.earlier', {
            policies: (w.earlier_policies || []).join(', '), lotteries: (w.lotteries || []).join(', '),
          }))
          : null),
        h('td', {}, h('code', {}, w.url)),
        h('td', { class: 'num' }, w.cosigned_size == null ? '—' : String(w.cosigned_size)),
        h('td', { class: `witness-${stateOf(w)}` }, t(`witnesses.state_${stateOf(w)}`)),
        h('td', {}, when(w.last_ok_at)),
        h('td', {}, w.last_error || '—'))))),
  ];
}

export async function witnessesTab(app) {
  const box = h('div', { id: 'witnesses', 'aria-live': 'polite' },
    h('h2', {}, t('witnesses.title')), h('p', {}, t('witnesses.text')), h('div', {}, render(await status())));
  app.every(5000, async () => {
    try { box.lastChild.replaceChildren(...render(await status()).filter(Boolean)); } catch (e) { /* next time */ }
  });
  return box;
}
