// Channel-key mode (docs/design.md §13): epoch records, joiner wraps and the per-epoch channel key.
// The channel key K is wrapped per member with ECDH + one-step KDF + AES-256-KW (as v2, own label,
// bound to channel and epoch); the record is signed by its creator and commits to K with
// C = HMAC-SHA256(K, framed(L_COMMIT, channelId, u64be(epoch))). Readers keep K only as
// non-extractable CryptoKeys.
import {aeskw} from '@noble/ciphers/aes';
import {sha256 as sha256js} from '@noble/hashes/sha2';

import {bs, bytesEqual, concat, framed, framedList, fromBase64, toBase64, u32be, u64be, utf8, type Bytes} from './encoding';
import {CryptoError, IntegrityError, MalformedError, NotRecipientError, UnsupportedVersionError} from './errors';
import {pointProblem} from './point';
import {ECDH_P256, ECDSA_SHA256, randomBytes, subtle, verifySignature} from './subtle';
import type {PrivateKeySet, PublicKey} from './types';
import {wrapForAll, type KdfInput} from './wrap';

const L_REC = utf8('mm-e2ee/channel/v3/epoch-record');
const L_PART = utf8('mm-e2ee/channel/v3/wraps-part');
const L_JOIN = utf8('mm-e2ee/channel/v3/joiner-wraps');
const L_KWK = utf8('mm-e2ee/channel/v3/kwk');
const L_COMMIT = utf8('mm-e2ee/channel/v3/commitment');

/** Writers fill parts of this many wraps; readers accept 1..PART_MAX per part (about 55 KB of JSON). */
export const PART_MAX = 400;
/** A record has 1..PARTS_MAX parts (40,000 members), as the server accepts. */
export const PARTS_MAX = 100;
const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;

export type WrapJSON = [string, string, string]; // [userId, B64 keyID, B64 W]

export interface EpochRecordJSON {
    version: 3;
    channelId: string;
    epoch: number;
    creatorId: string;
    createdAt: number;
    pubECDHE: string;
    commitment: string;
    parts: WrapJSON[][];
    signature: string;
}

/** The record as the server stores and serves it: part hashes instead of parts. */
export interface EpochHeaderJSON {
    version: 3;
    channelId: string;
    epoch: number;
    creatorId: string;
    createdAt: number;
    pubECDHE: string;
    commitment: string;
    partHashes: string[];
    signature: string;
}

export interface JoinerWrapsJSON {
    version: 3;
    channelId: string;
    epoch: number;
    adderId: string;
    createdAt: number;
    pubECDHE: string;
    wraps: WrapJSON[];
    signature: string;
}

export interface Wrap {
    userId: string;
    id: Bytes; // recipient key ID, 32 bytes
    idB64: string;
    wrapped: Bytes; // AES-256-KW output, 40 bytes
}

export interface ParsedEpochHeader {
    channelId: string;
    epoch: number;
    creatorId: string;
    createdAt: number;
    pubECDHE: Bytes;
    commitment: Bytes;
    partHashes: Bytes[];
    signature: Bytes;
}

export interface ParsedEpochRecord extends ParsedEpochHeader {
    parts: Wrap[][];
}

export interface ParsedJoinerWraps {
    channelId: string;
    epoch: number;
    adderId: string;
    createdAt: number;
    pubECDHE: Bytes;
    wraps: Wrap[];
    signature: Bytes;
}

/** An epoch's channel key as readers and senders hold it: non-extractable only. */
export interface EpochKey {
    channelId: string;
    epoch: number;
    commitment: Bytes;
    key: CryptoKey; // AES-256-GCM, non-extractable
}

/** A member of a new epoch: their Mattermost user ID and registered public key. */
export interface EpochRecipient {
    userId: string;
    key: PublicKey;
}

const RECORD_FIELDS = ['version', 'channelId', 'epoch', 'creatorId', 'createdAt', 'pubECDHE', 'commitment', 'parts', 'signature'];
const HEADER_FIELDS = ['version', 'channelId', 'epoch', 'creatorId', 'createdAt', 'pubECDHE', 'commitment', 'partHashes', 'signature'];
const JOINER_FIELDS = ['version', 'channelId', 'epoch', 'adderId', 'createdAt', 'pubECDHE', 'wraps', 'signature'];

// ---- structure ----

export function checkId(v: unknown, field: string): string {
    if (typeof v !== 'string' || !ID_RE.test(v)) {
        throw new MalformedError(`${field}: expected an ID of 1-64 characters A-Z a-z 0-9 _ -`);
    }
    return v;
}

export function checkEpoch(v: unknown, field = 'epoch'): number {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) {
        throw new MalformedError(`${field}: expected an integer >= 1`);
    }
    return v;
}

/** As v2's createdAt (§3.1): -0 is refused too, as the server refuses it. */
export function checkCreatedAt(v: unknown): number {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || Object.is(v, -0)) {
        throw new MalformedError('createdAt: expected a non-negative integer (ms since epoch)');
    }
    return v;
}

function asObject(v: unknown, what: string, fields: string[]): Record<string, unknown> {
    if (typeof v === 'string') {
        try {
            v = JSON.parse(v);
        } catch (e) {
            throw new MalformedError(`${what}: not JSON`, {cause: e});
        }
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
        throw new MalformedError(`${what}: expected a JSON object`);
    }
    const o = v as Record<string, unknown>;
    if (typeof o.version !== 'number' || !Number.isInteger(o.version)) {
        throw new MalformedError(`${what}: version: expected an integer`);
    }
    if (o.version !== 3) {
        throw new UnsupportedVersionError(`${what}: version ${o.version} is not supported (known: 3)`);
    }
    for (const k of Object.keys(o)) {
        if (!fields.includes(k)) {
            throw new MalformedError(`${what}: unknown field "${k}"`);
        }
    }
    for (const k of fields) {
        if (!(k in o)) {
            throw new MalformedError(`${what}: missing field "${k}"`);
        }
    }
    return o;
}

/** A point on P-256, as v2's pubECDHE and as the server checks it (§3.1). */
function parsePoint(v: unknown): Bytes {
    const p = fromBase64(v, 'pubECDHE', 65);
    const problem = pointProblem(p);
    if (problem) {
        throw new MalformedError(`pubECDHE: ${problem}`);
    }
    return p;
}

/** Parses a list of wraps, refusing repeated users or key IDs (`seen` spans a whole record). */
function parseWraps(v: unknown, field: string, seenUsers: Set<string>, seenIds: Set<string>): Wrap[] {
    if (!Array.isArray(v) || v.length === 0 || v.length > PART_MAX) {
        throw new MalformedError(`${field}: expected 1 to ${PART_MAX} wraps`);
    }
    return v.map((w, i) => {
        const f = `${field}[${i}]`;
        if (!Array.isArray(w) || w.length !== 3) {
            throw new MalformedError(`${f}: expected [userId, keyID, wrappedKey]`);
        }
        const userId = checkId(w[0], `${f}[0]`);
        const id = fromBase64(w[1], `${f}[1]`, 32);
        const wrapped = fromBase64(w[2], `${f}[2]`, 40);
        const idB64 = w[1] as string;
        if (seenUsers.has(userId)) {
            throw new MalformedError(`${f}: user ${userId} is wrapped for twice`);
        }
        if (seenIds.has(idB64)) {
            throw new MalformedError(`${f}: key ID wrapped for twice`);
        }
        seenUsers.add(userId);
        seenIds.add(idB64);
        return {userId, id, idB64, wrapped};
    });
}

function parseCommon(o: Record<string, unknown>) {
    return {
        channelId: checkId(o.channelId, 'channelId'),
        epoch: checkEpoch(o.epoch),
        createdAt: checkCreatedAt(o.createdAt),
        pubECDHE: parsePoint(o.pubECDHE),
        signature: fromBase64(o.signature, 'signature', 64),
    };
}

/** Full form (§13.3): checks the structure and computes the part hashes (not the signature). */
export function parseEpochRecord(json: unknown): ParsedEpochRecord {
    const o = asObject(json, 'epoch record', RECORD_FIELDS);
    if (!Array.isArray(o.parts) || o.parts.length === 0 || o.parts.length > PARTS_MAX) {
        throw new MalformedError(`parts: expected 1 to ${PARTS_MAX} parts`);
    }
    const users = new Set<string>();
    const ids = new Set<string>();
    const parts = o.parts.map((p, i) => parseWraps(p, `parts[${i}]`, users, ids));
    return {
        ...parseCommon(o),
        creatorId: checkId(o.creatorId, 'creatorId'),
        commitment: fromBase64(o.commitment, 'commitment', 32),
        partHashes: parts.map((p, i) => partHash(i, p)),
        parts,
    };
}

/** Header form (§13.3): the record with part hashes instead of parts. */
export function parseEpochHeader(json: unknown): ParsedEpochHeader {
    const o = asObject(json, 'epoch record header', HEADER_FIELDS);
    if (!Array.isArray(o.partHashes) || o.partHashes.length === 0 || o.partHashes.length > PARTS_MAX) {
        throw new MalformedError(`partHashes: expected 1 to ${PARTS_MAX} hashes`);
    }
    return {
        ...parseCommon(o),
        creatorId: checkId(o.creatorId, 'creatorId'),
        commitment: fromBase64(o.commitment, 'commitment', 32),
        partHashes: o.partHashes.map((h, i) => fromBase64(h, `partHashes[${i}]`, 32)),
    };
}

/** One part as served next to a header: a JSON array of wraps. */
export function parsePart(json: unknown): Wrap[] {
    if (typeof json === 'string') {
        try {
            json = JSON.parse(json);
        } catch (e) {
            throw new MalformedError('part: not JSON', {cause: e});
        }
    }
    return parseWraps(json, 'part', new Set(), new Set());
}

export function parseJoinerWraps(json: unknown): ParsedJoinerWraps {
    const o = asObject(json, 'joiner wraps', JOINER_FIELDS);
    return {
        ...parseCommon(o),
        adderId: checkId(o.adderId, 'adderId'),
        wraps: parseWraps(o.wraps, 'wraps', new Set(), new Set()),
    };
}

/** Header form of a full record (what is uploaded as the commit and stored by the server). */
export function headerOf(record: EpochRecordJSON | unknown): EpochHeaderJSON {
    const r = parseEpochRecord(record);
    const o = (typeof record === 'string' ? JSON.parse(record) : record) as EpochRecordJSON;
    return {
        version: 3,
        channelId: r.channelId,
        epoch: r.epoch,
        creatorId: r.creatorId,
        createdAt: r.createdAt,
        pubECDHE: o.pubECDHE,
        commitment: o.commitment,
        partHashes: r.partHashes.map(toBase64),
        signature: o.signature,
    };
}

// ---- signed data ----

function wrapItems(wraps: Wrap[]): Uint8Array[] {
    const items: Uint8Array[] = [];
    for (const w of wraps) {
        items.push(utf8(w.userId), w.id, w.wrapped);
    }
    return items;
}

/** H_i = SHA-256(framed(L_PART, u32be(i), u32be(m), userId_1, ID_1, W_1, ...)). */
export function partHash(index: number, wraps: Wrap[]): Bytes {
    return bs(sha256js(framedList([L_PART, u32be(index), u32be(wraps.length), ...wrapItems(wraps)])));
}

export function recordSignedData(h: Omit<ParsedEpochHeader, 'signature'>): Bytes {
    return framedList([
        L_REC, u32be(3), utf8(h.channelId), u64be(h.epoch), utf8(h.creatorId), u64be(h.createdAt),
        h.pubECDHE, h.commitment, u32be(h.partHashes.length), ...h.partHashes,
    ]);
}

export function joinerSignedData(j: Omit<ParsedJoinerWraps, 'signature'>, commitment: Bytes): Bytes {
    return framedList([
        L_JOIN, u32be(3), utf8(j.channelId), u64be(j.epoch), commitment, utf8(j.adderId), u64be(j.createdAt),
        j.pubECDHE, u32be(j.wraps.length), ...wrapItems(j.wraps),
    ]);
}

/** KDF input of §13.2: u32be(1) || Z || framed(L_KWK, channelId, u64be(epoch), pubECDHE, ID_R). */
function kdfInputV3(channelId: string, epoch: number, pubECDHE: Bytes): KdfInput {
    const template = concat(u32be(1), new Uint8Array(32), framed(L_KWK, utf8(channelId), u64be(epoch), pubECDHE, new Uint8Array(32)));
    return (z, id) => {
        const input = template.slice();
        input.set(z, 4);
        input.set(id, input.length - 32);
        return input;
    };
}

function commitmentInput(channelId: string, epoch: number): Bytes {
    return framed(L_COMMIT, utf8(channelId), u64be(epoch));
}

// ---- creating ----

async function newWrapSet(channelId: string, epoch: number, recipients: EpochRecipient[], kRaw: Uint8Array) {
    const s = subtle();
    const eph = await s.generateKey(ECDH_P256, false, ['deriveBits']);
    const pubECDHE = new Uint8Array(await s.exportKey('raw', eph.publicKey));
    const keys = recipients.map((r) => r.key);
    const wrapped = await wrapForAll(eph.privateKey, keys, kdfInputV3(channelId, epoch, pubECDHE), kRaw, 32);
    const wraps: Wrap[] = recipients.map((r, i) => ({userId: r.userId, id: bs(r.key.id), idB64: r.key.idB64, wrapped: wrapped[i]}));
    return {pubECDHE, wraps};
}

function checkRecipients(recipients: EpochRecipient[]): void {
    if (!Array.isArray(recipients) || recipients.length === 0) {
        throw new CryptoError('at least one recipient is needed');
    }
    const users = new Set<string>();
    const ids = new Set<string>();
    for (const r of recipients) {
        checkId(r.userId, 'recipient userId');
        if (users.has(r.userId) || ids.has(r.key.idB64)) {
            throw new CryptoError(`recipient ${r.userId} is listed twice (same user or same key)`);
        }
        users.add(r.userId);
        ids.add(r.key.idB64);
    }
}

function wrapToJSON(w: Wrap): WrapJSON {
    return [w.userId, w.idB64, toBase64(w.wrapped)];
}

async function importEpochKey(raw: Uint8Array, usages: KeyUsage[]): Promise<CryptoKey> {
    return subtle().importKey('raw', bs(raw), {name: 'AES-GCM'}, false, usages);
}

async function commitmentOf(raw: Uint8Array, channelId: string, epoch: number): Promise<Bytes> {
    const s = subtle();
    const hk = await s.importKey('raw', bs(raw), {name: 'HMAC', hash: 'SHA-256'}, false, ['sign']);
    return new Uint8Array(await s.sign('HMAC', hk, commitmentInput(channelId, epoch)));
}

export interface NewEpochOptions {
    channelId: string;
    epoch: number;
    creatorId: string;
    creator: PrivateKeySet;
    recipients: EpochRecipient[]; // every member with a key at creation, the creator included
    createdAt?: number;
}

/** Makes a new epoch: a random channel key, wrapped for every recipient, committed and signed.
 * Returns the full record and the key (non-extractable) for the creator's own posts. */
export async function createEpochRecord(o: NewEpochOptions): Promise<{record: EpochRecordJSON; key: EpochKey}> {
    const channelId = checkId(o.channelId, 'channelId');
    const creatorId = checkId(o.creatorId, 'creatorId');
    const epoch = checkEpoch(o.epoch);
    const createdAt = o.createdAt ?? Date.now();
    if (!Number.isSafeInteger(createdAt) || createdAt < 0) {
        throw new CryptoError('createdAt: expected a non-negative integer (ms since epoch)');
    }
    checkRecipients(o.recipients);
    if (o.recipients.length > PART_MAX * PARTS_MAX) {
        throw new CryptoError(`at most ${PART_MAX * PARTS_MAX} members per epoch record`);
    }
    const kRaw = randomBytes(32);
    let key: CryptoKey;
    let commitment: Bytes;
    let set: {pubECDHE: Bytes; wraps: Wrap[]};
    try {
        [key, commitment, set] = await Promise.all([
            importEpochKey(kRaw, ['encrypt', 'decrypt']),
            commitmentOf(kRaw, channelId, epoch),
            newWrapSet(channelId, epoch, o.recipients, kRaw),
        ]);
    } finally {
        kRaw.fill(0);
    }
    const parts: Wrap[][] = [];
    for (let i = 0; i < set.wraps.length; i += PART_MAX) {
        parts.push(set.wraps.slice(i, i + PART_MAX));
    }
    const partHashes = parts.map((p, i) => partHash(i, p));
    const data = recordSignedData({channelId, epoch, creatorId, createdAt, pubECDHE: set.pubECDHE, commitment, partHashes});
    const sig = new Uint8Array(await subtle().sign(ECDSA_SHA256, o.creator.ecdsa.privateKey, data));
    return {
        record: {
            version: 3,
            channelId,
            epoch,
            creatorId,
            createdAt,
            pubECDHE: toBase64(set.pubECDHE),
            commitment: toBase64(commitment),
            parts: parts.map((p) => p.map(wrapToJSON)),
            signature: toBase64(sig),
        },
        key: {channelId, epoch, commitment, key},
    };
}

// ---- reading ----

/** Signature of a record (full or header form) with its creator's key. */
export async function verifyEpochHeader(h: ParsedEpochHeader, creatorPublic: PublicKey): Promise<boolean> {
    return verifySignature(creatorPublic, h.signature, recordSignedData(h));
}

/** Where a reader's copy is: a part of the record (with its index) or a joiner set. */
export type WrapSource =
    | {kind: 'part'; index: number; wraps: Wrap[]}
    | {kind: 'joiner'; set: ParsedJoinerWraps; adderPublic: PublicKey};

function findWrap(wraps: Wrap[], me: PublicKey): Wrap | undefined {
    return wraps.find((w) => w.idB64 === me.idB64);
}

async function checkSource(h: ParsedEpochHeader, src: WrapSource): Promise<{wraps: Wrap[]; pubECDHE: Bytes}> {
    if (src.kind === 'part') {
        if (!Number.isInteger(src.index) || src.index < 0 || src.index >= h.partHashes.length ||
            !bytesEqual(partHash(src.index, src.wraps), h.partHashes[src.index])) {
            throw new IntegrityError('this part of the epoch record does not match the signed record');
        }
        return {wraps: src.wraps, pubECDHE: h.pubECDHE};
    }
    const j = src.set;
    if (j.channelId !== h.channelId || j.epoch !== h.epoch) {
        throw new IntegrityError('these joiner wraps belong to another channel or epoch');
    }
    if (!(await verifySignature(src.adderPublic, j.signature, joinerSignedData(j, h.commitment)))) {
        throw new IntegrityError('the joiner wraps signature does not verify for this adder and record');
    }
    return {wraps: j.wraps, pubECDHE: j.pubECDHE};
}

async function verifiedWrap(h: ParsedEpochHeader, src: WrapSource, creatorPublic: PublicKey, me: PublicKey) {
    if (!(await verifyEpochHeader(h, creatorPublic))) {
        throw new IntegrityError('the epoch record signature does not verify with its creator\'s key');
    }
    const {wraps, pubECDHE} = await checkSource(h, src);
    const w = findWrap(wraps, me);
    if (!w) {
        throw new NotRecipientError('not a member of this channel when this epoch started (no copy of its key for this key)');
    }
    return {w, pubECDHE};
}

async function deriveKwk(me: PrivateKeySet, pubECDHE: Bytes, h: ParsedEpochHeader, id: Bytes): Promise<ArrayBuffer> {
    const s = subtle();
    let eph: CryptoKey;
    try {
        eph = await s.importKey('raw', pubECDHE, ECDH_P256, false, []);
    } catch (e) {
        throw new MalformedError('pubECDHE: not a P-256 point', {cause: e});
    }
    const z = new Uint8Array(await s.deriveBits({name: 'ECDH', public: eph}, me.ecdh.privateKey, 256));
    return s.digest('SHA-256', kdfInputV3(h.channelId, h.epoch, pubECDHE)(z, id));
}

/** Opens our copy of an epoch's key: creator's signature, part hash (or adder's signature),
 * own wrap, AES-KW unwrap into non-extractable AES-GCM and HMAC keys, then the commitment.
 * Throws IntegrityError, NotRecipientError or MalformedError. */
export async function openEpochKey(
    header: ParsedEpochHeader,
    src: WrapSource,
    me: PrivateKeySet,
    myPublic: PublicKey,
    creatorPublic: PublicKey,
): Promise<EpochKey> {
    const {w, pubECDHE} = await verifiedWrap(header, src, creatorPublic, myPublic);
    const s = subtle();
    let key: CryptoKey;
    let hk: CryptoKey;
    try {
        const kwkRaw = await deriveKwk(me, pubECDHE, header, w.id);
        const kwk = await s.importKey('raw', kwkRaw, 'AES-KW', false, ['unwrapKey']);
        [key, hk] = await Promise.all([
            s.unwrapKey('raw', w.wrapped, kwk, 'AES-KW', {name: 'AES-GCM'}, false, ['encrypt', 'decrypt']),
            s.unwrapKey('raw', w.wrapped, kwk, 'AES-KW', {name: 'HMAC', hash: 'SHA-256'}, false, ['sign']),
        ]);
    } catch (e) {
        if (e instanceof CryptoError) {
            throw e;
        }
        throw new IntegrityError('channel key unwrap failed (wrap altered or not for this key)', {cause: e});
    }
    const c = new Uint8Array(await s.sign('HMAC', hk, commitmentInput(header.channelId, header.epoch)));
    if (!bytesEqual(c, header.commitment)) {
        throw new IntegrityError('the unwrapped channel key does not match the record\'s commitment');
    }
    return {channelId: header.channelId, epoch: header.epoch, commitment: header.commitment, key};
}

/** Opens our copy from a full record (CLI, tests): finds the part holding our key ID. */
export async function openEpochKeyFromRecord(record: unknown, me: PrivateKeySet, myPublic: PublicKey, creatorPublic: PublicKey): Promise<EpochKey> {
    const r = parseEpochRecord(record);
    let index = r.parts.findIndex((p) => findWrap(p, myPublic));
    if (index < 0) {
        index = 0; // still verify the signature first, then answer NotRecipientError
    }
    return openEpochKey(r, {kind: 'part', index, wraps: r.parts[index]}, me, myPublic, creatorPublic);
}

export interface JoinerOptions {
    header: ParsedEpochHeader;
    source: WrapSource; // where the adder's own copy is
    adder: PrivateKeySet;
    adderPublic: PublicKey;
    adderId: string;
    creatorPublic: PublicKey;
    joiners: EpochRecipient[];
    createdAt?: number;
}

/** Wraps an epoch's key for members missing from it, signed by the adder. The key is unwrapped
 * from the adder's own copy as raw bytes (checked against the commitment), used, and zeroed. */
export async function createJoinerWraps(o: JoinerOptions): Promise<JoinerWrapsJSON> {
    const h = o.header;
    const adderId = checkId(o.adderId, 'adderId');
    const createdAt = o.createdAt ?? Date.now();
    checkRecipients(o.joiners);
    if (o.joiners.length > PART_MAX) {
        throw new CryptoError(`at most ${PART_MAX} joiners per set`);
    }
    const {w, pubECDHE} = await verifiedWrap(h, o.source, o.creatorPublic, o.adderPublic);
    const kwk = new Uint8Array(await deriveKwk(o.adder, pubECDHE, h, w.id));
    let kRaw: Uint8Array;
    try {
        kRaw = aeskw(kwk).decrypt(w.wrapped);
    } catch (e) {
        throw new IntegrityError('channel key unwrap failed (wrap altered or not for this key)', {cause: e});
    } finally {
        kwk.fill(0);
    }
    try {
        if (!bytesEqual(await commitmentOf(kRaw, h.channelId, h.epoch), h.commitment)) {
            throw new IntegrityError('the unwrapped channel key does not match the record\'s commitment');
        }
        const set = await newWrapSet(h.channelId, h.epoch, o.joiners, kRaw);
        const parsed = {channelId: h.channelId, epoch: h.epoch, adderId, createdAt, pubECDHE: set.pubECDHE, wraps: set.wraps};
        const sig = new Uint8Array(await subtle().sign(ECDSA_SHA256, o.adder.ecdsa.privateKey, joinerSignedData(parsed, h.commitment)));
        return {
            version: 3,
            channelId: h.channelId,
            epoch: h.epoch,
            adderId,
            createdAt,
            pubECDHE: toBase64(set.pubECDHE),
            wraps: set.wraps.map(wrapToJSON),
            signature: toBase64(sig),
        };
    } finally {
        kRaw.fill(0);
    }
}
