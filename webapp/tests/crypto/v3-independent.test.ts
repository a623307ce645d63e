// An independent implementation of channel-key mode (docs/design.md §13) on Node's crypto module,
// not our core: it builds the worked example's epoch record, joiner wraps and v3 message from fixed
// inputs (intermediate values pinned to the doc); our core must open and decrypt them, and the
// independent code must open and decrypt what our core writes.
import * as nodeCrypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';

import {
    createEpochRecord,
    createJoinerWraps,
    decryptV3,
    encryptV3,
    headerOf,
    importBackup,
    importPublicKey,
    IntegrityError,
    openEpochKey,
    openEpochKeyFromRecord,
    parseEpochHeader,
    parseJoinerWraps,
    parsePart,
} from '../../src/crypto';
import type {MessageContext} from '../../src/crypto';
import {loadVectors, REPO_ROOT} from './helpers';

const vec = loadVectors();
const user = (n: string) => vec.users.find((u) => u.name === n)!;
const [alice, bob, carol, dave] = ['alice', 'bob', 'carol', 'dave'].map(user);
type VUser = typeof alice;

const hex = (b: Buffer) => b.toString('hex');
const b64 = (b: Buffer) => b.toString('base64');
const unb64 = (s: string) => Buffer.from(s, 'base64');
const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
};
const u64 = (n: number) => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(BigInt(n));
    return b;
};
const framed = (...items: Buffer[]) => Buffer.concat(items.flatMap((it) => [u32(it.length), it]));
const sha256 = (b: Buffer) => nodeCrypto.createHash('sha256').update(b).digest();
const str = (s: string) => Buffer.from(s, 'utf8');

function jwkOf(backup: string, which: 'sign' | 'encr') {
    const body = backup.split('-----')[2].replace(/\s/g, '');
    return JSON.parse(Buffer.from(body, 'base64').toString('utf8'))[which];
}
const keyId = (u: VUser) => sha256(Buffer.concat([unb64(u.pubkey.encr), unb64(u.pubkey.sign)]));
const signKey = (u: VUser) => nodeCrypto.createPrivateKey({key: jwkOf(u.backup, 'sign'), format: 'jwk'});
const verifyKey = (u: VUser) => nodeCrypto.createPublicKey({key: {...jwkOf(u.backup, 'sign'), d: undefined, key_ops: undefined}, format: 'jwk'});
const sign = (u: VUser, data: Buffer) => nodeCrypto.sign('sha256', data, {key: signKey(u), dsaEncoding: 'ieee-p1363'});
const verify = (u: VUser, data: Buffer, sig: Buffer) => nodeCrypto.verify('sha256', data, {key: verifyKey(u), dsaEncoding: 'ieee-p1363'}, sig);

const kw = (mode: 'wrap' | 'unwrap', kwk: Buffer, data: Buffer) => {
    const iv = Buffer.from('A6A6A6A6A6A6A6A6', 'hex');
    const c = mode === 'wrap' ? nodeCrypto.createCipheriv('id-aes256-wrap', kwk, iv) : nodeCrypto.createDecipheriv('id-aes256-wrap', kwk, iv);
    return Buffer.concat([c.update(data), c.final()]);
};

const L = (s: string) => str(`mm-e2ee/channel/v3/${s}`);
const kdfInput = (z: Buffer, ch: string, epoch: number, pubE: Buffer, id: Buffer) => Buffer.concat([u32(1), z, framed(L('kwk'), str(ch), u64(epoch), pubE, id)]);
const commitment = (k: Buffer, ch: string, epoch: number) => nodeCrypto.createHmac('sha256', k).update(framed(L('commitment'), str(ch), u64(epoch))).digest();
type W = [string, Buffer, Buffer]; // userId, key ID, wrapped
const wrapItems = (ws: W[]) => ws.flatMap(([u, id, w]) => [str(u), id, w]);
const partHash = (i: number, ws: W[]) => sha256(framed(L('wraps-part'), u32(i), u32(ws.length), ...wrapItems(ws)));
const recordData = (r: {ch: string; epoch: number; creator: string; createdAt: number; pubE: Buffer; c: Buffer; hashes: Buffer[]}) =>
    framed(L('epoch-record'), u32(3), str(r.ch), u64(r.epoch), str(r.creator), u64(r.createdAt), r.pubE, r.c, u32(r.hashes.length), ...r.hashes);
const joinerData = (j: {ch: string; epoch: number; c: Buffer; adder: string; createdAt: number; pubE: Buffer; wraps: W[]}) =>
    framed(L('joiner-wraps'), u32(3), str(j.ch), u64(j.epoch), j.c, str(j.adder), u64(j.createdAt), j.pubE, u32(j.wraps.length), ...wrapItems(j.wraps));
const aad = (createdAt: number, c: MessageContext, epoch: number, cm: Buffer) =>
    framed(L('payload'), u64(createdAt), str(c.channelId), str(c.rootId), str(c.userId), u64(epoch), cm);
const msgData = (createdAt: number, c: MessageContext, epoch: number, cm: Buffer, iv: Buffer, ct: Buffer) =>
    framed(L('signature'), u32(3), u64(createdAt), str(c.channelId), str(c.rootId), str(c.userId), u64(epoch), cm, iv, ct);

// The worked example's fixed inputs (docs/design.md §13.8).
const EX = {
    channelId: 'h3kqs1ic7bdcf8sd9qpz8bn5fc',
    epoch: 7,
    creatorId: 'w1o3a8qgf7y5bx9nkd8e4mujhr', // alice
    bobId: 'b0b0b0b0b0b0b0b0b0b0b0b0b0',
    daveId: 'd4ved4ved4ved4ved4ved4ved4',
    createdAt: 1764160000000,
    k: Buffer.from('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex'),
    ephD: sha256(str('mm-e2ee v3 worked example record key')),
    joinEphD: sha256(str('mm-e2ee v3 worked example joiner key')),
    iv: Buffer.from('b0b1b2b3b4b5b6b7b8b9babb', 'hex'),
    payload: '{"text":"hello v3"}',
};
const CTX: MessageContext = {channelId: EX.channelId, rootId: '', userId: EX.creatorId};

function wrapSet(ephD: Buffer, k: Buffer, members: Array<[string, VUser]>, ch = EX.channelId, epoch = EX.epoch) {
    const eph = nodeCrypto.createECDH('prime256v1');
    eph.setPrivateKey(ephD);
    const pubE = eph.getPublicKey();
    const steps = members.map(([uid, u]) => {
        const id = keyId(u);
        const z = eph.computeSecret(unb64(u.pubkey.encr));
        const input = kdfInput(z, ch, epoch, pubE, id);
        const kwk = sha256(input);
        return {uid, id, z, input, kwk, wrapped: kw('wrap', kwk, k)};
    });
    return {pubE, steps, wraps: steps.map((s) => [s.uid, s.id, s.wrapped] as W)};
}

const wrapJSON = (ws: W[]) => ws.map(([u, id, w]) => [u, b64(id), b64(w)]);

function buildExample() {
    const c = commitment(EX.k, EX.channelId, EX.epoch);
    const set = wrapSet(EX.ephD, EX.k, [[EX.creatorId, alice], [EX.bobId, bob]]);
    const h0 = partHash(0, set.wraps);
    const rdata = recordData({ch: EX.channelId, epoch: EX.epoch, creator: EX.creatorId, createdAt: EX.createdAt, pubE: set.pubE, c, hashes: [h0]});
    const record = {
        version: 3, channelId: EX.channelId, epoch: EX.epoch, creatorId: EX.creatorId, createdAt: EX.createdAt,
        pubECDHE: b64(set.pubE), commitment: b64(c), parts: [wrapJSON(set.wraps)], signature: b64(sign(alice, rdata)),
    };
    const jset = wrapSet(EX.joinEphD, EX.k, [[EX.daveId, dave]]);
    const jdata = joinerData({ch: EX.channelId, epoch: EX.epoch, c, adder: EX.bobId, createdAt: EX.createdAt + 1000, pubE: jset.pubE, wraps: jset.wraps});
    const joiner = {
        version: 3, channelId: EX.channelId, epoch: EX.epoch, adderId: EX.bobId, createdAt: EX.createdAt + 1000,
        pubECDHE: b64(jset.pubE), wraps: wrapJSON(jset.wraps), signature: b64(sign(bob, jdata)),
    };
    const a = aad(EX.createdAt, CTX, EX.epoch, c);
    const gcm = nodeCrypto.createCipheriv('aes-256-gcm', EX.k, EX.iv);
    gcm.setAAD(a);
    const ct = Buffer.concat([gcm.update(str(EX.payload)), gcm.final(), gcm.getAuthTag()]);
    const mdata = msgData(EX.createdAt, CTX, EX.epoch, c, EX.iv, ct);
    const message = {version: 3, createdAt: EX.createdAt, epoch: EX.epoch, iv: b64(EX.iv), encryptedData: b64(ct), signature: b64(sign(alice, mdata))};
    return {c, set, h0, rdata, record, jset, jdata, joiner, aad: a, ct, mdata, message};
}

/** Independent reader: verifies the record (and the joiner set), unwraps, checks C, decrypts. */
function independentOpen(record: Record<string, unknown>, me: VUser, creator: VUser, joiner?: {set: Record<string, unknown>; adder: VUser}): Buffer {
    const r = record as {channelId: string; epoch: number; creatorId: string; createdAt: number; pubECDHE: string; commitment: string; parts: string[][][]; signature: string};
    const parts = r.parts.map((p) => p.map(([u, id, w]) => [u, unb64(id), unb64(w)] as W));
    const c = unb64(r.commitment);
    const data = recordData({ch: r.channelId, epoch: r.epoch, creator: r.creatorId, createdAt: r.createdAt, pubE: unb64(r.pubECDHE), c,
        hashes: parts.map((p, i) => partHash(i, p))});
    if (!verify(creator, data, unb64(r.signature))) {
        throw new Error('independent: bad record signature');
    }
    let wraps = parts.flat();
    let pubE = unb64(r.pubECDHE);
    if (joiner) {
        const j = joiner.set as {adderId: string; createdAt: number; pubECDHE: string; wraps: string[][]; signature: string; channelId: string; epoch: number};
        wraps = j.wraps.map(([u, id, w]) => [u, unb64(id), unb64(w)] as W);
        pubE = unb64(j.pubECDHE);
        if (j.channelId !== r.channelId || j.epoch !== r.epoch ||
            !verify(joiner.adder, joinerData({ch: r.channelId, epoch: r.epoch, c, adder: j.adderId, createdAt: j.createdAt, pubE, wraps}), unb64(j.signature))) {
            throw new Error('independent: bad joiner signature');
        }
    }
    const mine = wraps.find((w) => w[1].equals(keyId(me)));
    if (!mine) {
        throw new Error('independent: not a recipient');
    }
    const ecdh = nodeCrypto.createECDH('prime256v1');
    ecdh.setPrivateKey(Buffer.from(jwkOf(me.backup, 'encr').d, 'base64url'));
    const k = kw('unwrap', sha256(kdfInput(ecdh.computeSecret(pubE), r.channelId, r.epoch, pubE, mine[1])), mine[2]);
    if (!commitment(k, r.channelId, r.epoch).equals(c)) {
        throw new Error('independent: commitment mismatch');
    }
    return k;
}

function independentDecrypt(msg: Record<string, unknown>, k: Buffer, c: Buffer, sender: VUser, ctx: MessageContext): string {
    const m = msg as {createdAt: number; epoch: number; iv: string; encryptedData: string; signature: string};
    const ct = unb64(m.encryptedData);
    if (!verify(sender, msgData(m.createdAt, ctx, m.epoch, c, unb64(m.iv), ct), unb64(m.signature))) {
        throw new Error('independent: bad message signature');
    }
    const d = nodeCrypto.createDecipheriv('aes-256-gcm', k, unb64(m.iv));
    d.setAAD(aad(m.createdAt, ctx, m.epoch, c));
    d.setAuthTag(ct.subarray(ct.length - 16));
    return JSON.parse(Buffer.concat([d.update(ct.subarray(0, ct.length - 16)), d.final()]).toString('utf8')).text;
}

const EXPECTED = {
    commitment: 'c50fd8ff2f4d9015893670be2cbb5c48ee728e3e1ca59a01df4137dde725fdd5',
    pubE: '041720ae2fb640c3175c72f1bdea98fa6eacfc30974ca7b685a1b5ba7973dd203e045574422e5d8d237c7ca6c6fe1be5c77792a27ece31cf90c0455ec132d5e6cc',
    kwk: ['bed623ef0d2f469bdd756cbb0b2957f59d99b055caa043224a4c42e6c8452278', 'da1b62bd2dce27c1e0d49cc5f55bf6538e9df4932cec51e52bb882ecc4712273'],
    wrapped: ['3cc63dcab7c6555c82e14f8d10ad16e1a0a4ab2b644dc36150d26a85444438f38c64cc62ca6d752a', '33d3afb969ba807ae9fd0b02a71b3778e5bffa00810647c722772e6fef1b9de4e27d3865fe8e8a6c'],
    partHash: '8a66696843c1d8c81c36c223cf5b4914c738b67d9c0f31066738525ba143f824',
    recordDataSha256: '22ff29340b7ca3ee6df5c90b1354dc292f27b6f8ca47e3ea067ac0e1d81a603b',
    joinPubE: '0486a173bf8b6609dd0abe6bcfa74bfe120b1de55c95911cc33369118eb7b76b66ba54da1d45d509c4a140a411e1079fb2fa04eb0482daf1b27d6c4d9380ff5848',
    joinWrapped: '6abf52ed2de3298454d03a5f93f71c056ef0582008f2e6ce9af4a4f0ed5e0d8a77e19a8950994d7a',
    joinDataSha256: 'd88b49f0540c54d844f2fbd789be7546f957309ec0a1235761f78b1f18b6b77d',
    ct: 'e2772ece94b999656590f2cea132a8b4b71e344ab7c53aded1350ccf8a9ceaa527847e',
    messageDataSha256: '065fabf351666a0a25fd3f2d1b0c00f8e5440bca87f457307630e878a6a630f1',
};

test('the worked example: intermediate values as in docs/design.md', () => {
    const ex = buildExample();
    const got = {
        commitment: hex(ex.c),
        pubE: hex(ex.set.pubE),
        kwk: ex.set.steps.map((s) => hex(s.kwk)),
        wrapped: ex.set.steps.map((s) => hex(s.wrapped)),
        partHash: hex(ex.h0),
        recordDataSha256: hex(sha256(ex.rdata)),
        joinPubE: hex(ex.jset.pubE),
        joinWrapped: hex(ex.jset.steps[0].wrapped),
        joinDataSha256: hex(sha256(ex.jdata)),
        ct: hex(ex.ct),
        messageDataSha256: hex(sha256(ex.mdata)),
    };
    if (process.env.PRINT_EXAMPLE) {
        console.warn(JSON.stringify({...got, ids: ex.set.steps.map((s) => hex(s.id)), z: ex.set.steps.map((s) => hex(s.z)),
            kdfInput: ex.set.steps.map((s) => hex(s.input)), rdata: hex(ex.rdata), aad: hex(ex.aad), mdata: hex(ex.mdata), jdata: hex(ex.jdata),
            record: ex.record, joiner: ex.joiner, message: ex.message}, null, 1));
    }
    expect(got).toEqual(EXPECTED);
});

test('our core opens the independently built record and joiner wraps and decrypts the message', async () => {
    const ex = buildExample();
    const alicePub = await importPublicKey(alice.pubkey);
    for (const u of [alice, bob]) {
        const k = await openEpochKeyFromRecord(ex.record, await importBackup(u.backup), await importPublicKey(u.pubkey), alicePub);
        expect((await decryptV3(ex.message, alicePub, k, CTX)).text).toBe('hello v3');
        await expect(decryptV3(ex.message, alicePub, k, {...CTX, rootId: 'x'})).rejects.toBeInstanceOf(IntegrityError);
    }
    const header = parseEpochHeader(headerOf(ex.record));
    const daveK = await openEpochKey(header, {kind: 'joiner', set: parseJoinerWraps(ex.joiner), adderPublic: await importPublicKey(bob.pubkey)},
        await importBackup(dave.backup), await importPublicKey(dave.pubkey), alicePub);
    expect((await decryptV3(ex.message, alicePub, daveK, CTX)).text).toBe('hello v3');
});

test('a joiner set wrapping another key, correctly signed by its adder, fails the commitment check', async () => {
    const ex = buildExample();
    const otherK = Buffer.alloc(32, 0x42);
    const jset = wrapSet(EX.joinEphD, otherK, [[EX.daveId, dave]]);
    const jdata = joinerData({ch: EX.channelId, epoch: EX.epoch, c: ex.c, adder: EX.bobId, createdAt: 1, pubE: jset.pubE, wraps: jset.wraps});
    const evil = {version: 3, channelId: EX.channelId, epoch: EX.epoch, adderId: EX.bobId, createdAt: 1, pubECDHE: b64(jset.pubE),
        wraps: wrapJSON(jset.wraps), signature: b64(sign(bob, jdata))};
    await expect(openEpochKey(parseEpochHeader(headerOf(ex.record)), {kind: 'joiner', set: parseJoinerWraps(evil), adderPublic: await importPublicKey(bob.pubkey)},
        await importBackup(dave.backup), await importPublicKey(dave.pubkey), await importPublicKey(alice.pubkey))).rejects.toThrow(/commitment/);
    // the same for a creator who gives one member another key
    const set = wrapSet(EX.ephD, EX.k, [[EX.creatorId, alice]]);
    const bad = wrapSet(EX.ephD, otherK, [[EX.bobId, bob]]);
    const wraps = [...set.wraps, ...bad.wraps];
    const rdata = recordData({ch: EX.channelId, epoch: EX.epoch, creator: EX.creatorId, createdAt: 1, pubE: set.pubE, c: ex.c, hashes: [partHash(0, wraps)]});
    const rec = {version: 3, channelId: EX.channelId, epoch: EX.epoch, creatorId: EX.creatorId, createdAt: 1, pubECDHE: b64(set.pubE),
        commitment: b64(ex.c), parts: [wrapJSON(wraps)], signature: b64(sign(alice, rdata))};
    await expect(openEpochKeyFromRecord(rec, await importBackup(bob.backup), await importPublicKey(bob.pubkey), await importPublicKey(alice.pubkey)))
        .rejects.toThrow(/commitment/);
});

test('the independent implementation opens and decrypts what our core writes', async () => {
    const aliceKeys = await importBackup(alice.backup);
    const pub = async (u: VUser) => importPublicKey(u.pubkey);
    const {record, key} = await createEpochRecord({
        channelId: EX.channelId, epoch: 3, creatorId: EX.creatorId, creator: aliceKeys,
        recipients: [{userId: EX.creatorId, key: await pub(alice)}, {userId: EX.bobId, key: await pub(bob)}],
    });
    const text = 'from our core — ✓';
    const msg = await encryptV3({text}, aliceKeys, key, CTX, 1764160001234);
    const c = unb64(record.commitment);
    const kBob = independentOpen(record as unknown as Record<string, unknown>, bob, alice);
    expect(independentDecrypt(msg as unknown as Record<string, unknown>, kBob, c, alice, CTX)).toBe(text);
    expect(() => independentDecrypt(msg as unknown as Record<string, unknown>, kBob, c, alice, {...CTX, channelId: 'other'})).toThrow(/signature/);
    expect(() => independentOpen(record as unknown as Record<string, unknown>, carol, alice)).toThrow(/not a recipient/);
    // bob's browser adds carol; the independent reader opens carol's copy
    const header = parseEpochHeader(headerOf(record));
    const set = await createJoinerWraps({
        header, source: {kind: 'part', index: 0, wraps: parsePart(record.parts[0])}, adder: await importBackup(bob.backup), adderPublic: await pub(bob),
        adderId: EX.bobId, creatorPublic: await pub(alice), joiners: [{userId: 'carol', key: await pub(carol)}],
    });
    const kCarol = independentOpen(record as unknown as Record<string, unknown>, carol, alice, {set: set as unknown as Record<string, unknown>, adder: bob});
    expect(kCarol.equals(kBob)).toBe(true);
});

test('the example record and message printed in docs/design.md open and decrypt as bob', async () => {
    const doc = fs.readFileSync(path.join(REPO_ROOT, 'docs/design.md'), 'utf8');
    const sec = doc.slice(doc.indexOf('### 13.8'));
    const rec = /Epoch record:\n```json\n([\s\S]*?)```/.exec(sec);
    const msg = /v3 `props.e2ee`:\n```json\n([\s\S]*?)```/.exec(sec);
    expect(rec).not.toBeNull();
    expect(msg).not.toBeNull();
    const alicePub = await importPublicKey(alice.pubkey);
    const k = await openEpochKeyFromRecord(JSON.parse(rec![1]), await importBackup(bob.backup), await importPublicKey(bob.pubkey), alicePub);
    expect((await decryptV3(JSON.parse(msg![1]), alicePub, k, CTX)).text).toBe('hello v3');
});
