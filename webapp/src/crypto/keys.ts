// User key pairs: generation, public key import/validation, key IDs and fingerprints.
import {exportBackup, importPrivateJWK} from './backup';
import {bytesEqual, concat, fromBase64, toBase64, toHex, type Bytes} from './encoding';
import {CryptoError, InvalidKeyError} from './errors';
import {pointProblem} from './point';
import {ECDH_P256, ECDSA_P256, sha256, subtle} from './subtle';
import type {PrivateKeySet, PublicKey, PublicKeyJSON} from './types';

/** Checks a 65-byte uncompressed point: prefix 04, coordinates below p, on the curve. WebCrypto
 * checks too, but not every engine documents it, and this gives one clear error everywhere. */
function checkPoint(raw: Uint8Array, field: string): void {
    const problem = pointProblem(raw);
    if (problem) {
        throw new InvalidKeyError(`${field}: ${problem}`);
    }
}

function decodePoint(value: unknown, field: string): Bytes {
    let raw: Bytes;
    try {
        raw = fromBase64(value, field);
    } catch (e) {
        throw new InvalidKeyError((e as Error).message, {cause: e});
    }
    checkPoint(raw, field);
    return raw;
}

/** Key ID = SHA-256(raw(encr) || raw(sign)), 32 bytes (ECDH first, as the original plugin). */
export async function keyIdOf(pub: {rawEncr: Uint8Array; rawSign: Uint8Array}): Promise<Uint8Array> {
    return sha256(concat(pub.rawEncr, pub.rawSign));
}

export function keyIdToBase64(id: Uint8Array): string {
    return toBase64(id);
}

/** Short form for people to compare: the first 16 bytes of the key ID in 8 hex groups. */
export function fingerprintOf(pub: {id: Uint8Array}): string {
    return toHex(pub.id.subarray(0, 16)).match(/.{4}/g)!.join(' ');
}

async function importRawPair(rawEncr: Bytes, rawSign: Bytes): Promise<PublicKey> {
    let encr: CryptoKey;
    let sign: CryptoKey;
    try {
        encr = await subtle().importKey('raw', rawEncr, ECDH_P256, true, []);
    } catch (e) {
        throw new InvalidKeyError('encr: WebCrypto refused the point', {cause: e});
    }
    try {
        sign = await subtle().importKey('raw', rawSign, ECDSA_P256, true, ['verify']);
    } catch (e) {
        throw new InvalidKeyError('sign: WebCrypto refused the point', {cause: e});
    }
    const id = await keyIdOf({rawEncr, rawSign});
    return {
        encr,
        sign,
        rawEncr,
        rawSign,
        id,
        idB64: toBase64(id),
        json: {sign: toBase64(rawSign), encr: toBase64(rawEncr)},
    };
}

/** Validates and imports a public key JSON `{"sign": B64, "encr": B64}` (extra fields are ignored). */
export async function importPublicKey(json: unknown): Promise<PublicKey> {
    if (typeof json === 'string') {
        try {
            json = JSON.parse(json);
        } catch (e) {
            throw new InvalidKeyError('public key: not JSON', {cause: e});
        }
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json)) {
        throw new InvalidKeyError('public key: expected an object {"sign", "encr"}');
    }
    const o = json as Record<string, unknown>;
    const rawSign = decodePoint(o.sign, 'sign');
    const rawEncr = decodePoint(o.encr, 'encr');
    if (bytesEqual(rawSign, rawEncr)) {
        throw new InvalidKeyError('public key: sign and encr must be different points');
    }
    return importRawPair(rawEncr, rawSign);
}

/** The public half of a private key set (public keys are always exportable in WebCrypto). */
export async function publicKeyOf(keys: PrivateKeySet): Promise<PublicKey> {
    let rawEncr: Bytes;
    let rawSign: Bytes;
    try {
        rawEncr = new Uint8Array(await subtle().exportKey('raw', keys.ecdh.publicKey));
        rawSign = new Uint8Array(await subtle().exportKey('raw', keys.ecdsa.publicKey));
    } catch (e) {
        throw new InvalidKeyError('cannot read the public keys of this key set', {cause: e});
    }
    return importRawPair(rawEncr, rawSign);
}

export function publicKeyToJSON(pub: PublicKey): PublicKeyJSON {
    return {sign: pub.json.sign, encr: pub.json.encr};
}

/** A new key set. The clear-text backup is made here, once: afterwards the private keys are
 * non-extractable and no backup can be made again. */
export async function generateKeys(): Promise<{keys: PrivateKeySet; backup: string}> {
    try {
        // usages exactly as the original's backups (key_ops ["deriveBits"] / ["sign"]).
        const ecdh = await subtle().generateKey(ECDH_P256, true, ['deriveBits']);
        const ecdsa = await subtle().generateKey(ECDSA_P256, true, ['sign', 'verify']);
        const encrJwk = await subtle().exportKey('jwk', ecdh.privateKey);
        const signJwk = await subtle().exportKey('jwk', ecdsa.privateKey);
        const backup = exportBackup(signJwk, encrJwk);
        const keys: PrivateKeySet = {
            ecdh: await importPrivateJWK(encrJwk, 'encr'),
            ecdsa: await importPrivateJWK(signJwk, 'sign'),
        };
        return {keys, backup};
    } catch (e) {
        if (e instanceof CryptoError) {
            throw e;
        }
        throw new CryptoError('key generation failed', 'crypto', {cause: e});
    }
}
