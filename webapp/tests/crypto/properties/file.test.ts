// Property tests of encrypted files, format F1 (docs/design.md §3.2, §15): any change of a valid
// ciphertext (bits, cuts, extensions, chunks moved, dropped or repeated, header fields), of its key
// or of its hash gives a FileVerificationError (an IntegrityError) or a MalformedError for a key of
// the wrong size, never another plaintext; and the file entries of a payload (§15.4) are a
// MalformedError or entries that survive a round trip.
import {randomBytes} from 'crypto';

import fc from 'fast-check';

import {
    decryptFile,
    encryptFile,
    encryptedFileSize,
    F1_CHUNK_BYTES,
    F1_HEADER_BYTES,
    F1_TAG_BYTES,
    FileVerificationError,
    parseFileHeader,
    plaintextSizeOf,
} from '../../../src/crypto/file';
import {fileEntryToJSON, parseFileEntries} from '../../../src/crypto/file_entry';
import type {Bytes} from '../../../src/crypto/encoding';
import {MalformedError} from '../../../src/crypto/errors';

import {applyByteOp, assertTyped, type ByteOp, byteOp, jestTimeout, mutantsOf, outcome, params, sameValue} from './harness';

const SEGMENT = F1_CHUNK_BYTES + F1_TAG_BYTES;
// Empty, short, exactly one chunk, one byte over, three chunks: the chunk boundaries are where a
// cut or a moved chunk could pass for a shorter file.
const SIZES = [0, 1, 100, F1_CHUNK_BYTES, F1_CHUNK_BYTES + 1, (2 * F1_CHUNK_BYTES) + 17];

interface Base {
    plain: Bytes;
    cipher: Bytes;
    key: Bytes;
    hash: Bytes;
}

const bases: Base[] = [];

beforeAll(async () => {
    for (const size of SIZES) {
        const plain = Uint8Array.from(randomBytes(size));
        const enc = await encryptFile(new Blob([plain]));
        bases.push({plain, cipher: new Uint8Array(await enc.ciphertext.arrayBuffer()), key: enc.key, hash: enc.hash});
    }
}, 60000);

const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && Buffer.from(a).equals(Buffer.from(b));

/** Chunk-aware changes: segments (chunk + tag) swapped, dropped, repeated; a cut at a segment
 * boundary (a file that ends early at a full chunk); header bytes set. */
interface ChunkOp {
    kind: 'swap' | 'drop' | 'repeat' | 'cutAtBoundary' | 'header';
    i: number;
    j: number;
    byte: number;
}

const chunkOp: fc.Arbitrary<ChunkOp> = fc.record({
    kind: fc.constantFrom('swap', 'drop', 'repeat', 'cutAtBoundary', 'header'),
    i: fc.nat(),
    j: fc.nat(),
    byte: fc.integer({min: 0, max: 255}),
});

function applyChunkOp(c: Bytes, op: ChunkOp): Bytes {
    const header = c.subarray(0, F1_HEADER_BYTES);
    const segs: Uint8Array[] = [];
    for (let o = F1_HEADER_BYTES; o < c.length; o += SEGMENT) {
        segs.push(c.subarray(o, Math.min(c.length, o + SEGMENT)));
    }
    if (!segs.length) {
        return c;
    }
    const i = op.i % segs.length;
    const j = op.j % segs.length;
    const join = (s: Uint8Array[], h: Uint8Array = header) => Uint8Array.from(Buffer.concat([h, ...s]));
    switch (op.kind) {
    case 'swap': {
        const s = [...segs];
        [s[i], s[j]] = [s[j], s[i]];
        return join(s);
    }
    case 'drop':
        return join(segs.filter((_, k) => k !== i));
    case 'repeat':
        return join([...segs.slice(0, i + 1), segs[i], ...segs.slice(i + 1)]);
    case 'cutAtBoundary':
        return join(segs.slice(0, i));
    case 'header': {
        const h = header.slice();
        h[op.j % F1_HEADER_BYTES] = op.byte;
        return join(segs, h);
    }
    }
}

const cipherMutant = fc.oneof(
    fc.array(byteOp, {minLength: 1, maxLength: 3}).map((ops) => ({ops, chunk: [] as ChunkOp[]})),
    fc.array(chunkOp, {minLength: 1, maxLength: 2}).map((chunk) => ({ops: [] as ByteOp[], chunk})),
);

test('decryptFile: a changed ciphertext is a FileVerificationError, never another plaintext', async () => {
    await fc.assert(fc.asyncProperty(fc.nat(SIZES.length - 1), cipherMutant, fc.boolean(), async (b, {ops, chunk}, withHash) => {
        const base = bases[b];
        let c = base.cipher;
        c = chunk.reduce(applyChunkOp, c);
        c = ops.reduce(applyByteOp, c);
        const r = await outcome(async () => new Uint8Array(await (await decryptFile(new Blob([c]), base.key, withHash ? base.hash : undefined)).arrayBuffer()));
        if (!r.ok) {
            assertTyped(r.error, ['integrity']);
            expect(r.error).toBeInstanceOf(FileVerificationError);
            return;
        }
        if (!same(c, base.cipher) || !same(r.value, base.plain)) {
            throw new Error(`a changed file decrypted (${c.length} bytes, was ${base.cipher.length})`);
        }
    }), params());
}, jestTimeout());

test('decryptFile: another key or hash is a typed error', async () => {
    const keyArb = fc.oneof(
        fc.tuple(fc.nat(255), fc.nat(7)).map(([i, bit]) => ({i, bit, len: 32})),
        fc.integer({min: 0, max: 64}).map((len) => ({i: 0, bit: -1, len})),
    );
    await fc.assert(fc.asyncProperty(fc.nat(SIZES.length - 1), keyArb, fc.option(fc.tuple(fc.nat(255), fc.nat(7))), async (b, k, hashFlip) => {
        const base = bases[b];
        let key = base.key.slice();
        if (k.bit >= 0) {
            key[k.i % 32] ^= 1 << k.bit;
        } else {
            key = Uint8Array.from({length: k.len}, (_, i) => base.key[i % 32]);
        }
        const hash = base.hash.slice();
        if (hashFlip) {
            hash[hashFlip[0] % 32] ^= 1 << hashFlip[1];
        }
        const r = await outcome(() => decryptFile(new Blob([base.cipher]), key, hash));
        const unchanged = same(key, base.key) && !hashFlip;
        if (unchanged) {
            expect(r.ok).toBe(true);
            return;
        }
        expect(r.ok).toBe(false);
        assertTyped((r as {error: unknown}).error, key.length === 32 ? ['integrity'] : ['malformed']);
    }), params());
}, jestTimeout());

test('parseFileHeader and plaintextSizeOf: typed errors or values consistent with the writer', () => {
    fc.assert(fc.property(fc.oneof(fc.uint8Array({maxLength: 40}), fc.nat(SIZES.length - 1).chain((b) =>
        fc.array(byteOp, {minLength: 1, maxLength: 2}).map((ops) => ops.reduce(applyByteOp, bases[b].cipher.subarray(0, F1_HEADER_BYTES))))), (h) => {
        try {
            const prefix = parseFileHeader(h);
            expect(prefix).toHaveLength(7);
            expect(Array.from(h.subarray(0, 12))).toEqual(Array.from(bases[0].cipher.subarray(0, 12)));
            expect(h[19]).toBe(0);
        } catch (e) {
            assertTyped(e, ['integrity']);
        }
    }), params(4));
    fc.assert(fc.property(fc.oneof(fc.integer({min: -10, max: 10 * SEGMENT}), fc.maxSafeNat()), (n) => {
        try {
            const size = plaintextSizeOf(n);
            expect(size).toBeGreaterThanOrEqual(0);
            expect(encryptedFileSize(size)).toBe(n); // only sizes a writer produces
        } catch (e) {
            assertTyped(e, ['integrity']);
        }
    }), params(4));
    fc.assert(fc.property(fc.integer({min: 0, max: 2 ** 40}), (size) => {
        expect(plaintextSizeOf(encryptedFileSize(size))).toBe(size);
    }), params(4));
});

// ---- file entries of a payload (§15.4) ----

const ID = (c: string) => c.repeat(26);
const B64_32 = Buffer.alloc(32, 7).toString('base64');
const PAYLOAD = {
    text: 'files',
    files: [
        {id: ID('a'), key: B64_32, hash: B64_32, name: 'photo.png', type: 'image/png', size: 1234, width: 640, height: 480,
            thumb: {id: ID('b'), key: B64_32, hash: B64_32, type: 'image/jpeg', width: 64, height: 48}},
        {id: ID('c'), key: B64_32, hash: B64_32, name: 'notes.txt', type: 'text/plain', size: 0},
    ],
};

test('parseFileEntries: a mutated "files" member is a MalformedError or entries that round-trip', () => {
    fc.assert(fc.property(mutantsOf(PAYLOAD), (m) => {
        let entries;
        try {
            entries = parseFileEntries(m.input as Record<string, unknown>);
        } catch (e) {
            assertTyped(e, ['malformed']);
            return;
        }
        const again = parseFileEntries({files: entries.map(fileEntryToJSON)});
        if (!sameValue(again.map(fileEntryToJSON), entries.map(fileEntryToJSON))) {
            throw new Error('parsed entries do not round-trip');
        }
    }), params(4));
});

describe('regressions', () => {
    test('parseFileEntries of something that is not an object is a MalformedError', () => {
        for (const v of ['{"files":[]}', null, 7, [PAYLOAD]]) {
            expect(() => parseFileEntries(v as unknown as Record<string, unknown>)).toThrow(MalformedError);
        }
        expect(parseFileEntries(PAYLOAD)).toHaveLength(2);
    });
});
