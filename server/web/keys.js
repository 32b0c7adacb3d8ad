// This browser's Ed25519 identity, and signature checks of other people's messages.
// The private key is created non-extractable and kept in IndexedDB: script can sign with
// it but never read it, and the same identity comes back after a reload.

import { fromHex, toHex } from './protocol.js';

const DB_NAME = 'tinychat';
const STORE = 'keys';
const KEY_ID = 'identity';

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function openDb() {
  const open = indexedDB.open(DB_NAME, 1);
  open.onupgradeneeded = () => open.result.createObjectStore(STORE);
  return request(open);
}

async function loadOrCreate() {
  const db = await openDb();
  try {
    const stored = await request(db.transaction(STORE).objectStore(STORE).get(KEY_ID));
    if (stored) return stored;
    const pair = await crypto.subtle.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify']);
    const raw = new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey));
    const identity = { privateKey: pair.privateKey, publicKey: pair.publicKey, pubKey: toHex(raw) };
    // add() rather than put(): when two tabs race, the first key wins and both use it.
    const tx = db.transaction(STORE, 'readwrite');
    try {
      await request(tx.objectStore(STORE).add(identity, KEY_ID));
      return identity;
    } catch {
      return await request(db.transaction(STORE).objectStore(STORE).get(KEY_ID));
    }
  } finally {
    db.close();
  }
}

export class Identity {
  #privateKey;

  constructor({ privateKey, pubKey }) {
    this.#privateKey = privateKey;
    /** 64 lowercase hex characters, as the protocol spells it. */
    this.pubKey = pubKey;
  }

  static async load() {
    if (!globalThis.crypto?.subtle) throw new Error('This browser offers no WebCrypto here.');
    return new Identity(await loadOrCreate());
  }

  async sign(payload) {
    return toHex(new Uint8Array(await crypto.subtle.sign('Ed25519', this.#privateKey, payload)));
  }
}

const imported = new Map();

function importPublicKey(pubKey) {
  let key = imported.get(pubKey);
  if (!key) {
    key = crypto.subtle.importKey('raw', fromHex(pubKey), 'Ed25519', false, ['verify']);
    imported.set(pubKey, key);
  }
  return key;
}

/** True only when `sigHex` is a valid Ed25519 signature of `payload` by `pubKey`. */
export async function verify(pubKey, sigHex, payload) {
  try {
    if (!/^[0-9a-f]{64}$/.test(pubKey) || !/^[0-9a-f]{128}$/.test(sigHex)) return false;
    const key = await importPublicKey(pubKey);
    return await crypto.subtle.verify('Ed25519', key, fromHex(sigHex), payload);
  } catch {
    return false;
  }
}
