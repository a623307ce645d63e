// Shared set-up for the key tests: a fresh IndexedDB, a store holding the current user,
// and a fake plugin server (only the network is faked; WebCrypto is real).
import 'fake-indexeddb/auto';
import * as fs from 'fs';

import {IDBFactory} from 'fake-indexeddb';
import type {Store} from 'redux';

import {pluginAPI, PluginAPIError} from '../../src/client';
import {importPublicKey, pushProofMessage} from '../../src/crypto';
import {fromBase64} from '../../src/crypto/encoding';
import type {PublicKeyJSON} from '../../src/crypto/types';
import {closeForTests} from '../../src/keys/storage';
import {VECTORS_PATH} from '../crypto/helpers';

// The original plugin's vectors (testdata/ at the repository root).
export const vectors = JSON.parse(fs.readFileSync(VECTORS_PATH, 'utf8')) as {
    users: Array<{name: string; backup: string; pubkey: PublicKeyJSON; pubkey_id: string}>;
};
export const vectorUser = (name: string) => vectors.users.find((u) => u.name === name)!;

export const ME = 'alice-id';
export const MY_EMAIL = 'alice@example.com';

export async function freshBrowser(): Promise<void> {
    await closeForTests();
    globalThis.indexedDB = new IDBFactory();
}

export function fakeStore(userId = ME, email = MY_EMAIL): Store & {setUser(id: string): void} {
    let state = {entities: {users: {currentUserId: userId, profiles: {[userId]: {id: userId, email}}}}};
    const listeners = new Set<() => void>();
    return {
        getState: () => state,
        dispatch: ((a: unknown) => a) as Store['dispatch'],
        subscribe: (l: () => void) => {
            listeners.add(l);
            return () => listeners.delete(l);
        },
        replaceReducer: () => undefined,
        [Symbol.observable]: undefined,
        setUser(id: string) {
            state = {entities: {users: {currentUserId: id, profiles: {[id]: {id, email: `${id}@example.com`}}}}};
            listeners.forEach((l) => l());
        },
    } as unknown as Store & {setUser(id: string): void};
}

export interface FakeServer {
    keys: Record<string, PublicKeyJSON>;
    pushes: Array<{pubkey: PublicKeyJSON; backupGPG?: string}>;
    gpgKeyServer: string;
    failPush: string | null; // error message the next pushes fail with
    rejectGPG: boolean; // refuse pushes that carry a GPG backup
    nonces: string[]; // issued, in order; each push uses one up
}

/** Replaces pluginAPI's network calls by an in-memory server for user `me`. */
export function fakeServer(me = ME): FakeServer {
    const server: FakeServer = {keys: {}, pushes: [], gpgKeyServer: '', failPush: null, rejectGPG: false, nonces: []};
    jest.spyOn(pluginAPI, 'getPublicKeys').mockImplementation(async (ids) =>
        Object.fromEntries(ids.map((id) => [id, server.keys[id] ?? null])));
    jest.spyOn(pluginAPI, 'pushPublicKey').mockImplementation(async (pubkey, sign, backupGPG) => {
        // As the server does: a fresh nonce per push, and the proof must verify with the pushed key.
        const nonce = `nonce-${server.nonces.length + 1}-${Math.random().toString(36).slice(2)}`;
        server.nonces.push(nonce);
        const proof = await sign(nonce);
        const key = await importPublicKey(pubkey);
        const valid = await crypto.subtle.verify({name: 'ECDSA', hash: 'SHA-256'}, key.sign, fromBase64(proof, 'proof', 64), pushProofMessage(me, nonce));
        if (!valid) {
            throw new PluginAPIError('proof does not verify', 403);
        }
        if (server.failPush) {
            throw new PluginAPIError(server.failPush, 500);
        }
        if (backupGPG && server.rejectGPG) {
            throw new PluginAPIError('cannot send mail', 500);
        }
        server.pushes.push(backupGPG ? {pubkey, backupGPG} : {pubkey});
        server.keys[me] = pubkey;
        return {};
    });
    jest.spyOn(pluginAPI, 'getGPGKeyServer').mockImplementation(async () => server.gpgKeyServer);
    return server;
}

/** Polls until `check` passes (flows run in the background of the slash hook). */
export async function eventually(check: () => void | Promise<void>, timeoutMs = 4000): Promise<void> {
    const end = Date.now() + timeoutMs;
    for (;;) {
        try {
            await check();
            return;
        } catch (err) {
            if (Date.now() > end) {
                throw err;
            }
            await new Promise((r) => setTimeout(r, 10));
        }
    }
}
