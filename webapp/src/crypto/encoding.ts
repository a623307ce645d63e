// Byte helpers: strict base64, UTF-8, integers and length-prefixed framing.
import {MalformedError} from './errors';

const B64URL_RE = /^[A-Za-z0-9_-]*$/;

export type Bytes = Uint8Array<ArrayBuffer>;

export function concat(...parts: Uint8Array[]): Bytes {
    let len = 0;
    for (const p of parts) {
        len += p.length;
    }
    const out = new Uint8Array(len);
    let off = 0;
    for (const p of parts) {
        out.set(p, off);
        off += p.length;
    }
    return out;
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const DECODE = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) {
    DECODE[ALPHABET.charCodeAt(i)] = i;
}

// Table-driven: messages carry thousands of small base64 fields and decryption must stay fast.
export function toBase64(bytes: Uint8Array): string {
    const parts: string[] = [];
    let out = '';
    const n = bytes.length;
    let i = 0;
    for (; i + 2 < n; i += 3) {
        const v = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
        out += ALPHABET[v >> 18] + ALPHABET[(v >> 12) & 63] + ALPHABET[(v >> 6) & 63] + ALPHABET[v & 63];
        if (out.length >= 8192) {
            parts.push(out);
            out = '';
        }
    }
    if (i < n) {
        const v = (bytes[i] << 16) | (i + 1 < n ? bytes[i + 1] << 8 : 0);
        out += ALPHABET[v >> 18] + ALPHABET[(v >> 12) & 63] + (i + 1 < n ? ALPHABET[(v >> 6) & 63] : '=') + '=';
    }
    parts.push(out);
    return parts.join('');
}

function decodeChar(s: string, i: number): number {
    const c = s.charCodeAt(i);
    return c < 128 ? DECODE[c] : -1;
}

/** Standard padded base64, canonical only (unused pad bits zero, so one message has one
 * encoding); `len` = exact byte length. */
export function fromBase64(value: unknown, field: string, len?: number): Bytes {
    if (typeof value !== 'string') {
        throw new MalformedError(`${field}: expected a base64 string`);
    }
    const bad = () => new MalformedError(`${field}: not valid canonical base64`);
    if (value.length % 4 !== 0) {
        throw bad();
    }
    const pad = value.endsWith('==') ? 2 : value.endsWith('=') ? 1 : 0;
    const size = (value.length / 4) * 3 - pad;
    if (len !== undefined && size !== len) {
        throw new MalformedError(`${field}: expected ${len} bytes, got ${Math.max(size, 0)}`);
    }
    const out = new Uint8Array(size);
    let o = 0;
    const full = value.length - (pad ? 4 : 0);
    for (let i = 0; i < full; i += 4) {
        const a = decodeChar(value, i);
        const b = decodeChar(value, i + 1);
        const c = decodeChar(value, i + 2);
        const d = decodeChar(value, i + 3);
        if ((a | b | c | d) < 0) {
            throw bad();
        }
        const v = (a << 18) | (b << 12) | (c << 6) | d;
        out[o++] = v >> 16;
        out[o++] = (v >> 8) & 255;
        out[o++] = v & 255;
    }
    if (pad) {
        const a = decodeChar(value, full);
        const b = decodeChar(value, full + 1);
        const c = pad === 1 ? decodeChar(value, full + 2) : 0;
        if ((a | b | c) < 0 || (pad === 2 ? b & 15 : c & 3) !== 0) {
            throw bad();
        }
        const v = (a << 18) | (b << 12) | (c << 6);
        out[o++] = v >> 16;
        if (pad === 1) {
            out[o++] = (v >> 8) & 255;
        }
    }
    return out;
}

function binToBytes(bin: string): Bytes {
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) {
        out[i] = bin.charCodeAt(i);
    }
    return out;
}

/** Unpadded base64url as in JWK. */
export function fromBase64Url(value: string): Bytes | null {
    if (!B64URL_RE.test(value) || value.length % 4 === 1) {
        return null;
    }
    const std = value.replace(/-/g, '+').replace(/_/g, '/');
    return binToBytes(atob(std + '='.repeat((4 - (std.length % 4)) % 4)));
}

const encoder = new TextEncoder();
// ignoreBOM keeps a leading U+FEFF: it is part of the text (a v1 message may start with it).
const decoder = new TextDecoder('utf-8', {fatal: true, ignoreBOM: true});

export function utf8(s: string): Bytes {
    return encoder.encode(s) as Bytes;
}

/** Strict UTF-8 decoding; invalid bytes are a MalformedError. */
export function fromUtf8(bytes: Uint8Array, field: string): string {
    try {
        return decoder.decode(bytes);
    } catch (e) {
        throw new MalformedError(`${field}: not valid UTF-8`, {cause: e});
    }
}

export function u32le(n: number): Bytes {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, n, true);
    return b;
}

export function u32be(n: number): Bytes {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, n, false);
    return b;
}

export function u64be(n: number): Bytes {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt(n), false);
    return b;
}

/** Length-prefixed framing: each item is u32be(length) || bytes, so no two item lists encode alike.
 * Written in one pass: signed data of a 1000-recipient message has 2000+ items. */
export function framed(...items: Uint8Array[]): Bytes {
    return framedList(items);
}

export function framedList(items: Uint8Array[]): Bytes {
    let len = 0;
    for (const it of items) {
        len += 4 + it.length;
    }
    const out = new Uint8Array(len);
    const view = new DataView(out.buffer);
    let off = 0;
    for (const it of items) {
        view.setUint32(off, it.length, false);
        out.set(it, off + 4);
        off += 4 + it.length;
    }
    return out;
}

export function toHex(bytes: Uint8Array): string {
    return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
    if (a.length !== b.length) {
        return false;
    }
    let d = 0;
    for (let i = 0; i < a.length; i++) {
        d |= a[i] ^ b[i];
    }
    return d === 0;
}

/** Our byte arrays are all ArrayBuffer-backed; this narrows the type WebCrypto's BufferSource wants. */
export function bs(bytes: Uint8Array): Bytes {
    return bytes as Bytes;
}
