// Member keys: Ed25519 in WebCrypto, kept in IndexedDB (several per browser),
// backed up to a file encrypted with a passphrase (PBKDF2-SHA-256 ->
// AES-256-GCM, the format of docs/KEYS.md, which the command line reads and
// writes too). The private key leaves the browser only inside that
// ciphertext. The command line's plain key files (a 32-byte seed in hex) can
// be imported.

import { concat, fromB64, fromHex, randomBytes, toB64, toHex, utf8 } from './bytes.js';
import { canonical } from './canonical.js';
import { getKey, putKey } from './store.js';

export const PREFIX = 'liquid-mandate/v1/statement\n';
const BACKUP_FORMAT = 'liquid-mandate-key-backup';
const ITERATIONS = 600000;

export class KeyError extends Error {
  constructor(code) { super(code); this.code = code; }
}

async function publicHex(publicKey) {
  return toHex(await crypto.subtle.exportKey('raw', publicKey));
}

export async function createKey() {
  let pair;
  try {
    pair = await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify']);
  } catch (e) {
    throw new KeyError('no_ed25519');
  }
  const rec = { publicKey: pair.publicKey, privateKey: pair.privateKey, pub: await publicHex(pair.publicKey), created: new Date().toISOString() };
  await putKey(rec);
  return rec;
}

export const loadKey = getKey;

export async function signStatement(rec, statement) {
  const message = utf8(PREFIX + canonical(statement));
  const sig = await crypto.subtle.sign({ name: 'Ed25519' }, rec.privateKey, message);
  return toHex(sig);
}

async function backupKey(passphrase, salt, iterations) {
  const base = await crypto.subtle.importKey('raw', utf8(passphrase), 'PBKDF2', false, ['deriveKey']);
  return crypto.subtle.deriveKey({ name: 'PBKDF2', hash: 'SHA-256', salt, iterations }, base,
    { name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
}

/** The backup file's JSON: the private JWK encrypted, the public key in clear
 * (bound to the ciphertext as additional data). */
export async function exportBackup(rec, passphrase) {
  if (!passphrase || passphrase.length < 8) throw new KeyError('weak_passphrase');
  const jwk = await crypto.subtle.exportKey('jwk', rec.privateKey);
  const salt = randomBytes(16);
  const iv = randomBytes(12);
  const aes = await backupKey(passphrase, salt, ITERATIONS);
  const ct = await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: utf8(BACKUP_FORMAT + '\n' + rec.pub) },
    aes, utf8(JSON.stringify(jwk)));
  return {
    format: BACKUP_FORMAT, version: 1, public_key: rec.pub,
    kdf: { name: 'PBKDF2', hash: 'SHA-256', iterations: ITERATIONS, salt: toB64(salt) },
    cipher: { name: 'AES-GCM', iv: toB64(iv) },
    ciphertext: toB64(new Uint8Array(ct)),
  };
}

// PKCS #8 wrapping of a raw Ed25519 seed (RFC 8410): the fixed DER prefix.
const PKCS8_ED25519 = fromHex('302e020100300506032b657004220420');

/** Stores the key whose 32-byte seed is given; returns its record. */
async function keyFromSeed(seed) {
  const privateKey = await crypto.subtle.importKey('pkcs8', concat(PKCS8_ED25519, seed), { name: 'Ed25519' }, true, ['sign']);
  const jwk = await crypto.subtle.exportKey('jwk', privateKey);
  const publicKey = await crypto.subtle.importKey('jwk', { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, { name: 'Ed25519' }, true, ['verify']);
  return { publicKey, privateKey, pub: await publicHex(publicKey), created: new Date().toISOString() };
}

/** The seed in a command-line key file (`cli.py key new`): the first word of
 * 64 hex digits outside `#` comments; a `# public key X` comment, when
 * present, must name the same key. Stores and returns the key; KeyError
 * `bad_key_file` otherwise. */
export async function importKeyFile(text) {
  const lines = String(text).split('\n');
  const word = lines.filter((l) => !l.trim().startsWith('#')).join(' ').split(/\s+/).find((w) => /^[0-9a-fA-F]{64}$/.test(w));
  if (!word) throw new KeyError('bad_key_file');
  let rec;
  try { rec = await keyFromSeed(fromHex(word.toLowerCase())); } catch (e) { throw new KeyError('bad_key_file'); }
  const said = lines.map((l) => /^#\s*public key\s+([0-9a-fA-F]{64})\s*$/.exec(l.trim())).find(Boolean);
  if (said && said[1].toLowerCase() !== rec.pub) throw new KeyError('bad_key_file');
  await putKey(rec);
  return rec;
}

/** Decrypts a backup and stores the key in this browser; raises KeyError. */
export async function restoreBackup(text, passphrase) {
  let b;
  try {
    b = JSON.parse(text);
  } catch (e) {
    throw new KeyError('bad_backup');
  }
  if (!b || b.format !== BACKUP_FORMAT || b.version !== 1 || !b.kdf || !b.cipher) throw new KeyError('bad_backup');
  const n = b.kdf.iterations;
  if (b.kdf.name !== 'PBKDF2' || b.kdf.hash !== 'SHA-256' || b.cipher.name !== 'AES-GCM'
    || !Number.isInteger(n) || n < 100000 || n > 10000000) throw new KeyError('bad_backup');
  let jwk;
  try {
    const aes = await backupKey(passphrase, fromB64(b.kdf.salt), n);
    const pt = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: fromB64(b.cipher.iv), additionalData: utf8(BACKUP_FORMAT + '\n' + b.public_key) },
      aes, fromB64(b.ciphertext));
    jwk = JSON.parse(new TextDecoder().decode(pt));
  } catch (e) {
    throw new KeyError('wrong_passphrase');
  }
  // The public key is derived from the seed `d` (docs/KEYS.md), and must be
  // both the JWK's `x` and the backup's clear `public_key`.
  let rec;
  try {
    rec = await keyFromSeed(fromB64(String(jwk.d).replace(/-/g, '+').replace(/_/g, '/')));
  } catch (e) {
    throw new KeyError('bad_backup');
  }
  const x = toHex(fromB64(String(jwk.x).replace(/-/g, '+').replace(/_/g, '/')));
  if (rec.pub !== b.public_key || x !== rec.pub) throw new KeyError('bad_backup');
  await putKey(rec);
  return rec;
}
