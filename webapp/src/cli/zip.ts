/// <reference types="node" />
// A small read-only ZIP reader for Mattermost's bulk export archives (written by Go's archive/zip):
// the central directory (ZIP64 included), entries stored or deflated. No CRC check: every byte we
// use from an export is checked by a signature or an AEAD tag anyway.
import * as fs from 'fs';
import * as zlib from 'zlib';

export class ZipError extends Error {}

interface Entry {
    method: number;
    compressedSize: number;
    size: number;
    localOffset: number;
}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const MAX_U32 = 0xffffffff;

function u64(b: Buffer, at: number): number {
    const v = b.readBigUInt64LE(at);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
        throw new ZipError('zip: a size or offset is too large');
    }
    return Number(v);
}

export class ZipReader {
    private readonly fd: number;
    private readonly fileSize: number;
    readonly entries = new Map<string, Entry>();

    private constructor(fd: number, size: number) {
        this.fd = fd;
        this.fileSize = size;
    }

    /** Opens a ZIP file and reads its central directory; ZipError when it is not one. */
    static open(path: string): ZipReader {
        const fd = fs.openSync(path, 'r');
        const z = new ZipReader(fd, fs.fstatSync(fd).size);
        try {
            z.readDirectory();
        } catch (e) {
            z.close();
            throw e;
        }
        return z;
    }

    close(): void {
        fs.closeSync(this.fd);
    }

    private bytes(at: number, n: number): Buffer {
        if (at < 0 || n < 0 || at + n > this.fileSize) {
            throw new ZipError('zip: truncated archive');
        }
        const b = Buffer.alloc(n);
        let done = 0;
        while (done < n) {
            const got = fs.readSync(this.fd, b, done, n - done, at + done);
            if (got === 0) {
                throw new ZipError('zip: truncated archive');
            }
            done += got;
        }
        return b;
    }

    private readDirectory(): void {
        const tailLen = Math.min(this.fileSize, 22 + 65535);
        const tail = this.bytes(this.fileSize - tailLen, tailLen);
        let eocd = -1;
        for (let i = tail.length - 22; i >= 0; i--) {
            if (tail.readUInt32LE(i) === EOCD) {
                eocd = i;
                break;
            }
        }
        if (eocd < 0) {
            throw new ZipError('not a zip archive (no end of central directory)');
        }
        let count = tail.readUInt16LE(eocd + 10);
        let cdSize = tail.readUInt32LE(eocd + 12);
        let cdOffset = tail.readUInt32LE(eocd + 16);
        if (count === 0xffff || cdSize === MAX_U32 || cdOffset === MAX_U32) {
            const locAt = this.fileSize - tailLen + eocd - 20;
            const loc = this.bytes(locAt, 20);
            if (loc.readUInt32LE(0) !== ZIP64_LOCATOR) {
                throw new ZipError('zip: ZIP64 locator missing');
            }
            const z64 = this.bytes(u64(loc, 8), 56);
            if (z64.readUInt32LE(0) !== ZIP64_EOCD) {
                throw new ZipError('zip: ZIP64 end of central directory missing');
            }
            count = u64(z64, 32);
            cdSize = u64(z64, 40);
            cdOffset = u64(z64, 48);
        }
        const cd = this.bytes(cdOffset, cdSize);
        let p = 0;
        for (let i = 0; i < count; i++) {
            if (p + 46 > cd.length || cd.readUInt32LE(p) !== CENTRAL) {
                throw new ZipError('zip: damaged central directory');
            }
            const method = cd.readUInt16LE(p + 10);
            let compressedSize = cd.readUInt32LE(p + 20);
            let size = cd.readUInt32LE(p + 24);
            const nameLen = cd.readUInt16LE(p + 28);
            const extraLen = cd.readUInt16LE(p + 30);
            const commentLen = cd.readUInt16LE(p + 32);
            let localOffset = cd.readUInt32LE(p + 42);
            const name = cd.toString('utf8', p + 46, p + 46 + nameLen);
            // ZIP64 extra field: the 0xFFFFFFFF fields, in this order.
            let x = p + 46 + nameLen;
            const xEnd = x + extraLen;
            while (x + 4 <= xEnd) {
                const id = cd.readUInt16LE(x);
                const len = cd.readUInt16LE(x + 2);
                if (id === 0x0001) {
                    let q = x + 4;
                    if (size === MAX_U32) {
                        size = u64(cd, q);
                        q += 8;
                    }
                    if (compressedSize === MAX_U32) {
                        compressedSize = u64(cd, q);
                        q += 8;
                    }
                    if (localOffset === MAX_U32) {
                        localOffset = u64(cd, q);
                    }
                }
                x += 4 + len;
            }
            this.entries.set(name, {method, compressedSize, size, localOffset});
            p += 46 + nameLen + extraLen + commentLen;
        }
    }

    /** The entry's uncompressed bytes, or null when the archive has no such entry. */
    read(name: string): Buffer | null {
        const e = this.entries.get(name);
        if (!e) {
            return null;
        }
        const local = this.bytes(e.localOffset, 30);
        if (local.readUInt32LE(0) !== LOCAL) {
            throw new ZipError(`zip: damaged entry ${name}`);
        }
        const dataAt = e.localOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
        const raw = this.bytes(dataAt, e.compressedSize);
        let out: Buffer;
        if (e.method === 0) {
            out = raw;
        } else if (e.method === 8) {
            try {
                out = zlib.inflateRawSync(raw);
            } catch (err) {
                throw new ZipError(`zip: cannot inflate ${name}: ${String(err)}`);
            }
        } else {
            throw new ZipError(`zip: entry ${name} uses compression method ${e.method}`);
        }
        if (out.length !== e.size) {
            throw new ZipError(`zip: entry ${name} has the wrong size`);
        }
        return out;
    }
}
