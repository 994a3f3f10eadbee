// Receipt checks in the browser: RFC 9162 inclusion proofs (section 2.1.3.2)
// and C2SP signed-note checkpoints signed by the server's Ed25519 key.
// Every check throws ProofError with a code the UI translates.

import { canonicalBytes } from './canonical.js';
import { concat, equalBytes, fromB64, fromHex, sha256, toHex, utf8 } from './bytes.js';

export class ProofError extends Error {
  constructor(code, detail = '') { super(`${code}: ${detail}`); this.code = code; this.detail = detail; }
}

export const leafHash = (bytes) => sha256(concat(new Uint8Array([0]), bytes));
export const nodeHash = (l, r) => sha256(concat(new Uint8Array([1]), l, r));

/** The root that `proof` gives for leaf `index` of a tree of `size` leaves
 * (RFC 9162 2.1.3.2); throws ProofError when the proof cannot fit. */
export async function rootFromInclusion(index, size, leaf, proof) {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) {
    throw new ProofError('proof_index', `index ${index} is not below size ${size}`);
  }
  if (proof.some((p) => p.length !== 32)) throw new ProofError('proof_malformed', 'a proof hash is not 32 bytes');
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) throw new ProofError('proof_length', `proof has ${proof.length} hashes, too many`);
    if (fn % 2 === 1 || fn === sn) {
      r = await nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) throw new ProofError('proof_length', `proof has ${proof.length} hashes, too few`);
  return r;
}

export async function verifyInclusion({ index, size, leaf, proof, root }) {
  const got = await rootFromInclusion(index, size, leaf, proof);
  if (!equalBytes(got, root)) throw new ProofError('proof_root', `root ${toHex(got)}, want ${toHex(root)}`);
}

/** Parses a C2SP tlog-checkpoint note: {text, origin, size, root, sigs}. */
export function parseCheckpoint(note) {
  const cut = note.indexOf('\n\n');
  if (cut < 0) throw new ProofError('checkpoint_malformed', 'no blank line');
  const text = note.slice(0, cut + 1);
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3 || !/^[1-9][0-9]*$|^0$/.test(lines[1])) throw new ProofError('checkpoint_malformed', 'bad size line');
  const root = fromB64(lines[2]);
  if (root.length !== 32) throw new ProofError('checkpoint_malformed', 'root is not 32 bytes');
  const sigs = [];
  for (const line of note.slice(cut + 2).split('\n')) {
    if (!line) continue;
    const m = /^\u2014 (\S+) (\S+)$/.exec(line);
    if (!m) throw new ProofError('checkpoint_malformed', 'bad signature line');
    const raw = fromB64(m[2]);
    if (raw.length < 5) throw new ProofError('checkpoint_malformed', 'signature too short');
    sigs.push({ name: m[1], keyId: raw.slice(0, 4), sig: raw.slice(4) });
  }
  return { text, origin: lines[0], size: Number(lines[1]), root, sigs };
}

export async function keyId(name, pub) {
  return (await sha256(concat(utf8(name), new Uint8Array([0x0a, 0x01]), pub))).slice(0, 4);
}

/** Checks the checkpoint's origin and the server's Ed25519 signature over its
 * text; returns the parsed checkpoint. */
export async function verifyCheckpoint(note, serverKeyHex, assembly) {
  const cp = parseCheckpoint(note);
  const origin = `liquid-mandate/${assembly}`;
  if (cp.origin !== origin) throw new ProofError('checkpoint_origin', `origin ${cp.origin}, want ${origin}`);
  const pub = fromHex(serverKeyHex);
  const id = await keyId(origin, pub);
  const line = cp.sigs.find((s) => s.name === origin && equalBytes(s.keyId, id));
  if (!line) throw new ProofError('checkpoint_unsigned', 'no signature by the server key');
  const key = await crypto.subtle.importKey('raw', pub, { name: 'Ed25519' }, false, ['verify']);
  const ok = line.sig.length === 64 && await crypto.subtle.verify({ name: 'Ed25519' }, key, line.sig, utf8(cp.text));
  if (!ok) throw new ProofError('checkpoint_signature', 'the signature does not verify');
  return cp;
}

/** Checks a receipt against the server key alone: entry hash, checkpoint
 * signature, inclusion of the entry's leaf under the checkpoint's root. */
export async function verifyReceipt(receipt, serverKeyHex, assembly) {
  const bytes = canonicalBytes(receipt.entry);
  if (receipt.entry.index !== receipt.index) throw new ProofError('entry_index', 'entry index differs from receipt');
  if (toHex(await sha256(bytes)) !== receipt.entry_hash) throw new ProofError('entry_hash', 'entry hash differs');
  const cp = await verifyCheckpoint(receipt.checkpoint, serverKeyHex, assembly);
  await verifyInclusion({ index: receipt.index, size: cp.size, leaf: await leafHash(bytes),
    proof: receipt.proof.map(fromHex), root: cp.root });
  return cp;
}
