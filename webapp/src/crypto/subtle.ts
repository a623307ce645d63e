// The one place that reaches WebCrypto (browser window.crypto or Node 20's globalThis.crypto).
import {CryptoError} from './errors';
import type {Bytes} from './encoding';
import type {PublicKey} from './types';

export function subtle(): SubtleCrypto {
    const c = globalThis.crypto;
    if (!c || !c.subtle) {
        throw new CryptoError('WebCrypto is not available (a secure context is required)');
    }
    return c.subtle;
}

export function randomBytes(n: number): Bytes {
    const out = new Uint8Array(n);
    globalThis.crypto.getRandomValues(out);
    return out;
}

export async function sha256(data: Bytes): Promise<Bytes> {
    return new Uint8Array(await subtle().digest('SHA-256', data));
}

export const ECDH_P256: EcKeyImportParams = {name: 'ECDH', namedCurve: 'P-256'};
export const ECDSA_P256: EcKeyImportParams = {name: 'ECDSA', namedCurve: 'P-256'};
export const ECDSA_SHA256: EcdsaParams = {name: 'ECDSA', hash: 'SHA-256'};

/** ECDSA P-256/SHA-256 check of a raw r || s signature; an engine that throws on an out-of-range
 * r or s (instead of answering false) is answered false too. */
export async function verifySignature(pub: PublicKey, signature: Bytes, data: Bytes): Promise<boolean> {
    try {
        return await subtle().verify(ECDSA_SHA256, pub.sign, signature, data);
    } catch {
        return false;
    }
}
