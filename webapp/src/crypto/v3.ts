// Message format v3 (docs/design.md §13.5): AES-256-GCM under the epoch's channel key, one ECDSA
// signature over every field, the context, the epoch and the record's commitment. Size and cost do
// not depend on the number of members.
import {fromBase64, fromUtf8, framed, framedList, toBase64, u32be, u64be, utf8, type Bytes} from './encoding';
import {CryptoError, IntegrityError, MalformedError, UnsupportedVersionError} from './errors';
import {checkCreatedAt, checkEpoch, type EpochKey} from './epoch';
import {ECDSA_SHA256, randomBytes, subtle, verifySignature} from './subtle';
import {versionedObject} from './message';
import type {MessageContext, MessagePayload, PrivateKeySet, PublicKey} from './types';
import {checkContext} from './v2';

const L_SIG = utf8('mm-e2ee/channel/v3/signature');
const L_AAD = utf8('mm-e2ee/channel/v3/payload');
const V3_FIELDS = ['version', 'createdAt', 'epoch', 'iv', 'encryptedData', 'signature'];

export interface MessageV3JSON {
    version: 3;
    createdAt: number;
    epoch: number;
    iv: string;
    encryptedData: string;
    signature: string;
}

export interface ParsedV3 {
    version: 3;
    createdAt: number;
    epoch: number;
    iv: Bytes; // 12
    ciphertext: Bytes; // >= 16, tag included
    signature: Bytes; // 64
}

/** Structure of a v3 props.e2ee (not its signature). Kept apart from message.ts's v1/v2 rules. */
export function parseV3(msg: unknown): ParsedV3 {
    const o = versionedObject(msg);
    if (o.version !== 3) {
        throw new UnsupportedVersionError(`message version ${o.version} is not a channel-key message (3)`);
    }
    for (const k of Object.keys(o)) {
        if (!V3_FIELDS.includes(k)) {
            throw new MalformedError(`v3 message: unknown field "${k}"`);
        }
    }
    const ciphertext = fromBase64(o.encryptedData, 'encryptedData');
    if (ciphertext.length < 16) {
        throw new MalformedError('encryptedData: shorter than the AES-GCM tag');
    }
    return {
        version: 3,
        createdAt: checkCreatedAt(o.createdAt),
        epoch: checkEpoch(o.epoch),
        iv: fromBase64(o.iv, 'iv', 12),
        ciphertext,
        signature: fromBase64(o.signature, 'signature', 64),
    };
}

function contextItems(m: {createdAt: number; epoch: number}, c: MessageContext, commitment: Bytes): Bytes[] {
    return [u64be(m.createdAt), utf8(c.channelId), utf8(c.rootId), utf8(c.userId), u64be(m.epoch), commitment];
}

function aadV3(m: {createdAt: number; epoch: number}, c: MessageContext, commitment: Bytes): Bytes {
    return framed(L_AAD, ...contextItems(m, c, commitment));
}

export function signedDataV3(m: Omit<ParsedV3, 'signature' | 'version'>, c: MessageContext, commitment: Bytes): Bytes {
    return framedList([L_SIG, u32be(3), ...contextItems(m, c, commitment), m.iv, m.ciphertext]);
}

function checkKey(key: EpochKey, context: MessageContext): void {
    if (!key || !(key.commitment instanceof Uint8Array) || key.commitment.length !== 32) {
        throw new CryptoError('epoch key: expected an opened epoch key');
    }
    if (key.channelId !== context.channelId) {
        throw new IntegrityError('this epoch key belongs to another channel');
    }
}

export async function encryptV3(
    payload: MessagePayload,
    sender: PrivateKeySet,
    key: EpochKey,
    context: MessageContext,
    createdAt: number = Date.now(),
): Promise<MessageV3JSON> {
    const ctx = checkContext(context);
    checkKey(key, ctx);
    if (typeof payload !== 'object' || payload === null || typeof payload.text !== 'string') {
        throw new CryptoError('payload: expected an object with a string "text"');
    }
    if (!Number.isSafeInteger(createdAt) || createdAt < 0) {
        throw new CryptoError('createdAt: expected a non-negative integer (ms since epoch)');
    }
    const s = subtle();
    const iv = randomBytes(12);
    const m = {createdAt, epoch: key.epoch};
    const ciphertext = new Uint8Array(await s.encrypt({name: 'AES-GCM', iv, additionalData: aadV3(m, ctx, key.commitment), tagLength: 128},
        key.key, utf8(JSON.stringify(payload))));
    const sig = new Uint8Array(await s.sign(ECDSA_SHA256, sender.ecdsa.privateKey, signedDataV3({...m, iv, ciphertext}, ctx, key.commitment)));
    return {version: 3, createdAt, epoch: key.epoch, iv: toBase64(iv), encryptedData: toBase64(ciphertext), signature: toBase64(sig)};
}

/** Signature check with the sender's key over the message, its context and the epoch's commitment. */
export async function verifyV3(m: ParsedV3, senderPublic: PublicKey, context: MessageContext | undefined, commitment: Bytes): Promise<boolean> {
    const ctx = checkContext(context);
    return verifySignature(senderPublic, m.signature, signedDataV3(m, ctx, commitment));
}

/** Verifies with the sender's key FIRST, then decrypts with the epoch key the caller opened for
 * m.epoch. Throws IntegrityError, MalformedError or MissingContextError. */
export async function decryptV3(msg: unknown, senderPublic: PublicKey, key: EpochKey, context: MessageContext | undefined): Promise<MessagePayload> {
    const m = parseV3(msg);
    const ctx = checkContext(context);
    checkKey(key, ctx);
    if (key.epoch !== m.epoch) {
        throw new IntegrityError(`this message names epoch ${m.epoch}, not the key's epoch ${key.epoch}`);
    }
    if (!(await verifyV3(m, senderPublic, ctx, key.commitment))) {
        throw new IntegrityError('v3 signature does not verify for this sender, channel, thread, author and epoch');
    }
    let plain: Bytes;
    try {
        plain = new Uint8Array(await subtle().decrypt({name: 'AES-GCM', iv: m.iv, additionalData: aadV3(m, ctx, key.commitment), tagLength: 128},
            key.key, m.ciphertext));
    } catch (e) {
        throw new IntegrityError('v3 AES-GCM authentication failed', {cause: e});
    }
    let p: unknown;
    try {
        p = JSON.parse(fromUtf8(plain, 'v3 payload'));
    } catch (e) {
        throw new MalformedError('v3 payload: not JSON', {cause: e});
    }
    if (typeof p !== 'object' || p === null || Array.isArray(p) || typeof (p as {text?: unknown}).text !== 'string') {
        throw new MalformedError('v3 payload: expected an object with a string "text"');
    }
    return p as MessagePayload;
}

/** The epoch a v3 props.e2ee names (for fetching its record), or null for other versions. */
export function epochOf(msg: unknown): number | null {
    try {
        return parseV3(msg).epoch;
    } catch {
        return null;
    }
}
