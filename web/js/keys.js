// Member keys: Ed25519 in WebCrypto, kept in IndexedDB, backed up to a file
// encrypted with a passphrase (PBKDF2-SHA-256 -> AES-256-GCM). The private
// key leaves the browser only inside that ciphertext.

import { fromB64, randomBytes, toB64, toHex, utf8 } from './bytes.js';
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

/** Decrypts a backup and stores the key in this browser; raises KeyError. */
export async function restoreBackup(text, passphrase) {
  let b;
  try {
    b = JSON.parse(text);
  } catch (e) {
    throw new KeyError('bad_backup');
  }
  if (!b || b.format !== BACKUP_FORMAT || b.version !== 1 || !b.kdf || !b.cipher) throw new KeyError('bad_backup');
  let jwk;
  try {
    const aes = await backupKey(passphrase, fromB64(b.kdf.salt), b.kdf.iterations);
    const pt = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: fromB64(b.cipher.iv), additionalData: utf8(BACKUP_FORMAT + '\n' + b.public_key) },
      aes, fromB64(b.ciphertext));
    jwk = JSON.parse(new TextDecoder().decode(pt));
  } catch (e) {
    throw new KeyError('wrong_passphrase');
  }
  const privateKey = await crypto.subtle.importKey('jwk', jwk, { name: 'Ed25519' }, true, ['sign']);
  const publicKey = await crypto.subtle.importKey('jwk', { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, { name: 'Ed25519' }, true, ['verify']);
  const pub = await publicHex(publicKey);
  if (pub !== b.public_key) throw new KeyError('bad_backup');
  const rec = { publicKey, privateKey, pub, created: new Date().toISOString() };
  await putKey(rec);
  return rec;
}
