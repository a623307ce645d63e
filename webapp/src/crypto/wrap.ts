// Per-recipient key wrapping shared by v1 and v2: Z = ECDH(ephemeral, recipient), KWK = first 16
// bytes of SHA-256(kdfInput(Z, recipient ID)), W = AES-KW(KWK, MK). The formats differ only in
// kdfInput (v1: Z alone; v2: the SP 800-56C one-step KDF input).
import {aeskw} from '@noble/ciphers/aes';
import {sha256} from '@noble/hashes/sha2';

import {IntegrityError, MalformedError, NotRecipientError} from './errors';
import type {Bytes} from './encoding';
import type {WrappedKeyEntry} from './message';
import {ECDH_P256, randomBytes, subtle} from './subtle';
import type {PrivateKeySet, PublicKey} from './types';

export type KdfInput = (z: Bytes, recipientId: Uint8Array) => Bytes;

/** Wraps MK for every recipient. The ECDH batch runs in WebCrypto (all recipients at once, to
 * keep its worker threads busy); the hash and key wrap after it run in JS (audited @noble
 * libraries): three WebCrypto round trips per recipient cost more than the work itself
 * (measured at 1000 recipients: 45 ms of 170 ms, against 8 ms in JS). Only the per-message key
 * MK and the per-recipient KWKs are in JS memory, never a long-term private key. */
export async function wrapForAll(
    eph: CryptoKey,
    recipients: PublicKey[],
    kdf: KdfInput | Promise<KdfInput>,
    mkRaw: Uint8Array,
    kwkBytes: 16 | 32 = 16, // v3 wraps a 256-bit channel key under a 256-bit KWK
): Promise<Bytes[]> {
    const s = subtle();
    const zs = await Promise.all(recipients.map((r) => s.deriveBits({name: 'ECDH', public: r.encr}, eph, 256)));
    const kdfInput = await kdf; // v2's depends on the exported ephemeral key: made meanwhile
    return zs.map((z, i) => {
        const kwk = sha256(kdfInput(new Uint8Array(z), recipients[i].id)).subarray(0, kwkBytes);
        const w = new Uint8Array(aeskw(kwk).encrypt(mkRaw));
        kwk.fill(0);
        return w;
    });
}

/** Unwraps our entry only: one ECDH whatever the number of recipients. Any failure (wrong key,
 * altered W) is an IntegrityError: AES-KW checks its own integrity. */
export async function unwrapOne(
    myPrivate: CryptoKey,
    ephPublic: CryptoKey,
    myId: Uint8Array,
    kdfInput: KdfInput,
    wrapped: Bytes,
    mkAlgorithm: 'AES-CTR' | 'AES-GCM',
): Promise<CryptoKey> {
    const s = subtle();
    try {
        const z = new Uint8Array(await s.deriveBits({name: 'ECDH', public: ephPublic}, myPrivate, 256));
        const h = await s.digest('SHA-256', kdfInput(z, myId));
        const kwk = await s.importKey('raw', h.slice(0, 16), 'AES-KW', false, ['unwrapKey']);
        return await s.unwrapKey('raw', wrapped, kwk, 'AES-KW', mkAlgorithm, false, ['decrypt']);
    } catch (e) {
        throw new IntegrityError('key unwrap failed (wrapped key altered or not for this key)', {cause: e});
    }
}

/** A fresh message key: raw bytes to wrap (the caller zeroes them once wrapped), the same key
 * as a non-extractable CryptoKey to encrypt with, and the ephemeral pair E. */
export async function newMessageKeys(mkAlgorithm: 'AES-CTR' | 'AES-GCM'): Promise<{mk: CryptoKey; mkRaw: Uint8Array; eph: CryptoKeyPair}> {
    const s = subtle();
    const mkRaw = randomBytes(16);
    const [mk, eph] = await Promise.all([
        s.importKey('raw', mkRaw, {name: mkAlgorithm}, false, ['encrypt']),
        s.generateKey(ECDH_P256, false, ['deriveBits']),
    ]);
    return {mk, mkRaw, eph};
}

/** Finds our entry among the recipients (NotRecipientError if absent) and unwraps MK with the
 * message's ephemeral public key. Call only after the signature verified. */
export async function unwrapForMe(
    me: PrivateKeySet,
    myPublic: PublicKey,
    pubECDHE: Bytes,
    keys: WrappedKeyEntry[],
    kdfInput: KdfInput,
    mkAlgorithm: 'AES-CTR' | 'AES-GCM',
): Promise<CryptoKey> {
    const entry = keys.find((k) => k.idB64 === myPublic.idB64);
    if (!entry) {
        throw new NotRecipientError();
    }
    let eph: CryptoKey;
    try {
        eph = await subtle().importKey('raw', pubECDHE, ECDH_P256, false, []);
    } catch (e) {
        throw new MalformedError('pubECDHE: not a P-256 point', {cause: e});
    }
    return unwrapOne(me.ecdh.privateKey, eph, entry.id, kdfInput, entry.wrapped, mkAlgorithm);
}
