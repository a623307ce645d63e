// F1 files (docs/design.md §15): round trips at chunk boundaries, and every kind of change to the
// ciphertext fails with FileVerificationError (an IntegrityError) and returns no plaintext.
import * as nodeCrypto from 'crypto';

import {IntegrityError, MalformedError} from '../../src/crypto/errors';
import {
    decryptFile, encryptFile, encryptedFileSize, F1_CHUNK_BYTES, F1_HEADER_BYTES, FileVerificationError, hashEncryptedFile, parseFileHeader, plaintextSizeOf,
} from '../../src/crypto/file';

const CS = F1_CHUNK_BYTES;
const SEG = CS + 16;
const bytesOf = async (b: Blob) => Buffer.from(await b.arrayBuffer());

async function sealed(size: number) {
    const plain = nodeCrypto.randomBytes(size);
    const enc = await encryptFile(new Blob([plain as BlobPart]));
    return {plain, enc, ct: await bytesOf(enc.ciphertext)};
}

async function expectFails(ct: Buffer, key: Uint8Array, hash?: Uint8Array): Promise<FileVerificationError> {
    const err = await decryptFile(new Blob([ct as BlobPart]), key, hash).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(FileVerificationError);
    expect(err).toBeInstanceOf(IntegrityError);
    expect((err as FileVerificationError).code).toBe('integrity');
    expect((err as Error).message).toMatch(/^file failed verification/);
    return err as FileVerificationError;
}

describe('F1 round trips', () => {
    for (const size of [0, 1, CS - 1, CS, CS + 1, (2 * CS), (3 * CS) + 7]) {
        test(`${size} bytes`, async () => {
            const {plain, enc, ct} = await sealed(size);
            expect(ct.length).toBe(encryptedFileSize(size));
            expect(plaintextSizeOf(ct.length)).toBe(size);
            expect(enc.size).toBe(size);
            expect(enc.key.length).toBe(32);
            expect(enc.ciphertext.type).toBe('application/octet-stream');
            const back = await decryptFile(enc.ciphertext, enc.key, enc.hash, 'image/png');
            expect(back.type).toBe('image/png');
            expect((await bytesOf(back)).equals(plain)).toBe(true);
            expect(Buffer.from(await hashEncryptedFile(enc.ciphertext)).equals(Buffer.from(enc.hash))).toBe(true);
        });
    }

    test('each file gets its own key and nonce prefix', async () => {
        const a = await sealed(10);
        const b = await sealed(10);
        expect(Buffer.from(a.enc.key).equals(Buffer.from(b.enc.key))).toBe(false);
        expect(a.ct.subarray(12, 19).equals(b.ct.subarray(12, 19))).toBe(false);
        expect(a.ct.subarray(0, 12).toString('hex')).toBe('4d4d45324545460100010000');
    });
});

describe('F1 refuses changed ciphertext', () => {
    let s: Awaited<ReturnType<typeof sealed>>;
    beforeAll(async () => {
        s = await sealed((3 * CS) + 100); // four chunks, the last one short
    });

    test('a flipped bit anywhere (header, each chunk, each tag)', async () => {
        for (const pos of [0, 7, 9, 12, 18, 19, F1_HEADER_BYTES, F1_HEADER_BYTES + CS + 3, F1_HEADER_BYTES + SEG + 1, s.ct.length - 1]) {
            const t = Buffer.from(s.ct);
            t[pos] ^= 1;
            await expectFails(t, s.enc.key);
        }
    });

    test('truncation: at a chunk boundary, inside a chunk, to the header only', async () => {
        await expectFails(s.ct.subarray(0, F1_HEADER_BYTES + (3 * SEG)), s.enc.key);
        await expectFails(s.ct.subarray(0, F1_HEADER_BYTES + SEG), s.enc.key);
        await expectFails(s.ct.subarray(0, s.ct.length - 1), s.enc.key);
        await expectFails(s.ct.subarray(0, F1_HEADER_BYTES + SEG + 10), s.enc.key);
        await expectFails(s.ct.subarray(0, F1_HEADER_BYTES), s.enc.key);
        await expectFails(s.ct.subarray(0, 5), s.enc.key);
    });

    test('extension: a trailing byte, a repeated last chunk, a new chunk', async () => {
        await expectFails(Buffer.concat([s.ct, Buffer.from([0])]), s.enc.key);
        const last = s.ct.subarray(F1_HEADER_BYTES + (3 * SEG));
        await expectFails(Buffer.concat([s.ct, last]), s.enc.key);
        // A full file whose last chunk is full, then a chunk sealed as not-last by the same key: no.
        const full = await sealed(2 * CS);
        await expectFails(Buffer.concat([full.ct, full.ct.subarray(F1_HEADER_BYTES, F1_HEADER_BYTES + SEG)]), full.enc.key);
    });

    test('reordered chunks', async () => {
        const c = (i: number) => s.ct.subarray(F1_HEADER_BYTES + (i * SEG), F1_HEADER_BYTES + ((i + 1) * SEG));
        await expectFails(Buffer.concat([s.ct.subarray(0, F1_HEADER_BYTES), c(1), c(0), c(2), c(3)]), s.enc.key);
        // Dropping a middle chunk is reordering too (chunk 2 sits where chunk 1 was).
        await expectFails(Buffer.concat([s.ct.subarray(0, F1_HEADER_BYTES), c(0), c(2), c(3)]), s.enc.key);
    });

    test('a chunk swapped in from another file under another key, or under the same key with another header', async () => {
        const other = await sealed((3 * CS) + 100);
        const mixed = Buffer.from(s.ct);
        other.ct.copy(mixed, F1_HEADER_BYTES + SEG, F1_HEADER_BYTES + SEG, F1_HEADER_BYTES + (2 * SEG));
        await expectFails(mixed, s.enc.key);
        // Same key, other nonce prefix: the header differs (AAD and nonce), so chunks do not move.
        const plain = nodeCrypto.randomBytes(2 * CS);
        const a = await bytesOf((await encryptFile(new Blob([plain as BlobPart]), {key: s.enc.key})).ciphertext);
        const b = await bytesOf((await encryptFile(new Blob([plain as BlobPart]), {key: s.enc.key})).ciphertext);
        const swapped = Buffer.concat([a.subarray(0, F1_HEADER_BYTES + SEG), b.subarray(F1_HEADER_BYTES + SEG)]);
        await expectFails(swapped, s.enc.key);
        await expectFails(Buffer.concat([b.subarray(0, F1_HEADER_BYTES), a.subarray(F1_HEADER_BYTES)]), s.enc.key);
    });

    test('across hash groups (17 chunks): truncation to the first group, a group boundary bit flip', async () => {
        const g = await sealed((16 * CS) + 5);
        expect((await bytesOf(await decryptFile(g.enc.ciphertext, g.enc.key, g.enc.hash))).equals(g.plain)).toBe(true);
        await expectFails(g.ct.subarray(0, F1_HEADER_BYTES + (16 * SEG)), g.enc.key);
        const t = Buffer.from(g.ct);
        t[F1_HEADER_BYTES + (16 * SEG)] ^= 1;
        await expectFails(t, g.enc.key);
    });

    test('across read spans (8 groups are read at once): 17 groups and a bit, a change in the third span', async () => {
        const size = (17 * 16 * CS) + 3; // spans of 8, 8 and 2 groups
        const g = await sealed(size);
        expect(g.ct.length).toBe(encryptedFileSize(size));
        // Chunk i is AES-GCM of plaintext chunk i with nonce prefix || i || last, independently of how it was read.
        const prefix = g.ct.subarray(12, 19);
        for (const i of [0, 127, 128, 255, 256, 272]) {
            const iv = Buffer.alloc(12);
            prefix.copy(iv);
            iv.writeUInt32BE(i, 7);
            iv[11] = i === 272 ? 1 : 0;
            const c = nodeCrypto.createCipheriv('aes-256-gcm', g.enc.key, iv);
            c.setAAD(g.ct.subarray(0, F1_HEADER_BYTES));
            const want = Buffer.concat([c.update(g.plain.subarray(i * CS, (i + 1) * CS)), c.final(), c.getAuthTag()]);
            expect(g.ct.subarray(F1_HEADER_BYTES + (i * SEG), F1_HEADER_BYTES + (i * SEG) + want.length).equals(want)).toBe(true);
        }
        expect((await bytesOf(await decryptFile(g.enc.ciphertext, g.enc.key, g.enc.hash))).equals(g.plain)).toBe(true);
        expect(Buffer.from(await hashEncryptedFile(g.enc.ciphertext)).equals(Buffer.from(g.enc.hash))).toBe(true);
        const t = Buffer.from(g.ct);
        t[F1_HEADER_BYTES + (16 * 16 * SEG) + 9] ^= 1;
        await expectFails(t, g.enc.key, g.enc.hash);
        await expectFails(g.ct.subarray(0, F1_HEADER_BYTES + (16 * 16 * SEG)), g.enc.key);
    });

    test('a wrong key', async () => {
        await expectFails(s.ct, nodeCrypto.randomBytes(32));
    });

    test('a ciphertext that decrypts but is not the one the message names (hash)', async () => {
        // Same key and plaintext, new encryption: authentic under the key, but another file.
        const again = await bytesOf((await encryptFile(new Blob([s.plain as BlobPart]), {key: s.enc.key})).ciphertext);
        expect((await bytesOf(await decryptFile(new Blob([again as BlobPart]), s.enc.key))).equals(s.plain)).toBe(true);
        const err = await expectFails(again, s.enc.key, s.enc.hash);
        expect(err.message).toMatch(/hash/);
    });

    test('a key of the wrong length is malformed input, not a verification failure', async () => {
        await expect(decryptFile(new Blob([s.ct as BlobPart]), new Uint8Array(16))).rejects.toBeInstanceOf(MalformedError);
    });

    test('header checks', () => {
        const h = Buffer.from(s.ct.subarray(0, F1_HEADER_BYTES));
        expect(Buffer.from(parseFileHeader(h)).equals(h.subarray(12, 19))).toBe(true);
        for (const [pos, val] of [[0, 0x6d], [7, 2], [10, 2], [19, 1]]) {
            const t = Buffer.from(h);
            t[pos] = val;
            expect(() => parseFileHeader(t)).toThrow(FileVerificationError);
        }
        expect(() => plaintextSizeOf(F1_HEADER_BYTES + 15)).toThrow(FileVerificationError);
        expect(() => plaintextSizeOf(F1_HEADER_BYTES + SEG + 16)).toThrow(FileVerificationError);
        expect(plaintextSizeOf(F1_HEADER_BYTES + SEG + 17)).toBe(CS + 1);
    });
});
