// Safety numbers (docs/design.md §11.1): Signal's numeric fingerprint v0 over our key IDs, so
// two people can compare one 60-digit number out of band.
import {concat, utf8} from './encoding';
import {CryptoError} from './errors';
import {subtle} from './subtle';
import type {PublicKey} from './types';

/** SHA-512 rounds in all, as Signal's (the first over version, key and identifier). */
export const SAFETY_ROUNDS = 5200;
const VERSION = new Uint8Array([0, 0]);

/** One side's 30 digits: `key` is the 32-byte key ID (libsignal: the identity key), `stableId`
 * the UTF-8 user ID (libsignal: the phone number). */
export async function safetyDigits(key: Uint8Array, stableId: Uint8Array, rounds = SAFETY_ROUNDS): Promise<string> {
    if (!(key instanceof Uint8Array) || key.length === 0 || !(stableId instanceof Uint8Array) || stableId.length === 0) {
        throw new CryptoError('safety number: empty key or user ID');
    }
    let h = new Uint8Array(await subtle().digest('SHA-512', concat(VERSION, key, stableId, key)));
    for (let i = 1; i < rounds; i++) {
        h = new Uint8Array(await subtle().digest('SHA-512', concat(h, key)));
    }
    let out = '';
    for (let i = 0; i < 30; i += 5) {
        // 5 bytes big-endian = at most 2^40: exact in a double.
        const n = h[i] * 2 ** 32 + h[i + 1] * 2 ** 24 + h[i + 2] * 2 ** 16 + h[i + 3] * 2 ** 8 + h[i + 4];
        out += String(n % 100000).padStart(5, '0');
    }
    return out;
}

/** The 60 digits two people share: both halves, the smaller string first. */
export function combineSafetyDigits(a: string, b: string): string {
    return a <= b ? a + b : b + a;
}

export interface SafetyParty {
    userId: string;
    key: Pick<PublicKey, 'id'>;
}

/** The safety number of two users and their current keys (60 digits, no spaces). */
export async function safetyNumberOf(a: SafetyParty, b: SafetyParty): Promise<string> {
    if (!a.userId || !b.userId) {
        throw new CryptoError('safety number: user ID missing');
    }
    const [da, db] = await Promise.all([safetyDigits(a.key.id, utf8(a.userId)), safetyDigits(b.key.id, utf8(b.userId))]);
    return combineSafetyDigits(da, db);
}

/** 12 groups of 5 digits separated by single spaces, as shown and as the CLI prints it. */
export function formatSafetyNumber(digits: string): string {
    return digits.replace(/(\d{5})(?=\d)/g, '$1 ');
}

