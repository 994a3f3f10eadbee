// IndexedDB: the member's key pair (CryptoKey objects, stored as they are)
// and their receipts. Nothing here leaves the browser.

const DB = 'liquid-mandate';
let dbPromise = null;

function open() {
  if (!dbPromise) {
    dbPromise = new Promise((resolve, reject) => {
      const req = indexedDB.open(DB, 1);
      req.onupgradeneeded = () => {
        const db = req.result;
        db.createObjectStore('keys', { keyPath: 'id' });
        db.createObjectStore('receipts', { keyPath: 'entry_hash' });
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  }
  return dbPromise;
}

async function run(store, mode, fn) {
  const db = await open();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(store, mode);
    const req = fn(tx.objectStore(store));
    tx.oncomplete = () => resolve(req ? req.result : undefined);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}

export const getKey = () => run('keys', 'readonly', (s) => s.get('me'));
export const putKey = (rec) => run('keys', 'readwrite', (s) => s.put({ ...rec, id: 'me' }));
export const deleteKey = () => run('keys', 'readwrite', (s) => s.delete('me'));

export const putReceipt = (r) => run('receipts', 'readwrite', (s) => s.put(r));
export async function listReceipts() {
  const all = (await run('receipts', 'readonly', (s) => s.getAll())) || [];
  return all.sort((a, b) => b.index - a.index);
}
