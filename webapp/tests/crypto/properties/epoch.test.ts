// Property tests of channel-key records (docs/design.md §3.2, §13): any mutation of a valid epoch
// record (full or header form), part or joiner set gives a typed error, or (JSON spelling only)
// the original channel key. Mutants re-signed by the creator or adder (a hostile member) reach
// the checks after the signature: they give a typed error or the one key the record commits to.
import fc from 'fast-check';

import {
    createEpochRecord,
    createJoinerWraps,
    headerOf,
    MalformedError,
    openEpochKey,
    openEpochKeyFromRecord,
    parseEpochHeader,
    parseEpochRecord,
    parseJoinerWraps,
    parsePart,
} from '../../../src/crypto';
import type {EpochHeaderJSON, EpochKey, EpochRecordJSON, JoinerWrapsJSON, ParsedEpochHeader, WrapJSON} from '../../../src/crypto';
import {joinerSignedData, recordSignedData} from '../../../src/crypto/epoch';
import {toBase64} from '../../../src/crypto/encoding';
import {ECDSA_SHA256, subtle} from '../../../src/crypto/subtle';
import {newUsers, type User} from '../helpers';

import {assertTyped, diff, jestTimeout, mutantsOf, outcome, params, sameValue, valueOf} from './harness';

const CH = 'h3kqs1ic7bdcf8sd9qpz8bn5fc';
const READ_ERRORS = ['integrity', 'not_recipient', 'malformed', 'unsupported_version'] as const;

let alice: User; // creator and adder
let bob: User; // reader of the record
let carol: User; // the third member
let dave: User; // joiner, reads through the joiner set
const records: Record<string, EpochRecordJSON> = {};
const keys: Record<string, EpochKey> = {};
let header: EpochHeaderJSON;
let parsedHeader: ParsedEpochHeader;
let part0: WrapJSON[];
let joiner: JoinerWrapsJSON;

beforeAll(async () => {
    [alice, bob, carol, dave] = await newUsers(4);
    const make = (createdAt: number) => createEpochRecord({channelId: CH, epoch: 1, creatorId: 'alice', creator: alice.keys, createdAt,
        recipients: [{userId: 'alice', key: alice.pub}, {userId: 'bob', key: bob.pub}, {userId: 'carol', key: carol.pub}]});
    const [a, b] = await Promise.all([make(1764160000000), make(0)]);
    records.rec = a.record;
    keys.rec = a.key;
    records.recZero = b.record; // createdAt 0: -0 signs the same bytes
    keys.recZero = b.key;
    header = headerOf(records.rec);
    parsedHeader = parseEpochHeader(header);
    part0 = records.rec.parts[0];
    joiner = await createJoinerWraps({header: parsedHeader, source: {kind: 'part', index: 0, wraps: parsePart(part0)}, adder: alice.keys,
        adderPublic: alice.pub, adderId: 'alice', creatorPublic: alice.pub, joiners: [{userId: 'dave', key: dave.pub}], createdAt: 1764160000001});
}, 60000);

/** The opened key must be the record's channel key: same epoch, channel and commitment, and it
 * decrypts what the original key encrypts. */
async function assertSameKey(got: EpochKey, want: EpochKey): Promise<void> {
    if (got.channelId !== want.channelId || got.epoch !== want.epoch || toBase64(got.commitment) !== toBase64(want.commitment)) {
        throw new Error(`opened another epoch: ${got.channelId} ${got.epoch}`);
    }
    const iv = new Uint8Array(12);
    const probe = await subtle().encrypt({name: 'AES-GCM', iv}, want.key, new Uint8Array([1, 2, 3]));
    const back = new Uint8Array(await subtle().decrypt({name: 'AES-GCM', iv}, got.key, probe));
    expect(Array.from(back)).toEqual([1, 2, 3]);
}

function assertNeutral(input: unknown, base: unknown): void {
    if (!sameValue(valueOf(input), base)) {
        throw new Error(`a changed record was accepted: ${diff(valueOf(input), base).join('; ')}`);
    }
}

// A hostile creator or adder: the mutant, if it still parses, signed again with the signer's key.
async function resignRecord(input: unknown): Promise<unknown> {
    const r = await outcome(() => parseEpochRecord(input));
    if (!r.ok) {
        return input;
    }
    const sig = new Uint8Array(await subtle().sign(ECDSA_SHA256, alice.keys.ecdsa.privateKey, recordSignedData(r.value)));
    return {...(valueOf(input) as object), signature: toBase64(sig)};
}

async function resignJoiner(input: unknown): Promise<unknown> {
    const r = await outcome(() => parseJoinerWraps(input));
    if (!r.ok) {
        return input;
    }
    const sig = new Uint8Array(await subtle().sign(ECDSA_SHA256, alice.keys.ecdsa.privateKey, joinerSignedData(r.value, parsedHeader.commitment)));
    return {...(valueOf(input) as object), signature: toBase64(sig)};
}

const recordBase = fc.constantFrom('rec', 'recZero');

test('full record: a mutant is a typed error or the same record and key', async () => {
    await fc.assert(fc.asyncProperty(recordBase.chain((name) => fc.tuple(fc.constant(name), mutantsOf(records[name]))), async ([name, m]) => {
        const r = await outcome(() => openEpochKeyFromRecord(m.input, bob.keys, bob.pub, alice.pub));
        if (!r.ok) {
            assertTyped(r.error, [...READ_ERRORS]);
            return;
        }
        assertNeutral(m.input, records[name]);
        await assertSameKey(r.value, keys[name]);
    }), params());
}, jestTimeout());

test('full record re-signed by its creator: a typed error or the committed key', async () => {
    await fc.assert(fc.asyncProperty(recordBase.chain((name) => fc.tuple(fc.constant(name), mutantsOf(records[name]))), async ([name, m]) => {
        const input = await resignRecord(m.input);
        const r = await outcome(() => openEpochKeyFromRecord(input, bob.keys, bob.pub, alice.pub));
        if (!r.ok) {
            assertTyped(r.error, [...READ_ERRORS]);
            return;
        }
        // The creator may sign other metadata (createdAt, creatorId), but bob can only open K.
        await assertSameKey(r.value, keys[name]);
    }), params());
}, jestTimeout());

test('header form: a mutant is a typed error or the same header and key', async () => {
    const wraps = parsePart(part0);
    await fc.assert(fc.asyncProperty(mutantsOf(header), async (m) => {
        const r = await outcome(async () => openEpochKey(parseEpochHeader(m.input), {kind: 'part', index: 0, wraps}, bob.keys, bob.pub, alice.pub));
        if (!r.ok) {
            assertTyped(r.error, [...READ_ERRORS]);
            return;
        }
        assertNeutral(m.input, header);
        await assertSameKey(r.value, keys.rec);
    }), params());
}, jestTimeout());

test('part: a mutant (or another index) is a typed error or the same part and key', async () => {
    await fc.assert(fc.asyncProperty(mutantsOf(part0), fc.oneof(fc.constant(0), fc.integer({min: -2, max: 3}), fc.constantFrom(NaN, 0.5, -0)),
        async (m, index) => {
            const r = await outcome(async () => openEpochKey(parsedHeader, {kind: 'part', index, wraps: parsePart(m.input)}, bob.keys, bob.pub, alice.pub));
            if (!r.ok) {
                assertTyped(r.error, [...READ_ERRORS]);
                return;
            }
            assertNeutral(m.input, part0);
            await assertSameKey(r.value, keys.rec);
        }), params());
}, jestTimeout());

test('joiner set: a mutant is a typed error or the same set and key', async () => {
    await fc.assert(fc.asyncProperty(mutantsOf(joiner), fc.boolean(), async (m, resign) => {
        const input = resign ? await resignJoiner(m.input) : m.input;
        const r = await outcome(async () => openEpochKey(parsedHeader, {kind: 'joiner', set: parseJoinerWraps(input), adderPublic: alice.pub},
            dave.keys, dave.pub, alice.pub));
        if (!r.ok) {
            assertTyped(r.error, [...READ_ERRORS]);
            return;
        }
        if (!resign) {
            assertNeutral(input, joiner);
        }
        await assertSameKey(r.value, keys.rec);
    }), params());
}, jestTimeout());

test('joiner set for another record of the same epoch is refused', async () => {
    const other = await createEpochRecord({channelId: CH, epoch: 1, creatorId: 'alice', creator: alice.keys, createdAt: 1764160000000,
        recipients: [{userId: 'alice', key: alice.pub}]});
    const r = await outcome(() => openEpochKey(parseEpochHeader(headerOf(other.record)), {kind: 'joiner', set: parseJoinerWraps(joiner), adderPublic: alice.pub},
        dave.keys, dave.pub, alice.pub));
    expect(r.ok).toBe(false);
    assertTyped((r as {error: unknown}).error, ['integrity']);
}, 60000);

test('createJoinerWraps from a mutated header or part: a typed error, or a set that opens the committed key', async () => {
    await fc.assert(fc.asyncProperty(fc.oneof(
        mutantsOf(header).map((m) => ({h: m.input, p: part0 as unknown})),
        mutantsOf(part0).map((m) => ({h: header as unknown, p: m.input})),
    ), async ({h, p}) => {
        const r = await outcome(async () => createJoinerWraps({header: parseEpochHeader(h), source: {kind: 'part', index: 0, wraps: parsePart(p)},
            adder: bob.keys, adderPublic: bob.pub, adderId: 'bob', creatorPublic: alice.pub, joiners: [{userId: 'dave', key: dave.pub}], createdAt: 5}));
        if (!r.ok) {
            assertTyped(r.error, [...READ_ERRORS]);
            return;
        }
        const k = await openEpochKey(parsedHeader, {kind: 'joiner', set: parseJoinerWraps(r.value), adderPublic: bob.pub}, dave.keys, dave.pub, alice.pub);
        await assertSameKey(k, keys.rec);
    }), params(0.5));
}, jestTimeout(0.5));

describe('regressions', () => {
    test('a header with more part hashes than the server accepts (100) is refused (found by parser_agreement)', () => {
        const hashes = (n: number) => Array.from({length: n}, () => header.partHashes[0]);
        expect(() => parseEpochHeader({...header, partHashes: hashes(101)})).toThrow(MalformedError);
        expect(parseEpochHeader({...header, partHashes: hashes(100)}).partHashes).toHaveLength(100);
    });

    test('createdAt -0 in a record or joiner set is refused (signs as 0)', () => {
        expect(() => parseEpochRecord({...records.recZero, createdAt: -0})).toThrow(MalformedError);
        expect(() => parseJoinerWraps({...joiner, createdAt: -0})).toThrow(MalformedError);
    });
});
