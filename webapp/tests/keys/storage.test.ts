import 'fake-indexeddb/auto';
import {IDBFactory} from 'fake-indexeddb';

import {DB_NAME, closeForTests, deleteKeys, loadKeys, saveKeys} from '../../src/keys/storage';
import type {PrivateKeySet} from '../../src/crypto/types';

async function makeKeys(extractable = false): Promise<PrivateKeySet> {
    const ecdh = await crypto.subtle.generateKey({name: 'ECDH', namedCurve: 'P-256'}, extractable, ['deriveBits']);
    const ecdsa = await crypto.subtle.generateKey({name: 'ECDSA', namedCurve: 'P-256'}, extractable, ['sign', 'verify']);
    return {ecdh, ecdsa};
}

function req<T>(r: IDBRequest<T>): Promise<T> {
    return new Promise((resolve, reject) => {
        r.onsuccess = () => resolve(r.result);
        r.onerror = () => reject(r.error);
    });
}

/** Opens with the raw API, as the original plugin (or an older version) would have. */
function rawOpen(version: number, upgrade: (db: IDBDatabase) => void): Promise<IDBDatabase> {
    const r = indexedDB.open(DB_NAME, version);
    r.onupgradeneeded = () => upgrade(r.result);
    return req(r);
}

async function rawGetAll(): Promise<{version: number; stores: string[]; records: Array<{name: string; key: CryptoKeyPair}>}> {
    const db = await req(indexedDB.open(DB_NAME));
    const stores = [...db.objectStoreNames];
    const records = stores.includes('keys') ? await req(db.transaction('keys').objectStore('keys').getAll()) : [];
    const version = db.version;
    db.close();
    return {version, stores, records};
}

async function signsLike(pair: CryptoKeyPair, other: CryptoKeyPair): Promise<boolean> {
    const data = new Uint8Array([1, 2, 3]);
    const sig = await crypto.subtle.sign({name: 'ECDSA', hash: 'SHA-256'}, pair.privateKey, data);
    return crypto.subtle.verify({name: 'ECDSA', hash: 'SHA-256'}, other.publicKey, sig, data);
}

beforeEach(async () => {
    await closeForTests();
    globalThis.indexedDB = new IDBFactory(); // a fresh, empty browser profile
});

afterAll(async () => {
    await closeForTests();
});

test('creates the v2 database with the original layout when absent', async () => {
    const keys = await makeKeys();
    await saveKeys('u1', keys);
    const {version, stores, records} = await rawGetAll();
    expect(version).toBe(2);
    expect(stores).toEqual(['keys']);
    expect(records.map((r) => r.name).sort()).toEqual(['ecdh_u1', 'ecdsa_u1']);
    const ecdh = records.find((r) => r.name === 'ecdh_u1')!;
    expect(ecdh.key.privateKey.algorithm.name).toBe('ECDH');
    expect(ecdh.key.privateKey.extractable).toBe(false);
});

test('round-trips non-extractable keys that still work', async () => {
    const keys = await makeKeys();
    await saveKeys('u1', keys);
    await closeForTests(); // as after a page reload
    const loaded = await loadKeys('u1');
    expect(loaded).not.toBeNull();
    expect(loaded!.ecdsa.privateKey.extractable).toBe(false);
    expect(loaded!.ecdh.privateKey.extractable).toBe(false);
    expect(await signsLike(loaded!.ecdsa, keys.ecdsa)).toBe(true);
    expect(await loadKeys('someone-else')).toBeNull();
});

test('reads and keeps a database the original plugin created (v2, keys/name)', async () => {
    const keys = await makeKeys();
    const db = await rawOpen(2, (d) => d.createObjectStore('keys', {keyPath: 'name'}));
    const tx = db.transaction('keys', 'readwrite');
    tx.objectStore('keys').put({name: 'ecdh_alice', key: keys.ecdh});
    tx.objectStore('keys').put({name: 'ecdsa_alice', key: keys.ecdsa});
    tx.objectStore('keys').put({name: 'ecdh_bob', key: keys.ecdh}); // another account on this browser
    await new Promise((r) => {
        tx.oncomplete = r;
    });
    db.close();

    const loaded = await loadKeys('alice');
    expect(loaded).not.toBeNull();
    expect(await signsLike(loaded!.ecdsa, keys.ecdsa)).toBe(true);

    await saveKeys('carol', await makeKeys());
    const {version, records} = await rawGetAll();
    expect(version).toBe(2);
    expect(records.map((r) => r.name).sort()).toEqual(['ecdh_alice', 'ecdh_bob', 'ecdh_carol', 'ecdsa_alice', 'ecdsa_carol']);
});

test('upgrades a version 1 database without losing its other stores', async () => {
    const db = await rawOpen(1, (d) => d.createObjectStore('other'));
    db.close();
    await saveKeys('u1', await makeKeys());
    const {version, stores} = await rawGetAll();
    expect(version).toBe(2);
    expect(stores.sort()).toEqual(['keys', 'other']);
    expect(await loadKeys('u1')).not.toBeNull();
});

test('replaces a version 1 "keys" store that has another key path', async () => {
    const db = await rawOpen(1, (d) => d.createObjectStore('keys', {keyPath: 'id'}));
    db.close();
    await saveKeys('u1', await makeKeys());
    const {version, records} = await rawGetAll();
    expect(version).toBe(2);
    expect(records.map((r) => r.name).sort()).toEqual(['ecdh_u1', 'ecdsa_u1']);
});

test('opens a newer database that still has the keys store', async () => {
    const keys = await makeKeys();
    const db = await rawOpen(3, (d) => d.createObjectStore('keys', {keyPath: 'name'}));
    const tx = db.transaction('keys', 'readwrite');
    tx.objectStore('keys').put({name: 'ecdh_u1', key: keys.ecdh});
    tx.objectStore('keys').put({name: 'ecdsa_u1', key: keys.ecdsa});
    await new Promise((r) => {
        tx.oncomplete = r;
    });
    db.close();
    expect(await loadKeys('u1')).not.toBeNull();
});

test('refuses extractable private keys and stores nothing', async () => {
    await expect(saveKeys('u1', await makeKeys(true))).rejects.toThrow(/extractable/);
    expect(await loadKeys('u1')).toBeNull();
});

test('half a key set reads as no key', async () => {
    const keys = await makeKeys();
    const db = await rawOpen(2, (d) => d.createObjectStore('keys', {keyPath: 'name'}));
    const tx = db.transaction('keys', 'readwrite');
    tx.objectStore('keys').put({name: 'ecdh_u1', key: keys.ecdh});
    await new Promise((r) => {
        tx.oncomplete = r;
    });
    db.close();
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    expect(await loadKeys('u1')).toBeNull();
    expect(warn).toHaveBeenCalled();
    warn.mockRestore();
});

test('deleteKeys removes only that user', async () => {
    await saveKeys('u1', await makeKeys());
    await saveKeys('u2', await makeKeys());
    await deleteKeys('u1');
    expect(await loadKeys('u1')).toBeNull();
    expect(await loadKeys('u2')).not.toBeNull();
});

test('asks for persistent storage once', async () => {
    const persist = jest.fn(() => Promise.resolve(true));
    const had = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
    Object.defineProperty(globalThis, 'navigator', {value: {storage: {persist}}, configurable: true});
    try {
        await saveKeys('u1', await makeKeys());
        await saveKeys('u2', await makeKeys());
        expect(persist).toHaveBeenCalledTimes(1);
    } finally {
        if (had) {
            Object.defineProperty(globalThis, 'navigator', had);
        } else {
            delete (globalThis as {navigator?: unknown}).navigator;
        }
    }
});
