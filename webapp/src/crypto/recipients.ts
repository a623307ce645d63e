// Recipient list hygiene shared by both formats.
import {CryptoError} from './errors';
import type {PublicKey} from './types';

/** Drops repeated keys (same key ID), keeping the first occurrence and the caller's order. */
export function uniqueRecipients(recipients: PublicKey[]): PublicKey[] {
    if (!Array.isArray(recipients) || recipients.length === 0) {
        throw new CryptoError('at least one recipient is needed');
    }
    const seen = new Set<string>();
    return recipients.filter((r) => {
        if (seen.has(r.idB64)) {
            return false;
        }
        seen.add(r.idB64);
        return true;
    });
}
