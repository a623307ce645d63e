// Structural validation of props.e2ee (v1 and v2), shared by decryption and the UI.
import {fromBase64, type Bytes} from './encoding';
import {MalformedError, UnsupportedVersionError} from './errors';
import {pointProblem} from './point';

export interface WrappedKeyEntry {
    id: Bytes; // recipient key ID, 32 bytes
    idB64: string;
    wrapped: Bytes; // AES-KW output, 24 bytes
}

export interface ParsedV1 {
    version: 1;
    iv: Bytes; // 16
    pubECDHE: Bytes; // 65
    keys: WrappedKeyEntry[];
    ciphertext: Bytes;
    signature: Bytes; // 64
}

export interface ParsedV2 {
    version: 2;
    createdAt: number;
    iv: Bytes; // 12
    pubECDHE: Bytes; // 65
    keys: WrappedKeyEntry[];
    ciphertext: Bytes; // AES-GCM output, tag included (>= 16)
    signature: Bytes; // 64
}

export type ParsedMessage = ParsedV1 | ParsedV2;

export const SUPPORTED_VERSIONS = [1, 2] as const;
// Exact field sets (docs/design.md §3): a field nobody signs could carry plaintext past the server.
const V1_FIELDS = ['version', 'iv', 'pubECDHE', 'encryptedKey', 'encryptedData', 'signature'];
const V2_FIELDS = ['version', 'createdAt', 'iv', 'pubECDHE', 'encryptedKey', 'encryptedData', 'signature'];

function exactFields(o: Record<string, unknown>, fields: string[], what: string): void {
    for (const k of Object.keys(o)) {
        if (!fields.includes(k)) {
            throw new MalformedError(`${what}: unknown field "${k}"`);
        }
    }
}

function parseKeys(v: unknown, rejectDuplicates: boolean): WrappedKeyEntry[] {
    if (!Array.isArray(v) || v.length === 0) {
        throw new MalformedError('encryptedKey: expected a non-empty array');
    }
    const seen = new Set<string>();
    return v.map((entry, i) => {
        if (!Array.isArray(entry) || entry.length !== 2) {
            throw new MalformedError(`encryptedKey[${i}]: expected [keyID, wrappedKey]`);
        }
        const id = fromBase64(entry[0], `encryptedKey[${i}][0]`, 32);
        const wrapped = fromBase64(entry[1], `encryptedKey[${i}][1]`, 24);
        const idB64 = entry[0] as string;
        if (rejectDuplicates && seen.has(idB64)) {
            throw new MalformedError(`encryptedKey[${i}]: duplicate recipient key ID`);
        }
        seen.add(idB64);
        return {id, idB64, wrapped};
    });
}

function parsePoint(v: unknown): Bytes {
    const p = fromBase64(v, 'pubECDHE', 65);
    const problem = pointProblem(p);
    if (problem) {
        throw new MalformedError(`pubECDHE: ${problem}`);
    }
    return p;
}

/** props.e2ee (an object, or its JSON text) as an object with an integer `version`: the first
 * check of every format's parser. Throws MalformedError. */
export function versionedObject(msg: unknown): Record<string, unknown> & {version: number} {
    if (typeof msg === 'string') {
        try {
            msg = JSON.parse(msg);
        } catch (e) {
            throw new MalformedError('message: not JSON', {cause: e});
        }
    }
    if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) {
        throw new MalformedError('message: expected a JSON object');
    }
    const o = msg as Record<string, unknown>;
    if (typeof o.version !== 'number' || !Number.isInteger(o.version)) {
        throw new MalformedError('version: expected an integer');
    }
    return o as Record<string, unknown> & {version: number};
}

/** Checks the structure of a v1 or v2 message (not its signature). Throws MalformedError or
 * UnsupportedVersionError. */
export function parseMessage(msg: unknown): ParsedMessage {
    const o = versionedObject(msg);
    if (o.version === 1) {
        exactFields(o, V1_FIELDS, 'v1 message'); // the original plugin wrote exactly these
        return {
            version: 1,
            iv: fromBase64(o.iv, 'iv', 16),
            pubECDHE: parsePoint(o.pubECDHE),
            keys: parseKeys(o.encryptedKey, false),
            ciphertext: fromBase64(o.encryptedData, 'encryptedData'),
            signature: fromBase64(o.signature, 'signature', 64),
        };
    }
    if (o.version === 2) {
        exactFields(o, V2_FIELDS, 'v2 message');
        if (typeof o.createdAt !== 'number' || !Number.isSafeInteger(o.createdAt) || o.createdAt < 0 || Object.is(o.createdAt, -0)) {
            throw new MalformedError('createdAt: expected a non-negative integer (ms since epoch)');
        }
        const ciphertext = fromBase64(o.encryptedData, 'encryptedData');
        if (ciphertext.length < 16) {
            throw new MalformedError('encryptedData: shorter than the AES-GCM tag');
        }
        return {
            version: 2,
            createdAt: o.createdAt,
            iv: fromBase64(o.iv, 'iv', 12),
            pubECDHE: parsePoint(o.pubECDHE),
            keys: parseKeys(o.encryptedKey, true),
            ciphertext,
            signature: fromBase64(o.signature, 'signature', 64),
        };
    }
    throw new UnsupportedVersionError(`message version ${o.version} is not supported (known: 1, 2)`);
}

/** Base64 key IDs of the recipients, in message order. */
export function recipientsOf(msg: unknown): string[] {
    return parseMessage(msg).keys.map((k) => k.idB64);
}
