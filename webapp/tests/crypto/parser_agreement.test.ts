// Differential test of the two props.e2ee parsers (docs/design.md §3): thousands of mutated
// messages, made from the original plugin's vectors, the CLI's v2 messages and messages our core
// writes now, are judged by the web app (JSON.parse, then parseMessage + signature check, as a
// post is shown) and by the Go server's verifier (the server package's test binary in its
// parse-check mode, server/parsecheck_test.go). Any disagreement fails: a message the server
// stores must be one the web app shows, and the other way round.
import {spawnSync} from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import {encryptV2, importBackup, importPublicKey, publicKeyOf, verifyMessage} from '../../src/crypto';
import {framed, toBase64, u32be, u64be, utf8} from '../../src/crypto/encoding';
import {ECDSA_SHA256, subtle} from '../../src/crypto/subtle';
import type {MessageContext, PrivateKeySet, PublicKeyJSON} from '../../src/crypto/types';

import {REPO_ROOT, loadVectors, newUser} from './helpers';

// Compiling the server's test binary is slow on a loaded machine.
jest.setTimeout(600000);

interface Base {
    name: string;
    msg: Record<string, unknown>;
    sender: PublicKeyJSON;
    context: MessageContext | null;
}

interface Item {
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
    return out;
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

/** Value-level mutations of one message, serialized with JSON.stringify. */
function valueMutations(msg: Record<string, unknown>): Array<[string, string]> {
    const out: Array<[string, string]> = [['as signed', JSON.stringify(msg)]];
    const add = (name: string, m: unknown) => out.push([name, JSON.stringify(m)]);
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
    const keys = msg.encryptedKey as string[][];
    if (Array.isArray(keys)) {
        // Each part of one entry (chosen per message) in every spelling.
        const e = rand(keys.length);
        for (const part of [0, 1]) {
            for (const [vn, variant] of stringVariants(keys[e][part])) {
                const m = clone(msg);
                (m.encryptedKey as unknown[][])[e][part] = variant;
                add(`encryptedKey[${e}][${part}]: ${vn}`, m);
            }
        }
        const withKeys = (name: string, list: unknown) => add(`encryptedKey ${name}`, {...clone(msg), encryptedKey: list});
        withKeys('entry repeated', [...keys, keys[0]]);
        withKeys('entry repeated with CR/LF', [...keys, [insertAt(keys[0][0], 8, '\r\n'), keys[0][1]]]);
        withKeys('entry repeated with padding change', [...keys, [keys[0][0].replace(/=$/, ''), keys[0][1]]]);
        withKeys('reversed', [...keys].reverse());
        withKeys('empty', []);
        withKeys('entry with a third element', keys.map((k, i) => (i === e ? [...k, 'AAAA'] : k)));
        withKeys('entry with one element', keys.map((k, i) => (i === e ? [k[0]] : k)));
        withKeys('entry as object', keys.map((k, i) => (i === e ? {id: k[0], wrapped: k[1]} : k)));
        withKeys('entry swapped', keys.map((k, i) => (i === e ? [k[1], k[0]] : k)));
        withKeys('entry null', keys.map((k, i) => (i === e ? null : k)));
        withKeys('flattened', keys.flat());
        withKeys('as object', Object.fromEntries(keys));
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
function textMutations(msg: Record<string, unknown>): Array<[string, string]> {
    const t = JSON.stringify(msg);
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
    for (const spelling of ['1.0', '1e0', '10E-1', '0.1e1', '1.00000000000000001', '2.0', '2e0', '-0', '0x1', '01', '+1', '1.5', 'Infinity', 'NaN', '"1"', '"2"']) {
        out.push([`version spelt ${spelling}`, t.replace(`"version":${version}`, `"version":${spelling}`)]);
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

async function tsVerdict(item: Item): Promise<{accept: boolean; reason: string}> {
    let value: unknown;
    try {
        value = JSON.parse(item.text);
    } catch (e) {
        return {accept: false, reason: `not JSON: ${(e as Error).message}`};
    }
    // As the web app reads a post: props.e2ee must be an object (decrypt_service.encryptedPayloadOf).
    if (!value || typeof value !== 'object' || Array.isArray(value)) {
        return {accept: false, reason: 'not an object'};
    }
    try {
        const sender = await importPublicKey(item.sender);
        const ok = await verifyMessage(value, sender, item.context ?? undefined);
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
        for (const [name, text] of [...valueMutations(base.msg), ...textMutations(base.msg)]) {
            items.push({name: `${base.name}: ${name}`, text, sender: base.sender, context: base.context});
        }
    }
    expect(items.length).toBeGreaterThan(5000);

    const ts: Array<{accept: boolean; reason: string}> = [];
    for (const item of items) {
        ts.push(await tsVerdict(item));
    }
    const go = goVerdicts(items);
    expect(go).toHaveLength(items.length);

    const disagreements = items.flatMap((item, i) => (ts[i].accept === go[i].accept ? [] : [
        `${item.name}: web app ${ts[i].accept ? 'accepts' : `refuses (${ts[i].reason})`}, server ${go[i].accept ? 'accepts' : `refuses (${go[i].reason})`}`,
    ]));
    expect(disagreements).toEqual([]);

    // The corpus exercises both outcomes, and the unmutated messages are judged as expected.
    const accepted = ts.filter((v) => v.accept).length;
    expect(accepted).toBeGreaterThan(100);
    expect(items.length - accepted).toBeGreaterThan(4000);
    items.forEach((item, i) => {
        if (/^(vector \d+ \(signed\)|cli \d|core v2[^:]*|hand v2): as signed$/.test(item.name)) {
            expect([item.name, ts[i].accept]).toEqual([item.name, true]);
        }
        if (/^(vector \d+ \(forged\)|hand v2 (off-curve|repeated)[^:]*|v2 without context|v2 other author): as signed$/.test(item.name)) {
            expect([item.name, ts[i].accept]).toEqual([item.name, false]);
        }
    });
});
