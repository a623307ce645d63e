// Proof of possession for key registration (docs/design.md §4.1): the pushed key's sign half
// signs a nonce the server issued to this user, so nobody can register another user's key.
import {toBase64, utf8, type Bytes} from './encoding';
import {CryptoError} from './errors';
import {ECDSA_SHA256, subtle} from './subtle';
import type {PrivateKeySet} from './types';

export const PUSH_PROOF_LABEL = 'mm-e2ee/pubkey-push/v1';

/** The signed bytes: UTF-8 of label "\n" userId "\n" nonce. */
export function pushProofMessage(userId: string, nonce: string): Bytes {
    if (typeof userId !== 'string' || !userId || typeof nonce !== 'string' || !nonce) {
        throw new CryptoError('a key push proof needs a user ID and a nonce');
    }
    return utf8(`${PUSH_PROOF_LABEL}\n${userId}\n${nonce}`);
}

/** Standard base64 of the raw (r || s) ECDSA P-256 / SHA-256 signature by keys' sign half;
 * works with non-extractable keys. */
export async function signPushProof(keys: PrivateKeySet, userId: string, nonce: string): Promise<string> {
    const data = pushProofMessage(userId, nonce);
    return toBase64(new Uint8Array(await subtle().sign(ECDSA_SHA256, keys.ecdsa.privateKey, data)));
}
