// Property tests of the message decryptors (docs/design.md §3.2): any mutation of a valid v1, v2 or
// v3 message gives a typed error, or the original plaintext from a mutation that changes nothing
// the format protects (JSON spelling; in v1 the wrapped keys of other recipients, which v1 does
// not sign).
import fc from 'fast-check';

import {
    createEpochRecord,
    decryptMessage,
    decryptV3,
    encryptV1,
    encryptV2,
    encryptV3,
    CryptoError,
    MalformedError,
    verifyMessage,
} from '../../../src/crypto';
import type {EpochKey, MessageContext, MessagePayload} from '../../../src/crypto';
import {toBase64, type Bytes} from '../../../src/crypto/encoding';
import {parseMessage} from '../../../src/crypto/message';
import {ECDSA_SHA256, subtle} from '../../../src/crypto/subtle';
import {signedDataV1} from '../../../src/crypto/v1';
import {signedDataV2} from '../../../src/crypto/v2';
import {parseV3, signedDataV3} from '../../../src/crypto/v3';
import {newUsers, type User} from '../helpers';

import {assertTyped, clone, diff, jestTimeout, mutantsOf, outcome, params, sameValue, valueOf} from './harness';

const CTX: MessageContext = {channelId: 'h3kqs1ic7bdcf8sd9qpz8bn5fc', rootId: '', userId: 'w1o3a8qgf7y5bx9nkd8e4mujhr'};
const PAYLOAD: MessagePayload = {text: 'héllo ✓ \u{1F512}', extra: {n: 1, list: [true, null]}};

let alice: User;
let bob: User;
let carol: User;
let key: EpochKey;
const bases: Record<string, Record<string, unknown>> = {};

beforeAll(async () => {
    [alice, bob, carol] = await newUsers(3);
    // bob (the reader) is not the first recipient: the entries before his are someone else's.
    bases.v1 = await encryptV1(PAYLOAD.text, alice.keys, [carol.pub, bob.pub, alice.pub]);
    bases.v2 = await encryptV2(PAYLOAD, alice.keys, [carol.pub, bob.pub], CTX, 1764160000000);
    bases.v2zero = await encryptV2(PAYLOAD, alice.keys, [bob.pub], CTX, 0); // createdAt 0: -0 spells the same bytes
    const rec = await createEpochRecord({channelId: CTX.channelId, epoch: 1, creatorId: 'alice', creator: alice.keys,
        recipients: [{userId: 'alice', key: alice.pub}, {userId: 'bob', key: bob.pub}], createdAt: 1764160000000});
    key = rec.key;
    bases.v3 = await encryptV3(PAYLOAD, alice.keys, key, CTX, 1764160000000) as unknown as Record<string, unknown>;
    bases.v3zero = await encryptV3(PAYLOAD, alice.keys, key, CTX, 0) as unknown as Record<string, unknown>;
}, 60000);

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

const P2P_ERRORS = ['integrity', 'not_recipient', 'malformed', 'unsupported_version', 'missing_context'] as const;
const V3_ERRORS = ['integrity', 'malformed', 'unsupported_version', 'missing_context'] as const;

/** v1 signs no wrapped key: the signature does not cover any W, and a reader's AES-KW unwrap
 * covers only its own (`reader`), so the others may differ. */
function protectedPart(name: string, value: unknown, reader: string | null = bob.pub.idB64): unknown {
    if (!name.startsWith('v1')) {
        return value;
    }
    const v = clone(value) as {encryptedKey: string[][]};
    v.encryptedKey = v.encryptedKey.map(([id, w]) => [id, id === reader ? w : '(not signed in v1)']);
    return v;
}

/** A decryption that succeeded on a mutant: the plaintext must be the original one, and the
 * mutant the same message as far as the format protects it. */
function assertNeutral(name: string, input: unknown, payload: unknown): void {
    const expected = name.startsWith('v1') ? {text: PAYLOAD.text} : PAYLOAD;
    if (!sameValue(payload, expected)) {
        throw new Error(`wrong plaintext ${JSON.stringify(payload)}`);
    }
    if (!sameValue(protectedPart(name, valueOf(input)), protectedPart(name, bases[name]))) {
        throw new Error(`a changed message was accepted: ${diff(valueOf(input), bases[name]).join('; ')}`);
    }
}

const p2pBase = fc.constantFrom('v1', 'v2', 'v2zero', 'v1', 'v2');
const v3Base = fc.constantFrom('v3', 'v3zero');

test('decryptMessage: a mutated v1/v2 message is a typed error or the same message', async () => {
    await fc.assert(fc.asyncProperty(fc.oneof(p2pBase, v3Base).chain((name) => fc.tuple(fc.constant(name), mutantsOf(bases[name]))), async ([name, m]) => {
        const r = await outcome(() => decryptMessage(m.input, bob.keys, bob.pub, alice.pub, CTX));
        if (!r.ok) {
            assertTyped(r.error, [...P2P_ERRORS]);
            return;
        }
        assertNeutral(name, m.input, r.value.payload);
    }), params());
}, jestTimeout());

test('verifyMessage: a mutated message verifies only when it is the same message', async () => {
    await fc.assert(fc.asyncProperty(p2pBase.chain((name) => fc.tuple(fc.constant(name), mutantsOf(bases[name]))), async ([name, m]) => {
        const r = await outcome(() => verifyMessage(m.input, alice.pub, CTX));
        if (!r.ok) {
            assertTyped(r.error, [...P2P_ERRORS]);
            return;
        }
        if (r.value && !sameValue(protectedPart(name, valueOf(m.input), null), protectedPart(name, bases[name], null))) {
            throw new Error(`a changed message verified: ${diff(valueOf(m.input), bases[name]).join('; ')}`);
        }
    }), params());
}, jestTimeout());

test('decryptV3: a mutated v3 message is a typed error or the same message', async () => {
    await fc.assert(fc.asyncProperty(fc.oneof(v3Base, p2pBase).chain((name) => fc.tuple(fc.constant(name), mutantsOf(bases[name]))), async ([name, m]) => {
        const r = await outcome(() => decryptV3(m.input, alice.pub, key, CTX));
        if (!r.ok) {
            assertTyped(r.error, [...V3_ERRORS]);
            return;
        }
        assertNeutral(name, m.input, r.value);
    }), params());
}, jestTimeout());

// A hostile sender: the mutant, if it still parses, signed again with the sender's key. The
// checks after the signature (unwrap, AES-GCM, payload) must then hold on their own.
async function resign(name: string, input: unknown): Promise<unknown> {
    const sign = async (data: Uint8Array) => toBase64(new Uint8Array(await subtle().sign(ECDSA_SHA256, alice.keys.ecdsa.privateKey, data as Bytes)));
    if (name.startsWith('v3')) {
        const m = await outcome(() => parseV3(input));
        return m.ok ? {...(valueOf(input) as object), signature: await sign(signedDataV3(m.value, CTX, key.commitment))} : input;
    }
    const m = await outcome(() => parseMessage(input));
    if (!m.ok) {
        return input;
    }
    const data = m.value.version === 1 ? await signedDataV1(m.value.iv, m.value.pubECDHE, m.value.keys.map((k) => k.id), m.value.ciphertext) :
        signedDataV2(m.value, CTX);
    return {...(valueOf(input) as object), signature: await sign(data)};
}

test('re-signed by the sender: a typed error, or (v2, v3) the original plaintext', async () => {
    await fc.assert(fc.asyncProperty(fc.oneof(p2pBase, v3Base).chain((name) => fc.tuple(fc.constant(name), mutantsOf(bases[name]))), async ([name, m]) => {
        const input = await resign(name, m.input);
        const r = await outcome(async () => (name.startsWith('v3') ? decryptV3(input, alice.pub, key, CTX) :
            (await decryptMessage(input, bob.keys, bob.pub, alice.pub, CTX)).payload));
        if (!r.ok) {
            assertTyped(r.error, [...P2P_ERRORS]);
            return;
        }
        // v1 has no integrity of its own (AES-CTR under the sender's signature): the sender may
        // sign any ciphertext, and the reader gets whatever text it holds, as valid UTF-8.
        const v = valueOf(input) as Record<string, unknown>;
        const sameCiphertext = v.iv === bases[name].iv && v.encryptedData === bases[name].encryptedData;
        if (name.startsWith('v1') && !sameCiphertext) {
            expect(typeof r.value.text).toBe('string');
            return;
        }
        if (!sameValue(r.value, name.startsWith('v1') ? {text: PAYLOAD.text} : PAYLOAD)) {
            throw new Error(`another plaintext: ${JSON.stringify(r.value)}`);
        }
    }), params());
}, jestTimeout());

const idLike = fc.oneof(fc.constantFrom(CTX.channelId, CTX.userId, '', 'alice'), fc.string({unit: 'binary', maxLength: 30}));
const contextArb: fc.Arbitrary<unknown> = fc.oneof(
    {weight: 4, arbitrary: fc.record({channelId: idLike, rootId: fc.oneof(fc.constant(''), idLike), userId: idLike})},
    {weight: 1, arbitrary: fc.constantFrom(undefined, null, {}, {...CTX, rootId: undefined}, {...CTX, channelId: 7})},
);

test('v2 and v3 are bound to their context: another context is a typed error', async () => {
    await fc.assert(fc.asyncProperty(fc.constantFrom('v2', 'v2zero', 'v3', 'v3zero'), contextArb, async (name, ctx) => {
        const c = ctx as MessageContext;
        const r = await outcome(() => (name.startsWith('v3') ? decryptV3(bases[name], alice.pub, key, c) :
            decryptMessage(bases[name], bob.keys, bob.pub, alice.pub, c).then((d) => d.payload)));
        if (!r.ok) {
            assertTyped(r.error, ['integrity', 'missing_context']);
            return;
        }
        const same = c.channelId === CTX.channelId && c.rootId === CTX.rootId && c.userId === CTX.userId;
        if (!same || !sameValue(r.value, PAYLOAD)) {
            throw new Error(`decrypted under another context ${JSON.stringify(c)}`);
        }
    }), params());
}, jestTimeout());

test('the wrong sender key, reader key or epoch key is a typed error', async () => {
    const [dave] = await newUsers(1); // a recipient of no base message
    const record = (epoch: number, channelId: string) => createEpochRecord({channelId, epoch, creatorId: 'alice', creator: alice.keys,
        recipients: [{userId: 'alice', key: alice.pub}], createdAt: 1764160000000});
    const [sameEpoch, epoch2, otherChannel] = await Promise.all([record(1, CTX.channelId), record(2, CTX.channelId), record(1, 'otherchannel')]);
    const cases: Array<[string, () => Promise<unknown>, string]> = [];
    for (const name of ['v1', 'v2', 'v2zero']) {
        cases.push([`${name} other sender`, () => decryptMessage(bases[name], bob.keys, bob.pub, carol.pub, CTX), 'integrity']);
        cases.push([`${name} not a recipient`, () => decryptMessage(bases[name], dave.keys, dave.pub, alice.pub, CTX), 'not_recipient']);
        // dave's private key with bob's public key: bob's entry unwraps with the wrong key.
        cases.push([`${name} another private key`, () => decryptMessage(bases[name], dave.keys, bob.pub, alice.pub, CTX), 'integrity']);
    }
    for (const name of ['v3', 'v3zero']) {
        cases.push([`${name} other sender`, () => decryptV3(bases[name], carol.pub, key, CTX), 'integrity']);
        cases.push([`${name} another key of epoch 1`, () => decryptV3(bases[name], alice.pub, sameEpoch.key, CTX), 'integrity']);
        cases.push([`${name} key of epoch 2`, () => decryptV3(bases[name], alice.pub, epoch2.key, CTX), 'integrity']);
        cases.push([`${name} key of another channel`, () => decryptV3(bases[name], alice.pub, otherChannel.key, CTX), 'integrity']);
    }
    for (const [what, run, code] of cases) {
        const r = await outcome(run);
        expect([what, r.ok ? 'accepted' : (r.error as {code?: string}).code]).toEqual([what, code]);
    }
}, 60000);

// Any UTF-16 string, lone surrogates included (fast-check's 'binary' unit makes only well-formed ones).
const codeUnits = fc.string({unit: fc.integer({min: 0, max: 0xffff}).map((c) => String.fromCharCode(c)), maxLength: 40});

test('round trip: any payload text decrypts to itself in v1, v2 and v3', async () => {
    await fc.assert(fc.asyncProperty(fc.oneof(fc.string({unit: 'binary', maxLength: 200}), codeUnits), fc.jsonValue({maxDepth: 2}), async (text, extra) => {
        const payload: MessagePayload = {text, extra};
        const v2 = await encryptV2(payload, alice.keys, [bob.pub], CTX, 5);
        expect((await decryptMessage(v2, bob.keys, bob.pub, alice.pub, CTX)).payload).toEqual(JSON.parse(JSON.stringify(payload)));
        const v3 = await encryptV3(payload, alice.keys, key, CTX, 5);
        expect(await decryptV3(v3, alice.pub, key, CTX)).toEqual(JSON.parse(JSON.stringify(payload)));
        const v1 = await outcome(() => encryptV1(text, alice.keys, [bob.pub]));
        if (v1.ok) {
            expect((await decryptMessage(v1.value, bob.keys, bob.pub, alice.pub)).text).toBe(text);
        } else {
            // v1 carries the text as UTF-8: a lone surrogate has no UTF-8 form (v2/v3 escape it in JSON).
            expect(LONE_SURROGATE.test(text)).toBe(true);
            expect(v1.error).toBeInstanceOf(CryptoError);
        }
    }), params(0.5));
}, jestTimeout(0.5));

// Counterexamples the properties found, kept as fixed cases.
describe('regressions', () => {
    test('v3 createdAt -0 is refused (it signs as 0; the server refuses -0, as for v2)', async () => {
        await expect(decryptV3({...bases.v3zero, createdAt: -0}, alice.pub, key, CTX)).rejects.toBeInstanceOf(MalformedError);
        await expect(decryptV3(bases.v3zero, alice.pub, key, CTX)).resolves.toEqual(PAYLOAD);
    });

    test('a v1 text that starts with U+FEFF keeps it (UTF-8 decoding no longer drops a leading BOM)', async () => {
        for (const text of ['\ufeff', '\ufeffhello', '\ufeff\ufeff']) {
            const msg = await encryptV1(text, alice.keys, [bob.pub]);
            expect((await decryptMessage(msg, bob.keys, bob.pub, alice.pub)).text).toBe(text);
        }
    });

    test('v1 refuses a text with a lone surrogate instead of sending U+FFFD', async () => {
        await expect(encryptV1('\ud800', alice.keys, [bob.pub])).rejects.toBeInstanceOf(CryptoError);
        const ok = await encryptV1('\ud83d\udd12', alice.keys, [bob.pub]);
        expect((await decryptMessage(ok, bob.keys, bob.pub, alice.pub)).text).toBe('\u{1F512}');
    });
});
