// Public key import validation, key IDs and fingerprints, key generation.
import {fingerprintOf, generateKeys, importPublicKey, InvalidKeyError, keyIdOf, keyIdToBase64, publicKeyOf} from '../../src/crypto';
import {loadVectors} from './helpers';

const alice = loadVectors().users[0];
const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
const raw = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));
// Order p of the P-256 field, big-endian.
const P_BYTES = Buffer.from('ffffffff00000001000000000000000000000000ffffffffffffffffffffffff', 'hex');

async function expectInvalid(json: unknown, msg?: RegExp) {
    const p = importPublicKey(json);
    await expect(p).rejects.toBeInstanceOf(InvalidKeyError);
    if (msg) {
        await expect(p).rejects.toThrow(msg);
    }
}

test('imports a valid key and computes the ID as SHA-256(encr || sign)', async () => {
    const pub = await importPublicKey(alice.pubkey);
    expect(pub.idB64).toBe(alice.pubkey_id);
    expect(keyIdToBase64(await keyIdOf(pub))).toBe(alice.pubkey_id);
    expect(pub.rawEncr.length).toBe(65);
    expect(pub.json).toEqual(alice.pubkey);
    expect(fingerprintOf(pub)).toMatch(/^[0-9a-f]{4}( [0-9a-f]{4}){7}$/);
    expect(fingerprintOf(pub).replace(/ /g, '')).toBe(Buffer.from(alice.pubkey_id, 'base64').subarray(0, 16).toString('hex'));
    // JSON text is accepted too (extra fields ignored).
    expect((await importPublicKey(JSON.stringify({...alice.pubkey, extra: 1}))).idB64).toBe(alice.pubkey_id);
});

test('refuses wrong types and shapes', async () => {
    for (const bad of [null, undefined, 42, 'not json', [], [alice.pubkey.sign, alice.pubkey.encr], {}, {sign: alice.pubkey.sign},
        {encr: alice.pubkey.encr}, {sign: 1, encr: alice.pubkey.encr}, {sign: alice.pubkey.sign, encr: null}]) {
        await expectInvalid(bad);
    }
});

test('refuses bad base64 and non-canonical base64', async () => {
    await expectInvalid({sign: '!!!' + alice.pubkey.sign.slice(3), encr: alice.pubkey.encr}, /base64/);
    await expectInvalid({sign: alice.pubkey.sign.replace(/=$/, ''), encr: alice.pubkey.encr}, /base64/);
    await expectInvalid({sign: alice.pubkey.sign, encr: alice.pubkey.encr.replace(/[+/]/g, (c) => (c === '+' ? '-' : '_'))}, /base64/);
    await expectInvalid({sign: ' ' + alice.pubkey.sign, encr: alice.pubkey.encr}, /base64/);
});

test('refuses wrong lengths and compressed points', async () => {
    const s = raw(alice.pubkey.sign);
    await expectInvalid({sign: b64(s.subarray(0, 64)), encr: alice.pubkey.encr}, /65-byte/);
    await expectInvalid({sign: b64(new Uint8Array([...s, 0])), encr: alice.pubkey.encr}, /65-byte/);
    await expectInvalid({sign: b64(new Uint8Array([0x02, ...s.subarray(1, 33)])), encr: alice.pubkey.encr});
    const bad = s.slice();
    bad[0] = 0x06;
    await expectInvalid({sign: b64(bad), encr: alice.pubkey.encr}, /65-byte/);
});

test('refuses off-curve points, the identity and out-of-range coordinates', async () => {
    const s = raw(alice.pubkey.sign);
    const off = s.slice();
    off[64] ^= 1;
    await expectInvalid({sign: b64(off), encr: alice.pubkey.encr}, /not on P-256/);
    const e = raw(alice.pubkey.encr);
    const offE = e.slice();
    offE[10] ^= 0x80;
    await expectInvalid({sign: alice.pubkey.sign, encr: b64(offE)}, /not on P-256/);
    // Identity/infinity: single 0x00 byte, or an all-zero "point".
    await expectInvalid({sign: b64(new Uint8Array([0])), encr: alice.pubkey.encr});
    const zero = new Uint8Array(65);
    zero[0] = 4;
    await expectInvalid({sign: b64(zero), encr: alice.pubkey.encr}, /not on P-256/);
    const big = s.slice();
    big.set(P_BYTES, 1);
    await expectInvalid({sign: b64(big), encr: alice.pubkey.encr}, /out of range/);
});

test('refuses equal sign and encr points', async () => {
    await expectInvalid({sign: alice.pubkey.sign, encr: alice.pubkey.sign}, /different/);
});

test('generated keys are non-extractable and their public key round-trips', async () => {
    const {keys, backup} = await generateKeys();
    expect(backup).toMatch(/^-----BEGIN MM E2EE PRIVATE KEY-----\n/);
    for (const k of [keys.ecdh.privateKey, keys.ecdsa.privateKey]) {
        expect(k.extractable).toBe(false);
        await expect(crypto.subtle.exportKey('jwk', k)).rejects.toBeDefined();
        await expect(crypto.subtle.exportKey('pkcs8', k)).rejects.toBeDefined();
    }
    const pub = await publicKeyOf(keys);
    const again = await importPublicKey(pub.json);
    expect(again.idB64).toBe(pub.idB64);
    expect(pub.id.length).toBe(32);
});
