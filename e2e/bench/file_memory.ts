// Benchmark (prints figures): memory of headless Chromium while the plugin's file encryption
// (webapp/src/crypto/file.ts, format F1) encrypts a 100 MiB file in a page, uploads the
// ciphertext to a loopback sink, then decrypts it.
// Memory is the summed proportional set size of every process of this Chromium (the tab's renderer
// and the browser process, which keeps Blob data), sampled every 50 ms; figures are the peak growth over
// the state with the input file already in memory. No server is needed.
import {execFileSync} from 'node:child_process';
import {readFileSync} from 'node:fs';

import {openFileCorePage, runBench} from '../lib/file_page';

const MIB = Number(process.env.BENCH_FILE_MIB || 100);

/** Proportional set size (shared pages split between their users) of the process trees under
 * `pids`, in bytes (Linux /proc). */
function treePSS(pids: number[]): number {
    let total = 0;
    for (const p of new Set(pids.flatMap(collect))) {
        try {
            const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${p}/smaps_rollup`, 'utf8'));
            total += m ? Number(m[1]) * 1024 : 0;
        } catch {
            // gone
        }
    }
    return total;
}

function collect(pid: number): number[] {
    const out = [pid];
    try {
        for (const line of execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], {encoding: 'utf8'}).split('\n')) {
            const child = Number(line.trim());
            if (child) {
                out.push(...collect(child));
            }
        }
    } catch {
        // no children
    }
    return out;
}

async function main(): Promise<void> {
    // A marker argument finds this browser's processes among others' on the machine.
    const marker = `--mm-e2ee-bench-${process.pid}`;
    const {page, close} = await openFileCorePage({args: [marker]});
    try {
        const roots = execFileSync('pgrep', ['-f', '--', marker], {encoding: 'utf8'}).split('\n').map(Number).filter(Boolean);
        const rss = () => treePSS(roots);
        // The input: MIB of random bytes as a Blob (what a chosen file is).
        await page.evaluate(async (mib) => {
            const parts: Uint8Array[] = [];
            for (let i = 0; i < mib; i++) {
                const p = new Uint8Array(1 << 20);
                for (let off = 0; off < p.length; off += 65536) {
                    crypto.getRandomValues(p.subarray(off, off + 65536));
                }
                parts.push(p);
            }
            (window as any).input = new Blob(parts);
        }, MIB);
        await page.evaluate(() => new Promise((r) => setTimeout(r, 500)));
        const base = rss();
        let peak = base;
        const timer = setInterval(() => {
            peak = Math.max(peak, rss());
        }, 50);
        const t0 = Date.now();
        await page.evaluate(async () => {
            const w = window as any;
            w.enc = await w.F1.encryptFile(w.input);
        });
        const encMs = Date.now() - t0;
        const encPeak = peak;
        // Then the upload, as the host sends it (multipart form data, the ciphertext Blob as the file).
        const t2 = Date.now();
        const uploaded = await page.evaluate(async () => {
            const w = window as any;
            const form = new FormData();
            form.append('channel_id', 'bench');
            form.append('files', w.enc.ciphertext, 'upload.bin');
            const res = await fetch('/upload', {method: 'POST', body: form});
            return (await res.json() as {bytes: number}).bytes;
        });
        const upMs = Date.now() - t2;
        const upPeak = Math.max(peak, rss());
        if (uploaded < (MIB << 20)) {
            throw new Error(`the upload sink got ${uploaded} bytes`);
        }
        peak = rss();
        const t1 = Date.now();
        const ok = await page.evaluate(async () => {
            const w = window as any;
            const out = await w.F1.decryptFile(w.enc.ciphertext, w.enc.key, w.enc.hash);
            return out.size === w.input.size;
        });
        const decMs = Date.now() - t1;
        clearInterval(timer);
        const decPeak = Math.max(peak, rss());
        if (!ok) {
            throw new Error('round trip failed');
        }
        const mb = (n: number) => Number((n / (1 << 20)).toFixed(1));
        process.stdout.write(JSON.stringify({
            impl: 'ours', format: 'file', where: 'chromium', bytes: MIB << 20, encrypt_ms: encMs, upload_ms: upMs, decrypt_ms: decMs,
            pss_with_input_mib: mb(base), encrypt_peak_growth_mib: mb(encPeak - base),
            encrypt_upload_peak_growth_mib: mb(upPeak - base), decrypt_peak_growth_mib: mb(decPeak - base),
        }) + '\n');
    } finally {
        await close();
    }
}

runBench(main);
