// The browser's channel-key service with real crypto and a fake server API: rotation when stale,
// adopting the winner's epoch after a lost race (409), waiting and not-a-member states, joiner wraps.
import {createEpochRecord, createJoinerWraps, encryptV3, headerOf, parseEpochHeader, parsePart, publicKeyToJSON, type EpochRecordJSON} from '../../src/crypto';
import {KeyDirectory, KeyHistory, TrustStore} from '../../src/directory';
import {ChannelKeyService, type ChannelKeyAPI, type EpochStatusJSON} from '../../src/messages/channel_key';
import {newUsers, type User} from '../crypto/helpers';
import {MemoryStorage} from './helpers';

const CH = 'chanchanchanchanchanchanch';
let users: User[];
const ids = ['aliceidaliceidaliceidalice', 'bobidbobidbobidbobidbobidb', 'daveiddaveiddaveiddaveidda'];

beforeAll(async () => {
    users = await newUsers(3);
});

class FakeServer implements ChannelKeyAPI {
    records = new Map<number, EpochRecordJSON>();
    head = 0;
    stale = 'no_epoch';
    joiners = new Map<string, unknown>();
    rejectNextCommit = false;
    commits = 0;
    async epochStatus(_ch: string, epoch?: number): Promise<EpochStatusJSON> {
        const e = epoch ?? this.head;
        const rec = this.records.get(e);
        const covered = new Set([...(rec?.parts.flat().map((w) => w[0]) ?? []), ...[...this.joiners.keys()].filter((k) => k.startsWith(`${e}:`)).map((k) => k.split(':')[1])]);
        return {epoch: e, stale: epoch ? 'past' : this.stale, missing: this.members.filter((m) => !covered.has(m)), historySharing: false};
    }
    members = [ids[0], ids[1]];
    async readEpoch(_ch: string, epoch: number, as = ids[0]) {
        const rec = this.records.get(epoch)!;
        const part = rec.parts.findIndex((p) => p.some((w) => w[0] === as));
        return {epoch, head: this.head, header: headerOf(rec), part, wraps: part >= 0 ? rec.parts[part] : undefined, joiner: this.joiners.get(`${epoch}:${as}`)};
    }
    private uploaded: unknown[] = [];
    async uploadPart(_ch: string, _e: number, _t: string, _i: number, wraps: unknown) {
        this.uploaded.push(wraps);
        return {};
    }
    async commitEpoch(_ch: string, header: unknown) {
        this.commits++;
        if (this.rejectNextCommit) {
            this.rejectNextCommit = false;
            // Another member won epoch head+1 meanwhile.
            const {record} = await createEpochRecord({channelId: CH, epoch: this.head + 1, creatorId: ids[1], creator: users[1].keys,
                recipients: this.members.map((m, i) => ({userId: m, key: users[i].pub}))});
            this.records.set(record.epoch, record);
            this.head = record.epoch;
            this.stale = '';
            throw Object.assign(new Error('conflict'), {status: 409});
        }
        const h = {...(header as Record<string, unknown>)};
        const signature = h.signature;
        delete h.partHashes;
        delete h.signature;
        this.records.set(h.epoch as number, {...h, parts: [this.uploaded.pop()], signature} as unknown as EpochRecordJSON);
        this.head = h.epoch as number;
        this.stale = '';
        return {epoch: h.epoch as number};
    }
    async addJoiners(_ch: string, set: unknown) {
        for (const w of (set as {wraps: string[][]}).wraps) {
            this.joiners.set(`${(set as {epoch: number}).epoch}:${w[0]}`, set);
        }
        return {};
    }
}

function service(server: FakeServer, who: number, as = ids[who], extra: {history?: KeyHistory; current?: User[]; trust?: TrustStore} = {}) {
    const current = extra.current ?? users;
    const directory = new KeyDirectory({
        fetchKeys: async (list) => Object.fromEntries(list.map((id) => [id, ids.includes(id) ? publicKeyToJSON(current[ids.indexOf(id)].pub) : null])),
        importKey: async (json) => (await import('../../src/crypto')).importPublicKey(json),
    });
    const api: ChannelKeyAPI = {...server, epochStatus: (c, e) => server.epochStatus(c, e), readEpoch: (c, e) => server.readEpoch(c, e, as),
        uploadPart: (...a) => server.uploadPart(...a), commitEpoch: (...a) => server.commitEpoch(...a), addJoiners: (...a) => server.addJoiners(...a)};
    return new ChannelKeyService({
        api, directory, trust: extra.trust ?? new TrustStore(new MemoryStorage()), history: extra.history,
        myKeys: {get: async () => users[who].keys, getPublic: async () => users[who].pub, onChange: () => () => undefined},
        listMembers: async () => server.members.map((id) => ({id, username: id.slice(0, 5)})),
    });
}

const ctx = (who: number) => ({channelId: CH, rootId: '', userId: ids[who]});

test('the first post rotates; a lost race adopts the winner and encrypts under its epoch', async () => {
    const server = new FakeServer();
    const alice = service(server, 0);
    const m1 = await alice.encrypt('first', ctx(0));
    expect(m1.epoch).toBe(1);
    expect(server.commits).toBe(1);
    const bob = service(server, 1);
    expect((await bob.decrypt(m1, users[0].pub, ctx(0))).text).toBe('first');

    server.stale = 'member_left';
    server.rejectNextCommit = true;
    const m2 = await alice.encrypt('after the race', ctx(0));
    expect(m2.epoch).toBe(2); // bob's epoch 2, adopted
    expect(server.records.get(2)!.creatorId).toBe(ids[1]);
    expect((await bob.decrypt(m2, users[0].pub, ctx(0))).text).toBe('after the race');
});

test('a newcomer waits for the channel key, gets it from a member, and is not a member of older epochs', async () => {
    const server = new FakeServer();
    const alice = service(server, 0);
    const m1 = await alice.encrypt('epoch one', ctx(0));
    server.stale = 'member_left';
    const m2 = await alice.encrypt('epoch two', ctx(0));
    server.members.push(ids[2]);
    const dave = service(server, 2);
    await expect(dave.decrypt(m2, users[0].pub, ctx(0))).rejects.toMatchObject({code: 'epoch_key'});
    await expect(dave.decrypt(m1, users[0].pub, ctx(0))).rejects.toMatchObject({code: 'not_recipient'});
    await alice.encrypt('dave is here', ctx(0)); // adds dave's joiner wrap for epoch 2
    for (let i = 0; i < 50 && !server.joiners.has(`2:${ids[2]}`); i++) {
        await new Promise((r) => setTimeout(r, 20));
    }
    expect((await dave.decrypt(m2, users[0].pub, ctx(0))).text).toBe('epoch two');
});

test('a newcomer without a copy yet who posts starts the next epoch instead of failing', async () => {
    const server = new FakeServer();
    await service(server, 0).encrypt('epoch one', ctx(0));
    server.members.push(ids[2]);
    const dave = service(server, 2);
    const m = await dave.encrypt('hello from dave', ctx(2));
    expect(m.epoch).toBe(2);
    expect(server.records.get(2)!.parts.flat().map((w) => w[0]).sort()).toEqual([...ids].sort());
    expect((await service(server, 0).decrypt(m, users[2].pub, ctx(2))).text).toBe('hello from dave');
});

test('a record signed before its creator replaced her key still opens, with the key the history shows for its time', async () => {
    const server = new FakeServer();
    const before = Date.now();
    const m1 = await service(server, 0).encrypt('before alice changed keys', ctx(0));
    // Alice replaces her key afterwards: the directory now serves the new one.
    const [aliceNew] = await newUsers(1);
    const current = [aliceNew, users[1], users[2]];
    const changedAt = Date.now() + 10 * 60_000;
    const history = (retiredAt: number) => new KeyHistory({
        fetchHistory: async (list) => Object.fromEntries(list.map((id) => [id, id === ids[0] ?
            [{since: before - 60 * 60_000, pubkey: publicKeyToJSON(users[0].pub)}, {since: retiredAt, pubkey: publicKeyToJSON(aliceNew.pub)}] : []])),
        importKey: async (json) => (await import('../../src/crypto')).importPublicKey(json),
    });

    // Without the history the record is an integrity error (the current key did not sign it).
    await expect(service(server, 1, ids[1], {current}).decrypt(m1, users[0].pub, ctx(0))).rejects.toMatchObject({code: 'integrity'});

    // With it: readable, and marked as vouched for only by the server's history.
    const bob = service(server, 1, ids[1], {current, history: history(changedAt)});
    expect((await bob.decrypt(m1, users[0].pub, ctx(0))).text).toBe('before alice changed keys');
    expect(bob.keySource(CH, m1.epoch)).toEqual({source: 'server', signerId: ids[0]});

    // A browser that had trusted alice's old key marks it as trusted.
    const trust = new TrustStore(new MemoryStorage());
    trust.accept(ids[0], users[0].pub.idB64, users[0].pub.json);
    const carol = service(server, 1, ids[1], {current, history: history(changedAt), trust});
    await carol.decrypt(m1, users[0].pub, ctx(0));
    expect(carol.keySource(CH, m1.epoch)?.source).toBe('trusted');

    // A key the history shows retired long before the record was made does not count.
    const late = service(server, 1, ids[1], {current, history: history(before - 30 * 60_000)});
    await expect(late.decrypt(m1, users[0].pub, ctx(0))).rejects.toMatchObject({code: 'integrity'});
});

test('a joiner copy added by a member who then replaced her key still opens, marked by the adder\'s earlier key', async () => {
    const server = new FakeServer();
    const before = Date.now();
    // Bob's epoch for alice and bob; alice (holding a copy) adds dave's.
    const {record, key} = await createEpochRecord({channelId: CH, epoch: 1, creatorId: ids[1], creator: users[1].keys,
        recipients: [{userId: ids[0], key: users[0].pub}, {userId: ids[1], key: users[1].pub}]});
    server.records.set(1, record);
    server.head = 1;
    server.stale = '';
    const set = await createJoinerWraps({header: parseEpochHeader(headerOf(record)), source: {kind: 'part', index: 0, wraps: parsePart(record.parts[0])},
        adder: users[0].keys, adderPublic: users[0].pub, adderId: ids[0], creatorPublic: users[1].pub, joiners: [{userId: ids[2], key: users[2].pub}]});
    server.joiners.set(`1:${ids[2]}`, set);
    const m = await encryptV3({text: 'for dave too'}, users[1].keys, key, ctx(1));
    const [aliceNew] = await newUsers(1);
    const current = [aliceNew, users[1], users[2]];
    await expect(service(server, 2, ids[2], {current}).decrypt(m, users[1].pub, ctx(1))).rejects.toMatchObject({code: 'integrity'});
    const history = new KeyHistory({
        fetchHistory: async (list) => Object.fromEntries(list.map((id) => [id, id === ids[0] ?
            [{since: before - 3_600_000, pubkey: publicKeyToJSON(users[0].pub)}, {since: Date.now() + 60_000, pubkey: publicKeyToJSON(aliceNew.pub)}] : []])),
        importKey: async (json) => (await import('../../src/crypto')).importPublicKey(json),
    });
    const dave = service(server, 2, ids[2], {current, history});
    expect((await dave.decrypt(m, users[1].pub, ctx(1))).text).toBe('for dave too');
    expect(dave.keySource(CH, 1)).toEqual({source: 'server', signerId: ids[0]});
});
