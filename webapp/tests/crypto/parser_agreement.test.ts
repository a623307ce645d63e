// Differential test of the two props.e2ee parsers (docs/design.md §3): thousands of mutated
// messages, made from the original plugin's vectors, the CLI's v2 messages and messages our core
// writes now (v1, v2 and channel-key v3), are judged by the web app (JSON.parse, then parseMessage
// or parseV3 + signature check, as a post is shown) and by the Go server's verifier (the server
// package's test binary in its parse-check mode, server/parsecheck_test.go). Any disagreement
// fails: a message the server stores must be one the web app shows, and the other way round.
// Channel-key request bodies (record headers, parts, joiner sets) reach the server as raw text and
// the web app as parsed values: both must agree on every value, and whatever spelling the server
// accepts, the web app must accept (§13.1).
import {spawnSync} from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import {
    createEpochRecord, createJoinerWraps, encryptV2, encryptV3, headerOf, importBackup, importPublicKey, parseEpochHeader, parseJoinerWraps,
    parsePart, parseV3, publicKeyOf, verifyEpochHeader, verifyMessage, verifyV3,
} from '../../src/crypto';
import {framed, fromBase64, toBase64, u32be, u64be, utf8, type Bytes} from '../../src/crypto/encoding';
import {joinerSignedData, partHash, recordSignedData} from '../../src/crypto/epoch';
import {ECDSA_SHA256, subtle, verifySignature} from '../../src/crypto/subtle';
import type {MessageContext, PrivateKeySet, PublicKey, PublicKeyJSON} from '../../src/crypto/types';

import {REPO_ROOT, loadVectors, newUser} from './helpers';

// Compiling the server's test binary is slow on a loaded machine.
jest.setTimeout(600000);

/** What the Go side needs besides the text: the kind of input and, for v3, the record's data. */
interface Extra {
    kind?: 'header' | 'part' | 'joiner'; // absent: a post's props.e2ee
    commitment?: string; // v3 post, joiner set: the record's C
    partIndex?: number;
    partHash?: string;
}

interface Base extends Extra {
    name: string;
    msg: Record<string, unknown> | unknown[];
    sender: PublicKeyJSON;
    context: MessageContext | null;
}

interface Item extends Extra {
    name: string;
    text: string;
    sender: PublicKeyJSON;
    context: MessageContext | null;
}

const CTX: MessageContext = {channelId: 'h3kqs1ic7bdcf8sd9qpz8bn5fc', rootId: '', userId: 'w1o3a8qgf7y5bx9nkd8e4mujhr'};
const REPLY_CTX: MessageContext = {...CTX, rootId: '9xkq1ic7bdcf8sd9qpz8bn5fcz'};

// Deterministic choices, so a failure reproduces.
let seed = 17;
function rand(n: number): number {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
}

// A v2 message signed by hand (docs/design.md §6.3 step 5), for cases our encryptor never
// writes: a point off the curve, a repeated recipient.
async function handSignedV2(keys: PrivateKeySet, ctx: MessageContext, pubECDHE: Uint8Array, ids: Uint8Array[]): Promise<Record<string, unknown>> {
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const ct = crypto.getRandomValues(new Uint8Array(40));
    const createdAt = 1764160000000;
    const wrapped = ids.map(() => crypto.getRandomValues(new Uint8Array(24)));
    const items: Uint8Array[] = [utf8('mm-e2ee/p2p/v2/signature'), u32be(2), u64be(createdAt), utf8(ctx.channelId), utf8(ctx.rootId), utf8(ctx.userId),
        iv, pubECDHE, u32be(ids.length)];
    ids.forEach((id, i) => items.push(id, wrapped[i]));
    items.push(ct);
    const sig = new Uint8Array(await subtle().sign(ECDSA_SHA256, keys.ecdsa.privateKey, framed(...items)));
    return {version: 2, createdAt, iv: toBase64(iv), pubECDHE: toBase64(pubECDHE),
        encryptedKey: ids.map((id, i) => [toBase64(id), toBase64(wrapped[i])]), encryptedData: toBase64(ct), signature: toBase64(sig)};
}

async function bases(): Promise<Base[]> {
    const out: Base[] = [];
    const v = loadVectors();
    const pub = (name: string) => v.users.find((u) => u.name === name)!.pubkey;
    // v1 signs no wrapped key: the vector with an altered one still verifies (only unwrapping fails).
    v.messages.forEach((m, i) => out.push({name: `vector ${i} (${m.expect === 'integrity' && !/wrapped key/.test(m.why ?? '') ? 'forged' : 'signed'})`, msg: m.e2ee, sender: pub(m.sender), context: null}));

    const cliFile = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'server/testdata/cli-messages.json'), 'utf8'));
    cliFile.messages.forEach((m: {context: MessageContext | null; e2ee: Record<string, unknown>}, i: number) =>
        out.push({name: `cli ${i}`, msg: m.e2ee, sender: cliFile.sender, context: m.context}));

    const alice = await importBackup(v.users.find((u) => u.name === 'alice')!.backup);
    const alicePub = await publicKeyOf(alice);
    const bob = await newUser();
    for (const [name, ctx, text] of [['core v2', CTX, 'hello'], ['core v2 reply', REPLY_CTX, ''], ['core v2 unicode', CTX, 'héllo ✓ \u{1F512}']] as const) {
        out.push({name, msg: await encryptV2({text}, alice, [alicePub, bob.pub], ctx) as unknown as Record<string, unknown>, sender: alicePub.json, context: ctx});
    }
    const point = Buffer.from(alicePub.json.encr, 'base64');
    const offCurve = Uint8Array.from(point);
    offCurve[64] ^= 1;
    const id = crypto.getRandomValues(new Uint8Array(32));
    out.push({name: 'hand v2', msg: await handSignedV2(alice, CTX, point, [id, alicePub.id]), sender: alicePub.json, context: CTX});
    out.push({name: 'hand v2 off-curve pubECDHE', msg: await handSignedV2(alice, CTX, offCurve, [id]), sender: alicePub.json, context: CTX});
    out.push({name: 'hand v2 repeated recipient', msg: await handSignedV2(alice, CTX, point, [id, id]), sender: alicePub.json, context: CTX});
    out.push({name: 'v2 without context', msg: out[out.length - 3].msg, sender: alicePub.json, context: null});
    out.push({name: 'v2 other author', msg: out[out.length - 4].msg, sender: alicePub.json, context: {...CTX, userId: 'otheruserotheruserotheruse'}});
    out.push(...await channelKeyBases(alice, alicePub, bob.pub));
    return out;
}

// Channel-key (v3) inputs: posts, and the bodies of the epoch API (§13.3, §13.4).
async function channelKeyBases(alice: PrivateKeySet, alicePub: PublicKey, bobPub: PublicKey): Promise<Base[]> {
    const out: Base[] = [];
    const {record, key} = await createEpochRecord({channelId: CTX.channelId, epoch: 1, creatorId: CTX.userId, creator: alice, createdAt: 1764160000000,
        recipients: [{userId: CTX.userId, key: alicePub}, {userId: 'bobbobbobbobbobbobbobbobbo', key: bobPub}]});
    const commitment = toBase64(key.commitment);
    const v3 = (name: string, msg: unknown, context: MessageContext | null) =>
        out.push({name, msg: msg as Record<string, unknown>, sender: alicePub.json, context, commitment});
    v3('core v3', await encryptV3({text: 'hello'}, alice, key, CTX), CTX);
    v3('core v3 reply', await encryptV3({text: ''}, alice, key, REPLY_CTX), REPLY_CTX);
    v3('core v3 created 0', await encryptV3({text: 'x'}, alice, key, CTX, 0), CTX);
    v3('v3 without context', out[0].msg, null);
    v3('v3 other author', out[0].msg, {...CTX, userId: 'otheruserotheruserotheruse'});
    out.push({name: 'v3 other commitment', msg: out[0].msg, sender: alicePub.json, context: CTX, commitment: toBase64(new Uint8Array(32))});

    const header = headerOf(record) as unknown as Record<string, unknown>;
    out.push({name: 'header', kind: 'header', msg: header, sender: alicePub.json, context: null});
    out.push({name: 'header created 0', kind: 'header', msg: await handSignedHeader(alice, {createdAt: 0}), sender: alicePub.json, context: null});
    const two = [new Uint8Array(32).fill(1), new Uint8Array(32).fill(2)];
    out.push({name: 'hand header (2 parts)', kind: 'header', msg: await handSignedHeader(alice, {partHashes: two}), sender: alicePub.json, context: null});
    const offCurve = fromBase64(record.pubECDHE, 'pubECDHE');
    offCurve[64] ^= 1;
    out.push({name: 'hand header off-curve pubECDHE', kind: 'header', msg: await handSignedHeader(alice, {pubECDHE: offCurve}), sender: alicePub.json, context: null});
    const many = Array.from({length: 101}, (_, i) => new Uint8Array(32).fill(i));
    out.push({name: 'hand header (101 parts)', kind: 'header', msg: await handSignedHeader(alice, {partHashes: many}), sender: alicePub.json, context: null});

    const partHashB64 = (header.partHashes as string[])[0];
    out.push({name: 'part', kind: 'part', msg: record.parts[0], sender: alicePub.json, context: null, partIndex: 0, partHash: partHashB64});
    out.push({name: 'part other index', kind: 'part', msg: record.parts[0], sender: alicePub.json, context: null, partIndex: 1, partHash: partHashB64});

    const joiner = await createJoinerWraps({header: parseEpochHeader(header), source: {kind: 'part', index: 0, wraps: parsePart(record.parts[0])},
        adder: alice, adderPublic: alicePub, adderId: CTX.userId, creatorPublic: alicePub, createdAt: 1764160000001,
        joiners: [{userId: 'carolcarolcarolcarolcarolc', key: (await newUser()).pub}]});
    out.push({name: 'joiner', kind: 'joiner', msg: joiner as unknown as Record<string, unknown>, sender: alicePub.json, context: null, commitment});
    out.push({name: 'joiner other commitment', kind: 'joiner', msg: joiner as unknown as Record<string, unknown>, sender: alicePub.json, context: null,
        commitment: toBase64(new Uint8Array(32))});
    return out;
}

/** A record header signed by hand (§13.3), for shapes our writer never makes. */
async function handSignedHeader(keys: PrivateKeySet, o: {createdAt?: number; partHashes?: Uint8Array[]; pubECDHE?: Uint8Array}): Promise<Record<string, unknown>> {
    const h = {
        channelId: CTX.channelId, epoch: 1, creatorId: CTX.userId, createdAt: o.createdAt ?? 1764160000000,
        pubECDHE: (o.pubECDHE ?? Uint8Array.from(Buffer.from((await publicKeyOf(keys)).json.encr, 'base64'))) as Bytes,
        commitment: new Uint8Array(32).fill(9) as Bytes, partHashes: (o.partHashes ?? [new Uint8Array(32)]) as Bytes[],
    };
    const sig = new Uint8Array(await subtle().sign(ECDSA_SHA256, keys.ecdsa.privateKey, recordSignedData(h)));
    return {version: 3, channelId: h.channelId, epoch: h.epoch, creatorId: h.creatorId, createdAt: h.createdAt, pubECDHE: toBase64(h.pubECDHE),
        commitment: toBase64(h.commitment), partHashes: h.partHashes.map(toBase64), signature: toBase64(sig)};
}

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v));

function insertAt(s: string, pos: number, what: string): string {
    return s.slice(0, pos) + what + s.slice(pos);
}

/** Spellings of one base64 string: white space, padding, alphabet, escapes, case. */
function stringVariants(s: string): Array<[string, unknown]> {
    const out: Array<[string, unknown]> = [];
    const positions = [...new Set([0, 1, 4, s.length >> 1, Math.max(0, s.length - 2), Math.max(0, s.length - 1), s.length])];
    for (const ins of ['\r\n', '\n', '\r', ' ', '\t', '\u00a0', '=', '==', '\u0000', '\u2028', 'A', 'AAAA']) {
        for (const pos of positions) {
            out.push([`insert ${JSON.stringify(ins)} at ${pos}`, insertAt(s, pos, ins)]);
        }
    }
    out.push(['padding removed', s.replace(/=+$/, '')]);
    out.push(['padding doubled', s + '=']);
    out.push(['url-safe alphabet', s.replace(/\+/g, '-').replace(/\//g, '_')]);
    out.push(['first char url-safe', '-' + s.slice(1)]);
    out.push(['lower case', s.toLowerCase()]);
    out.push(['fullwidth first char', String.fromCharCode(0xff21) + s.slice(1)]);
    out.push(['trailing space', s + ' ']);
    out.push(['leading newline', '\n' + s]);
    out.push(['empty', '']);
    out.push(['truncated by 4', s.slice(0, -4)]);
    out.push(['extended by 4', s + 'AAAA']);
    if (s.endsWith('=')) {
        // Non-canonical: the last data character with unused bits set.
        const i = s.replace(/=+$/, '').length - 1;
        const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
        const c = alphabet.indexOf(s[i]);
        out.push(['non-canonical bits', s.slice(0, i) + alphabet[(c | 1) === c ? c - 1 : c | 1] + s.slice(i + 1)]);
    }
    out.push(['as number', 123]);
    out.push(['as null', null]);
    out.push(['as array', [s]]);
    out.push(['as object', {value: s}]);
    out.push(['as boolean', true]);
    return out;
}

const NUMBER_VALUES: Array<[string, unknown]> = [
    ['as string', 'x'], ['null', null], ['true', true], ['array', []], ['object', {}], ['zero', 0], ['one', 1], ['two', 2],
    ['three', 3], ['minus one', -1], ['half', 0.5], ['2^53', 2 ** 53], ['2^53-1', 2 ** 53 - 1], ['1e21', 1e21],
];

/** Mutations of a list of entries ([keyID, W] of encryptedKey, [userId, keyID, W] of wraps). */
function listMutations(keys: string[][], add: (name: string, list: unknown) => void): void {
    // Each part of one entry (chosen per message) in every spelling.
    const e = rand(keys.length);
    for (let part = 0; part < keys[e].length; part++) {
        for (const [vn, variant] of stringVariants(keys[e][part])) {
            const list = clone(keys) as unknown[][];
            list[e][part] = variant;
            add(`[${e}][${part}]: ${vn}`, list);
        }
    }
    const [first, ...rest] = keys[0];
    add('entry repeated', [...keys, keys[0]]);
    add('entry repeated with CR/LF', [...keys, keys[0].map((x, i) => (i === keys[0].length - 2 ? insertAt(x, 8, '\r\n') : x))]);
    add('entry repeated with padding change', [...keys, keys[0].map((x, i) => (i === keys[0].length - 2 ? x.replace(/=$/, '') : x))]);
    add('reversed', [...keys].reverse());
    add('empty', []);
    add('entry with an extra element', keys.map((k, i) => (i === e ? [...k, 'AAAA'] : k)));
    add('entry with one element', keys.map((k, i) => (i === e ? [k[0]] : k)));
    add('entry as object', keys.map((k, i) => (i === e ? {id: k[0], wrapped: k[1]} : k)));
    add('entry rotated', keys.map((k, i) => (i === e ? [...rest, first] : k)));
    add('entry null', keys.map((k, i) => (i === e ? null : k)));
    add('entry element null', keys.map((k, i) => (i === e ? [null, ...k.slice(1)] : k)));
    add('entry element number', keys.map((k, i) => (i === e ? [7, ...k.slice(1)] : k)));
    add('flattened', keys.flat());
    add('as object', Object.fromEntries(keys.map((k) => [k[0], k.slice(1)])));
    if (keys[0].length === 3) {
        // A user ID of another shape: case, length, characters outside the ID alphabet.
        for (const id of ['', 'A', 'x'.repeat(64), 'x'.repeat(65), 'bob.smith', 'bob smith', 'bób', 'bob\n', '-_']) {
            add(`user ID ${JSON.stringify(id)}`, keys.map((k, i) => (i === e ? [id, ...k.slice(1)] : k)));
        }
        add('same user twice', [...keys, [keys[0][0], keys[keys.length - 1][1], keys[0][2]]]);
    }
}

/** Value-level mutations of one message, serialized with JSON.stringify. */
function valueMutations(msg: Record<string, unknown> | unknown[]): Array<[string, string]> {
    const out: Array<[string, string]> = [['as signed', JSON.stringify(msg)]];
    const add = (name: string, m: unknown) => out.push([name, stringify(m)]);
    if (Array.isArray(msg)) {
        listMutations(msg as string[][], add);
        add('in an object', {wraps: msg});
        add('as array', [msg]);
        add('null', null);
        out.push(['a JSON string of it', JSON.stringify(JSON.stringify(msg))]);
        return out;
    }
    for (const field of Object.keys(msg)) {
        const m = clone(msg);
        delete m[field];
        add(`${field} removed`, m);
        const value = msg[field];
        if (typeof value === 'string') {
            for (const [vn, variant] of stringVariants(value)) {
                add(`${field}: ${vn}`, {...clone(msg), [field]: variant});
            }
        } else if (typeof value === 'number') {
            for (const [vn, variant] of NUMBER_VALUES) {
                add(`${field}: ${vn}`, {...clone(msg), [field]: variant});
            }
            add(`${field} as its string`, {...clone(msg), [field]: String(value)});
            add(`${field} + 1`, {...clone(msg), [field]: value + 1});
            add(`${field} + 0.5`, {...clone(msg), [field]: value + 0.5});
            add(`${field} negated`, {...clone(msg), [field]: -value});
        }
    }
    for (const field of ['encryptedKey', 'wraps']) {
        if (Array.isArray(msg[field])) {
            listMutations(msg[field] as string[][], (name, list) => add(`${field} ${name}`, {...clone(msg), [field]: list}));
        }
    }
    if (Array.isArray(msg.partHashes)) {
        const hashes = msg.partHashes as string[];
        const withHashes = (name: string, list: unknown) => add(`partHashes ${name}`, {...clone(msg), partHashes: list});
        withHashes('repeated', [...hashes, hashes[0]]);
        withHashes('empty', []);
        withHashes('nested', [hashes]);
        withHashes('as string', hashes[0]);
        for (const [vn, variant] of stringVariants(hashes[0])) {
            withHashes(`[0]: ${vn}`, [variant, ...hashes.slice(1)]);
        }
    }
    for (const [name, value] of [['extra', 'x'], ['IV', msg.iv], ['Version', msg.version], ['createdAt', 1764160000000], ['text', 'secret'], ['constructor', 'x'], ['', 1]] as const) {
        if (!(name in msg)) {
            add(`extra field ${JSON.stringify(name)}`, {...clone(msg), [name]: value});
        }
    }
    add('as array', [msg]);
    add('null', null);
    add('number', 1);
    out.push(['a JSON string of it', JSON.stringify(JSON.stringify(msg))]);
    return out;
}

function escapeFirst(json: string, key: string): string {
    // The key name with its first letter as a \u escape: the same JSON value.
    return json.replace(`"${key}":`, `"\\u${key.charCodeAt(0).toString(16).padStart(4, '0')}${key.slice(1)}":`);
}

/** Text-level mutations: the same or other values spelt differently in JSON. */
function textMutations(msg: Record<string, unknown> | unknown[]): Array<[string, string]> {
    const t = JSON.stringify(msg);
    if (Array.isArray(msg)) {
        return [['pretty printed', JSON.stringify(msg, null, 2)], ['trailing comma', t.replace(/]$/, ',]')], ['truncated', t.slice(0, -1)],
            ['trailing data', t + ' []'], ['user ID with a \\u escape', t.replace(/^\[\["(.)/, (_, c) => `[["\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)]];
    }
    const out: Array<[string, string]> = [];
    out.push(['pretty printed', JSON.stringify(msg, null, 2)]);
    out.push(['CRLF between tokens', JSON.stringify(msg, null, '\r\n')]);
    out.push(['trailing comma', t.replace(/}$/, ',}')]);
    out.push(['truncated', t.slice(0, -1)]);
    out.push(['trailing data', t + ' {}']);
    for (const key of Object.keys(msg)) {
        out.push([`key ${key} escaped`, escapeFirst(t, key)]);
        const value = JSON.stringify(msg[key]);
        out.push([`${key} duplicated, garbage first`, t.replace(`"${key}":`, `"${key}":"garbage","${key}":`)]);
        out.push([`${key} duplicated, garbage last`, t.replace(/}$/, `,"${key}":"garbage"}`)]);
        out.push([`${key} duplicated, same value`, t.replace(/}$/, `,"${key}":${value}}`)]);
        const s = msg[key];
        if (typeof s === 'string' && s.length > 0) {
            // A character of the value as a \u escape (the same string), and / as \/.
            const i = rand(s.length);
            const escaped = s.slice(0, i) + `\\u${s.charCodeAt(i).toString(16).padStart(4, '0')}` + s.slice(i + 1);
            out.push([`${key} with a \\u escape`, t.replace(`"${key}":${value}`, `"${key}":"${escaped}"`)]);
            out.push([`${key} with \\/`, t.replace(`"${key}":${value}`, `"${key}":${value.replace(/\//g, '\\/')}`)]);
            out.push([`${key} with an escaped CR LF`, t.replace(`"${key}":${value}`, `"${key}":"${s.slice(0, 4)}\\r\\n${s.slice(4)}"`)]);
        }
    }
    // Number spellings: the same value (1.0, 1e0, 10e-1) or another.
    const version = msg.version;
    for (const spelling of ['1.0', '1e0', '10E-1', '0.1e1', '1.00000000000000001', '2.0', '2e0', '3.0', '3e0', '30e-1', '-0', '0x1', '01', '+1', '1.5', 'Infinity',
        'NaN', '"1"', '"2"', '"3"']) {
        out.push([`version spelt ${spelling}`, t.replace(`"version":${version}`, `"version":${spelling}`)]);
    }
    if (typeof msg.epoch === 'number') {
        for (const spelling of ['1.0', '1e0', '10e-1', '-0', '0', '2', '-1', '1.5', '"1"', '9007199254740991', '9007199254740992', '18446744073709551617']) {
            out.push([`epoch spelt ${spelling}`, t.replace(`"epoch":${msg.epoch}`, `"epoch":${spelling}`)]);
        }
    }
    if (typeof msg.createdAt === 'number') {
        const n = msg.createdAt;
        for (const spelling of [`${n}.0`, `${n}e0`, `${n / 1000}e3`, `${n * 10}e-1`, `${n}.5`, `${n}.0000000000000001`, '-0', '-0.0', '0', '0.0', '-1', '9007199254740991', '9007199254740992',
            '9007199254740993', '1e400', `"${n}"`, `0${n}`, `${n}E+0`, `${BigInt(n) * 10n ** 20n}e-20`]) {
            out.push([`createdAt spelt ${spelling}`, t.replace(`"createdAt":${n}`, `"createdAt":${spelling}`)]);
        }
    }
    return out;
}

/** JSON.stringify, but -0 stays -0 (the value a reader would see). */
function stringify(v: unknown): string {
    return JSON.stringify(v, (_, x) => (Object.is(x, -0) ? '__minus_zero__' : x))?.replace(/"__minus_zero__"/g, '-0') ?? 'undefined';
}

async function tsVerdict(item: Item): Promise<{accept: boolean; reason: string}> {
    let value: unknown;
    try {
        value = JSON.parse(item.text);
    } catch (e) {
        return {accept: false, reason: `not JSON: ${(e as Error).message}`};
    }
    // As the web app reads a post (props.e2ee, decrypt_service.encryptedPayloadOf) and the epoch
    // API's answers (values inside the response JSON): an object, or for a part an array.
    if (!value || typeof value !== 'object' || Array.isArray(value) !== (item.kind === 'part')) {
        return {accept: false, reason: 'not an object'};
    }
    try {
        const sender = await importPublicKey(item.sender);
        const ctx = item.context ?? undefined;
        let ok: boolean;
        switch (item.kind) {
        case 'header':
            ok = await verifyEpochHeader(parseEpochHeader(value), sender);
            break;
        case 'part':
            ok = toBase64(partHash(item.partIndex!, parsePart(value))) === item.partHash;
            break;
        case 'joiner': {
            const j = parseJoinerWraps(value);
            ok = await verifySignature(sender, j.signature, joinerSignedData(j, fromBase64(item.commitment, 'commitment', 32)));
            break;
        }
        default:
            // As decrypt_service.verifyAndDecrypt: version 3 is the channel-key path.
            ok = (value as {version?: unknown}).version === 3 ?
                await verifyV3(parseV3(value), sender, ctx, fromBase64(item.commitment, 'commitment', 32)) :
                await verifyMessage(value, sender, ctx);
        }
        return {accept: ok, reason: ok ? '' : 'signature'};
    } catch (e) {
        return {accept: false, reason: (e as Error).message};
    }
}

function goVerdicts(items: Item[]): Array<{accept: boolean; reason?: string}> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2ee-parse-'));
    const input = path.join(dir, 'corpus.json');
    const output = path.join(dir, 'verdicts.json');
    fs.writeFileSync(input, JSON.stringify(items));
    const r = spawnSync(process.env.GO || 'go', ['test', '-count=1', '-run', '^$', './server/'], {
        cwd: REPO_ROOT,
        env: {...process.env, E2EE_PARSE_CHECK_IN: input, E2EE_PARSE_CHECK_OUT: output},
        encoding: 'utf8',
        timeout: 540000,
    });
    if (r.status !== 0 || !fs.existsSync(output)) {
        throw new Error(`go test in parse-check mode failed (${r.status}): ${r.error ?? ''}${r.stdout}${r.stderr}`);
    }
    const verdicts = JSON.parse(fs.readFileSync(output, 'utf8'));
    fs.rmSync(dir, {recursive: true, force: true});
    return verdicts;
}

test('the Go verifier and the web app agree on thousands of mutated messages', async () => {
    const items: Item[] = [];
    for (const base of await bases()) {
        const {name: baseName, msg, ...extra} = base;
        for (const [name, text] of [...valueMutations(msg), ...textMutations(msg)]) {
            items.push({...extra, name: `${baseName}: ${name}`, text});
        }
    }
    expect(items.length).toBeGreaterThan(8000);

    const ts: Array<{accept: boolean; reason: string}> = [];
    for (const item of items) {
        ts.push(await tsVerdict(item));
    }
    // Request bodies are judged by the server as sent and as the canonical spelling of their value.
    const bodies = items.flatMap((item, i) => (item.kind ? [i] : []));
    const canonical = (text: string) => {
        try {
            return stringify(JSON.parse(text));
        } catch {
            return text;
        }
    };
    const all = goVerdicts([...items, ...bodies.map((i) => ({...items[i], text: canonical(items[i].text)}))]);
    expect(all).toHaveLength(items.length + bodies.length);
    const go = all.slice(0, items.length);
    const goCanonical = new Map(bodies.map((i, k) => [i, all[items.length + k]]));

    const say = (v: {accept: boolean; reason?: string}) => (v.accept ? 'accepts' : `refuses (${v.reason})`);
    const disagreements = items.flatMap((item, i) => {
        const server = goCanonical.get(i) ?? go[i];
        return ts[i].accept === server.accept ? [] : [`${item.name}: web app ${say(ts[i])}, server ${say(server)}`];
    });
    expect(disagreements).toEqual([]);
    // Whatever spelling of a body the server accepts (and stores), the web app reads.
    const unreadable = bodies.flatMap((i) => (go[i].accept && !ts[i].accept ? [`${items[i].name}: web app ${say(ts[i])}`] : []));
    expect(unreadable).toEqual([]);
    // The server refuses some spellings of a value the web app would accept (its decoder reads
    // numbers into integers and refuses repeated keys): only text-level mutations may do that.
    const stricter = bodies.filter((i) => !go[i].accept && ts[i].accept).map((i) => items[i].name);
    expect(stricter.filter((name) => !/: (version spelt|epoch spelt|createdAt spelt|\w+ duplicated, (same value|garbage first))/.test(name))).toEqual([]);
    expect(stricter.length).toBeGreaterThan(0);

    if (process.env.PARSE_AGREEMENT_STATS) {
        // The figures docs/design.md §3.1 quotes.
        const rows = [undefined, 'header', 'part', 'joiner'].map((kind) => {
            const of = items.flatMap((item, i) => (item.kind === kind ? [i] : []));
            const v3 = of.filter((i) => /^(core )?v3|^core v3/.test(items[i].name)).length;
            return `${kind ?? 'post'}: ${of.length} items (${kind ? '' : `${v3} v3, `}${of.filter((i) => ts[i].accept).length} accepted)`;
        });
        console.warn(`${rows.join('\n')}\nserver stricter on spelling: ${stricter.length}`);
    }
    // The corpus exercises both outcomes, and the unmutated messages are judged as expected.
    const accepted = ts.filter((v) => v.accept).length;
    expect(accepted).toBeGreaterThan(200);
    expect(items.length - accepted).toBeGreaterThan(7000);
    for (const kind of [undefined, 'header', 'part', 'joiner']) {
        const of = items.flatMap((item, i) => (item.kind === kind ? [ts[i].accept] : []));
        expect([kind, of.filter(Boolean).length >= 3, of.filter((a) => !a).length > 100]).toEqual([kind, true, true]);
    }
    items.forEach((item, i) => {
        if (/^(vector \d+ \(signed\)|cli \d|core v[23][^:]*|hand v2|header|header created 0|hand header \(2 parts\)|part|joiner): as signed$/.test(item.name)) {
            expect([item.name, ts[i].accept]).toEqual([item.name, true]);
        }
        if (/^(vector \d+ \(forged\)|hand v2 (off-curve|repeated)[^:]*|v[23] without context|v[23] other (author|commitment)|hand header off-curve pubECDHE|hand header \(101 parts\)|part other index|joiner other commitment): as signed$/.test(item.name)) {
            expect([item.name, ts[i].accept]).toEqual([item.name, false]);
        }
    });
});
