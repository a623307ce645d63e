// The clear-text private key backup ("MM E2EE PRIVATE KEY" armor), as protocol-v1.md states it.
import {fromBase64, fromBase64Url, fromUtf8, toBase64, utf8} from './encoding';
import {BackupFormatError, CryptoError} from './errors';
import {ECDH_P256, ECDSA_P256, ECDSA_SHA256, randomBytes, subtle} from './subtle';
import type {PrivateKeySet} from './types';

export const BACKUP_BEGIN = '-----BEGIN MM E2EE PRIVATE KEY-----';
export const BACKUP_END = '-----END MM E2EE PRIVATE KEY-----';
/** The all-keys armor (docs/design.md §11.4): the current key and the earlier ones. */
export const BACKUP_SET_BEGIN = '-----BEGIN MM E2EE PRIVATE KEY SET-----';
export const BACKUP_SET_END = '-----END MM E2EE PRIVATE KEY SET-----';
/** What both armors start with: text holding it must never be posted or sent as a command. */
export const BACKUP_MARKER = '-----BEGIN MM E2EE PRIVATE KEY';
/** An all-keys backup holds at most this many keys (current included). */
export const MAX_BACKUP_KEYS = 64;

/** Whether a text contains (the start of) a private key backup of either kind. */
export function containsBackup(text: unknown): boolean {
    return typeof text === 'string' && text.includes(BACKUP_MARKER);
}
const LINE = 60;

/** Re-imports a private JWK as non-extractable, plus its public half. */
export async function importPrivateJWK(jwk: JsonWebKey, kind: 'sign' | 'encr'): Promise<CryptoKeyPair> {
    const alg = kind === 'sign' ? ECDSA_P256 : ECDH_P256;
    const usages: KeyUsage[] = kind === 'sign' ? ['sign'] : ['deriveBits'];
    const privateKey = await subtle().importKey('jwk', jwk, alg, false, usages);
    const publicJwk: JsonWebKey = {kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y, ext: true};
    const publicKey = await subtle().importKey('jwk', publicJwk, alg, true, kind === 'sign' ? ['verify'] : []);
    return {privateKey, publicKey};
}

/** Armors two private JWKs. Only generateKeys calls this, while the keys are still extractable. */
export function exportBackup(sign: JsonWebKey, encr: JsonWebKey): string {
    const body = toBase64(utf8(JSON.stringify({sign, encr, version: 1})));
    const lines = body.match(new RegExp(`.{1,${LINE}}`, 'g')) ?? [];
    return [BACKUP_BEGIN, ...lines, BACKUP_END].join('\n');
}

/** A key set's two private JWKs, normalized (field order of §4: kty, crv, x, y, d, key_ops, ext). */
export interface BackupEntry {
    sign: JsonWebKey;
    encr: JsonWebKey;
}

function checkJwk(v: unknown, kind: 'sign' | 'encr'): JsonWebKey {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
        throw new BackupFormatError(`backup: "${kind}" is not a JWK object`);
    }
    const j = v as Record<string, unknown>;
    if (j.kty !== 'EC') {
        throw new BackupFormatError(`backup: "${kind}" key type must be "EC", got ${JSON.stringify(j.kty)}`);
    }
    if (j.crv !== 'P-256') {
        throw new BackupFormatError(`backup: "${kind}" curve must be "P-256", got ${JSON.stringify(j.crv)}`);
    }
    const ops = kind === 'sign' ? ['sign'] : ['deriveBits'];
    if (!Array.isArray(j.key_ops) || j.key_ops.length !== 1 || j.key_ops[0] !== ops[0]) {
        throw new BackupFormatError(`backup: "${kind}" key_ops must be ${JSON.stringify(ops)}, got ${JSON.stringify(j.key_ops)}`);
    }
    for (const f of ['x', 'y', 'd'] as const) {
        const bytes = typeof j[f] === 'string' ? fromBase64Url(j[f] as string) : null;
        if (!bytes || bytes.length !== 32) {
            throw new BackupFormatError(`backup: "${kind}".${f} must be 32 bytes of base64url`);
        }
    }
    if (j.ext !== undefined && typeof j.ext !== 'boolean') {
        throw new BackupFormatError(`backup: "${kind}".ext must be a boolean`);
    }
    return {kty: 'EC', crv: 'P-256', x: j.x as string, y: j.y as string, d: j.d as string, key_ops: ops, ext: true};
}

/** Proves each private key matches the public point stored beside it in the JWK. */
async function checkPairs(keys: PrivateKeySet): Promise<void> {
    const probe = randomBytes(32);
    const sig = await subtle().sign(ECDSA_SHA256, keys.ecdsa.privateKey, probe);
    if (!(await subtle().verify(ECDSA_SHA256, keys.ecdsa.publicKey, sig, probe))) {
        throw new BackupFormatError('backup: "sign" private key does not match its public point');
    }
    const eph = await subtle().generateKey(ECDH_P256, false, ['deriveBits']);
    const a = new Uint8Array(await subtle().deriveBits({name: 'ECDH', public: eph.publicKey}, keys.ecdh.privateKey, 256));
    const b = new Uint8Array(await subtle().deriveBits({name: 'ECDH', public: keys.ecdh.publicKey}, eph.privateKey, 256));
    if (toBase64(a) !== toBase64(b)) {
        throw new BackupFormatError('backup: "encr" private key does not match its public point');
    }
}

function armorBody(armor: string, begin: string, end: string): string | null {
    const start = armor.indexOf(begin);
    if (start < 0) {
        return null;
    }
    const stop = armor.indexOf(end, start + begin.length);
    if (stop < 0) {
        throw new BackupFormatError(`backup: no "${end}" line`);
    }
    return armor.slice(start + begin.length, stop).replace(/\s+/g, '');
}

function decodeBody(body: string): Record<string, unknown> {
    let parsed: unknown;
    try {
        parsed = JSON.parse(fromUtf8(fromBase64(body, 'backup'), 'backup'));
    } catch (e) {
        throw new BackupFormatError('backup: the armored text is not base64 of a JSON document', {cause: e});
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
        throw new BackupFormatError('backup: expected a JSON object');
    }
    return parsed as Record<string, unknown>;
}

function entryOf(v: unknown, where: string): BackupEntry {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
        throw new BackupFormatError(`backup: ${where} is not an object {"sign", "encr"}`);
    }
    const o = v as Record<string, unknown>;
    return {sign: checkJwk(o.sign, 'sign'), encr: checkJwk(o.encr, 'encr')};
}

/** The key sets of a backup, either armor (text around it and white space inside are ignored):
 * one for the original's armor; for the all-keys armor the current key first, then the earlier ones. */
export function parseBackupEntries(armor: string): BackupEntry[] {
    if (typeof armor !== 'string') {
        throw new BackupFormatError('backup: expected text');
    }
    const set = armorBody(armor, BACKUP_SET_BEGIN, BACKUP_SET_END);
    if (set !== null) {
        const o = decodeBody(set);
        if (o.version !== 1) {
            throw new BackupFormatError(`backup: unsupported key set version ${JSON.stringify(o.version)} (expected 1)`);
        }
        if (!Array.isArray(o.keys) || o.keys.length === 0 || o.keys.length > MAX_BACKUP_KEYS) {
            throw new BackupFormatError(`backup: "keys" must be a list of 1 to ${MAX_BACKUP_KEYS} key sets`);
        }
        const entries = o.keys.map((k, i) => entryOf(k, `keys[${i}]`));
        // §11.4: no key ID twice. The ID hashes both public points, so equal points = equal IDs.
        const seen = new Set<string>();
        entries.forEach((e, i) => {
            const points = [e.encr.x, e.encr.y, e.sign.x, e.sign.y].map((c) => toBase64(fromBase64Url(c as string) as Uint8Array)).join();
            if (seen.has(points)) {
                throw new BackupFormatError(`backup: keys[${i}] repeats an earlier key`);
            }
            seen.add(points);
        });
        return entries;
    }
    const single = armorBody(armor, BACKUP_BEGIN, BACKUP_END);
    if (single === null) {
        throw new BackupFormatError(`backup: no "${BACKUP_BEGIN}" line`);
    }
    const o = decodeBody(single);
    if (o.version !== 1) {
        throw new BackupFormatError(`backup: unsupported version ${JSON.stringify(o.version)} (expected 1)`);
    }
    return [entryOf(o, 'the backup')];
}

/** Imports one key set non-extractable and proves each private key matches its public point. */
export async function importBackupEntry(entry: BackupEntry): Promise<PrivateKeySet> {
    let keys: PrivateKeySet;
    try {
        keys = {ecdh: await importPrivateJWK(entry.encr, 'encr'), ecdsa: await importPrivateJWK(entry.sign, 'sign')};
    } catch (e) {
        throw new BackupFormatError('backup: WebCrypto refused a key (not a valid P-256 key)', {cause: e});
    }
    try {
        await checkPairs(keys);
    } catch (e) {
        if (e instanceof CryptoError) {
            throw e;
        }
        throw new BackupFormatError('backup: key check failed', {cause: e});
    }
    return keys;
}

/** Reads a clear-text backup of either armor and returns its current key (non-extractable). */
export async function importBackup(armor: string): Promise<PrivateKeySet> {
    return importBackupEntry(parseBackupEntries(armor)[0]);
}

/** Reads either armor: every key set, current first, all non-extractable. */
export async function importBackupSet(armor: string): Promise<PrivateKeySet[]> {
    const entries = parseBackupEntries(armor);
    const out: PrivateKeySet[] = [];
    for (const e of entries) {
        out.push(await importBackupEntry(e));
    }
    return out;
}

function jwkPoint(jwk: JsonWebKey): Uint8Array {
    const x = fromBase64Url(jwk.x ?? '');
    const y = fromBase64Url(jwk.y ?? '');
    if (!x || !y || x.length !== 32 || y.length !== 32) {
        throw new BackupFormatError('backup: bad public point in a JWK');
    }
    const out = new Uint8Array(65);
    out[0] = 4;
    out.set(x, 1);
    out.set(y, 33);
    return out;
}

/** The key ID (§4) of a backup entry, from the public points in its JWKs. */
export async function backupEntryKeyId(entry: BackupEntry): Promise<string> {
    const encr = jwkPoint(entry.encr);
    const sign = jwkPoint(entry.sign);
    const both = new Uint8Array(130);
    both.set(encr, 0);
    both.set(sign, 65);
    return toBase64(new Uint8Array(await subtle().digest('SHA-256', both)));
}

/** The all-keys armor of §11.4: entries in the order given (current first), JWKs normalized. */
export function exportBackupSet(entries: BackupEntry[]): string {
    if (entries.length === 0 || entries.length > MAX_BACKUP_KEYS) {
        throw new BackupFormatError(`backup: a key set holds 1 to ${MAX_BACKUP_KEYS} keys`);
    }
    const keys = entries.map((e) => ({sign: checkJwk(e.sign, 'sign'), encr: checkJwk(e.encr, 'encr')}));
    const body = toBase64(utf8(JSON.stringify({version: 1, keys})));
    const lines = body.match(new RegExp(`.{1,${LINE}}`, 'g')) ?? [];
    return [BACKUP_SET_BEGIN, ...lines, BACKUP_SET_END].join('\n');
}

/** One all-keys armor from several backups of either kind: the first backup's current key
 * stays current; repeated keys (same key ID) are kept once, at their first place. */
export async function combineBackups(armors: string[]): Promise<string> {
    const seen = new Set<string>();
    const out: BackupEntry[] = [];
    for (const armor of armors) {
        for (const entry of parseBackupEntries(armor)) {
            const id = await backupEntryKeyId(entry);
            if (!seen.has(id)) {
                seen.add(id);
                out.push(entry);
            }
        }
    }
    return exportBackupSet(out.slice(0, MAX_BACKUP_KEYS));
}
