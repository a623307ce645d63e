#!/usr/bin/env node
/******/ (() => { // webpackBootstrap
/******/ 	"use strict";

;// external "fs"
const external_fs_namespaceObject = require("fs");
;// ./src/crypto/errors.ts
// Typed errors of the crypto core: callers branch on the class (or `code`), never on messages.
class CryptoError extends Error {
    code;
    constructor(message, code = 'crypto', options) {
        super(message, options);
        this.code = code;
        this.name = new.target.name;
        // Keeps `instanceof` working when compiled to ES5-style classes.
        Object.setPrototypeOf(this, new.target.prototype);
    }
}
/** A signature, AEAD tag or key-wrap check failed, or the message was moved to another context. */
class IntegrityError extends CryptoError {
    constructor(message = 'message integrity check failed', options) {
        super(message, 'integrity', options);
    }
}
/** The message is well formed and authentic but holds no key for us. */
class NotRecipientError extends CryptoError {
    constructor(message = 'this key is not among the message recipients') {
        super(message, 'not_recipient');
    }
}
/** The input does not have the structure the format requires. */
class MalformedError extends CryptoError {
    constructor(message, options) {
        super(message, 'malformed', options);
    }
}
class UnsupportedVersionError extends CryptoError {
    constructor(message) {
        super(message, 'unsupported_version');
    }
}
/** A public or private key that is not a valid P-256 key of the expected form. */
class InvalidKeyError extends CryptoError {
    constructor(message, options) {
        super(message, 'invalid_key', options);
    }
}
/** A clear-text private key backup that does not follow the format. */
class BackupFormatError extends CryptoError {
    constructor(message, options) {
        super(message, 'backup_format', options);
    }
}
/** A v2 message was verified or decrypted without the context it must be bound to. */
class MissingContextError extends CryptoError {
    constructor(message = 'a v2 message needs its context (channel, root, user) to be verified') {
        super(message, 'missing_context');
    }
}
/** An HKP key server answered with an error or something unreadable. */
class KeyServerError extends CryptoError {
    constructor(message, options) {
        super(message, 'key_server', options);
    }
}
/** OpenPGP could not read a key or encrypt to it. */
class GPGError extends CryptoError {
    constructor(message, options) {
        super(message, 'gpg', options);
    }
}

;// ./src/crypto/encoding.ts
// Byte helpers: strict base64, UTF-8, integers and length-prefixed framing.

const B64URL_RE = /^[A-Za-z0-9_-]*$/;
function concat(...parts) {
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
function toBase64(bytes) {
    const parts = [];
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
function decodeChar(s, i) {
    const c = s.charCodeAt(i);
    return c < 128 ? DECODE[c] : -1;
}
/** Standard padded base64, canonical only (unused pad bits zero, so one message has one
 * encoding); `len` = exact byte length. */
function fromBase64(value, field, len) {
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
function binToBytes(bin) {
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) {
        out[i] = bin.charCodeAt(i);
    }
    return out;
}
/** Unpadded base64url as in JWK. */
function fromBase64Url(value) {
    if (!B64URL_RE.test(value) || value.length % 4 === 1) {
        return null;
    }
    const std = value.replace(/-/g, '+').replace(/_/g, '/');
    return binToBytes(atob(std + '='.repeat((4 - (std.length % 4)) % 4)));
}
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });
function utf8(s) {
    return encoder.encode(s);
}
/** Strict UTF-8 decoding; invalid bytes are a MalformedError. */
function fromUtf8(bytes, field) {
    try {
        return decoder.decode(bytes);
    }
    catch (e) {
        throw new MalformedError(`${field}: not valid UTF-8`, { cause: e });
    }
}
function u32le(n) {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, n, true);
    return b;
}
function u32be(n) {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, n, false);
    return b;
}
function u64be(n) {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt(n), false);
    return b;
}
/** Length-prefixed framing: each item is u32be(length) || bytes, so no two item lists encode alike.
 * Written in one pass: signed data of a 1000-recipient message has 2000+ items. */
function framed(...items) {
    return framedList(items);
}
function framedList(items) {
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
function toHex(bytes) {
    return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
function bytesEqual(a, b) {
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
function bs(bytes) {
    return bytes;
}

;// ./src/crypto/subtle.ts
// The one place that reaches WebCrypto (browser window.crypto or Node 20's globalThis.crypto).

function subtle() {
    const c = globalThis.crypto;
    if (!c || !c.subtle) {
        throw new CryptoError('WebCrypto is not available (a secure context is required)');
    }
    return c.subtle;
}
function randomBytes(n) {
    const out = new Uint8Array(n);
    globalThis.crypto.getRandomValues(out);
    return out;
}
async function sha256(data) {
    return new Uint8Array(await subtle().digest('SHA-256', data));
}
const ECDH_P256 = { name: 'ECDH', namedCurve: 'P-256' };
const ECDSA_P256 = { name: 'ECDSA', namedCurve: 'P-256' };
const ECDSA_SHA256 = { name: 'ECDSA', hash: 'SHA-256' };
/** ECDSA P-256/SHA-256 check of a raw r || s signature; an engine that throws on an out-of-range
 * r or s (instead of answering false) is answered false too. */
async function verifySignature(pub, signature, data) {
    try {
        return await subtle().verify(ECDSA_SHA256, pub.sign, signature, data);
    }
    catch {
        return false;
    }
}

;// ./src/crypto/backup.ts
// The clear-text private key backup ("MM E2EE PRIVATE KEY" armor), as protocol-v1.md states it.



const BACKUP_BEGIN = '-----BEGIN MM E2EE PRIVATE KEY-----';
const BACKUP_END = '-----END MM E2EE PRIVATE KEY-----';
const LINE = 60;
/** Re-imports a private JWK as non-extractable, plus its public half. */
async function importPrivateJWK(jwk, kind) {
    const alg = kind === 'sign' ? ECDSA_P256 : ECDH_P256;
    const usages = kind === 'sign' ? ['sign'] : ['deriveBits'];
    const privateKey = await subtle().importKey('jwk', jwk, alg, false, usages);
    const publicJwk = { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y, ext: true };
    const publicKey = await subtle().importKey('jwk', publicJwk, alg, true, kind === 'sign' ? ['verify'] : []);
    return { privateKey, publicKey };
}
/** Armors two private JWKs. Only generateKeys calls this, while the keys are still extractable. */
function exportBackup(sign, encr) {
    const body = toBase64(utf8(JSON.stringify({ sign, encr, version: 1 })));
    const lines = body.match(new RegExp(`.{1,${LINE}}`, 'g')) ?? [];
    return [BACKUP_BEGIN, ...lines, BACKUP_END].join('\n');
}
function checkJwk(v, kind) {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
        throw new BackupFormatError(`backup: "${kind}" is not a JWK object`);
    }
    const j = v;
    if (j.kty !== 'EC') {
        throw new BackupFormatError(`backup: "${kind}" key type must be "EC", got ${JSON.stringify(j.kty)}`);
    }
    if (j.crv !== 'P-256') {
        throw new BackupFormatError(`backup: "${kind}" curve must be "P-256", got ${JSON.stringify(j.crv)}`);
    }
    const ops = kind === 'sign' ? ['sign'] : ['deriveBits'];
    if (!Array.isArray(j.key_ops) || j.key_ops.length !== 1 || j.key_ops[0] !== ops[0]) {
        throw new BackupFormatError(`backup: "${kind}" key_ops must be ${JSON.stringify(ops)}, got ${JSON.stringify(j.key_ops)}`);
    }
    for (const f of ['x', 'y', 'd']) {
        const bytes = typeof j[f] === 'string' ? fromBase64Url(j[f]) : null;
        if (!bytes || bytes.length !== 32) {
            throw new BackupFormatError(`backup: "${kind}".${f} must be 32 bytes of base64url`);
        }
    }
    if (j.ext !== undefined && typeof j.ext !== 'boolean') {
        throw new BackupFormatError(`backup: "${kind}".ext must be a boolean`);
    }
    return { kty: 'EC', crv: 'P-256', x: j.x, y: j.y, d: j.d, key_ops: ops, ext: true };
}
/** Proves each private key matches the public point stored beside it in the JWK. */
async function checkPairs(keys) {
    const probe = randomBytes(32);
    const sig = await subtle().sign(ECDSA_SHA256, keys.ecdsa.privateKey, probe);
    if (!(await subtle().verify(ECDSA_SHA256, keys.ecdsa.publicKey, sig, probe))) {
        throw new BackupFormatError('backup: "sign" private key does not match its public point');
    }
    const eph = await subtle().generateKey(ECDH_P256, false, ['deriveBits']);
    const a = new Uint8Array(await subtle().deriveBits({ name: 'ECDH', public: eph.publicKey }, keys.ecdh.privateKey, 256));
    const b = new Uint8Array(await subtle().deriveBits({ name: 'ECDH', public: keys.ecdh.publicKey }, eph.privateKey, 256));
    if (toBase64(a) !== toBase64(b)) {
        throw new BackupFormatError('backup: "encr" private key does not match its public point');
    }
}
/** Reads a clear-text backup (white space inside the armor and text around it are ignored).
 * The returned private keys are non-extractable. */
async function importBackup(armor) {
    if (typeof armor !== 'string') {
        throw new BackupFormatError('backup: expected text');
    }
    const start = armor.indexOf(BACKUP_BEGIN);
    if (start < 0) {
        throw new BackupFormatError(`backup: no "${BACKUP_BEGIN}" line`);
    }
    const end = armor.indexOf(BACKUP_END, start + BACKUP_BEGIN.length);
    if (end < 0) {
        throw new BackupFormatError(`backup: no "${BACKUP_END}" line`);
    }
    const body = armor.slice(start + BACKUP_BEGIN.length, end).replace(/\s+/g, '');
    let parsed;
    try {
        parsed = JSON.parse(fromUtf8(fromBase64(body, 'backup'), 'backup'));
    }
    catch (e) {
        throw new BackupFormatError('backup: the armored text is not base64 of a JSON document', { cause: e });
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
        throw new BackupFormatError('backup: expected a JSON object {"sign", "encr", "version"}');
    }
    const o = parsed;
    if (o.version !== 1) {
        throw new BackupFormatError(`backup: unsupported version ${JSON.stringify(o.version)} (expected 1)`);
    }
    const signJwk = checkJwk(o.sign, 'sign');
    const encrJwk = checkJwk(o.encr, 'encr');
    let keys;
    try {
        keys = { ecdh: await importPrivateJWK(encrJwk, 'encr'), ecdsa: await importPrivateJWK(signJwk, 'sign') };
    }
    catch (e) {
        throw new BackupFormatError('backup: WebCrypto refused a key (not a valid P-256 key)', { cause: e });
    }
    try {
        await checkPairs(keys);
    }
    catch (e) {
        if (e instanceof CryptoError) {
            throw e;
        }
        throw new BackupFormatError('backup: key check failed', { cause: e });
    }
    return keys;
}

;// ./src/crypto/keys.ts
/* unused harmony import specifier */ var keys_toBase64;
/* unused harmony import specifier */ var keys_toHex;
// User key pairs: generation, public key import/validation, key IDs and fingerprints.




// P-256 (secp256r1): y^2 = x^3 - 3x + b over GF(p).
const P = BigInt('0xffffffff00000001000000000000000000000000ffffffffffffffffffffffff');
const B = BigInt('0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b');
function toBig(bytes) {
    return BigInt('0x' + toHex(bytes));
}
/** Checks a 65-byte uncompressed point: prefix 04, coordinates below p, on the curve. WebCrypto
 * checks too, but not every engine documents it, and this gives one clear error everywhere. */
function checkPoint(raw, field) {
    if (raw.length !== 65 || raw[0] !== 0x04) {
        throw new InvalidKeyError(`${field}: expected a 65-byte uncompressed P-256 point`);
    }
    const x = toBig(raw.subarray(1, 33));
    const y = toBig(raw.subarray(33, 65));
    if (x >= P || y >= P) {
        throw new InvalidKeyError(`${field}: coordinate out of range`);
    }
    const rhs = (((x * x % P) * x - 3n * x + B) % P + P) % P;
    if ((y * y) % P !== rhs) {
        throw new InvalidKeyError(`${field}: point is not on P-256`);
    }
}
function decodePoint(value, field) {
    let raw;
    try {
        raw = fromBase64(value, field);
    }
    catch (e) {
        throw new InvalidKeyError(e.message, { cause: e });
    }
    checkPoint(raw, field);
    return raw;
}
/** Key ID = SHA-256(raw(encr) || raw(sign)), 32 bytes (ECDH first, as the original plugin). */
async function keyIdOf(pub) {
    return sha256(concat(pub.rawEncr, pub.rawSign));
}
function keyIdToBase64(id) {
    return keys_toBase64(id);
}
/** Short form for people to compare: the first 16 bytes of the key ID in 8 hex groups. */
function fingerprintOf(pub) {
    return keys_toHex(pub.id.subarray(0, 16)).match(/.{4}/g).join(' ');
}
async function importRawPair(rawEncr, rawSign) {
    let encr;
    let sign;
    try {
        encr = await subtle().importKey('raw', rawEncr, ECDH_P256, true, []);
    }
    catch (e) {
        throw new InvalidKeyError('encr: WebCrypto refused the point', { cause: e });
    }
    try {
        sign = await subtle().importKey('raw', rawSign, ECDSA_P256, true, ['verify']);
    }
    catch (e) {
        throw new InvalidKeyError('sign: WebCrypto refused the point', { cause: e });
    }
    const id = await keyIdOf({ rawEncr, rawSign });
    return {
        encr,
        sign,
        rawEncr,
        rawSign,
        id,
        idB64: toBase64(id),
        json: { sign: toBase64(rawSign), encr: toBase64(rawEncr) },
    };
}
/** Validates and imports a public key JSON `{"sign": B64, "encr": B64}` (extra fields are ignored). */
async function importPublicKey(json) {
    if (typeof json === 'string') {
        try {
            json = JSON.parse(json);
        }
        catch (e) {
            throw new InvalidKeyError('public key: not JSON', { cause: e });
        }
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json)) {
        throw new InvalidKeyError('public key: expected an object {"sign", "encr"}');
    }
    const o = json;
    const rawSign = decodePoint(o.sign, 'sign');
    const rawEncr = decodePoint(o.encr, 'encr');
    if (bytesEqual(rawSign, rawEncr)) {
        throw new InvalidKeyError('public key: sign and encr must be different points');
    }
    return importRawPair(rawEncr, rawSign);
}
/** The public half of a private key set (public keys are always exportable in WebCrypto). */
async function publicKeyOf(keys) {
    let rawEncr;
    let rawSign;
    try {
        rawEncr = new Uint8Array(await subtle().exportKey('raw', keys.ecdh.publicKey));
        rawSign = new Uint8Array(await subtle().exportKey('raw', keys.ecdsa.publicKey));
    }
    catch (e) {
        throw new InvalidKeyError('cannot read the public keys of this key set', { cause: e });
    }
    return importRawPair(rawEncr, rawSign);
}
function publicKeyToJSON(pub) {
    return { sign: pub.json.sign, encr: pub.json.encr };
}
/** A new key set. The clear-text backup is made here, once: afterwards the private keys are
 * non-extractable and no backup can be made again. */
async function generateKeys() {
    try {
        // usages exactly as the original's backups (key_ops ["deriveBits"] / ["sign"]).
        const ecdh = await subtle().generateKey(ECDH_P256, true, ['deriveBits']);
        const ecdsa = await subtle().generateKey(ECDSA_P256, true, ['sign', 'verify']);
        const encrJwk = await subtle().exportKey('jwk', ecdh.privateKey);
        const signJwk = await subtle().exportKey('jwk', ecdsa.privateKey);
        const backup = exportBackup(signJwk, encrJwk);
        const keys = {
            ecdh: await importPrivateJWK(encrJwk, 'encr'),
            ecdsa: await importPrivateJWK(signJwk, 'sign'),
        };
        return { keys, backup };
    }
    catch (e) {
        if (e instanceof CryptoError) {
            throw e;
        }
        throw new CryptoError('key generation failed', 'crypto', { cause: e });
    }
}

;// ./src/crypto/message.ts
// Structural validation of props.e2ee (v1 and v2), shared by decryption and the UI.


const SUPPORTED_VERSIONS = (/* unused pure expression or super */ null && ([1, 2]));
const V2_FIELDS = ['version', 'createdAt', 'iv', 'pubECDHE', 'encryptedKey', 'encryptedData', 'signature'];
function parseKeys(v, rejectDuplicates) {
    if (!Array.isArray(v) || v.length === 0) {
        throw new MalformedError('encryptedKey: expected a non-empty array');
    }
    const seen = new Set();
    return v.map((entry, i) => {
        if (!Array.isArray(entry) || entry.length !== 2) {
            throw new MalformedError(`encryptedKey[${i}]: expected [keyID, wrappedKey]`);
        }
        const id = fromBase64(entry[0], `encryptedKey[${i}][0]`, 32);
        const wrapped = fromBase64(entry[1], `encryptedKey[${i}][1]`, 24);
        const idB64 = entry[0];
        if (rejectDuplicates && seen.has(idB64)) {
            throw new MalformedError(`encryptedKey[${i}]: duplicate recipient key ID`);
        }
        seen.add(idB64);
        return { id, idB64, wrapped };
    });
}
function parsePoint(v) {
    const p = fromBase64(v, 'pubECDHE', 65);
    if (p[0] !== 0x04) {
        throw new MalformedError('pubECDHE: expected an uncompressed point (04 || X || Y)');
    }
    return p;
}
/** Checks the structure of a v1 or v2 message (not its signature). Throws MalformedError or
 * UnsupportedVersionError. */
function parseMessage(msg) {
    if (typeof msg === 'string') {
        try {
            msg = JSON.parse(msg);
        }
        catch (e) {
            throw new MalformedError('message: not JSON', { cause: e });
        }
    }
    if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) {
        throw new MalformedError('message: expected a JSON object');
    }
    const o = msg;
    if (typeof o.version !== 'number' || !Number.isInteger(o.version)) {
        throw new MalformedError('version: expected an integer');
    }
    if (o.version === 1) {
        // v1 readers ignore unknown fields, as the original did.
        return {
            version: 1,
            iv: fromBase64(o.iv, 'iv', 16),
            pubECDHE: parsePoint(o.pubECDHE),
            keys: parseKeys(o.encryptedKey, false),
            ciphertext: fromBase64(o.encryptedData, 'encryptedData'),
            signature: fromBase64(o.signature, 'signature', 64),
        };
    }
    if (o.version === 2) {
        for (const k of Object.keys(o)) {
            if (!V2_FIELDS.includes(k)) {
                throw new MalformedError(`v2 message: unknown field "${k}"`);
            }
        }
        if (typeof o.createdAt !== 'number' || !Number.isSafeInteger(o.createdAt) || o.createdAt < 0) {
            throw new MalformedError('createdAt: expected a non-negative integer (ms since epoch)');
        }
        const ciphertext = fromBase64(o.encryptedData, 'encryptedData');
        if (ciphertext.length < 16) {
            throw new MalformedError('encryptedData: shorter than the AES-GCM tag');
        }
        return {
            version: 2,
            createdAt: o.createdAt,
            iv: fromBase64(o.iv, 'iv', 12),
            pubECDHE: parsePoint(o.pubECDHE),
            keys: parseKeys(o.encryptedKey, true),
            ciphertext,
            signature: fromBase64(o.signature, 'signature', 64),
        };
    }
    throw new UnsupportedVersionError(`message version ${o.version} is not supported (known: 1, 2)`);
}
/** Base64 key IDs of the recipients, in message order. */
function recipientsOf(msg) {
    return parseMessage(msg).keys.map((k) => k.idB64);
}

;// ./src/crypto/recipients.ts
// Recipient list hygiene shared by both formats.

/** Drops repeated keys (same key ID), keeping the first occurrence and the caller's order. */
function uniqueRecipients(recipients) {
    if (!Array.isArray(recipients) || recipients.length === 0) {
        throw new CryptoError('at least one recipient is needed');
    }
    const seen = new Set();
    return recipients.filter((r) => {
        if (seen.has(r.idB64)) {
            return false;
        }
        seen.add(r.idB64);
        return true;
    });
}

;// ./src/crypto/v1.ts
// P2P format v1, byte for byte as protocol-v1.md (the original plugin's wire format).




const CTR = (iv) => ({ name: 'AES-CTR', counter: iv, length: 64 });
/** KWK = first 16 bytes of SHA-256(ECDH x-coordinate). */
async function kwkV1(priv, pub, usage) {
    const shared = await subtle().deriveBits({ name: 'ECDH', public: pub }, priv, 256);
    const h = await subtle().digest('SHA-256', shared);
    return subtle().importKey('raw', h.slice(0, 16), 'AES-KW', false, [usage]);
}
async function signedDataV1(iv, pubECDHE, ids, ciphertext) {
    return concat(iv, await sha256(pubECDHE), u32le(ids.length), ...ids, u32le(ciphertext.length), ciphertext);
}
async function encryptV1(text, sender, recipients) {
    const recips = uniqueRecipients(recipients);
    const s = subtle();
    const iv = randomBytes(16);
    const mk = await s.generateKey({ name: 'AES-CTR', length: 128 }, true, ['encrypt']);
    const eph = await s.generateKey(ECDH_P256, false, ['deriveBits']);
    const [pubECDHE, wrapped, ciphertext] = await Promise.all([
        s.exportKey('raw', eph.publicKey).then((b) => new Uint8Array(b)),
        Promise.all(recips.map(async (r) => {
            const kwk = await kwkV1(eph.privateKey, r.encr, 'wrapKey');
            return new Uint8Array(await s.wrapKey('raw', mk, kwk, 'AES-KW'));
        })),
        s.encrypt(CTR(iv), mk, utf8(text)).then((b) => new Uint8Array(b)),
    ]);
    const ids = recips.map((r) => bs(r.id));
    const sig = new Uint8Array(await s.sign(ECDSA_SHA256, sender.ecdsa.privateKey, await signedDataV1(iv, pubECDHE, ids, ciphertext)));
    return {
        version: 1,
        iv: toBase64(iv),
        pubECDHE: toBase64(pubECDHE),
        encryptedKey: recips.map((r, i) => [r.idB64, toBase64(wrapped[i])]),
        encryptedData: toBase64(ciphertext),
        signature: toBase64(sig),
    };
}
async function verifyV1(m, senderPublic) {
    const data = await signedDataV1(m.iv, m.pubECDHE, m.keys.map((k) => k.id), m.ciphertext);
    return verifySignature(senderPublic, m.signature, data);
}
async function decryptV1(m, me, myPublic, senderPublic) {
    if (!(await verifyV1(m, senderPublic))) {
        throw new IntegrityError('v1 signature does not verify with the sender\'s key');
    }
    const entry = m.keys.find((k) => k.idB64 === myPublic.idB64);
    if (!entry) {
        throw new NotRecipientError();
    }
    const s = subtle();
    let eph;
    try {
        eph = await s.importKey('raw', m.pubECDHE, ECDH_P256, false, []);
    }
    catch (e) {
        throw new MalformedError('pubECDHE: not a P-256 point', { cause: e });
    }
    let mk;
    try {
        const kwk = await kwkV1(me.ecdh.privateKey, eph, 'unwrapKey');
        mk = await s.unwrapKey('raw', entry.wrapped, kwk, 'AES-KW', 'AES-CTR', false, ['decrypt']);
    }
    catch (e) {
        throw new IntegrityError('v1 key unwrap failed (wrapped key altered or not for this key)', { cause: e });
    }
    let plain;
    try {
        plain = new Uint8Array(await s.decrypt(CTR(m.iv), mk, m.ciphertext));
    }
    catch (e) {
        throw new IntegrityError('v1 decryption failed', { cause: e });
    }
    return fromUtf8(plain, 'v1 plaintext');
}

;// ./src/crypto/v2.ts
// P2P format v2 (docs/design.md): per-recipient ECDH + one-step KDF + AES-KW, AES-128-GCM over a
// JSON payload, and one ECDSA signature over every field plus the channel/thread/author context.




const LABEL_SIG = utf8('mm-e2ee/p2p/v2/signature');
const LABEL_KWK = utf8('mm-e2ee/p2p/v2/kwk');
const LABEL_AAD = utf8('mm-e2ee/p2p/v2/payload');
const KDF_COUNTER = u32be(1);
function checkContext(context) {
    if (context === undefined || context === null) {
        throw new MissingContextError();
    }
    const { channelId, rootId, userId } = context;
    if (typeof channelId !== 'string' || channelId === '' || typeof userId !== 'string' || userId === '' || typeof rootId !== 'string') {
        throw new MissingContextError('context: channelId and userId must be non-empty strings and rootId a string');
    }
    return context;
}
/** NIST SP 800-56C one-step KDF with SHA-256: KWK = SHA-256(00000001 || Z || FixedInfo)[0..16],
 * FixedInfo = framed(label, pubECDHE, recipient key ID). `input` is that whole buffer with Z and the
 * ID still to fill in (see kdfTemplate), so each recipient costs one allocation. */
async function kwkV2(priv, pub, template, id, usage) {
    const z = new Uint8Array(await subtle().deriveBits({ name: 'ECDH', public: pub }, priv, 256));
    const input = template.slice();
    input.set(z, 4);
    input.set(id, input.length - 32);
    const h = await subtle().digest('SHA-256', input);
    return subtle().importKey('raw', h.slice(0, 16), 'AES-KW', false, [usage]);
}
/** 00000001 || Z (32 zero bytes for now) || framed(LABEL_KWK, pubECDHE, ID (32 zero bytes for now)). */
function kdfTemplate(pubECDHE) {
    return concat(KDF_COUNTER, new Uint8Array(32), framed(LABEL_KWK, pubECDHE, new Uint8Array(32)));
}
function contextItems(createdAt, c) {
    return [u64be(createdAt), utf8(c.channelId), utf8(c.rootId), utf8(c.userId)];
}
function aad(createdAt, c) {
    return framed(LABEL_AAD, ...contextItems(createdAt, c));
}
function signedDataV2(m, c) {
    const items = [LABEL_SIG, u32be(2), ...contextItems(m.createdAt, c), m.iv, m.pubECDHE, u32be(m.keys.length)];
    for (const k of m.keys) {
        items.push(k.id, k.wrapped);
    }
    items.push(m.ciphertext);
    return framedList(items);
}
async function encryptV2(payload, sender, recipients, context, createdAt = Date.now()) {
    const ctx = checkContext(context);
    if (typeof payload !== 'object' || payload === null || typeof payload.text !== 'string') {
        throw new CryptoError('payload: expected an object with a string "text"');
    }
    if (!Number.isSafeInteger(createdAt) || createdAt < 0) {
        throw new CryptoError('createdAt: expected a non-negative integer (ms since epoch)');
    }
    const recips = uniqueRecipients(recipients);
    const s = subtle();
    const iv = randomBytes(12);
    const mk = await s.generateKey({ name: 'AES-GCM', length: 128 }, true, ['encrypt']);
    const eph = await s.generateKey(ECDH_P256, false, ['deriveBits']);
    const pubECDHE = new Uint8Array(await s.exportKey('raw', eph.publicKey));
    const template = kdfTemplate(pubECDHE);
    const [wrapped, ciphertext] = await Promise.all([
        Promise.all(recips.map(async (r) => {
            const kwk = await kwkV2(eph.privateKey, r.encr, template, r.id, 'wrapKey');
            return new Uint8Array(await s.wrapKey('raw', mk, kwk, 'AES-KW'));
        })),
        s.encrypt({ name: 'AES-GCM', iv, additionalData: aad(createdAt, ctx), tagLength: 128 }, mk, utf8(JSON.stringify(payload)))
            .then((b) => new Uint8Array(b)),
    ]);
    const keys = recips.map((r, i) => ({ id: bs(r.id), idB64: r.idB64, wrapped: wrapped[i] }));
    const data = signedDataV2({ version: 2, createdAt, iv, pubECDHE, keys, ciphertext }, ctx);
    const sig = new Uint8Array(await s.sign(ECDSA_SHA256, sender.ecdsa.privateKey, data));
    return {
        version: 2,
        createdAt,
        iv: toBase64(iv),
        pubECDHE: toBase64(pubECDHE),
        encryptedKey: keys.map((k) => [k.idB64, toBase64(k.wrapped)]),
        encryptedData: toBase64(ciphertext),
        signature: toBase64(sig),
    };
}
async function verifyV2(m, senderPublic, context) {
    const ctx = checkContext(context);
    return verifySignature(senderPublic, m.signature, signedDataV2(m, ctx));
}
function parsePayload(bytes) {
    let p;
    try {
        p = JSON.parse(fromUtf8(bytes, 'v2 payload'));
    }
    catch (e) {
        throw new MalformedError('v2 payload: not JSON', { cause: e });
    }
    if (typeof p !== 'object' || p === null || Array.isArray(p) || typeof p.text !== 'string') {
        throw new MalformedError('v2 payload: expected an object with a string "text"');
    }
    return p;
}
async function decryptV2(m, me, myPublic, senderPublic, context) {
    const ctx = checkContext(context);
    if (!(await verifyV2(m, senderPublic, ctx))) {
        throw new IntegrityError('v2 signature does not verify for this sender, channel, thread and author');
    }
    const entry = m.keys.find((k) => k.idB64 === myPublic.idB64);
    if (!entry) {
        throw new NotRecipientError();
    }
    const s = subtle();
    let eph;
    try {
        eph = await s.importKey('raw', m.pubECDHE, ECDH_P256, false, []);
    }
    catch (e) {
        throw new MalformedError('pubECDHE: not a P-256 point', { cause: e });
    }
    let mk;
    try {
        const kwk = await kwkV2(me.ecdh.privateKey, eph, kdfTemplate(m.pubECDHE), entry.id, 'unwrapKey');
        mk = await s.unwrapKey('raw', entry.wrapped, kwk, 'AES-KW', 'AES-GCM', false, ['decrypt']);
    }
    catch (e) {
        throw new IntegrityError('v2 key unwrap failed', { cause: e });
    }
    let plain;
    try {
        plain = new Uint8Array(await s.decrypt({ name: 'AES-GCM', iv: m.iv, additionalData: aad(m.createdAt, ctx), tagLength: 128 }, mk, m.ciphertext));
    }
    catch (e) {
        throw new IntegrityError('v2 AES-GCM authentication failed', { cause: e });
    }
    return parsePayload(plain);
}

;// ./src/crypto/p2p.ts
/* unused harmony import specifier */ var p2p_parseMessage;
/* unused harmony import specifier */ var p2p_encryptV1;
/* unused harmony import specifier */ var p2p_verifyV1;
/* unused harmony import specifier */ var p2p_encryptV2;
/* unused harmony import specifier */ var p2p_verifyV2;
// Entry points for P2P messages: encrypt (v2 by default), decrypt/verify any supported version.






/** Encrypts a text (or a v2 payload) for the recipients; v2 unless `format: 'v1'`. */
async function encryptMessage(content, sender, recipients, options = {}) {
    const payload = typeof content === 'string' ? { text: content } : content;
    if ((options.format ?? 'v2') === 'v1') {
        return p2p_encryptV1(payload.text, sender, recipients);
    }
    return p2p_encryptV2(payload, sender, recipients, options.context, options.createdAt);
}
/** Verifies the signature (with the sender's key FIRST), then finds our entry and decrypts.
 * v1 ignores `context`; v2 requires it. Throws IntegrityError, NotRecipientError, MalformedError,
 * UnsupportedVersionError or MissingContextError. */
async function decryptMessage(msg, me, myPublic, senderPublic, context) {
    const m = parseMessage(msg);
    try {
        if (m.version === 1) {
            const text = await decryptV1(m, me, myPublic, senderPublic);
            return { version: 1, text, payload: { text } };
        }
        const payload = await decryptV2(m, me, myPublic, senderPublic, context);
        return { version: 2, text: payload.text, payload, createdAt: m.createdAt };
    }
    catch (e) {
        throw asCryptoError(e);
    }
}
/** Signature check only (for display states): true when the sender signed this message (and, for
 * v2, this context). Throws for malformed messages and for v2 without a context. */
async function verifyMessage(msg, senderPublic, context) {
    const m = p2p_parseMessage(msg);
    try {
        return m.version === 1 ? await p2p_verifyV1(m, senderPublic) : await p2p_verifyV2(m, senderPublic, context);
    }
    catch (e) {
        throw asCryptoError(e);
    }
}
function asCryptoError(e) {
    return e instanceof CryptoError ? e : new CryptoError('unexpected WebCrypto failure', 'crypto', { cause: e });
}

;// ./src/cli/mm-e2ee.ts
/// <reference types="node" />
// mm-e2ee: the crypto core on the command line (keys, P2P v1/v2 messages) for scripts and checks.






const USAGE = `usage:
  mm-e2ee keygen                                   print a new clear-text key backup
  mm-e2ee pubkey BACKUP_FILE                       print the public key JSON, then the key ID
  mm-e2ee encrypt --key BACKUP_FILE --to PUBKEY_FILE [--to PUBKEY_FILE ...]
                  [--format v1|v2] [--channel ID --root ID --user ID]   stdin text -> props.e2ee JSON
  mm-e2ee decrypt --key BACKUP_FILE --sender PUBKEY_FILE
                  [--channel ID --root ID --user ID]                    stdin props.e2ee JSON -> text
v2 (the default format) needs --channel, --root ("" for a top-level post) and --user (the sender's user ID).
exit codes: 0 ok, 2 usage or malformed input, 3 integrity failure, 4 not a recipient`;
const EXIT = { ok: 0, failure: 1, usage: 2, integrity: 3, notRecipient: 4 };
class UsageError extends Error {
}
const VALUE_FLAGS = new Set(['key', 'to', 'format', 'channel', 'root', 'user', 'sender']);
function parseArgs(args) {
    const positional = [];
    const flags = new Map();
    for (let i = 0; i < args.length; i++) {
        const a = args[i];
        if (!a.startsWith('--')) {
            positional.push(a);
            continue;
        }
        const eq = a.indexOf('=');
        const name = a.slice(2, eq < 0 ? undefined : eq);
        if (!VALUE_FLAGS.has(name)) {
            throw new UsageError(`unknown option --${name}`);
        }
        let value;
        if (eq >= 0) {
            value = a.slice(eq + 1);
        }
        else {
            if (i + 1 >= args.length) {
                throw new UsageError(`--${name} needs a value`);
            }
            value = args[++i];
        }
        flags.set(name, [...(flags.get(name) ?? []), value]);
    }
    return { positional, flags };
}
function one(o, name, required) {
    const v = o.flags.get(name);
    if (v && v.length > 1) {
        throw new UsageError(`--${name} given twice`);
    }
    if (!v && required) {
        throw new UsageError(`--${name} is required`);
    }
    return v?.[0];
}
function readFile(path) {
    try {
        return external_fs_namespaceObject.readFileSync(path, 'utf8');
    }
    catch (e) {
        throw new UsageError(`cannot read ${path}: ${e.code ?? e}`);
    }
}
async function readStdin() {
    const chunks = [];
    for await (const c of process.stdin) {
        chunks.push(c);
    }
    return new Uint8Array(Buffer.concat(chunks));
}
/** A public key file: the JSON itself, or a file whose first line is the JSON (`pubkey` output). */
async function readPublicKey(path) {
    const text = readFile(path);
    let json;
    try {
        json = JSON.parse(text);
    }
    catch {
        json = text.split(/\r?\n/)[0];
    }
    return importPublicKey(json);
}
function context(o, required) {
    const channelId = one(o, 'channel', false);
    const rootId = one(o, 'root', false);
    const userId = one(o, 'user', false);
    if (channelId === undefined && rootId === undefined && userId === undefined && !required) {
        return undefined;
    }
    if (!channelId || rootId === undefined || !userId) {
        throw new UsageError('--channel, --root and --user go together (--root "" for a top-level post)');
    }
    return { channelId, rootId, userId };
}
function noPositional(o, n) {
    if (o.positional.length !== n) {
        throw new UsageError('unexpected arguments');
    }
}
async function run(argv) {
    const [cmd, ...rest] = argv;
    const o = parseArgs(rest);
    switch (cmd) {
        case 'keygen': {
            noPositional(o, 0);
            process.stdout.write((await generateKeys()).backup + '\n');
            return;
        }
        case 'pubkey': {
            noPositional(o, 1);
            const pub = await publicKeyOf(await importBackup(readFile(o.positional[0])));
            process.stdout.write(`${JSON.stringify({ sign: pub.json.sign, encr: pub.json.encr })}\n${pub.idB64}\n`);
            return;
        }
        case 'encrypt': {
            noPositional(o, 0);
            const format = one(o, 'format', false) ?? 'v2';
            if (format !== 'v1' && format !== 'v2') {
                throw new UsageError('--format is v1 or v2');
            }
            const keys = await importBackup(readFile(one(o, 'key', true)));
            const to = o.flags.get('to');
            if (!to) {
                throw new UsageError('at least one --to is required');
            }
            const recipients = await Promise.all(to.map(readPublicKey));
            const ctx = context(o, format === 'v2');
            const text = fromUtf8(await readStdin(), 'stdin');
            const msg = format === 'v1'
                ? await encryptV1(text, keys, recipients)
                : await encryptV2({ text }, keys, recipients, ctx);
            process.stdout.write(JSON.stringify(msg) + '\n');
            return;
        }
        case 'decrypt': {
            noPositional(o, 0);
            const keys = await importBackup(readFile(one(o, 'key', true)));
            const sender = await readPublicKey(one(o, 'sender', true));
            const ctx = context(o, false);
            const input = fromUtf8(await readStdin(), 'stdin');
            const res = await decryptMessage(input.trim(), keys, await publicKeyOf(keys), sender, ctx);
            process.stdout.write(res.text);
            return;
        }
        case 'help':
        case '--help':
        case '-h':
            process.stdout.write(USAGE + '\n');
            return;
        case undefined:
            throw new UsageError('no command');
        default:
            throw new UsageError(`unknown command ${cmd}`);
    }
}
function exitCodeOf(e) {
    if (e instanceof UsageError) {
        return EXIT.usage;
    }
    if (e instanceof IntegrityError) {
        return EXIT.integrity;
    }
    if (e instanceof NotRecipientError) {
        return EXIT.notRecipient;
    }
    if (e instanceof CryptoError) {
        return e.code === 'crypto' ? EXIT.failure : EXIT.usage; // malformed, version, key, backup, context
    }
    return EXIT.failure;
}
run(process.argv.slice(2)).then(() => {
    process.exitCode = EXIT.ok;
}, (e) => {
    process.stderr.write(`mm-e2ee: ${e instanceof Error ? e.message : String(e)}\n`);
    if (e instanceof UsageError) {
        process.stderr.write(USAGE + '\n');
    }
    process.exitCode = exitCodeOf(e);
});

/******/ })()
;