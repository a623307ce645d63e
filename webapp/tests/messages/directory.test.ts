import {importPublicKey} from '../../src/crypto';
import {KeyDirectory, TrustStore} from '../../src/directory';

import {MemoryStorage, fakeKeyServer, makeUser, rekey} from './helpers';

describe('KeyDirectory', () => {
    test('batches concurrent look-ups into one request and imports the keys', async () => {
        const [a, b] = await Promise.all([makeUser('a'), makeUser('b')]);
        const server = fakeKeyServer({[a.id]: a.json, [b.id]: b.json});
        const dir = new KeyDirectory({fetchKeys: server.getPublicKeys, importKey: importPublicKey});
        const [ea, eb, ec, ea2] = await Promise.all([dir.get(a.id), dir.get(b.id), dir.get('nokey'), dir.get(a.id)]);
        expect(server.requests).toEqual([[a.id, b.id, 'nokey']]);
        expect(ea).toMatchObject({status: 'ok'});
        expect(ea.status === 'ok' && ea.key.idB64).toBe(a.pub.idB64);
        expect(eb.status === 'ok' && eb.key.idB64).toBe(b.pub.idB64);
        expect(ec).toEqual({status: 'none'});
        expect(ea2).toBe(ea);
    });

    test('keeps answers for the TTL only', async () => {
        const a = await makeUser('a');
        const server = fakeKeyServer({[a.id]: a.json});
        let now = 1000;
        const dir = new KeyDirectory({fetchKeys: server.getPublicKeys, importKey: importPublicKey, now: () => now, ttlMs: 60_000});
        await dir.get(a.id);
        now += 59_000;
        await dir.get(a.id);
        expect(server.requests).toHaveLength(1);
        now += 2_000;
        await dir.get(a.id);
        expect(server.requests).toHaveLength(2);
    });

    test('invalidate() drops a user (newPubkey) or everything (reconnect) and tells listeners', async () => {
        const a = await makeUser('a');
        const server = fakeKeyServer({[a.id]: a.json});
        const dir = new KeyDirectory({fetchKeys: server.getPublicKeys, importKey: importPublicKey});
        const heard: Array<string | undefined> = [];
        dir.onChange((id) => heard.push(id));
        await dir.get(a.id);
        const a2 = await rekey(a);
        server.table[a.id] = a2.json;
        dir.invalidate(a.id);
        const e = await dir.get(a.id);
        expect(e.status === 'ok' && e.key.idB64).toBe(a2.pub.idB64);
        dir.invalidate();
        await dir.get(a.id);
        expect(server.requests).toHaveLength(3);
        expect(heard).toEqual([a.id, undefined]);
    });

    test('an invalid published key is reported, not thrown', async () => {
        const a = await makeUser('a');
        const server = fakeKeyServer({[a.id]: {sign: a.json.sign, encr: 'AAAA'}});
        const dir = new KeyDirectory({fetchKeys: server.getPublicKeys, importKey: importPublicKey});
        expect((await dir.get(a.id)).status).toBe('invalid');
    });

    test('a failed request rejects and is not cached', async () => {
        const a = await makeUser('a');
        let fail = true;
        const dir = new KeyDirectory({
            fetchKeys: async (ids) => {
                if (fail) {
                    throw new Error('network');
                }
                return {[ids[0]]: a.json};
            },
            importKey: importPublicKey,
        });
        await expect(dir.get(a.id)).rejects.toThrow('network');
        fail = false;
        expect((await dir.get(a.id)).status).toBe('ok');
    });
});

describe('TrustStore (original localStorage layout)', () => {
    const ID1 = 'A'.repeat(43) + '=';
    const ID2 = 'B'.repeat(43) + '=';

    test('pubkeyID:<userID> holds the accepted key ID', () => {
        const storage = new MemoryStorage();
        const trust = new TrustStore(storage);
        expect(trust.check('u1', ID1)).toBe('new');
        trust.accept('u1', ID1);
        expect(storage.dump()).toEqual({'pubkeyID:u1': ID1});
        expect(trust.check('u1', ID1)).toBe('same');
        expect(trust.check('u1', ID2)).toBe('changed');
        expect(() => trust.accept('u1', 'not base64')).toThrow(TypeError);
    });

    test('channel recipients and last method', () => {
        const storage = new MemoryStorage();
        const trust = new TrustStore(storage);
        expect(trust.channelRecipients('c')).toBeNull();
        trust.setChannelRecipients('c', [ID1, ID2]);
        expect(storage.getItem('e2eeChannelRecipients:c')).toBe(JSON.stringify([ID1, ID2]));
        expect(trust.channelRecipients('c')).toEqual([ID1, ID2]);
        trust.setLastSentMethod('c', 'p2p');
        expect(storage.getItem('chanEncrMeth:c')).toBe('p2p');
        storage.setItem('e2eeChannelRecipients:d', '{bad json');
        expect(trust.channelRecipients('d')).toBeNull();
        storage.setItem('chanEncrMeth:d', 'rot13');
        expect(trust.lastSentMethod('d')).toBeNull();
    });

    test('a broken localStorage behaves as empty instead of breaking posting', () => {
        const broken = {getItem() {
            throw new Error('SecurityError');
        }, setItem() {
            throw new Error('QuotaExceeded');
        }} as unknown as Storage;
        const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
        const trust = new TrustStore(broken);
        expect(trust.check('u', ID1)).toBe('new');
        expect(() => trust.accept('u', ID1)).not.toThrow();
        warn.mockRestore();
    });
});
