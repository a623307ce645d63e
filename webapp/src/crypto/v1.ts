// P2P format v1, byte for byte as protocol-v1.md (the original plugin's wire format).
import {bs, concat, fromUtf8, toBase64, u32le, utf8, type Bytes} from './encoding';
import {CryptoError, IntegrityError} from './errors';
import type {ParsedV1} from './message';
import {ECDSA_SHA256, randomBytes, sha256, subtle, verifySignature} from './subtle';
import type {EncryptedMessageJSON, PrivateKeySet, PublicKey} from './types';
import {uniqueRecipients} from './recipients';
import {newMessageKeys, unwrapForMe, wrapForAll, type KdfInput} from './wrap';

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

const CTR = (iv: Bytes): AesCtrParams => ({name: 'AES-CTR', counter: iv, length: 64});

/** v1: KWK = first 16 bytes of SHA-256(Z). */
const kdfInputV1: KdfInput = (z) => z;

export async function signedDataV1(iv: Bytes, pubECDHE: Bytes, ids: Bytes[], ciphertext: Bytes): Promise<Bytes> {
    return concat(iv, await sha256(pubECDHE), u32le(ids.length), ...ids, u32le(ciphertext.length), ciphertext);
}

export async function encryptV1(text: string, sender: PrivateKeySet, recipients: PublicKey[]): Promise<EncryptedMessageJSON> {
    if (typeof text !== 'string') {
        throw new CryptoError('text: expected a string');
    }
    // v1 carries the text as UTF-8, which has no form for a lone surrogate: TextEncoder would
    // write U+FFFD and the reader would see another text than the sender's.
    if (LONE_SURROGATE.test(text)) {
        throw new CryptoError('text: not well-formed Unicode (a lone surrogate)');
    }
    const recips = uniqueRecipients(recipients);
    const s = subtle();
    const iv = randomBytes(16);
    const {mk, mkRaw, eph} = await newMessageKeys('AES-CTR');
    const [pubECDHE, wrapped, ciphertext] = await Promise.all([
        s.exportKey('raw', eph.publicKey).then((b) => new Uint8Array(b)),
        wrapForAll(eph.privateKey, recips, kdfInputV1, mkRaw).finally(() => mkRaw.fill(0)),
        s.encrypt(CTR(iv), mk, utf8(text)).then((b) => new Uint8Array(b)),
    ]);
    const ids = recips.map((r) => bs(r.id));
    const sig = new Uint8Array(await s.sign(ECDSA_SHA256, sender.ecdsa.privateKey, await signedDataV1(iv, pubECDHE, ids, ciphertext)));
    return {
        version: 1,
        iv: toBase64(iv),
        pubECDHE: toBase64(pubECDHE),
        encryptedKey: recips.map((r, i) => [r.idB64, toBase64(wrapped[i])]),
        encryptedData: toBase64(ciphertext),
        signature: toBase64(sig),
    };
}

export async function verifyV1(m: ParsedV1, senderPublic: PublicKey): Promise<boolean> {
    const data = await signedDataV1(m.iv, m.pubECDHE, m.keys.map((k) => k.id), m.ciphertext);
    return verifySignature(senderPublic, m.signature, data);
}

export async function decryptV1(m: ParsedV1, me: PrivateKeySet, myPublic: PublicKey, senderPublic: PublicKey): Promise<string> {
    if (!(await verifyV1(m, senderPublic))) {
        throw new IntegrityError('v1 signature does not verify with the sender\'s key');
    }
    const mk = await unwrapForMe(me, myPublic, m.pubECDHE, m.keys, kdfInputV1, 'AES-CTR');
    let plain: Bytes;
    try {
        plain = new Uint8Array(await subtle().decrypt(CTR(m.iv), mk, m.ciphertext));
    } catch (e) {
        throw new IntegrityError('v1 decryption failed', {cause: e});
    }
    return fromUtf8(plain, 'v1 plaintext');
}
