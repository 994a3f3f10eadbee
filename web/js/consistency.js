// Split views (DESIGN 9.1): this browser keeps the latest checkpoint it has
// seen, per assembly (localStorage), and on every visit checks that the
// server's current checkpoint extends it: same root at the same size, or an
// RFC 9162 consistency proof (section 2.1.4.2) from the old size to the new.
// When the check fails the server has shown two histories that cannot both
// be true: a loud, translated warning stays at the top of every page, with
// both signed notes to download as evidence, and the old checkpoint is kept
// (so the warning comes back on every visit until someone looks into it).

import { api } from './api.js';
import { download, equalBytes, fromHex } from './bytes.js';
import { h } from './dom.js';
import { t } from './i18n.js';
import { nodeHash, ProofError, verifyCheckpoint } from './merkle.js';

const storeKey = (assembly) => `lm.checkpoint.${assembly}`;
const odd = (x) => x % 2 === 1;
const half = (x) => Math.floor(x / 2);  // sizes go to 2^53: no 32-bit shifts

/** RFC 9162 2.1.4.2: throws ProofError unless `proof` shows that the tree of
 * `size2` leaves with `root2` extends the tree of `size1` leaves with `root1`. */
export async function verifyConsistency(size1, size2, root1, root2, proof) {
  if (!Number.isSafeInteger(size1) || !Number.isSafeInteger(size2) || size1 < 1 || size1 > size2) {
    throw new ProofError('proof_index', `sizes ${size1} and ${size2}`);
  }
  if (size1 === size2) {
    if (proof.length || !equalBytes(root1, root2)) throw new ProofError('proof_root', 'same size, another root');
    return;
  }
  if (proof.length === 0 || proof.some((p) => p.length !== 32)) throw new ProofError('proof_malformed', 'bad proof');
  let x = size1;
  while (!odd(x)) x = half(x);
  const path = x === 1 ? [root1, ...proof] : proof;  // size1 a power of two: its root starts the path
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (odd(fn)) { fn = half(fn); sn = half(sn); }
  let fr = path[0];
  let sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0) throw new ProofError('proof_length', 'proof too long');
    if (odd(fn) || fn === sn) {
      fr = await nodeHash(c, fr);
      sr = await nodeHash(c, sr);
      if (!odd(fn)) { while (!odd(fn) && fn !== 0) { fn = half(fn); sn = half(sn); } }
    } else {
      sr = await nodeHash(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) throw new ProofError('proof_length', 'proof too short');
  if (!equalBytes(fr, root1) || !equalBytes(sr, root2)) throw new ProofError('proof_root', 'roots do not match');
}

/** Why `cp` cannot follow `old` ('shrunk', 'root', 'proof'), or null. */
async function conflict(old, cp) {
  if (cp.size < old.size) return 'shrunk';
  if (cp.size === old.size) return equalBytes(old.root, cp.root) ? null : 'root';
  const r = await fetch(`/api/proof/consistency?from=${old.size}&to=${cp.size}`, { cache: 'no-store' });
  if (!r.ok) return 'proof';
  const { proof } = await r.json();
  try {
    await verifyConsistency(old.size, cp.size, old.root, cp.root, proof.map(fromHex));
  } catch (e) {
    if (e instanceof ProofError) return 'proof';
    throw e;
  }
  return null;
}

let shown = null;  // {seen, now, oldCp, cp, why}: what the warning shows, re-drawn on a language change

function draw() {
  let el = document.getElementById('consistency-warning');
  if (!shown) { if (el) el.remove(); return; }
  if (!el) {
    el = h('div', { id: 'consistency-warning', class: 'msg error fork-warning', role: 'alert' });
    document.getElementById('main').before(el);
  }
  const { seen, now, oldCp, cp, why } = shown;
  el.replaceChildren(
    h('h2', {}, t('fork.title')),
    h('p', {}, t('fork.body', { seen: String(oldCp.size), now: String(cp.size) }), ' ', t(`fork.why_${why}`)),
    h('p', {}, t('fork.what_to_do')),
    h('p', { class: 'actions' },
      h('button', { type: 'button', id: 'fork-download-seen', onclick: () => download(`checkpoint-seen-${oldCp.size}.txt`, seen, 'text/plain') },
        t('fork.download_seen', { size: String(oldCp.size) })),
      ' ',
      h('button', { type: 'button', id: 'fork-download-now', onclick: () => download(`checkpoint-now-${cp.size}.txt`, now, 'text/plain') },
        t('fork.download_now', { size: String(cp.size) }))));
}

/** The check of one visit: {state: 'none' | 'first' | 'ok' | 'fork', why?}.
 * A network failure throws (and warns of nothing: it proves nothing). */
export async function checkConsistency(server) {
  if (!server?.assembly) return { state: 'none' };
  const now = await api.checkpoint();
  const cp = await verifyCheckpoint(now, server.server_key, server.assembly);
  const key = storeKey(server.assembly);
  const seen = localStorage.getItem(key);
  let oldCp = null;
  if (seen) {
    try { oldCp = await verifyCheckpoint(seen, server.server_key, server.assembly); } catch (e) { oldCp = null; }
  }
  if (oldCp) {
    const why = await conflict(oldCp, cp);
    if (why) {
      shown = { seen, now, oldCp, cp, why };
      draw();
      return { state: 'fork', why };
    }
  }
  localStorage.setItem(key, now);
  shown = null;
  draw();
  return { state: oldCp ? 'ok' : 'first' };
}

/** Called once at start-up: check now, and redraw the warning in the new
 * language whenever the page's language changes. */
export function watchConsistency() {
  new MutationObserver(() => draw()).observe(document.documentElement, { attributes: true, attributeFilter: ['lang'] });
  return api.server().then(checkConsistency).then((r) => {
    document.body.dataset.consistency = r.state;
    return r;
  }).catch((e) => { console.warn('consistency check not made', e); document.body.dataset.consistency = 'error'; });
}
