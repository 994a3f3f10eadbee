// IndexedDB: the key pairs this browser holds (CryptoKey objects, stored as
// they are; several, one of them in use) and a cache of receipts. The log is
// the truth about a member: what is cached here can always be fetched again.

const DB = 'liquid-mandate';
let dbPromise = null;

function open() {
  if (!dbPromise) {
    dbPromise = new Promise((resolve, reject) => {
      const req = indexedDB.open(DB, 2);
      req.onupgradeneeded = (ev) => {
        const db = req.result;
        const tx = req.transaction;
        if (ev.oldVersion < 1) {
          db.createObjectStore('keys', { keyPath: 'id' });
          db.createObjectStore('receipts', { keyPath: 'entry_hash' });
        }
        if (ev.oldVersion < 2) {
          // Version 1 kept one key under id 'me': it becomes one of many, in use.
          const meta = db.createObjectStore('meta', { keyPath: 'id' });
          const keys = tx.objectStore('keys');
          const old = keys.get('me');
          old.onsuccess = () => {
            const rec = old.result;
            if (!rec) return;
            keys.delete('me');
            keys.put({ ...rec, id: rec.pub });
            meta.put({ id: 'current', pub: rec.pub });
          };
        }
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  }
  return dbPromise;
}

async function run(stores, mode, fn) {
  const db = await open();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(stores, mode);
    const req = fn(tx);
    tx.oncomplete = () => resolve(req && 'result' in req ? req.result : undefined);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}

const byCreation = (a, b) => String(a.created).localeCompare(String(b.created));

/** Every key this browser holds, oldest first. */
export async function listKeys() {
  const all = (await run('keys', 'readonly', (tx) => tx.objectStore('keys').getAll())) || [];
  return all.sort(byCreation);
}

/** The key in use: the one last chosen, else the oldest, else undefined. */
export async function getKey() {
  const cur = await run('meta', 'readonly', (tx) => tx.objectStore('meta').get('current'));
  const keys = await listKeys();
  return keys.find((k) => k.pub === cur?.pub) || keys[0];
}

/** Stores a key (replacing one with the same public key) and uses it. */
export const putKey = (rec) => run(['keys', 'meta'], 'readwrite', (tx) => {
  tx.objectStore('keys').put({ ...rec, id: rec.pub });
  tx.objectStore('meta').put({ id: 'current', pub: rec.pub });
});

export const useKey = (pub) => run('meta', 'readwrite', (tx) => tx.objectStore('meta').put({ id: 'current', pub }));

export const deleteKey = (pub) => run('keys', 'readwrite', (tx) => tx.objectStore('keys').delete(pub));

export const putReceipt = (r) => run('receipts', 'readwrite', (tx) => tx.objectStore('receipts').put(r));

/** Cached receipts, newest first; only those signed by `author` if given. */
export async function listReceipts(author = null) {
  const all = (await run('receipts', 'readonly', (tx) => tx.objectStore('receipts').getAll())) || [];
  return all.filter((r) => !author || r.entry.statement.author === author).sort((a, b) => b.index - a.index);
}
