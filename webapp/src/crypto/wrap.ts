// Per-recipient key wrapping shared by v1 and v2: Z = ECDH(ephemeral, recipient), KWK = first 16
// bytes of SHA-256(kdfInput(Z, recipient ID)), W = AES-KW(KWK, MK). The formats differ only in
// kdfInput (v1: Z alone; v2: the SP 800-56C one-step KDF input).
import {IntegrityError, MalformedError, NotRecipientError} from './errors';
import type {Bytes} from './encoding';
import type {WrappedKeyEntry} from './message';
import {ECDH_P256, subtle} from './subtle';
import type {PrivateKeySet, PublicKey} from './types';

export type KdfInput = (z: Bytes, recipientId: Uint8Array) => Bytes;

/** Wraps MK for every recipient. Each step runs for all recipients at once (Promise.all) before
 * the next: the ECDH batch keeps WebCrypto's worker threads busy, and the cheap steps after it
 * do not interleave with it (measured a few percent less CPU than one chain per recipient). */
export async function wrapForAll(eph: CryptoKey, recipients: PublicKey[], kdfInput: KdfInput, mk: CryptoKey): Promise<Bytes[]> {
    const s = subtle();
    const zs = await Promise.all(recipients.map((r) => s.deriveBits({name: 'ECDH', public: r.encr}, eph, 256)));
    const hs = await Promise.all(zs.map((z, i) => s.digest('SHA-256', kdfInput(new Uint8Array(z), recipients[i].id))));
    const kwks = await Promise.all(hs.map((h) => s.importKey('raw', h.slice(0, 16), 'AES-KW', false, ['wrapKey'])));
    const ws = await Promise.all(kwks.map((k) => s.wrapKey('raw', mk, k, 'AES-KW')));
    return ws.map((w) => new Uint8Array(w));
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

/** A fresh message key MK (extractable only so that wrapKey can wrap it) and ephemeral pair E. */
export async function newMessageKeys(mkAlgorithm: 'AES-CTR' | 'AES-GCM'): Promise<{mk: CryptoKey; eph: CryptoKeyPair}> {
    const s = subtle();
    const [mk, eph] = await Promise.all([
        s.generateKey({name: mkAlgorithm, length: 128}, true, ['encrypt']),
        s.generateKey(ECDH_P256, false, ['deriveBits']),
    ]);
    return {mk, eph};
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
