/// <reference types="node" />
// Benchmark of encrypted files (F1, docs/design.md §15) against one-shot AES-256-GCM of the same
// bytes with Node's crypto, in the same process. Two JSON lines per size: ours, and the floor
// (the least work any implementation of a format with the §15.3 hash does, timed beside it).
import * as nodeCrypto from 'crypto';

import {decryptFile, encryptFile} from '../src/crypto/file';

const subtle = globalThis.crypto.subtle;

// BENCH_FILE_MIB=1,64 (comma-separated MiB) sets the sizes.
const SIZES_MIB = (process.env.BENCH_FILE_MIB ?? '1,64').split(',').map(Number);

function median(xs: number[]): number {
    const s = [...xs].sort((a, b) => a - b);
    const m = s.length >> 1;
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** One-shot AES-256-GCM with Node's crypto under a random nonce: ciphertext and tag. */
function nativeAesGcm(key: Buffer, plain: Buffer): Buffer {
    const c = nodeCrypto.createCipheriv('aes-256-gcm', key, nodeCrypto.randomBytes(12));
    return Buffer.concat([c.update(plain), c.final(), c.getAuthTag()]);
}

export async function benchFiles(): Promise<void> {
    for (const mib of SIZES_MIB) {
        const bytes = mib * 1024 * 1024;
        const plain = nodeCrypto.randomBytes(bytes);
        const input = new Blob([plain as BlobPart]);
        const runs = mib >= 32 ? 5 : 101;
        const enc: number[] = [];
        const dec: number[] = [];
        const raw: number[] = [];
        const nativeFloor: number[] = [];
        const webcryptoFloor: number[] = [];
        for (let i = 0; i < runs + 1; i++) {
            // Interleaved so that all see the same machine state; the first round warms up.
            let t0 = performance.now();
            const key = nodeCrypto.randomBytes(32);
            const out = nativeAesGcm(key, plain);
            const tRaw = performance.now() - t0;
            if (out.length !== bytes + 16) {
                throw new Error('raw AES-GCM failed');
            }
            // Floor 1: Node's native AES-256-GCM, then SHA-256 of its output (the hash of the
            // ciphertext that the signed payload must carry), one-shot, on the calling thread.
            t0 = performance.now();
            nodeCrypto.createHash('sha256').update(nativeAesGcm(key, plain)).digest();
            const tNative = performance.now() - t0;
            // Floor 2: the best WebCrypto can do: key import, then one AES-GCM call beside one
            // SHA-256 call of the input (no Blob read, no chunking, no output Blob).
            t0 = performance.now();
            const wk = await subtle.importKey('raw', key, {name: 'AES-GCM'}, false, ['encrypt']);
            await Promise.all([subtle.encrypt({name: 'AES-GCM', iv: new Uint8Array(12)}, wk, plain), subtle.digest('SHA-256', plain)]);
            const tWeb = performance.now() - t0;
            t0 = performance.now();
            const e = await encryptFile(input);
            const tEnc = performance.now() - t0;
            t0 = performance.now();
            const back = await decryptFile(e.ciphertext, e.key, e.hash);
            const tDec = performance.now() - t0;
            if (back.size !== bytes) {
                throw new Error('file round trip failed');
            }
            if (i > 0) {
                raw.push(tRaw);
                enc.push(tEnc);
                dec.push(tDec);
                nativeFloor.push(tNative);
                webcryptoFloor.push(tWeb);
            }
        }
        const line = {
            impl: 'ours',
            format: 'file',
            bytes,
            encrypt_ms: Number(median(enc).toFixed(3)),
            decrypt_ms: Number(median(dec).toFixed(3)),
            raw_aes_gcm_ms: Number(median(raw).toFixed(3)),
        };
        process.stdout.write(JSON.stringify(line) + '\n');
        const floor = {
            impl: 'floor',
            format: 'file',
            bytes,
            native_aes_gcm_then_sha256_ms: Number(median(nativeFloor).toFixed(3)),
            webcrypto_aes_gcm_beside_sha256_ms: Number(median(webcryptoFloor).toFixed(3)),
            raw_aes_gcm_ms: line.raw_aes_gcm_ms,
        };
        process.stdout.write(JSON.stringify(floor) + '\n');
    }
}
