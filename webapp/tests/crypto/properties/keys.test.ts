// Property tests of public key import, P-256 point checks, HKP answers and safety numbers
// (docs/design.md §3.2, §4, §8, §11.1). A public key is not authenticated: a changed key JSON is an
// InvalidKeyError or exactly the key its fields state; the point check agrees with WebCrypto; an
// HKP answer (network input) gives KeyServerError or well-formed entries; safety numbers parse
// nothing, their inputs are bytes: any bytes give 30 digits, empty ones a typed error.
import {createHash} from 'crypto';

import fc from 'fast-check';

import {combineSafetyDigits, formatSafetyNumber, generateKeys, importPublicKey, publicKeyOf, safetyDigits} from '../../../src/crypto';
import type {PublicKey} from '../../../src/crypto';
import {hkpGet, hkpIndex, parseHKPIndex} from '../../../src/crypto/hkp';
import {pointProblem} from '../../../src/crypto/point';
import {ECDH_P256, ECDSA_P256, subtle} from '../../../src/crypto/subtle';

import {applyByteOp, assertTyped, byteOp, jestTimeout, mutantsOf, outcome, params, valueOf} from './harness';

let pub: PublicKey;

beforeAll(async () => {
    pub = await publicKeyOf((await generateKeys()).keys);
});

test('importPublicKey: a mutated key is an InvalidKeyError or exactly the key its fields state', async () => {
    await fc.assert(fc.asyncProperty(mutantsOf(pub.json), async (m) => {
        const r = await outcome(() => importPublicKey(m.input));
        if (!r.ok) {
            assertTyped(r.error, ['invalid_key']);
            return;
        }
        const v = valueOf(m.input) as {sign: string; encr: string};
        const encr = Buffer.from(v.encr, 'base64');
        const sign = Buffer.from(v.sign, 'base64');
        // Canonical base64 only: the text is the encoding of the bytes the key holds.
        expect([encr.toString('base64'), sign.toString('base64')]).toEqual([v.encr, v.sign]);
        expect(Buffer.from(r.value.rawEncr).equals(encr) && Buffer.from(r.value.rawSign).equals(sign)).toBe(true);
        expect(r.value.idB64).toBe(createHash('sha256').update(Buffer.concat([encr, sign])).digest('base64'));
    }), params());
}, jestTimeout());

// Coordinates near the field prime and the curve's edge cases, where a hand-written check errs.
const P = BigInt('0xffffffff00000001000000000000000000000000ffffffffffffffffffffffff');
const coord = (n: bigint) => Buffer.from(n.toString(16).padStart(64, '0'), 'hex');

test('pointProblem agrees with WebCrypto on changed points', async () => {
    const raw = Uint8Array.from(pub.rawEncr);
    const edge = fc.constantFrom(0n, 1n, P - 1n, P, P + 1n, 2n ** 256n - 1n).map(coord);
    const point = fc.oneof(
        fc.array(byteOp, {minLength: 1, maxLength: 2}).map((ops) => ops.reduce(applyByteOp, raw)),
        fc.tuple(fc.boolean(), edge).map(([x, c]) => Uint8Array.from(Buffer.concat([Buffer.from([4]), x ? c : raw.subarray(1, 33), x ? raw.subarray(33) : c]))),
        fc.uint8Array({minLength: 65, maxLength: 65}).map((b) => Uint8Array.from([4, ...b.subarray(1)])),
        fc.constant(raw),
    );
    await fc.assert(fc.asyncProperty(point, async (p) => {
        const problem = pointProblem(p);
        if (p.length !== 65 || p[0] !== 4) {
            expect(problem).not.toBeNull();
            return;
        }
        const bytes = new Uint8Array(p);
        const [ecdh, ecdsa] = await Promise.all([
            outcome(() => subtle().importKey('raw', bytes, ECDH_P256, true, [])),
            outcome(() => subtle().importKey('raw', bytes, ECDSA_P256, true, ['verify'])),
        ]);
        expect([problem === null, problem === null]).toEqual([ecdh.ok, ecdsa.ok]);
    }), params());
}, jestTimeout());

// ---- HKP answers ----

const INDEX = [
    'info:1:2',
    'pub:0123456789ABCDEF0123456789ABCDEF01234567:22:256:1700000000::',
    'uid:Alice%20Example%20%3Calice@example.org%3E:1700000000::',
    'pub:89ABCDEF:1:4096:1600000000:1650000000:',
    'uid:Old:1600000000::',
    'pub:FEDCBA9876543210:1:2048:1600000000::r',
    'uid:Revoked:1600000000::',
].join('\n');

function wellFormed(keys: ReturnType<typeof parseHKPIndex>): void {
    for (const k of keys) {
        expect(k.keyId).toMatch(/^[0-9A-F]{8,64}$/);
        for (const n of [k.algorithm, k.bits]) {
            expect(n === null || (Number.isSafeInteger(n) && n >= 0)).toBe(true);
        }
        for (const d of [k.created, k.expires]) {
            expect(d === null || (d instanceof Date && Number.isFinite(d.getTime()))).toBe(true);
        }
        expect(k.userIDs.every((u) => typeof u === 'string')).toBe(true);
    }
}

const textMutant = fc.oneof(
    fc.array(fc.record({at: fc.nat(), text: fc.oneof(fc.string({unit: 'binary', maxLength: 12}), fc.constantFrom(':', '\n', '%', '%E0%A4%A', '99999999999999999999'))}),
        {minLength: 1, maxLength: 4}).map((ops) => ops.reduce((s, o) => {
        const i = o.at % (s.length + 1);
        return s.slice(0, i) + o.text + s.slice(i + (o.at % 3));
    }, INDEX)),
    fc.string({unit: 'binary', maxLength: 200}),
);

test('parseHKPIndex: any answer gives well-formed entries (dates valid, IDs hex)', () => {
    fc.assert(fc.property(textMutant, (body) => {
        wellFormed(parseHKPIndex(body, new Date(1700000000000)));
    }), params(4));
});

test('hkpIndex / hkpGet: any answer is a KeyServerError or a well-formed result', async () => {
    const armored = '-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nxjMEZ\n-----END PGP PUBLIC KEY BLOCK-----';
    await fc.assert(fc.asyncProperty(fc.oneof(textMutant, fc.constant(armored), textMutant.map((t) => t + armored)), fc.constantFrom(200, 404, 500, 0),
        async (body, status) => {
            const fetchFn = async () => {
                if (status === 0) {
                    throw new TypeError('network down');
                }
                return {ok: status === 200, status, text: async () => body};
            };
            const index = await outcome(() => hkpIndex('hkps://keys.example.org', 'alice', fetchFn));
            if (index.ok) {
                wellFormed(index.value);
            } else {
                assertTyped(index.error, ['key_server']);
            }
            const get = await outcome(() => hkpGet('hkps://keys.example.org', '0x89ABCDEF', fetchFn));
            if (get.ok) {
                expect(get.value === null || /^-----BEGIN PGP PUBLIC KEY BLOCK-----[\s\S]*-----END PGP PUBLIC KEY BLOCK-----$/.test(get.value)).toBe(true);
            } else {
                assertTyped(get.error, ['key_server']);
            }
        }), params());
}, jestTimeout());

// ---- safety numbers ----

test('safetyDigits: any non-empty key and user ID give 30 digits; empty ones a typed error', async () => {
    await fc.assert(fc.asyncProperty(fc.uint8Array({maxLength: 40}), fc.uint8Array({maxLength: 40}), async (key, id) => {
        const r = await outcome(() => safetyDigits(key, id, 3));
        if (key.length === 0 || id.length === 0) {
            expect(r.ok).toBe(false);
            assertTyped((r as {error: unknown}).error, ['crypto']);
            return;
        }
        expect(r.ok && /^\d{30}$/.test(r.value)).toBe(true);
    }), params());
    fc.assert(fc.property(fc.stringMatching(/^\d{30}$/), fc.stringMatching(/^\d{30}$/), (a, b) => {
        const n = combineSafetyDigits(a, b);
        expect(n).toBe(combineSafetyDigits(b, a));
        expect(formatSafetyNumber(n)).toMatch(/^(\d{5} ){11}\d{5}$/);
    }), params());
}, jestTimeout());

describe('regressions', () => {
    test('HKP numbers and times too large to hold are unknown (null), not inexact or Invalid Date', () => {
        const [k] = parseHKPIndex('pub:89ABCDEF:9999999999999999999922:256:99999999999999::', new Date(0));
        expect([k.algorithm, k.bits, k.created, k.expires]).toEqual([null, 256, null, null]);
    });
});
