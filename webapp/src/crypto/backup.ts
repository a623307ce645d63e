// The clear-text private key backup ("MM E2EE PRIVATE KEY" armor), as protocol-v1.md states it.
import {fromBase64, fromBase64Url, fromUtf8, toBase64, utf8} from './encoding';
import {BackupFormatError, CryptoError} from './errors';
import {ECDH_P256, ECDSA_P256, ECDSA_SHA256, randomBytes, subtle} from './subtle';
import type {PrivateKeySet} from './types';

export const BACKUP_BEGIN = '-----BEGIN MM E2EE PRIVATE KEY-----';
export const BACKUP_END = '-----END MM E2EE PRIVATE KEY-----';
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

/** Reads a clear-text backup (white space inside the armor and text around it are ignored).
 * The returned private keys are non-extractable. */
export async function importBackup(armor: string): Promise<PrivateKeySet> {
    if (typeof armor !== 'string') {
        throw new BackupFormatError('backup: expected text');
    }
    const start = armor.indexOf(BACKUP_BEGIN);
    if (start < 0) {
        throw new BackupFormatError(`backup: no "${BACKUP_BEGIN}" line`);
    }
    const end = armor.indexOf(BACKUP_END, start + BACKUP_BEGIN.length);
    if (end < 0) {
        throw new BackupFormatError(`backup: no "${BACKUP_END}" line`);
    }
    const body = armor.slice(start + BACKUP_BEGIN.length, end).replace(/\s+/g, '');
    let parsed: unknown;
    try {
        parsed = JSON.parse(fromUtf8(fromBase64(body, 'backup'), 'backup'));
    } catch (e) {
        throw new BackupFormatError('backup: the armored text is not base64 of a JSON document', {cause: e});
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
        throw new BackupFormatError('backup: expected a JSON object {"sign", "encr", "version"}');
    }
    const o = parsed as Record<string, unknown>;
    if (o.version !== 1) {
        throw new BackupFormatError(`backup: unsupported version ${JSON.stringify(o.version)} (expected 1)`);
    }
    const signJwk = checkJwk(o.sign, 'sign');
    const encrJwk = checkJwk(o.encr, 'encr');
    let keys: PrivateKeySet;
    try {
        keys = {ecdh: await importPrivateJWK(encrJwk, 'encr'), ecdsa: await importPrivateJWK(signJwk, 'sign')};
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
