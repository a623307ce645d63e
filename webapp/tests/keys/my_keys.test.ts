import {importBackup} from '../../src/crypto';
import {MyKeysStore, onMyKeysChange} from '../../src/keys/my_keys';
import {saveKeys} from '../../src/keys/storage';

import {freshBrowser, vectorUser} from './helpers';

beforeEach(freshBrowser);

test('loads the current user\'s keys once and follows user changes', async () => {
    const alice = await importBackup(vectorUser('alice').backup);
    const bob = await importBackup(vectorUser('bob').backup);
    await saveKeys('a', alice);
    await saveKeys('b', bob);
    let user = 'a';
    const store = new MyKeysStore(() => user);
    const listener = jest.fn();
    const global = jest.fn();
    store.onChange(listener);
    const off = onMyKeysChange(global);

    expect((await store.getPublic())!.idB64).toBe(vectorUser('alice').pubkey_id);
    expect(await store.get()).toBe(await store.get()); // cached

    user = 'b';
    store.checkUser();
    expect(listener).toHaveBeenCalledTimes(1);
    expect(global).toHaveBeenCalledTimes(1);
    expect((await store.getPublic())!.idB64).toBe(vectorUser('bob').pubkey_id);

    user = '';
    expect(await store.get()).toBeNull();
    off();
});

test('set() replaces the cache and notifies; a set for another user is ignored', async () => {
    const store = new MyKeysStore(() => 'a');
    expect(await store.get()).toBeNull();
    const listener = jest.fn();
    const unsubscribe = store.onChange(listener);
    const alice = await importBackup(vectorUser('alice').backup);
    store.set('other', alice);
    expect(listener).not.toHaveBeenCalled();
    expect(await store.get()).toBeNull();
    store.set('a', alice);
    expect(listener).toHaveBeenCalledTimes(1);
    expect(await store.get()).toBe(alice);
    expect((await store.getPublic())!.idB64).toBe(vectorUser('alice').pubkey_id);
    unsubscribe();
    store.set('a', null);
    expect(listener).toHaveBeenCalledTimes(1);
    expect(await store.getPublic()).toBeNull();
});

test('a failing listener is logged by error name only, never with its message', async () => {
    const alice = await importBackup(vectorUser('alice').backup);
    const store = new MyKeysStore(() => 'a');
    const spy = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
        store.onChange(() => {
            throw new TypeError('plaintext: the launch code');
        });
        const after = jest.fn();
        store.onChange(after);
        store.set('a', alice);
        expect(after).toHaveBeenCalledTimes(1);
        expect(spy).toHaveBeenCalledTimes(1);
        const logged = spy.mock.calls[0].map((a) => (a instanceof Error ? `${a.message} ${a.stack}` : String(a))).join(' ');
        expect(logged).toContain('TypeError');
        expect(logged).not.toContain('launch code');
    } finally {
        spy.mockRestore();
    }
});
