/// <reference types="node" />
// Benchmark of encrypted files (F1, docs/design.md §15) against one-shot AES-256-GCM of the same
// bytes with Node's crypto, in the same process. One JSON line per size.
import * as nodeCrypto from 'crypto';

import {decryptFile, encryptFile} from '../src/crypto/file';

// BENCH_FILE_MIB=1,64 (comma-separated MiB) sets the sizes.
const SIZES_MIB = (process.env.BENCH_FILE_MIB ?? '1,64').split(',').map(Number);

function median(xs: number[]): number {
    const s = [...xs].sort((a, b) => a - b);
    const m = s.length >> 1;
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export async function benchFiles(): Promise<void> {
    for (const mib of SIZES_MIB) {
        const bytes = mib * 1024 * 1024;
        const plain = nodeCrypto.randomBytes(bytes);
        const input = new Blob([plain as BlobPart]);
        const runs = mib >= 32 ? 5 : 21;
        const enc: number[] = [];
        const dec: number[] = [];
        const raw: number[] = [];
        for (let i = 0; i < runs + 1; i++) {
            // Interleaved so that all three see the same machine state; the first round warms up.
            let t0 = performance.now();
            const key = nodeCrypto.randomBytes(32);
            const c = nodeCrypto.createCipheriv('aes-256-gcm', key, nodeCrypto.randomBytes(12));
            const out = Buffer.concat([c.update(plain), c.final(), c.getAuthTag()]);
            const tRaw = performance.now() - t0;
            if (out.length !== bytes + 16) {
                throw new Error('raw AES-GCM failed');
            }
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
    }
}
