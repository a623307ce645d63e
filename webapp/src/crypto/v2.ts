// P2P format v2 (docs/design.md): per-recipient ECDH + one-step KDF + AES-KW, AES-128-GCM over a
// JSON payload, and one ECDSA signature over every field plus the channel/thread/author context.
import {bs, concat, framed, framedList, fromUtf8, toBase64, u32be, u64be, utf8, type Bytes} from './encoding';
import {CryptoError, IntegrityError, MalformedError, MissingContextError} from './errors';
import type {ParsedV2} from './message';
import {uniqueRecipients} from './recipients';
import {newMessageKeys, unwrapForMe, wrapForAll, type KdfInput} from './wrap';
import {ECDSA_SHA256, randomBytes, subtle, verifySignature} from './subtle';
import type {EncryptedMessageJSON, MessageContext, MessagePayload, PrivateKeySet, PublicKey} from './types';

const LABEL_SIG = utf8('mm-e2ee/p2p/v2/signature');
const LABEL_KWK = utf8('mm-e2ee/p2p/v2/kwk');
const LABEL_AAD = utf8('mm-e2ee/p2p/v2/payload');
const KDF_COUNTER = u32be(1);

export function checkContext(context: MessageContext | undefined): MessageContext {
    if (context === undefined || context === null) {
        throw new MissingContextError();
    }
    const {channelId, rootId, userId} = context;
    if (typeof channelId !== 'string' || channelId === '' || typeof userId !== 'string' || userId === '' || typeof rootId !== 'string') {
        throw new MissingContextError('context: channelId and userId must be non-empty strings and rootId a string');
    }
    return context;
}

/** NIST SP 800-56C one-step KDF with SHA-256: KWK = SHA-256(00000001 || Z || FixedInfo)[0..16],
 * FixedInfo = framed(L_KWK, pubECDHE, recipient key ID). The template holds everything but Z and
 * the ID, so each recipient costs one copy. */
function kdfInputV2(pubECDHE: Bytes): KdfInput {
    const template = concat(KDF_COUNTER, new Uint8Array(32), framed(LABEL_KWK, pubECDHE, new Uint8Array(32)));
    return (z, id) => {
        const input = template.slice();
        input.set(z, 4);
        input.set(id, input.length - 32);
        return input;
    };
}

function contextItems(createdAt: number, c: MessageContext): Bytes[] {
    return [u64be(createdAt), utf8(c.channelId), utf8(c.rootId), utf8(c.userId)];
}

function aad(createdAt: number, c: MessageContext): Bytes {
    return framed(LABEL_AAD, ...contextItems(createdAt, c));
}

export function signedDataV2(m: Omit<ParsedV2, 'signature'>, c: MessageContext): Bytes {
    const items: Bytes[] = [LABEL_SIG, u32be(2), ...contextItems(m.createdAt, c), m.iv, m.pubECDHE, u32be(m.keys.length)];
    for (const k of m.keys) {
        items.push(k.id, k.wrapped);
    }
    items.push(m.ciphertext);
    return framedList(items);
}

export async function encryptV2(
    payload: MessagePayload,
    sender: PrivateKeySet,
    recipients: PublicKey[],
    context: MessageContext,
    createdAt: number = Date.now(),
): Promise<EncryptedMessageJSON> {
    const ctx = checkContext(context);
    if (typeof payload !== 'object' || payload === null || typeof payload.text !== 'string') {
        throw new CryptoError('payload: expected an object with a string "text"');
    }
    if (!Number.isSafeInteger(createdAt) || createdAt < 0) {
        throw new CryptoError('createdAt: expected a non-negative integer (ms since epoch)');
    }
    const recips = uniqueRecipients(recipients);
    const s = subtle();
    const iv = randomBytes(12);
    const {mk, mkRaw, eph} = await newMessageKeys('AES-GCM');
    const exported = s.exportKey('raw', eph.publicKey).then((b) => new Uint8Array(b));
    const [wrapped, ciphertext, pubECDHE] = await Promise.all([
        wrapForAll(eph.privateKey, recips, exported.then(kdfInputV2), mkRaw).finally(() => mkRaw.fill(0)),
        s.encrypt({name: 'AES-GCM', iv, additionalData: aad(createdAt, ctx), tagLength: 128}, mk, utf8(JSON.stringify(payload)))
            .then((b) => new Uint8Array(b)),
        exported,
    ]);
    const keys = recips.map((r, i) => ({id: bs(r.id), idB64: r.idB64, wrapped: wrapped[i]}));
    const data = signedDataV2({version: 2, createdAt, iv, pubECDHE, keys, ciphertext}, ctx);
    const sig = new Uint8Array(await s.sign(ECDSA_SHA256, sender.ecdsa.privateKey, data));
    return {
        version: 2,
        createdAt,
        iv: toBase64(iv),
        pubECDHE: toBase64(pubECDHE),
        encryptedKey: keys.map((k) => [k.idB64, toBase64(k.wrapped)]),
        encryptedData: toBase64(ciphertext),
        signature: toBase64(sig),
    };
}

export async function verifyV2(m: ParsedV2, senderPublic: PublicKey, context: MessageContext | undefined): Promise<boolean> {
    const ctx = checkContext(context);
    return verifySignature(senderPublic, m.signature, signedDataV2(m, ctx));
}

function parsePayload(bytes: Bytes): MessagePayload {
    let p: unknown;
    try {
        p = JSON.parse(fromUtf8(bytes, 'v2 payload'));
    } catch (e) {
        throw new MalformedError('v2 payload: not JSON', {cause: e});
    }
    if (typeof p !== 'object' || p === null || Array.isArray(p) || typeof (p as {text?: unknown}).text !== 'string') {
        throw new MalformedError('v2 payload: expected an object with a string "text"');
    }
    return p as MessagePayload;
}

export async function decryptV2(
    m: ParsedV2,
    me: PrivateKeySet,
    myPublic: PublicKey,
    senderPublic: PublicKey,
    context: MessageContext | undefined,
): Promise<MessagePayload> {
    const ctx = checkContext(context);
    if (!(await verifyV2(m, senderPublic, ctx))) {
        throw new IntegrityError('v2 signature does not verify for this sender, channel, thread and author');
    }
    const mk = await unwrapForMe(me, myPublic, m.pubECDHE, m.keys, kdfInputV2(m.pubECDHE), 'AES-GCM');
    let plain: Bytes;
    try {
        plain = new Uint8Array(await subtle().decrypt({name: 'AES-GCM', iv: m.iv, additionalData: aad(m.createdAt, ctx), tagLength: 128}, mk, m.ciphertext));
    } catch (e) {
        throw new IntegrityError('v2 AES-GCM authentication failed', {cause: e});
    }
    return parsePayload(plain);
}
