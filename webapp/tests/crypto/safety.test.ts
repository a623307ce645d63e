// Safety numbers (docs/design.md §11.1): libsignal's published vector, our own vectors rebuilt
// with Node's crypto module (an independent implementation), and the properties the UI relies on.
import {createHash} from 'crypto';

import {combineSafetyDigits, formatSafetyNumber, importPublicKey, safetyDigits, safetyNumberOf} from '../../src/crypto';
import {utf8} from '../../src/crypto/encoding';

import {loadVectors} from './helpers';

// libsignal's NumericFingerprintGeneratorTest (version 1, 5200 iterations).
const SIGNAL = {
    aliceKey: '0506863bc66d02b40d27b8d49ca7c09e9239236f9d7d25d6fcca5ce13c7064d868',
    aliceId: '+14152222222',
    bobKey: '05f781b6fb32fed9ba1cf2de978d4d5da28dc34046ae814402b5c0dbd96fda907b',
    bobId: '+14153333333',
    number: '300354477692869396892869876765458257569162576843440918079131',
};

/** The algorithm again, on Node's crypto only (no code shared with src/). */
function independentDigits(key: Buffer, id: string): string {
    const idBytes = Buffer.from(id, 'utf8');
    let h = createHash('sha512').update(Buffer.from([0, 0])).update(key).update(idBytes).update(key).digest();
    for (let i = 1; i < 5200; i++) {
        h = createHash('sha512').update(h).update(key).digest();
    }
    let out = '';
    for (let i = 0; i < 30; i += 5) {
        out += (h.readUIntBE(i, 5) % 100000).toString().padStart(5, '0');
    }
    return out;
}

function independentNumber(keyA: Buffer, idA: string, keyB: Buffer, idB: string): string {
    const a = independentDigits(keyA, idA);
    const b = independentDigits(keyB, idB);
    return a <= b ? a + b : b + a;
}

// docs/design.md §11.1 vectors: the key IDs of alice and bob in testdata/p2p-v1.json.
const OWN = {
    aliceUser: 'w1o3a8qgf7y5bx9nkd8e4mujhr',
    bobUser: 'q6c9zd3kxb8r5nfyht1ma4pwoe',
    alice: '282276277108741187052762219691',
    bob: '204110502772425726347361484012',
    number: '204110502772425726347361484012282276277108741187052762219691',
    grouped: '20411 05027 72425 72634 73614 84012 28227 62771 08741 18705 27622 19691',
};

// Each number is 5,200 iterated WebCrypto SHA-512 calls per side: seconds on a loaded 2-core
// machine, so these tests get more than jest's default 5 s.
const SLOW = 60000;

describe('safety numbers', () => {
    test('libsignal\'s published vector', async () => {
        const a = await safetyDigits(Buffer.from(SIGNAL.aliceKey, 'hex'), utf8(SIGNAL.aliceId));
        const b = await safetyDigits(Buffer.from(SIGNAL.bobKey, 'hex'), utf8(SIGNAL.bobId));
        expect(combineSafetyDigits(a, b)).toBe(SIGNAL.number);
        expect(combineSafetyDigits(b, a)).toBe(SIGNAL.number);
        expect(independentNumber(Buffer.from(SIGNAL.aliceKey, 'hex'), SIGNAL.aliceId, Buffer.from(SIGNAL.bobKey, 'hex'), SIGNAL.bobId)).toBe(SIGNAL.number);
    }, SLOW);

    test('our vectors (design §11.1), rebuilt independently', async () => {
        const users = loadVectors().users;
        const alice = await importPublicKey(users.find((u) => u.name === 'alice')!.pubkey);
        const bob = await importPublicKey(users.find((u) => u.name === 'bob')!.pubkey);
        expect(await safetyDigits(alice.id, utf8(OWN.aliceUser))).toBe(OWN.alice);
        expect(await safetyDigits(bob.id, utf8(OWN.bobUser))).toBe(OWN.bob);
        const number = await safetyNumberOf({userId: OWN.aliceUser, key: alice}, {userId: OWN.bobUser, key: bob});
        expect(number).toBe(OWN.number);
        expect(await safetyNumberOf({userId: OWN.bobUser, key: bob}, {userId: OWN.aliceUser, key: alice})).toBe(OWN.number);
        expect(formatSafetyNumber(number)).toBe(OWN.grouped);
        expect(independentNumber(Buffer.from(alice.id), OWN.aliceUser, Buffer.from(bob.id), OWN.bobUser)).toBe(OWN.number);
    }, SLOW);

    test('another key or another user gives another number', async () => {
        const users = loadVectors().users;
        const [alice, bob, carol] = await Promise.all(['alice', 'bob', 'carol'].map((n) => importPublicKey(users.find((u) => u.name === n)!.pubkey)));
        const base = await safetyNumberOf({userId: OWN.aliceUser, key: alice}, {userId: OWN.bobUser, key: bob});
        expect(await safetyNumberOf({userId: OWN.aliceUser, key: alice}, {userId: OWN.bobUser, key: carol})).not.toBe(base);
        expect(await safetyNumberOf({userId: OWN.aliceUser, key: alice}, {userId: 'x' + OWN.bobUser.slice(1), key: bob})).not.toBe(base);
    }, SLOW);

    test('refuses empty input', async () => {
        await expect(safetyDigits(new Uint8Array(0), utf8('u'))).rejects.toThrow(/empty/);
        await expect(safetyNumberOf({userId: '', key: {id: new Uint8Array(32)}}, {userId: 'b', key: {id: new Uint8Array(32)}})).rejects.toThrow(/user ID/);
    });
});
