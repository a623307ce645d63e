// Encrypted files, format F1 (docs/design.md §15): a 20-byte header, then the plaintext in
// 64 KiB chunks, each sealed with AES-256-GCM under the file's own key; the nonce holds the
// chunk counter and a last-chunk flag, the header is every chunk's AAD. Works on Blobs chunk by
// chunk so a large file is never held twice in JS memory.
import {bytesEqual, concat, type Bytes} from './encoding';
import {IntegrityError, MalformedError} from './errors';
import {F1_CHUNK_BYTES, F1_HEADER_BYTES, F1_KEY_BYTES, F1_TAG_BYTES, encryptedFileSize} from './file_format';
import {randomBytes, subtle} from './subtle';

export const F1_MAGIC = new Uint8Array([0x4d, 0x4d, 0x45, 0x32, 0x45, 0x45, 0x46]); // "MME2EEF"
export const F1_VERSION = 1;
export {F1_HEADER_BYTES, F1_CHUNK_BYTES, F1_TAG_BYTES, F1_KEY_BYTES, encryptedFileSize};
const PREFIX_BYTES = 7;
const SEGMENT_BYTES = F1_CHUNK_BYTES + F1_TAG_BYTES;
// Chunks are sealed and hashed in groups of 16 (1 MiB, the hash groups of §15.3): fewer, larger
// WebCrypto calls. Groups in flight at once: bounds memory to a few MiB.
const GROUP_CHUNKS = 16;
const WINDOW = 3;
// The input is read SPAN_GROUPS groups (8 MiB) at a time, the next span while this one is sealed:
// a Blob read costs per call (in Chromium 64 MiB read in 1 MiB slices took 2.1x as long as in
// 8 MiB ones).
const SPAN_GROUPS = 8;
// Output parts are merged into one Blob every this many bytes, so JS holds few small arrays.
const MERGE_BYTES = 8 << 20;

/** The ciphertext does not decrypt to an intact file under this key (tampered, truncated,
 * extended, reordered, swapped chunk, wrong key, wrong hash): "file failed verification". */
export class FileVerificationError extends IntegrityError {
    constructor(reason: string) {
        super(`file failed verification: ${reason}`);
    }
}

export interface EncryptedFile {
    ciphertext: Blob;
    key: Bytes; // 32-byte AES-256 key of this file
    hash: Bytes; // chunked SHA-256 of the ciphertext (§15.3)
    size: number; // plaintext bytes
}

export interface EncryptFileOptions {
    key?: Uint8Array; // tests and vectors only: a fixed key
    prefix?: Uint8Array; // tests and vectors only: a fixed 7-byte nonce prefix
}

export function fileHeader(prefix: Uint8Array): Bytes {
    const h = new Uint8Array(F1_HEADER_BYTES);
    h.set(F1_MAGIC, 0);
    h[7] = F1_VERSION;
    new DataView(h.buffer).setUint32(8, F1_CHUNK_BYTES);
    h.set(prefix, 12);
    h[19] = 0;
    return h;
}

/** Checks the 20-byte header; returns the nonce prefix. Anything else than F1 throws. */
export function parseFileHeader(header: Uint8Array): Bytes {
    if (header.length < F1_HEADER_BYTES) {
        throw new FileVerificationError('shorter than the header');
    }
    if (!bytesEqual(header.subarray(0, 7), F1_MAGIC)) {
        throw new FileVerificationError('not an encrypted file (magic)');
    }
    if (header[7] !== F1_VERSION) {
        throw new FileVerificationError(`unsupported file format version ${header[7]}`);
    }
    if (new DataView(header.buffer, header.byteOffset, header.byteLength).getUint32(8) !== F1_CHUNK_BYTES) {
        throw new FileVerificationError('unsupported chunk size');
    }
    if (header[19] !== 0) {
        throw new FileVerificationError('reserved header byte is not zero');
    }
    return header.slice(12, 19);
}

function nonce(prefix: Uint8Array, counter: number, last: boolean): Bytes {
    const n = new Uint8Array(12);
    n.set(prefix, 0);
    new DataView(n.buffer).setUint32(7, counter);
    n[11] = last ? 1 : 0;
    return n;
}

async function importFileKey(key: Uint8Array, usage: KeyUsage): Promise<CryptoKey> {
    if (!(key instanceof Uint8Array) || key.length !== F1_KEY_BYTES) {
        throw new MalformedError('file key: expected 32 bytes');
    }
    return subtle().importKey('raw', new Uint8Array(key), {name: 'AES-GCM'}, false, [usage]);
}

async function digest(data: Uint8Array): Promise<Bytes> {
    return new Uint8Array(await subtle().digest('SHA-256', data as Bytes));
}

async function readSlice(blob: Blob, start: number, end: number): Promise<Bytes> {
    return new Uint8Array(await blob.slice(start, end).arrayBuffer());
}

/** Hands out group g of a Blob (groups of `groupBytes` from offset `base`), reading whole spans of
 * SPAN_GROUPS groups and the next span ahead. Groups must be asked for in order; a span is let go
 * once its last group was handed out, so JS holds at most three spans of input (one whose last
 * groups are still in flight, the current one and the one read ahead). */
class GroupReader {
    private readonly spans = new Map<number, Promise<Bytes>>();

    constructor(private readonly blob: Blob, private readonly base: number, private readonly groupBytes: number, private readonly groups: number) {}

    private span(k: number): Promise<Bytes> {
        let p = this.spans.get(k);
        if (!p) {
            const start = this.base + (k * SPAN_GROUPS * this.groupBytes);
            p = readSlice(this.blob, start, Math.min(this.blob.size, start + (SPAN_GROUPS * this.groupBytes)));
            p.catch(() => undefined); // awaited by its groups; not unhandled meanwhile
            this.spans.set(k, p);
        }
        return p;
    }

    async group(g: number): Promise<Bytes> {
        const k = Math.floor(g / SPAN_GROUPS);
        const span = this.span(k);
        if ((k + 1) * SPAN_GROUPS < this.groups) {
            this.span(k + 1); // read ahead
        }
        if ((g % SPAN_GROUPS) === SPAN_GROUPS - 1 || g === this.groups - 1) {
            this.spans.delete(k);
        }
        const off = (g % SPAN_GROUPS) * this.groupBytes;
        return (await span).subarray(off, off + this.groupBytes);
    }
}

/** Collects output parts, folding them into Blobs so that JS keeps at most MERGE_BYTES of arrays. */
class BlobBuilder {
    private blobs: Blob[] = [];
    private parts: BlobPart[] = [];
    private pending = 0;

    push(part: Uint8Array | ArrayBuffer): void {
        this.parts.push(part as BlobPart);
        this.pending += part.byteLength;
        if (this.pending >= MERGE_BYTES) {
            this.flush();
        }
    }

    private flush(): void {
        if (this.parts.length) {
            this.blobs.push(new Blob(this.parts));
            this.parts = [];
            this.pending = 0;
        }
    }

    finish(type: string): Blob {
        if (!this.blobs.length) {
            return new Blob(this.parts, {type}); // small files: one Blob, one copy
        }
        this.flush();
        return new Blob(this.blobs, {type});
    }
}

/** Runs `work(i)` for i in [0, n) with at most WINDOW in flight, consuming results in order. */
async function pipeline<T>(n: number, work: (i: number) => Promise<T>, consume: (r: T, i: number) => void): Promise<void> {
    const inflight: Array<Promise<T>> = [];
    let next = 0;
    for (let i = 0; i < n; i++) {
        while (next < n && next < i + WINDOW) {
            const p = work(next++);
            p.catch(() => undefined); // a later group failing while an earlier one is awaited is not unhandled
            inflight.push(p);
        }
        consume(await (inflight.shift() as Promise<T>), i);
    }
}

/** Encrypts a file (any Blob) into the F1 format under a fresh random key. */
export async function encryptFile(data: Blob, options: EncryptFileOptions = {}): Promise<EncryptedFile> {
    const keyBytes = new Uint8Array(options.key ?? randomBytes(F1_KEY_BYTES));
    const prefix = options.prefix ?? randomBytes(PREFIX_BYTES);
    if (prefix.length !== PREFIX_BYTES) {
        throw new MalformedError('file nonce prefix: expected 7 bytes');
    }
    const key = await importFileKey(keyBytes, 'encrypt');
    const header = fileHeader(prefix);
    const size = data.size;
    const n = Math.max(1, Math.ceil(size / F1_CHUNK_BYTES));
    const groups = Math.ceil(n / GROUP_CHUNKS);
    const out = new BlobBuilder();
    out.push(header);
    const headerDigest = digest(header); // runs while the first group is read and sealed
    const digests: Array<Uint8Array | Promise<Uint8Array>> = [headerDigest];
    const reader = new GroupReader(data, 0, GROUP_CHUNKS * F1_CHUNK_BYTES, groups);
    await pipeline(groups, async (g) => {
        // The chunks of a group are sealed at once into one output buffer.
        const first = g * GROUP_CHUNKS;
        const count = Math.min(GROUP_CHUNKS, n - first);
        const plain = await reader.group(g);
        const sealed = new Uint8Array(plain.length + (count * F1_TAG_BYTES));
        await Promise.all(Array.from({length: count}, async (_, j) => {
            const i = first + j;
            const c = await subtle().encrypt({name: 'AES-GCM', iv: nonce(prefix, i, i === n - 1), additionalData: header, tagLength: 128},
                key, plain.subarray(j * F1_CHUNK_BYTES, (j + 1) * F1_CHUNK_BYTES));
            sealed.set(new Uint8Array(c), j * SEGMENT_BYTES);
        }));
        return {sealed, d: await digest(sealed)};
    }, ({sealed, d}) => {
        out.push(sealed);
        digests.push(d);
    });
    return {ciphertext: out.finish('application/octet-stream'), key: keyBytes, hash: await digest(concat(...await Promise.all(digests))), size};
}

/** Reads only the header and the size of an F1 ciphertext: checks the header and that the size
 * is one an F1 writer can produce; returns the plaintext size. */
export function plaintextSizeOf(ciphertextSize: number): number {
    const body = ciphertextSize - F1_HEADER_BYTES;
    if (body < F1_TAG_BYTES) {
        throw new FileVerificationError('truncated');
    }
    const n = Math.ceil(body / SEGMENT_BYTES);
    const lastLen = body - ((n - 1) * SEGMENT_BYTES);
    if (n > 1 && lastLen <= F1_TAG_BYTES) {
        throw new FileVerificationError('truncated');
    }
    return body - (n * F1_TAG_BYTES);
}

/** Decrypts an F1 file. With `expectedHash`, the ciphertext must also hash to it (§15.3).
 * Returns the plaintext only when every check passed; throws FileVerificationError otherwise. */
export async function decryptFile(ciphertext: Blob, keyBytes: Uint8Array, expectedHash?: Uint8Array, type = 'application/octet-stream'): Promise<Blob> {
    const [key, header] = await Promise.all([importFileKey(keyBytes, 'decrypt'), readSlice(ciphertext, 0, F1_HEADER_BYTES)]);
    const prefix = parseFileHeader(header);
    const total = ciphertext.size;
    plaintextSizeOf(total);
    const n = Math.ceil((total - F1_HEADER_BYTES) / SEGMENT_BYTES);
    const groups = Math.ceil(n / GROUP_CHUNKS);
    const out = new BlobBuilder();
    const digests: Array<Uint8Array | Promise<Uint8Array>> = expectedHash ? [digest(header)] : [];
    const reader = new GroupReader(ciphertext, F1_HEADER_BYTES, GROUP_CHUNKS * SEGMENT_BYTES, groups);
    await pipeline(groups, async (g) => {
        const first = g * GROUP_CHUNKS;
        const count = Math.min(GROUP_CHUNKS, n - first);
        const sealed = await reader.group(g);
        // The group's hash runs beside its chunks' decryption; plaintext chunks go to the output
        // as WebCrypto returns them (no copy into one buffer).
        const [d, ...plain] = await Promise.all([
            expectedHash ? digest(sealed) : Promise.resolve(undefined),
            ...Array.from({length: count}, async (_, j) => {
                const i = first + j;
                try {
                    return await subtle().decrypt({name: 'AES-GCM', iv: nonce(prefix, i, i === n - 1), additionalData: header, tagLength: 128},
                        key, sealed.subarray(j * SEGMENT_BYTES, (j + 1) * SEGMENT_BYTES));
                } catch {
                    throw new FileVerificationError(`chunk ${i} does not authenticate (wrong key, changed, moved, truncated or extended)`);
                }
            }),
        ]);
        return {plain: plain as ArrayBuffer[], d};
    }, ({plain, d}) => {
        for (const p of plain) {
            out.push(p);
        }
        if (d) {
            digests.push(d);
        }
    });
    if (expectedHash && !bytesEqual(await digest(concat(...await Promise.all(digests))), expectedHash)) {
        throw new FileVerificationError('the ciphertext is not the one the message names (hash)');
    }
    return out.finish(type);
}

/** The §15.3 hash of an F1 ciphertext, without decrypting it. */
export async function hashEncryptedFile(ciphertext: Blob): Promise<Bytes> {
    const total = ciphertext.size;
    const digests: Uint8Array[] = [await digest(await readSlice(ciphertext, 0, Math.min(total, F1_HEADER_BYTES)))];
    const groupBytes = GROUP_CHUNKS * SEGMENT_BYTES;
    const groups = Math.max(0, Math.ceil((total - F1_HEADER_BYTES) / groupBytes));
    const reader = new GroupReader(ciphertext, F1_HEADER_BYTES, groupBytes, groups);
    await pipeline(groups, async (g) => digest(await reader.group(g)), (d) => {
        digests.push(d);
    });
    return digest(concat(...digests));
}
