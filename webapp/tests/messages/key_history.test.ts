import type {KeyHistoryEntryJSON} from '../../src/client';
import {importPublicKey} from '../../src/crypto';
import {KeyHistory, TrustStore} from '../../src/directory';
import {MAX_KNOWN_KEYS} from '../../src/directory/trust_store';

import {MemoryStorage, makeUser, rekey} from './helpers';

function fakeHistoryServer(table: Record<string, unknown>) {
    const requests: string[][] = [];
    return {
        requests,
        async fetchHistory(ids: string[]) {
            requests.push([...ids]);
            return Object.fromEntries(ids.filter((id) => id in table).map((id) => [id, table[id]])) as Record<string, KeyHistoryEntryJSON[]>;
        },
    };
}

describe('KeyHistory', () => {
    test('batches concurrent look-ups, imports the keys and gives each its time of use', async () => {
        const a = await makeUser('a');
        const a2 = await rekey(a);
        const b = await makeUser('b');
        const server = fakeHistoryServer({
            [a.id]: [{pubkey: a2.json, since: 5000}, {pubkey: a.json, since: 0}], // out of order on purpose
            [b.id]: [{pubkey: b.json, since: 100}],
        });
        const history = new KeyHistory({fetchHistory: server.fetchHistory, importKey: importPublicKey});
        const [ha, hb, hc, ha2] = await Promise.all([history.get(a.id), history.get(b.id), history.get('nokey'), history.get(a.id)]);
        expect(server.requests).toEqual([[a.id, b.id, 'nokey']]);
        expect(ha.map((h) => [h.key.idB64, h.since, h.until])).toEqual([[a.pub.idB64, 0, 5000], [a2.pub.idB64, 5000, null]]);
        expect(hb.map((h) => h.key.idB64)).toEqual([b.pub.idB64]);
        expect(hc).toEqual([]);
        expect(ha2).toBe(ha);
    });

    test('drops invalid entries; a failed request is not cached; invalidate() forgets', async () => {
        const a = await makeUser('a');
        const table: Record<string, unknown> = {[a.id]: [{pubkey: {sign: 'x', encr: 'y'}, since: 1}, {pubkey: a.json, since: 'soon'}, null, {pubkey: a.json, since: 7}]};
        const server = fakeHistoryServer(table);
        let fail = true;
        const history = new KeyHistory({
            fetchHistory: async (ids) => {
                if (fail) {
                    throw new Error('network down');
                }
                return server.fetchHistory(ids);
            },
            importKey: importPublicKey,
        });
        await expect(history.get(a.id)).rejects.toThrow('network down');
        fail = false;
        const list = await history.get(a.id);
        expect(list.map((h) => [h.key.idB64, h.since, h.until])).toEqual([[a.pub.idB64, 7, null]]);
        await history.get(a.id);
        expect(server.requests).toHaveLength(1);
        history.invalidate(a.id);
        await history.get(a.id);
        expect(server.requests).toHaveLength(2);
        table[a.id] = 'not a list';
        history.invalidate();
        expect(await history.get(a.id)).toEqual([]);
    });
});

describe('TrustStore archive of trusted keys', () => {
    test('accepting a new key keeps the previous one (by ID) and the new one (with its JSON)', async () => {
        const a = await makeUser('a');
        const a2 = await rekey(a);
        const storage = new MemoryStorage();
        const trust = new TrustStore(storage);
        trust.accept(a.id, a.pub.idB64, a.json);
        trust.accept(a.id, a2.pub.idB64); // e.g. the "Trust the new key" button: ID only
        expect(storage.getItem(`pubkeyID:${a.id}`)).toBe(a2.pub.idB64); // the original's meaning
        expect([...trust.knownKeys(a.id)]).toEqual([[a.pub.idB64, a.json]]);
        trust.remember(a.id, a2.pub.idB64, a2.json);
        trust.remember(a.id, a.pub.idB64, null); // never loses a JSON
        expect([...trust.knownKeys(a.id)]).toEqual([[a.pub.idB64, a.json], [a2.pub.idB64, a2.json]]);

        // A browser that trusted a key before the archive existed keeps its ID when it changes;
        // a JSON seen later completes that entry in place.
        const b = await makeUser('b');
        const b2 = await rekey(b);
        storage.setItem(`pubkeyID:${b.id}`, b.pub.idB64);
        trust.accept(b.id, b2.pub.idB64, b2.json);
        expect([...trust.knownKeys(b.id)]).toEqual([[b.pub.idB64, null], [b2.pub.idB64, b2.json]]);
        trust.remember(b.id, b.pub.idB64, b.json);
        expect([...trust.knownKeys(b.id)]).toEqual([[b.pub.idB64, b.json], [b2.pub.idB64, b2.json]]);
    });

    test('is bounded, ignores unreadable storage and refuses bad input', async () => {
        const a = await makeUser('a');
        const storage = new MemoryStorage();
        const trust = new TrustStore(storage);
        const ids: string[] = [];
        for (let i = 0; i < MAX_KNOWN_KEYS + 3; i++) {
            const id = btoa(String.fromCharCode(...new Uint8Array(32).fill(i)));
            ids.push(id);
            trust.remember(a.id, id, a.json);
        }
        expect([...trust.knownKeys(a.id).keys()]).toEqual(ids.slice(3));
        expect(() => trust.remember(a.id, 'short', a.json)).toThrow(TypeError);
        expect(() => trust.remember(a.id, ids[0], {sign: 1} as never)).toThrow(TypeError);

        storage.setItem(`e2eeKnownKeys:${a.id}`, '{broken');
        expect(trust.knownKeys(a.id).size).toBe(0);
        storage.setItem(`e2eeKnownKeys:${a.id}`, JSON.stringify([{id: 'bad', pubkey: a.json}, {id: ids[5], pubkey: 'x'}, {id: ids[6], pubkey: a.json}]));
        expect([...trust.knownKeys(a.id)]).toEqual([[ids[6], a.json]]);
    });
});
