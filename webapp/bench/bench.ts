/// <reference types="node" />
// Benchmark of our P2P formats in one Node process: per case the median encryption and decryption
// time and the props.e2ee size. One JSON line per case on stdout.
import {generateKeys, importPublicKey, publicKeyOf} from '../src/crypto/keys';
import {decryptMessage, encryptV1, encryptV2} from '../src/crypto/p2p';
import {createEpochRecord, openEpochKeyFromRecord} from '../src/crypto/epoch';
import {decryptV3, encryptV3} from '../src/crypto/v3';
import {toBase64} from '../src/crypto/encoding';
import type {EncryptedMessageJSON, MessageContext, PublicKey} from '../src/crypto/types';
import {benchFiles} from './bench_files';

// BENCH_SIZES=1000 (comma-separated) limits the cases, for profiling.
const SIZES = (process.env.BENCH_SIZES ?? '1,10,100,1000').split(',').map(Number);
// Channel-key mode (format v3): BENCH_CHANNEL_SIZES, default up to 10,000 members.
const CHANNEL_SIZES = (process.env.BENCH_CHANNEL_SIZES ?? '1,10,100,1000,10000').split(',').filter((x) => x !== '').map(Number);
const TEXT = 'The quick brown fox jumps over the lazy dog. Ünïcödé 🔐 and a bit more text to look like a real post.';
type Format = 'v1' | 'v2';
const CTX: MessageContext = {channelId: 'benchchannel00000000000000', rootId: '', userId: 'benchuser00000000000000000'};

function median(xs: number[]): number {
    const s = [...xs].sort((a, b) => a - b);
    const m = s.length >> 1;
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function randomPublicKey(): Promise<PublicKey> {
    const s = globalThis.crypto.subtle;
    const e = await s.generateKey({name: 'ECDH', namedCurve: 'P-256'}, true, ['deriveBits']);
    const d = await s.generateKey({name: 'ECDSA', namedCurve: 'P-256'}, true, ['sign']);
    const raw = async (k: CryptoKey) => toBase64(new Uint8Array(await s.exportKey('raw', k)));
    return importPublicKey({encr: await raw(e.publicKey), sign: await raw(d.publicKey)});
}

/** The message rows (v1, v2 and channel-key); its 10,000 keys are garbage once it returns. */
async function benchMessages(): Promise<void> {
    const {keys: me} = await generateKeys();
    const mePub = await publicKeyOf(me);
    const others: PublicKey[] = [];
    for (let i = 0; i < Math.max(...SIZES, ...CHANNEL_SIZES) - 1; i++) {
        others.push(await randomPublicKey());
    }
    const formats: Record<Format, (r: PublicKey[]) => Promise<EncryptedMessageJSON>> = {
        v1: (r: PublicKey[]) => encryptV1(TEXT, me, r),
        v2: (r: PublicKey[]) => encryptV2({text: TEXT}, me, r, CTX),
    };
    for (const n of SIZES) {
        // The sender is a recipient (as in a channel) and sits last: the worst place to find it.
        const recipients = [...others.slice(0, n - 1), mePub];
        const runs = n >= 1000 ? 21 : n >= 100 ? 41 : 101;
        const warm = n >= 1000 ? 3 : 10;
        const enc: Record<Format, number[]> = {v1: [], v2: []};
        const dec: Record<Format, number[]> = {v1: [], v2: []};
        const last = {} as Record<Format, EncryptedMessageJSON>;
        // Interleave formats so both see the same machine state.
        const order = (i: number): Format[] => (i % 2 ? ['v2', 'v1'] : ['v1', 'v2']);
        for (let i = 0; i < warm + runs; i++) {
            for (const f of order(i)) {
                const t0 = performance.now();
                last[f] = await formats[f](recipients);
                if (i >= warm) {
                    enc[f].push(performance.now() - t0);
                }
            }
        }
        // Decryption on its own (not right after a large encryption and its garbage).
        for (let i = 0; i < 10 + 101; i++) {
            for (const f of order(i)) {
                const t0 = performance.now();
                const res = await decryptMessage(last[f], me, mePub, mePub, CTX);
                const t = performance.now() - t0;
                if (res.text !== TEXT) {
                    throw new Error('benchmark round trip failed');
                }
                if (i >= 10) {
                    dec[f].push(t);
                }
            }
        }
        for (const f of ['v1', 'v2'] as Format[]) {
            const line = {
                impl: 'ours',
                format: f,
                recipients: n,
                encrypt_ms: Number(median(enc[f]).toFixed(3)),
                decrypt_ms: Number(median(dec[f]).toFixed(3)),
                props_bytes: JSON.stringify(last[f]).length,
            };
            process.stdout.write(JSON.stringify(line) + '\n');
        }
    }
    for (const n of CHANNEL_SIZES) {
        await benchChannel(n, me, mePub, others);
    }
}

async function main(): Promise<void> {
    await benchMessages();
    // The file rows run after the message rows' keys are let go: a 64 MiB file allocates enough to
    // start several collections, whose cost grows with the live heap (with 10,000 keys alive,
    // 64 MiB encryption took 2.5-2.9x as long as one-shot AES-GCM; docs/design.md §10).
    await benchFiles();
}

/** One channel-key row: rotate_ms = making and signing a record for n members (one ECDH each);
 * encrypt/decrypt with the epoch key already opened (the reader opens it once per epoch). */
async function benchChannel(n: number, me: Awaited<ReturnType<typeof generateKeys>>['keys'], mePub: PublicKey, others: PublicKey[]): Promise<void> {
    const recipients = [...others.slice(0, n - 1), mePub].map((key, i) => ({userId: `member${i}`, key}));
    const rotateRuns = n >= 10000 ? 3 : n >= 1000 ? 9 : 21;
    const rotate: number[] = [];
    let made: Awaited<ReturnType<typeof createEpochRecord>> | undefined;
    for (let i = 0; i < 1 + rotateRuns; i++) {
        const t0 = performance.now();
        made = await createEpochRecord({channelId: CTX.channelId, epoch: i + 1, creatorId: 'member0', creator: me, recipients});
        if (i >= 1) {
            rotate.push(performance.now() - t0);
        }
    }
    const {record} = made!;
    const key = await openEpochKeyFromRecord(record, me, mePub, mePub); // the sender is the last member
    const ctx = {...CTX, userId: 'member0'};
    const enc: number[] = [];
    const dec: number[] = [];
    let msg = await encryptV3({text: TEXT}, me, key, ctx);
    for (let i = 0; i < 20 + 201; i++) {
        const t0 = performance.now();
        msg = await encryptV3({text: TEXT}, me, key, ctx);
        if (i >= 20) {
            enc.push(performance.now() - t0);
        }
    }
    for (let i = 0; i < 20 + 201; i++) {
        const t0 = performance.now();
        const res = await decryptV3(msg, mePub, key, ctx);
        const t = performance.now() - t0;
        if (res.text !== TEXT) {
            throw new Error('benchmark round trip failed');
        }
        if (i >= 20) {
            dec.push(t);
        }
    }
    process.stdout.write(JSON.stringify({
        impl: 'ours',
        format: 'channel',
        recipients: n,
        encrypt_ms: Number(median(enc).toFixed(3)),
        decrypt_ms: Number(median(dec).toFixed(3)),
        props_bytes: JSON.stringify(msg).length,
        rotate_ms: Number(median(rotate).toFixed(3)),
    }) + '\n');
}

main().catch((e: unknown) => {
    process.stderr.write(`bench: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.exitCode = 1;
});
