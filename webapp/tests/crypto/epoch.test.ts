// Channel-key mode (docs/design.md §13): epoch records, joiner wraps, v3 messages; tamper and
// context-swap properties.
import {
    CryptoError,
    IntegrityError,
    MalformedError,
    NotRecipientError,
    UnsupportedVersionError,
    createEpochRecord,
    createJoinerWraps,
    decryptV3,
    encryptV3,
    headerOf,
    openEpochKey,
    openEpochKeyFromRecord,
    parseEpochHeader,
    parseEpochRecord,
    parseJoinerWraps,
    parsePart,
    PART_MAX,
} from '../../src/crypto';
import type {EpochKey, EpochRecordJSON, MessageContext} from '../../src/crypto';
import {newUsers, type User} from './helpers';

let users: User[];
const ids = ['alice', 'bob', 'carol', 'dave'];
const CH = 'h3kqs1ic7bdcf8sd9qpz8bn5fc';
const ctx: MessageContext = {channelId: CH, rootId: '', userId: 'alice'};

beforeAll(async () => {
    users = await newUsers(4);
});

const recips = (n: number) => users.slice(0, n).map((u, i) => ({userId: ids[i], key: u.pub}));

async function newRecord(n = 3, epoch = 1, channelId = CH): Promise<{record: EpochRecordJSON; key: EpochKey}> {
    return createEpochRecord({channelId, epoch, creatorId: 'alice', creator: users[0].keys, recipients: recips(n), createdAt: 1764160000000});
}

const FAILURES = [IntegrityError, MalformedError, UnsupportedVersionError, NotRecipientError];

async function attempt<T>(f: () => Promise<T>): Promise<T | CryptoError> {
    try {
        return await f();
    } catch (e) {
        if (!(e instanceof CryptoError)) {
            throw new Error(`untyped exception: ${e}`);
        }
        return e;
    }
}

function flipB64(s: string, bit: number): string {
    const b = Buffer.from(s, 'base64');
    b[bit >> 3] ^= 1 << (bit & 7);
    return b.toString('base64');
}

function flipStr(s: string, bit: number): string {
    const b = Buffer.from(s, 'utf8');
    b[bit >> 3] ^= 1 << (bit & 7);
    return b.toString('latin1');
}

function flipNum(n: number, bit: number): number {
    const v = 2 ** bit;
    return Math.floor(n / v) % 2 === 1 ? n - v : n + v;
}

/** Every single-bit flip of every field of an object: base64 fields by decoded bit, ID strings by
 * byte, integers over 53 bits, and the version. `skip` names fields handled by the caller. */
function flips(o: Record<string, unknown>, b64: string[], strs: string[], nums: string[]): Array<{name: string; value: Record<string, unknown>}> {
    const out: Array<{name: string; value: Record<string, unknown>}> = [];
    for (const f of b64) {
        const bits = Buffer.from(o[f] as string, 'base64').length * 8;
        for (let i = 0; i < bits; i++) {
            out.push({name: `${f} bit ${i}`, value: {...o, [f]: flipB64(o[f] as string, i)}});
        }
    }
    for (const f of strs) {
        for (let i = 0; i < (o[f] as string).length * 8; i++) {
            out.push({name: `${f} bit ${i}`, value: {...o, [f]: flipStr(o[f] as string, i)}});
        }
    }
    for (const f of [...nums, 'version']) {
        for (let i = 0; i < (f === 'version' ? 8 : 53); i++) {
            out.push({name: `${f} bit ${i}`, value: {...o, [f]: flipNum(o[f] as number, i)}});
        }
    }
    return out;
}

function wrapFlips(wraps: string[][]): Array<{name: string; wraps: string[][]}> {
    const out: Array<{name: string; wraps: string[][]}> = [];
    wraps.forEach((w, r) => {
        for (let i = 0; i < w[0].length * 8; i++) {
            const copy = wraps.map((e) => [...e]);
            copy[r][0] = flipStr(w[0], i);
            out.push({name: `wrap ${r} userId bit ${i}`, wraps: copy});
        }
        for (const part of [1, 2]) {
            for (let i = 0; i < Buffer.from(w[part], 'base64').length * 8; i++) {
                const copy = wraps.map((e) => [...e]);
                copy[r][part] = flipB64(w[part], i);
                out.push({name: `wrap ${r}[${part}] bit ${i}`, wraps: copy});
            }
        }
    });
    return out;
}

function expectFailure(name: string, r: unknown): void {
    if (!(r instanceof CryptoError) || !FAILURES.some((c) => r instanceof c)) {
        throw new Error(`${name}: got ${r instanceof CryptoError ? r.name : 'a key or plaintext'}`);
    }
}

test('a record opens for every recipient to the same key, and messages round-trip', async () => {
    const {record, key} = await newRecord(3);
    expect(record.parts).toHaveLength(1);
    const msg = await encryptV3({text: 'hello channel'}, users[0].keys, key, ctx);
    expect(Object.keys(msg)).toEqual(['version', 'createdAt', 'epoch', 'iv', 'encryptedData', 'signature']);
    expect(JSON.stringify(msg).length).toBeLessThan(260);
    for (let i = 0; i < 3; i++) {
        const k = await openEpochKeyFromRecord(record, users[i].keys, users[i].pub, users[0].pub);
        expect(k.key.extractable).toBe(false);
        expect((await decryptV3(msg, users[0].pub, k, ctx)).text).toBe('hello channel');
    }
    expect(key.key.extractable).toBe(false);
    // dave was not a member: a clear NotRecipientError, after the signature check
    await expect(openEpochKeyFromRecord(record, users[3].keys, users[3].pub, users[0].pub)).rejects.toBeInstanceOf(NotRecipientError);
    await expect(openEpochKeyFromRecord(record, users[3].keys, users[3].pub, users[1].pub)).rejects.toBeInstanceOf(IntegrityError);
});

test('every single-bit flip of every record field fails for every recipient', async () => {
    const {record} = await newRecord(3);
    const o = record as unknown as Record<string, unknown>;
    const muts = flips(o, ['pubECDHE', 'commitment', 'signature'], ['channelId', 'creatorId'], ['epoch', 'createdAt']).map((m) => ({name: m.name, rec: m.value}));
    for (const w of wrapFlips(record.parts[0])) {
        muts.push({name: w.name, rec: {...o, parts: [w.wraps]}});
    }
    expect(muts.length).toBeGreaterThan(3000);
    for (const mu of muts) {
        for (let i = 0; i < 3; i++) {
            expectFailure(mu.name, await attempt(() => openEpochKeyFromRecord(mu.rec, users[i].keys, users[i].pub, users[0].pub)));
        }
    }
}, 300000);

test('header form: parts are checked against the signed part hashes', async () => {
    const many = await createEpochRecord({channelId: CH, epoch: 2, creatorId: 'alice', creator: users[0].keys, createdAt: 5, recipients: recips(4)});
    const header = parseEpochHeader(headerOf(many.record));
    const part = parsePart(many.record.parts[0]);
    const k = await openEpochKey(header, {kind: 'part', index: 0, wraps: part}, users[1].keys, users[1].pub, users[0].pub);
    expect(k.epoch).toBe(2);
    const h = headerOf(many.record) as unknown as Record<string, unknown>;
    for (const m of flips({ph: (h.partHashes as string[])[0]}, ['ph'], [], []).filter((x) => x.name.startsWith('ph'))) {
        const bad = parseEpochHeader({...h, partHashes: [m.value.ph]});
        expectFailure(m.name, await attempt(() => openEpochKey(bad, {kind: 'part', index: 0, wraps: part}, users[1].keys, users[1].pub, users[0].pub)));
    }
    // a part from another record of the same channel and epoch
    const other = await createEpochRecord({channelId: CH, epoch: 2, creatorId: 'alice', creator: users[0].keys, recipients: recips(4), createdAt: 5});
    expectFailure('swapped part', await attempt(() => openEpochKey(header, {kind: 'part', index: 0, wraps: parsePart(other.record.parts[0])}, users[1].keys, users[1].pub, users[0].pub)));
    expectFailure('wrong index', await attempt(() => openEpochKey(header, {kind: 'part', index: 1, wraps: part}, users[1].keys, users[1].pub, users[0].pub)));
});

test('records are split in parts of PART_MAX wraps, each with its hash', async () => {
    const rs = Array.from({length: PART_MAX + 3}, (_, i) => ({userId: `u${i}`, key: users[0].pub}));
    // same key twice is refused: every recipient has a distinct key ID
    await expect(createEpochRecord({channelId: CH, epoch: 1, creatorId: 'alice', creator: users[0].keys, recipients: rs})).rejects.toBeInstanceOf(CryptoError);
    const {generateKeys, publicKeyOf} = await import('../../src/crypto');
    const pubs = await Promise.all(Array.from({length: PART_MAX + 3}, async () => publicKeyOf((await generateKeys()).keys)));
    const {record} = await createEpochRecord({
        channelId: CH, epoch: 1, creatorId: 'alice', creator: users[0].keys, recipients: [...recips(1), ...pubs.map((p, i) => ({userId: `u${i}`, key: p}))],
    });
    expect(record.parts.map((p) => p.length)).toEqual([PART_MAX, 4]);
    expect(parseEpochRecord(record).partHashes).toHaveLength(2);
    expect(() => parseEpochRecord({...record, parts: [[...record.parts[0], ...record.parts[1]]]})).toThrow(MalformedError);
    expect(() => parseEpochRecord({...record, parts: [record.parts[0], [record.parts[0][5]]]})).toThrow(/twice/);
}, 120000);

test('record structure: unknown, missing and malformed fields are MalformedError', async () => {
    const {record} = await newRecord(2);
    const o = record as unknown as Record<string, unknown>;
    expect(() => parseEpochRecord({...o, extra: 1})).toThrow(MalformedError);
    for (const f of Object.keys(o)) {
        const rest = {...o};
        delete rest[f];
        expect(() => parseEpochRecord(rest)).toThrow(CryptoError);
        for (const v of [null, '', 0, -1, 1.5, [], {}, 'x'.repeat(70)]) {
            if (!(f === 'createdAt' && v === 0)) { // 0 is a valid createdAt
                expect(() => parseEpochRecord({...o, [f]: v})).toThrow(CryptoError);
            }
        }
    }
    expect(() => parseEpochRecord({...o, version: 4})).toThrow(UnsupportedVersionError);
    expect(() => parseEpochRecord('{')).toThrow(MalformedError);
    expect(() => parseEpochRecord({...o, parts: [[[...record.parts[0][0], 'x']]]})).toThrow(MalformedError);
});

test('every single-bit flip of every message field fails, and context swaps fail', async () => {
    const {record, key} = await newRecord(3);
    const bobKey = await openEpochKeyFromRecord(record, users[1].keys, users[1].pub, users[0].pub);
    const msg = await encryptV3({text: 'tamper me'}, users[0].keys, key, ctx, 1764160000000);
    const o = msg as unknown as Record<string, unknown>;
    const muts = flips(o, ['iv', 'encryptedData', 'signature'], [], ['createdAt', 'epoch']);
    expect(muts.length).toBeGreaterThan(1000);
    for (const mu of muts) {
        expectFailure(mu.name, await attempt(() => decryptV3(mu.value, users[0].pub, bobKey, ctx)));
    }
    // context swaps: channel, thread, author, another epoch of the same channel, another channel's key
    const epoch2 = await newRecord(3, 2);
    const otherCh = await newRecord(3, 1, 'otherchannel0000000000000x');
    const swaps: Array<[string, () => Promise<unknown>]> = [
        ['root', () => decryptV3(msg, users[0].pub, bobKey, {...ctx, rootId: 'somerootpost00000000000000'})],
        ['author', () => decryptV3(msg, users[0].pub, bobKey, {...ctx, userId: 'bob'})],
        ['sender key', () => decryptV3(msg, users[1].pub, bobKey, ctx)],
        ['channel', () => decryptV3(msg, users[0].pub, {...bobKey, channelId: 'otherchannel0000000000000x'}, {...ctx, channelId: 'otherchannel0000000000000x'})],
        ['epoch key', () => decryptV3({...msg, epoch: 2}, users[0].pub, epoch2.key, ctx)],
        ['epoch number', () => decryptV3(msg, users[0].pub, epoch2.key, ctx)],
        ['other channel key', () => decryptV3(msg, users[0].pub, otherCh.key, ctx)],
        ['same epoch, other record', async () => decryptV3(msg, users[0].pub, (await newRecord(3, 1)).key, ctx)],
    ];
    for (const [name, f] of swaps) {
        expectFailure(name, await attempt(f));
    }
    expect((await decryptV3(msg, users[0].pub, bobKey, ctx)).text).toBe('tamper me');
}, 120000);

test('joiner wraps: dave reads the current epoch through a wrap bob added; tampering fails', async () => {
    const {record, key} = await newRecord(3);
    const header = parseEpochHeader(headerOf(record));
    const bobSrc = {kind: 'part' as const, index: 0, wraps: parsePart(record.parts[0])};
    const set = await createJoinerWraps({
        header, source: bobSrc, adder: users[1].keys, adderPublic: users[1].pub, adderId: 'bob', creatorPublic: users[0].pub,
        joiners: [{userId: 'dave', key: users[3].pub}], createdAt: 1764160001000,
    });
    const msg = await encryptV3({text: 'welcome dave'}, users[0].keys, key, ctx);
    const daveKey = await openEpochKey(header, {kind: 'joiner', set: parseJoinerWraps(set), adderPublic: users[1].pub}, users[3].keys, users[3].pub, users[0].pub);
    expect((await decryptV3(msg, users[0].pub, daveKey, ctx)).text).toBe('welcome dave');
    // not in the record itself
    await expect(openEpochKey(header, bobSrc, users[3].keys, users[3].pub, users[0].pub)).rejects.toBeInstanceOf(NotRecipientError);
    // every bit of every field of the joiner set
    const o = set as unknown as Record<string, unknown>;
    const muts = flips(o, ['pubECDHE', 'signature'], ['channelId', 'adderId'], ['epoch', 'createdAt']).map((m) => ({name: m.name, v: m.value}));
    for (const w of wrapFlips(set.wraps)) {
        muts.push({name: w.name, v: {...o, wraps: w.wraps}});
    }
    for (const mu of muts) {
        expectFailure(mu.name, await attempt(async () => openEpochKey(header, {kind: 'joiner', set: parseJoinerWraps(mu.v), adderPublic: users[1].pub}, users[3].keys, users[3].pub, users[0].pub)));
    }
    // wrong adder key, and a set for another record of the same epoch
    expectFailure('adder', await attempt(() => openEpochKey(header, {kind: 'joiner', set: parseJoinerWraps(set), adderPublic: users[2].pub}, users[3].keys, users[3].pub, users[0].pub)));
    const other = parseEpochHeader(headerOf((await newRecord(3)).record));
    expectFailure('other record', await attempt(() => openEpochKey(other, {kind: 'joiner', set: parseJoinerWraps(set), adderPublic: users[1].pub}, users[3].keys, users[3].pub, users[0].pub)));
    // a non-member cannot add: carol's key is not in a 2-member record
    const small = await newRecord(2);
    await expect(createJoinerWraps({
        header: parseEpochHeader(headerOf(small.record)), source: {kind: 'part', index: 0, wraps: parsePart(small.record.parts[0])},
        adder: users[2].keys, adderPublic: users[2].pub, adderId: 'carol', creatorPublic: users[0].pub, joiners: [{userId: 'dave', key: users[3].pub}],
    })).rejects.toBeInstanceOf(NotRecipientError);
}, 300000);
