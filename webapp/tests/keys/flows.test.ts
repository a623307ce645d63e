// The key lifecycle at the service level (no React): init, import, start-up reconcile.
import * as openpgp from 'openpgp';

import {pluginAPI} from '../../src/client';
import {importBackup, importPublicKey, publicKeyOf} from '../../src/crypto';
import {KeyDirectory} from '../../src/directory';
import type {FetchLike} from '../../src/crypto/hkp';
import type {PrivateKeySet} from '../../src/crypto/types';
import {MyKeysStore} from '../../src/keys/my_keys';
import {KeyService} from '../../src/keys/service';
import {loadKeys, loadPreviousKeys, saveKeys} from '../../src/keys/storage';
import {KeysUI, type Dialog, type ImportCheck} from '../../src/keys/ui';

import {ME, MY_EMAIL, eventually, fakeServer, fakeStore, freshBrowser, vectorUser, type FakeServer} from './helpers';

let server: FakeServer;
let ui: KeysUI;
let myKeys: MyKeysStore;
let service: KeyService;
let hkpKeys: Array<{armored: string; fingerprint: string; uids: string[]}>;
let hkpDown = false;

const KEY_SERVER = 'https://keys.example.test';

/** A minimal HKP server (machine-readable index, get by fingerprint). */
const hkpFetch: FetchLike = async (url) => {
    if (hkpDown) {
        throw new TypeError('Failed to fetch');
    }
    const u = new URL(url);
    expect(u.origin + u.pathname).toBe(`${KEY_SERVER}/pks/lookup`);
    const op = u.searchParams.get('op');
    const search = u.searchParams.get('search') || '';
    const text = (body: string, status = 200) => ({ok: status < 300, status, text: async () => body});
    if (op === 'index') {
        const hits = hkpKeys.filter((k) => k.uids.some((id) => id.includes(search)));
        if (hits.length === 0) {
            return text('', 404);
        }
        const lines = ['info:1:' + hits.length];
        for (const k of hits) {
            lines.push(`pub:${k.fingerprint.toUpperCase()}:22:255:1700000000::`);
            k.uids.forEach((id) => lines.push(`uid:${encodeURIComponent(id)}:1700000000::`));
        }
        return text(lines.join('\n'));
    }
    const k = hkpKeys.find((h) => `0X${h.fingerprint.toUpperCase()}` === search.toUpperCase());
    return k ? text(k.armored) : text('', 404);
};

async function gpgKey(uid: {name: string; email: string}, listedAs?: string) {
    const {privateKey, publicKey} = await openpgp.generateKey({userIDs: [uid], format: 'armored'});
    const fingerprint = (await openpgp.readKey({armoredKey: publicKey})).getFingerprint();
    hkpKeys.push({armored: publicKey, fingerprint, uids: [listedAs ?? `${uid.name} <${uid.email}>`]});
    return {privateKey, fingerprint};
}

function dialog<K extends Dialog['kind']>(kind: K): Extract<Dialog, {kind: K}> {
    const d = ui.getState().dialog;
    if (d?.kind !== kind) {
        throw new Error(`expected a ${kind} dialog, have ${d?.kind ?? 'none'}`);
    }
    return d as Extract<Dialog, {kind: K}>;
}

const notices = (level?: string) => ui.getState().notices.filter((n) => !level || n.level === level).map((n) => n.text);

async function existingKeys(): Promise<PrivateKeySet> {
    return importBackup(vectorUser('bob').backup);
}

beforeEach(async () => {
    await freshBrowser();
    jest.restoreAllMocks();
    server = fakeServer();
    ui = new KeysUI();
    myKeys = new MyKeysStore(() => ME);
    service = new KeyService({store: fakeStore(), myKeys, ui, fetchFn: hkpFetch});
    hkpKeys = [];
    hkpDown = false;
});

afterEach(() => ui.reset());

/** /e2ee init; without --force, the setup dialog opens first and the user chooses "create". */
function initCreating(force = false): Promise<void> {
    const done = service.init(force);
    if (!force) {
        void eventually(() => {
            dialog('setup');
        }).then(() => dialog('setup').finish('create'));
    }
    return done;
}

describe('/e2ee init', () => {
    test('creates, stores and registers a key, then shows its backup once', async () => {
        const changed = jest.fn();
        myKeys.onChange(changed);
        const done = initCreating();
        await eventually(() => {
            dialog('backup');
        });
        const {text, gpgSentTo, close} = dialog('backup');

        const stored = await loadKeys(ME);
        expect(stored).not.toBeNull();
        expect(stored!.ecdh.privateKey.extractable).toBe(false);
        expect(stored!.ecdsa.privateKey.extractable).toBe(false);
        const pub = await publicKeyOf(stored!);
        expect(server.pushes).toEqual([{pubkey: pub.json}]);
        expect(gpgSentTo).toBeNull();
        // The backup shown is the stored key's.
        expect((await publicKeyOf(await importBackup(text))).idB64).toBe(pub.idB64);
        expect((await myKeys.getPublic())!.idB64).toBe(pub.idB64);
        expect(changed).toHaveBeenCalled();

        close();
        await done;
        expect(ui.getState().dialog).toBeNull();
        expect(notices('success')).toHaveLength(1);
    });

    test('with a key on the server only, the setup dialog says so; closing it changes nothing', async () => {
        server.keys[ME] = vectorUser('bob').pubkey;
        const done = service.init(false);
        await eventually(() => {
            dialog('setup');
        });
        expect(dialog('setup').hasServerKey).toBe(true);
        dialog('setup').finish('closed');
        await done;
        expect(server.pushes).toEqual([]);
        expect(await loadKeys(ME)).toBeNull();
        expect(ui.getState().dialog).toBeNull();
    });

    test('refuses without --force when this browser has a key', async () => {
        const old = await existingKeys();
        await saveKeys(ME, old);
        await service.init(false);
        expect(server.pushes).toEqual([]);
        expect((await publicKeyOf((await loadKeys(ME))!)).idB64).toBe(vectorUser('bob').pubkey_id);
        expect(notices('warning')[0]).toMatch(/in this browser/);
    });

    test('--force replaces an existing key', async () => {
        await saveKeys(ME, await existingKeys());
        server.keys[ME] = vectorUser('bob').pubkey;
        const done = service.init(true);
        await eventually(() => {
            dialog('backup');
        });
        const pub = await publicKeyOf((await loadKeys(ME))!);
        expect(pub.idB64).not.toBe(vectorUser('bob').pubkey_id);
        expect(server.keys[ME]).toEqual(pub.json);
        // The replaced key stays, non-extractable, as an earlier key (design §11.3).
        const earlier = await loadPreviousKeys(ME);
        expect(earlier.map((k) => k.keyId)).toEqual([vectorUser('bob').pubkey_id]);
        expect(earlier[0].keys.ecdh.privateKey.extractable).toBe(false);
        expect((await myKeys.getPrevious()).map((k) => k.pub.idB64)).toEqual([vectorUser('bob').pubkey_id]);
        expect(dialog('backup').extras.earlierKeys).toBe(1);
        dialog('backup').close();
        await done;
    });

    test('a failed push changes nothing and says why', async () => {
        await saveKeys(ME, await existingKeys());
        server.failPush = 'database is down';
        await service.init(true);
        expect(ui.getState().dialog).toBeNull();
        expect((await publicKeyOf((await loadKeys(ME))!)).idB64).toBe(vectorUser('bob').pubkey_id);
        expect(notices('error')[0]).toMatch(/database is down/);
    });

    test('a failed push with no previous key leaves no key', async () => {
        server.failPush = 'nope';
        await initCreating();
        expect(await loadKeys(ME)).toBeNull();
        expect(await myKeys.get()).toBeNull();
    });

    describe('GPG backup', () => {
        beforeEach(() => {
            server.gpgKeyServer = KEY_SERVER;
        });

        test('found and confirmed: the backup goes to the server encrypted to that key', async () => {
            await gpgKey({name: 'Someone Else', email: 'someone@example.org'});
            const {privateKey, fingerprint} = await gpgKey({name: 'Alice', email: MY_EMAIL});
            const done = initCreating();
            await eventually(() => {
                dialog('gpgConfirm');
            });
            const {choice, answer} = dialog('gpgConfirm');
            expect(choice).toEqual({keyServer: KEY_SERVER, email: MY_EMAIL, fingerprint, userIDs: [`Alice <${MY_EMAIL}>`]});
            expect(server.pushes).toEqual([]); // nothing is registered before the answer
            answer(true);

            await eventually(() => {
                dialog('backup');
            });
            const {text, gpgSentTo} = dialog('backup');
            expect(gpgSentTo).toBe(fingerprint);
            expect(server.pushes).toHaveLength(1);
            const {pubkey, backupGPG} = server.pushes[0];
            expect(pubkey).toEqual((await publicKeyOf((await loadKeys(ME))!)).json);
            expect(backupGPG).toMatch(/^-----BEGIN PGP MESSAGE-----/);
            const {data} = await openpgp.decrypt({
                message: await openpgp.readMessage({armoredMessage: backupGPG!}),
                decryptionKeys: await openpgp.readPrivateKey({armoredKey: privateKey}),
            });
            expect(data).toBe(text);
            dialog('backup').close();
            await done;
        });

        test('declined: registered without a GPG backup, and said so', async () => {
            await gpgKey({name: 'Alice', email: MY_EMAIL});
            const done = initCreating();
            await eventually(() => {
                dialog('gpgConfirm');
            });
            dialog('gpgConfirm').answer(false);
            await eventually(() => {
                dialog('backup');
            });
            expect(server.pushes).toHaveLength(1);
            expect(server.pushes[0].backupGPG).toBeUndefined();
            expect(notices('info').join()).toMatch(/declined/);
            dialog('backup').close();
            await done;
        });

        test('no key for the address: said so, and the key is still made', async () => {
            await gpgKey({name: 'Mallory', email: 'mallory@example.org'}, `Mallory <mallory@example.org> ${MY_EMAIL}`);
            const done = initCreating();
            await eventually(() => {
                dialog('backup');
            });
            expect(server.pushes[0].backupGPG).toBeUndefined();
            expect(notices('info').join()).toMatch(new RegExp(`No valid GPG key for ${MY_EMAIL}`));
            dialog('backup').close();
            await done;
        });

        test('key server unreachable: said so, and the key is still made', async () => {
            hkpDown = true;
            const done = initCreating();
            await eventually(() => {
                dialog('backup');
            });
            expect(server.pushes).toHaveLength(1);
            expect(server.pushes[0].backupGPG).toBeUndefined();
            expect(notices('warning').join()).toMatch(/Looking up your GPG key on https:\/\/keys.example.test failed \(key server unreachable\)/);
            expect(notices('info').join()).not.toMatch(/Looking up/); // the progress notice is gone
            dialog('backup').close();
            await done;
        });

        test('server refuses the GPG backup: key registered without it, user warned', async () => {
            await gpgKey({name: 'Alice', email: MY_EMAIL});
            server.rejectGPG = true;
            const done = initCreating();
            await eventually(() => {
                dialog('gpgConfirm');
            });
            dialog('gpgConfirm').answer(true);
            await eventually(() => {
                dialog('backup');
            });
            expect(dialog('backup').gpgSentTo).toBeNull();
            expect(server.pushes).toHaveLength(1);
            expect(server.pushes[0].backupGPG).toBeUndefined();
            expect(notices('warning').join()).toMatch(/cannot send mail/);
            dialog('backup').close();
            await done;
        });
    });
});

describe('/e2ee import', () => {
    async function check(text: string): Promise<ImportCheck> {
        void service.import();
        await eventually(() => {
            dialog('import');
        });
        return dialog('import').check(text);
    }

    test('imports the original plugin\'s backup and registers its public key', async () => {
        const alice = vectorUser('alice');
        const result = await check(alice.backup);
        expect(result.ok).toBe(true);
        if (!result.ok) {
            return;
        }
        expect(result.replaces).toBeNull();
        expect(await result.commit()).toBeNull();
        expect(server.pushes).toEqual([{pubkey: alice.pubkey}]);
        const stored = await loadKeys(ME);
        expect(stored!.ecdh.privateKey.extractable).toBe(false);
        expect((await publicKeyOf(stored!)).idB64).toBe(alice.pubkey_id);
        expect((await myKeys.getPublic())!.idB64).toBe(alice.pubkey_id);
    });

    test.each([
        ['garbage', 'hello', /not a valid E2EE key backup/],
        ['truncated', vectorUser('alice').backup.slice(0, 200), /not a valid E2EE key backup/],
        ['wrong key_ops', (() => {
            const b = vectorUser('alice').backup;
            const body = b.split('\n').slice(1, -1).join('');
            const json = JSON.parse(Buffer.from(body, 'base64').toString('utf8'));
            json.encr.key_ops = ['deriveKey'];
            return `-----BEGIN MM E2EE PRIVATE KEY-----\n${Buffer.from(JSON.stringify(json)).toString('base64')}\n-----END MM E2EE PRIVATE KEY-----`;
        })(), /key_ops/],
    ])('rejects %s with a clear error and changes nothing', async (_name, text, error) => {
        server.keys[ME] = vectorUser('bob').pubkey;
        const result = await check(text);
        expect(result.ok).toBe(false);
        expect(!result.ok && result.error).toMatch(error);
        expect(await loadKeys(ME)).toBeNull();
        expect(server.pushes).toEqual([]);
    });

    test('warns before replacing a different key on the server; nothing changes until confirmed', async () => {
        server.keys[ME] = vectorUser('bob').pubkey;
        const result = await check(vectorUser('alice').backup);
        expect(result.ok).toBe(true);
        if (!result.ok) {
            return;
        }
        expect(result.replaces).not.toBeNull();
        expect(result.replaces!.currentFingerprint).not.toBe(result.replaces!.newFingerprint);
        expect(await loadKeys(ME)).toBeNull();
        expect(server.pushes).toEqual([]);
        expect(await result.commit()).toBeNull();
        expect(server.keys[ME]).toEqual(vectorUser('alice').pubkey);
        expect((await publicKeyOf((await loadKeys(ME))!)).idB64).toBe(vectorUser('alice').pubkey_id);
    });

    test('the key already on the server: no warning and no push', async () => {
        server.keys[ME] = vectorUser('alice').pubkey;
        const result = await check(vectorUser('alice').backup);
        expect(result.ok && result.replaces).toBeNull();
        expect(result.ok && await result.commit()).toBeNull();
        expect(server.pushes).toEqual([]);
        expect(await loadKeys(ME)).not.toBeNull();
    });

    test('a failed push keeps the previous key in this browser', async () => {
        await saveKeys(ME, await existingKeys());
        server.failPush = 'server error';
        const result = await check(vectorUser('alice').backup);
        expect(result.ok).toBe(true);
        const err = result.ok ? await result.commit() : null;
        expect(err).toMatch(/nothing was changed.*server error/);
        expect((await publicKeyOf((await loadKeys(ME))!)).idB64).toBe(vectorUser('bob').pubkey_id);
    });
});

describe('start-up reconcile', () => {
    test('registers a key only this browser has (migration from the original plugin)', async () => {
        await saveKeys(ME, await importBackup(vectorUser('alice').backup));
        await service.reconcile();
        expect(server.pushes).toEqual([{pubkey: vectorUser('alice').pubkey}]);
        expect(notices('info')).toHaveLength(1);
    });

    test('tells once when the server has another key', async () => {
        await saveKeys(ME, await importBackup(vectorUser('alice').backup));
        server.keys[ME] = vectorUser('bob').pubkey;
        await service.reconcile();
        await service.reconcile();
        expect(server.pushes).toEqual([]);
        expect(notices('warning')).toHaveLength(1);
        expect(notices('warning')[0]).toMatch(/\/e2ee import.*\/e2ee init --force/);
    });

    test('shares the message features\' request for my key (my own posts ask for it at the same moment)', async () => {
        await saveKeys(ME, await importBackup(vectorUser('alice').backup));
        server.keys[ME] = vectorUser('alice').pubkey;
        const directory = new KeyDirectory({fetchKeys: (ids) => pluginAPI.getPublicKeys(ids), importKey: importPublicKey});
        service.shareKeyLookups((id) => directory.get(id));
        const asked = jest.mocked(pluginAPI.getPublicKeys).mock.calls.length;
        // A post of mine is shown while the start-up check runs.
        const [shown] = await Promise.all([directory.get(ME), service.reconcile()]);
        expect(shown.status).toBe('ok');
        expect(jest.mocked(pluginAPI.getPublicKeys).mock.calls.length - asked).toBe(1);
        expect(server.pushes).toEqual([]);
        expect(notices()).toEqual([]);
        // The shared answer still counts: another key on the server is reported.
        server.keys[ME] = vectorUser('bob').pubkey;
        directory.invalidate(ME); // the server's newPubkey event
        await service.reconcile();
        expect(notices('warning')).toHaveLength(1);
    });

    test('same key, or no key here: nothing to do', async () => {
        await service.reconcile();
        await saveKeys(ME, await importBackup(vectorUser('alice').backup));
        server.keys[ME] = vectorUser('alice').pubkey;
        await service.reconcile();
        expect(server.pushes).toEqual([]);
        expect(notices()).toEqual([]);
    });
});
