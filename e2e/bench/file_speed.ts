// Benchmark (prints figures): speed of the plugin's file encryption (webapp/src/crypto/file.ts,
// format F1) in headless Chromium, where users run it, against one-shot WebCrypto calls of the
// same bytes in the same page: AES-256-GCM (key import and encrypt) and SHA-256. The page is
// cross-origin isolated, so performance.now() is fine-grained. No server is needed.
import {openFileCorePage, runBench} from '../lib/file_page';

// BENCH_FILE_MIB=1,16,64 (comma-separated MiB) sets the sizes.
const SIZES_MIB = (process.env.BENCH_FILE_MIB || '1,16,64').split(',').map(Number);

async function main(): Promise<void> {
    const {page, close} = await openFileCorePage({isolated: true});
    try {
        if (!await page.evaluate(() => crossOriginIsolated)) {
            throw new Error('the page is not cross-origin isolated: timers would be coarse');
        }
        for (const mib of SIZES_MIB) {
            const line = await page.evaluate(async (m) => {
                const w = window as any;
                const bytes = m << 20;
                const plain = new Uint8Array(bytes);
                for (let off = 0; off < bytes; off += 65536) {
                    crypto.getRandomValues(plain.subarray(off, off + 65536));
                }
                const input = new Blob([plain]);
                const median = (xs: number[]) => {
                    const s = [...xs].sort((a, b) => a - b);
                    const h = s.length >> 1;
                    return Number((s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2).toFixed(2));
                };
                const t: Record<string, number[]> = {enc: [], dec: [], raw: [], sha: []};
                const runs = m >= 32 ? 7 : (m >= 8 ? 21 : 61);
                // Interleaved, so all four see the same state of the machine; round 0 warms up.
                for (let i = 0; i <= runs; i++) {
                    let t0 = performance.now();
                    const k = await crypto.subtle.importKey('raw', crypto.getRandomValues(new Uint8Array(32)), 'AES-GCM', false, ['encrypt']);
                    await crypto.subtle.encrypt({name: 'AES-GCM', iv: crypto.getRandomValues(new Uint8Array(12))}, k, plain);
                    const tRaw = performance.now() - t0;
                    t0 = performance.now();
                    await crypto.subtle.digest('SHA-256', plain);
                    const tSha = performance.now() - t0;
                    t0 = performance.now();
                    const e = await w.F1.encryptFile(input);
                    const tEnc = performance.now() - t0;
                    t0 = performance.now();
                    const back = await w.F1.decryptFile(e.ciphertext, e.key, e.hash);
                    const tDec = performance.now() - t0;
                    if (back.size !== bytes) {
                        throw new Error('round trip failed');
                    }
                    if (i > 0) {
                        t.raw.push(tRaw);
                        t.sha.push(tSha);
                        t.enc.push(tEnc);
                        t.dec.push(tDec);
                    }
                }
                return {
                    impl: 'ours', format: 'file', where: 'chromium', bytes,
                    encrypt_ms: median(t.enc), decrypt_ms: median(t.dec),
                    webcrypto_aes_gcm_ms: median(t.raw), webcrypto_sha256_ms: median(t.sha),
                };
            }, mib);
            process.stdout.write(JSON.stringify(line) + '\n');
        }
    } finally {
        await close();
    }
}

runBench(main);
