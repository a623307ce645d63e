// The crypto core functions the message features use, behind one seam so tests can count
// calls (they wrap the real functions; WebCrypto is never mocked).
import * as core from '../crypto';
import type {DecryptedMessage, EncryptedMessageJSON, MessageContext, MessagePayload, PrivateKeySet, PublicKey, PublicKeyJSON} from '../crypto/types';

export interface CryptoOps {
    importPublicKey(json: PublicKeyJSON): Promise<PublicKey>;
    encryptV2(payload: MessagePayload, sender: PrivateKeySet, recipients: PublicKey[], context: MessageContext): Promise<EncryptedMessageJSON>;
    decryptMessage(msg: EncryptedMessageJSON, me: PrivateKeySet, myPublic: PublicKey, senderPublic: PublicKey, context?: MessageContext): Promise<DecryptedMessage>;
    fingerprintOf(pub: PublicKey): Promise<string> | string;
}

export const defaultCryptoOps: CryptoOps = {
    importPublicKey: (json) => core.importPublicKey(json),
    encryptV2: (payload, sender, recipients, context) => core.encryptV2(payload, sender, recipients, context),
    decryptMessage: (msg, me, myPublic, senderPublic, context) => core.decryptMessage(msg, me, myPublic, senderPublic, context),
    fingerprintOf: (pub) => core.fingerprintOf(pub),
};

/** The typed errors of the crypto core, told apart by their `code` (class names do not
 * survive minification; a second copy of the module would defeat instanceof). */
export type DecryptFailure = 'integrity' | 'not-recipient' | 'malformed';

export function classifyDecryptError(err: unknown): DecryptFailure {
    const code = err && typeof err === 'object' && 'code' in err ? (err as {code: unknown}).code : '';
    switch (code) {
    case 'not_recipient':
        return 'not-recipient';
    case 'malformed':
    case 'unsupported_version':
        return 'malformed';
    default:
        // integrity, invalid_key, missing_context and anything unexpected: never show unverified text.
        return 'integrity';
    }
}
