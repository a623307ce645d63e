// This browser's private keys, in IndexedDB exactly as the original plugin kept them
// (docs: shared protocol-v1 "Storage"), so a browser that ran the original keeps its key.
import {openDB, type IDBPDatabase} from 'idb';

import type {PrivateKeySet} from '../crypto/types';

export const DB_NAME = 'mm-e2ee';
export const DB_VERSION = 2;
export const STORE = 'keys';

interface KeyRecord {
    name: string;
    key: CryptoKeyPair;
}

export class KeyStorageError extends Error {
    constructor(message: string, options?: {cause?: unknown}) {
        super(message, options);
        this.name = 'KeyStorageError';
    }
}

const ecdhName = (userId: string) => `ecdh_${userId}`;
const ecdsaName = (userId: string) => `ecdsa_${userId}`;

let dbPromise: Promise<IDBPDatabase> | null = null;

async function open(): Promise<IDBPDatabase> {
    if (typeof indexedDB === 'undefined') {
        throw new KeyStorageError('this browser has no IndexedDB: keys cannot be stored');
    }
    const callbacks = {
        // Another tab wants a newer version: let it, and reopen on next use.
        blocking(_current: number, _next: number | null, event: IDBVersionChangeEvent) {
            (event.target as IDBDatabase).close();
            dbPromise = null;
        },
        terminated() {
            dbPromise = null;
        },
    };
    try {
        return await openDB(DB_NAME, DB_VERSION, {
            ...callbacks,
            // Runs only when the DB is absent or older than v2: an existing v2 DB (the
            // original's) is opened untouched.
            upgrade(db, oldVersion, _newVersion, tx) {
                // Only a store that cannot hold our records (pre-v2, other key path) is replaced.
                if (oldVersion < DB_VERSION && db.objectStoreNames.contains(STORE) && tx.objectStore(STORE).keyPath !== 'name') {
                    db.deleteObjectStore(STORE);
                }
                if (!db.objectStoreNames.contains(STORE)) {
                    db.createObjectStore(STORE, {keyPath: 'name'});
                }
            },
        });
    } catch (err) {
        // A newer layout written by someone else: read it as it is rather than fail.
        if (err instanceof DOMException && err.name === 'VersionError') {
            const db = await openDB(DB_NAME, undefined, callbacks);
            if (!db.objectStoreNames.contains(STORE)) {
                db.close();
                throw new KeyStorageError(`IndexedDB "${DB_NAME}" has an unknown layout`, {cause: err});
            }
            return db;
        }
        throw new KeyStorageError('cannot open the key database', {cause: err});
    }
}

function db(): Promise<IDBPDatabase> {
    if (!dbPromise) {
        dbPromise = open();
        dbPromise.catch(() => {
            dbPromise = null;
        });
    }
    return dbPromise;
}

function isKeyPair(value: unknown, algorithm: string): value is CryptoKeyPair {
    if (!value || typeof value !== 'object') {
        return false;
    }
    const pair = value as Partial<CryptoKeyPair>;
    const ok = (k: unknown, type: string) => Boolean(k) && typeof k === 'object' &&
        (k as CryptoKey).type === type && (k as CryptoKey).algorithm?.name === algorithm;
    return ok(pair.privateKey, 'private') && ok(pair.publicKey, 'public');
}

/** The user's keys in this browser, or null when there are none (or only half a set). */
export async function loadKeys(userId: string): Promise<PrivateKeySet | null> {
    const d = await db();
    const tx = d.transaction(STORE, 'readonly');
    const [ecdh, ecdsa] = await Promise.all([
        tx.store.get(ecdhName(userId)) as Promise<KeyRecord | undefined>,
        tx.store.get(ecdsaName(userId)) as Promise<KeyRecord | undefined>,
    ]);
    await tx.done;
    if (!ecdh && !ecdsa) {
        return null;
    }
    if (!isKeyPair(ecdh?.key, 'ECDH') || !isKeyPair(ecdsa?.key, 'ECDSA')) {
        console.warn('e2ee: the stored key for this user is incomplete or malformed; ignoring it');
        return null;
    }
    return {ecdh: ecdh.key, ecdsa: ecdsa.key};
}

/** An earlier key of the user, kept to read what was encrypted to it (design §11.3). */
export interface PreviousKeys {
    keyId: string;
    retiredAt: number;
    keys: PrivateKeySet;
}

interface PreviousRecord {
    name: string;
    keyId: string;
    retiredAt: number;
    ecdh: CryptoKeyPair;
    ecdsa: CryptoKeyPair;
}

/** At most this many earlier keys are kept per user (the oldest go first). */
export const MAX_PREVIOUS_KEYS = 64;

const previousPrefix = (userId: string) => `prev_${userId}_`;

function previousRange(userId: string): IDBKeyRange {
    return IDBKeyRange.bound(previousPrefix(userId), `${previousPrefix(userId)}\uffff`);
}

/** The user's earlier keys in this browser, newest first. */
export async function loadPreviousKeys(userId: string): Promise<PreviousKeys[]> {
    const d = await db();
    const records = await d.getAll(STORE, previousRange(userId)) as PreviousRecord[];
    return records
        .filter((r) => r && typeof r.keyId === 'string' && isKeyPair(r.ecdh, 'ECDH') && isKeyPair(r.ecdsa, 'ECDSA'))
        .map((r) => ({keyId: r.keyId, retiredAt: typeof r.retiredAt === 'number' ? r.retiredAt : 0, keys: {ecdh: r.ecdh, ecdsa: r.ecdsa}}))
        .sort((a, b) => b.retiredAt - a.retiredAt);
}

function assertNonExtractable(keys: PrivateKeySet): void {
    if (keys.ecdh.privateKey.extractable || keys.ecdsa.privateKey.extractable) {
        throw new KeyStorageError('refusing to store an extractable private key');
    }
}

/** Stores `keys` as the current key and, in the same transaction, keeps `retire` (the key held
 * until now, and any earlier keys from a backup) as earlier keys. */
export async function saveKeysKeepingPrevious(userId: string, keys: PrivateKeySet, keyId: string, retire: Array<{keyId: string; keys: PrivateKeySet}>, now = Date.now()): Promise<void> {
    assertNonExtractable(keys);
    retire.forEach((r) => assertNonExtractable(r.keys));
    const d = await db();
    const tx = d.transaction(STORE, 'readwrite');
    const existing = await tx.store.getAll(previousRange(userId)) as PreviousRecord[];
    const writes: Array<Promise<unknown>> = [
        tx.store.put({name: ecdhName(userId), key: keys.ecdh} satisfies KeyRecord),
        tx.store.put({name: ecdsaName(userId), key: keys.ecdsa} satisfies KeyRecord),
    ];
    const kept = new Map(existing.map((r) => [r.keyId, r.retiredAt]));
    // The new current key is no longer an earlier one.
    kept.delete(keyId);
    writes.push(tx.store.delete(previousPrefix(userId) + keyId));
    retire.filter((r) => r.keyId !== keyId).forEach((r, i) => {
        const retiredAt = now - i; // keeps the given order, newest first
        kept.set(r.keyId, retiredAt);
        writes.push(tx.store.put({name: previousPrefix(userId) + r.keyId, keyId: r.keyId, retiredAt, ecdh: r.keys.ecdh, ecdsa: r.keys.ecdsa} satisfies PreviousRecord));
    });
    const oldest = [...kept.entries()].sort((a, b) => b[1] - a[1]).slice(MAX_PREVIOUS_KEYS);
    for (const [keyId] of oldest) {
        writes.push(tx.store.delete(previousPrefix(userId) + keyId));
    }
    await Promise.all([...writes, tx.done]);
    requestPersistence();
}

/** Stores both pairs in one transaction (both or neither). Keys are stored as the
 * CryptoKey objects themselves, so non-extractable private keys stay non-extractable. */
export async function saveKeys(userId: string, keys: PrivateKeySet): Promise<void> {
    if (keys.ecdh.privateKey.extractable || keys.ecdsa.privateKey.extractable) {
        throw new KeyStorageError('refusing to store an extractable private key');
    }
    const d = await db();
    const tx = d.transaction(STORE, 'readwrite');
    await Promise.all([
        tx.store.put({name: ecdhName(userId), key: keys.ecdh} satisfies KeyRecord),
        tx.store.put({name: ecdsaName(userId), key: keys.ecdsa} satisfies KeyRecord),
        tx.done,
    ]);
    requestPersistence();
}

export async function deleteKeys(userId: string): Promise<void> {
    const d = await db();
    const tx = d.transaction(STORE, 'readwrite');
    await Promise.all([tx.store.delete(ecdhName(userId)), tx.store.delete(ecdsaName(userId)), tx.done]);
}

let persistenceAsked = false;

/** Asks the browser (once a page load) not to evict our storage: losing it loses the key. */
export function requestPersistence(): void {
    if (persistenceAsked) {
        return;
    }
    persistenceAsked = true;
    const storage = typeof navigator === 'undefined' ? undefined : navigator.storage;
    if (storage && typeof storage.persist === 'function') {
        storage.persist().catch(() => undefined);
    }
}

/** Tests only: drop the cached connection (e.g. after deleting the database). */
export async function closeForTests(): Promise<void> {
    const p = dbPromise;
    dbPromise = null;
    if (p) {
        (await p.catch(() => null))?.close();
    }
    persistenceAsked = false;
}
