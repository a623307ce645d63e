// Entry points for P2P messages: encrypt (v2 by default), decrypt/verify any supported version.
import {CryptoError} from './errors';
import {parseMessage} from './message';
import type {DecryptedMessage, EncryptedMessageJSON, MessageContext, MessagePayload, PrivateKeySet, PublicKey} from './types';
import {decryptV1, encryptV1, verifyV1} from './v1';
import {decryptV2, encryptV2, verifyV2} from './v2';

export {encryptV1, encryptV2};
export {parseMessage, recipientsOf} from './message';

export type MessageFormat = 'v1' | 'v2';

export interface EncryptOptions {
    format?: MessageFormat; // default v2
    context?: MessageContext; // required for v2
    createdAt?: number; // v2 only; default Date.now()
}

/** Encrypts a text (or a v2 payload) for the recipients; v2 unless `format: 'v1'`. */
export async function encryptMessage(
    content: string | MessagePayload,
    sender: PrivateKeySet,
    recipients: PublicKey[],
    options: EncryptOptions = {},
): Promise<EncryptedMessageJSON> {
    const payload: MessagePayload = typeof content === 'string' ? {text: content} : content;
    if ((options.format ?? 'v2') === 'v1') {
        return encryptV1(payload.text, sender, recipients);
    }
    return encryptV2(payload, sender, recipients, options.context as MessageContext, options.createdAt);
}

/** Verifies the signature (with the sender's key FIRST), then finds our entry and decrypts.
 * v1 ignores `context`; v2 requires it. Throws IntegrityError, NotRecipientError, MalformedError,
 * UnsupportedVersionError or MissingContextError. */
export async function decryptMessage(
    msg: unknown,
    me: PrivateKeySet,
    myPublic: PublicKey,
    senderPublic: PublicKey,
    context?: MessageContext,
): Promise<DecryptedMessage> {
    const m = parseMessage(msg);
    try {
        if (m.version === 1) {
            const text = await decryptV1(m, me, myPublic, senderPublic);
            return {version: 1, text, payload: {text}};
        }
        const payload = await decryptV2(m, me, myPublic, senderPublic, context);
        return {version: 2, text: payload.text, payload, createdAt: m.createdAt};
    } catch (e) {
        throw asCryptoError(e);
    }
}

/** Signature check only (for display states): true when the sender signed this message (and, for
 * v2, this context). Throws for malformed messages and for v2 without a context. */
export async function verifyMessage(msg: unknown, senderPublic: PublicKey, context?: MessageContext): Promise<boolean> {
    const m = parseMessage(msg);
    try {
        return m.version === 1 ? await verifyV1(m, senderPublic) : await verifyV2(m, senderPublic, context);
    } catch (e) {
        throw asCryptoError(e);
    }
}

function asCryptoError(e: unknown): CryptoError {
    return e instanceof CryptoError ? e : new CryptoError('unexpected WebCrypto failure', 'crypto', {cause: e});
}
