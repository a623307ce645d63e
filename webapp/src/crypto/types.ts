// Shared types of the crypto core (no Mattermost imports here).

/** A user's private keys: an ECDH P-256 pair (encryption) and an ECDSA P-256 pair (signing).
 * Same shape the original plugin stored in IndexedDB. Private keys are non-extractable. */
export interface PrivateKeySet {
    ecdh: CryptoKeyPair;
    ecdsa: CryptoKeyPair;
}

/** Public key JSON as on the wire: standard base64 (padded) of 65-byte uncompressed points. */
export interface PublicKeyJSON {
    sign: string;
    encr: string;
}

/** A validated, imported public key of a user. */
export interface PublicKey {
    encr: CryptoKey; // ECDH P-256 public key
    sign: CryptoKey; // ECDSA P-256 public key (verify)
    rawEncr: Uint8Array; // 65 bytes
    rawSign: Uint8Array; // 65 bytes
    id: Uint8Array; // SHA-256(rawEncr || rawSign)
    idB64: string; // standard base64 of id
    json: PublicKeyJSON;
}

/** What a v2 message is bound to; a message moved to another context fails verification. */
export interface MessageContext {
    channelId: string;
    rootId: string; // '' for a top-level post
    userId: string; // the sender's Mattermost user ID
}

/** The authenticated payload of a v2 message (room for attachments and edits later). */
export interface MessagePayload {
    text: string;
    [extra: string]: unknown;
}

/** props.e2ee of a post: a v1 or v2 message (exact fields per docs/design.md). */
export type EncryptedMessageJSON = {version: number} & Record<string, unknown>;

export interface DecryptedMessage {
    version: 1 | 2;
    text: string;
    payload: MessagePayload;
    createdAt?: number; // v2: the sender's signed creation time (ms since epoch)
}
