// Shared pieces of the property tests (docs/design.md §3.2): run counts, the verdict on one
// decoder call, and mutation generators for JSON values, JSON text and bytes.
//
// FC_NUM_RUNS raises the runs of every property (default below keeps `npm test` to seconds);
// a failure prints fast-check's seed and path: rerun with FC_SEED=<seed> FC_PATH=<path>.
import fc from 'fast-check';

import type {Bytes} from '../../../src/crypto/encoding';
import {CryptoError, type CryptoErrorCode} from '../../../src/crypto/errors';

export const NUM_RUNS = Math.max(1, Number(process.env.FC_NUM_RUNS) || 40);
// One run that takes longer than this is a hang (a loaded 2-core machine is slow, not this slow).
const RUN_TIMEOUT_MS = 15000;

/** fast-check parameters: `weight` scales the runs of expensive properties. */
export function params(weight = 1): fc.Parameters<unknown> {
    const p: fc.Parameters<unknown> = {
        numRuns: Math.max(1, Math.round(NUM_RUNS * weight)),
        plugins: [fc.timeout(RUN_TIMEOUT_MS)],
    };
    if (process.env.FC_SEED) {
        p.seed = Number(process.env.FC_SEED);
    }
    if (process.env.FC_PATH) {
        p.path = process.env.FC_PATH;
    }
    return p;
}

/** Jest timeout of a property: the runs at RUN_TIMEOUT_MS each would never end, so bound by count. */
export function jestTimeout(weight = 1): number {
    return 60000 + (Math.max(1, Math.round(NUM_RUNS * weight)) * 200);
}

export type Outcome<T> = {ok: true; value: T} | {ok: false; error: unknown};

// FC_STATS=1 prints, per test, how often each outcome happened (which check refused the mutants).
const stats = new Map<string, Map<string, number>>();

function tally(r: Outcome<unknown>): void {
    if (!process.env.FC_STATS) {
        return;
    }
    const test = expect.getState().currentTestName ?? '';
    const key = r.ok ? 'accepted' : r.error instanceof Error ? `${(r.error as {code?: string}).code}: ${r.error.message.replace(/"[^"]*"/g, '"…"').replace(/\d+/g, 'N').slice(0, 70)}` : 'non-Error';
    const m = stats.get(test) ?? new Map<string, number>();
    m.set(key, (m.get(key) ?? 0) + 1);
    stats.set(test, m);
}

afterAll(() => {
    for (const [test, m] of stats) {
        const rows = [...m].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${String(n).padStart(7)}  ${k}`);
        console.warn(`${test}\n${rows.join('\n')}`);
    }
});

export async function outcome<T>(f: () => Promise<T> | T): Promise<Outcome<T>> {
    let r: Outcome<T>;
    try {
        r = {ok: true, value: await f()};
    } catch (error) {
        r = {ok: false, error};
    }
    tally(r);
    return r;
}

function describeError(e: unknown): string {
    if (e instanceof Error) {
        return `${e.constructor.name}(${(e as {code?: string}).code ?? ''}): ${e.message}`;
    }
    return `non-Error thrown: ${String(e)}`;
}

/** The error must be one of the core's typed errors with one of the allowed codes (plain
 * `crypto` is what an unexpected WebCrypto exception becomes, so it is not allowed unless named). */
export function assertTyped(error: unknown, allowed: CryptoErrorCode[]): void {
    if (!(error instanceof CryptoError) || !allowed.includes(error.code)) {
        throw new Error(`expected a typed error (${allowed.join(', ')}), got ${describeError(error)}`, {cause: error});
    }
}

/** Deep equality of parsed JSON-like values: numbers by Object.is (so -0 is not 0), objects by
 * their own keys whatever the order, arrays element by element. */
export function sameValue(a: unknown, b: unknown): boolean {
    if (typeof a !== typeof b) {
        return false;
    }
    if (typeof a !== 'object' || a === null || b === null) {
        return Object.is(a, b);
    }
    if (Array.isArray(a) !== Array.isArray(b)) {
        return false;
    }
    if (Array.isArray(a)) {
        const bb = b as unknown[];
        return a.length === bb.length && a.every((x, i) => sameValue(x, bb[i]));
    }
    const ka = Object.keys(a as object).sort();
    const kb = Object.keys(b as object).sort();
    return ka.length === kb.length && ka.every((k, i) => k === kb[i] &&
        sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/** The JSON value an input stands for: text is parsed (decoders accept either). */
export function valueOf(input: unknown): unknown {
    return typeof input === 'string' ? JSON.parse(input) : input;
}

/** A readable form of any input, keeping what JSON.stringify loses (-0, NaN, undefined, own __proto__). */
export function show(v: unknown): string {
    if (typeof v === 'number') {
        return Object.is(v, -0) ? '-0' : String(v);
    }
    if (typeof v === 'string') {
        return JSON.stringify(v);
    }
    if (typeof v !== 'object' || v === null) {
        return String(v);
    }
    if (Array.isArray(v)) {
        return `[${v.map(show).join(',')}]`;
    }
    if (v instanceof Uint8Array) {
        return `bytes(${v.length})`;
    }
    return `{${Object.keys(v).map((k) => `${JSON.stringify(k)}:${show((v as Record<string, unknown>)[k])}`).join(',')}}`;
}

/** Where two values differ (for failure messages). */
export function diff(a: unknown, b: unknown, at = ''): string[] {
    if (sameValue(a, b)) {
        return [];
    }
    if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null && Array.isArray(a) === Array.isArray(b)) {
        const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
        return keys.flatMap((k) => diff((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${at}/${k}`));
    }
    return [`${at || '/'}: ${show(b)} -> ${show(a)}`];
}

export const clone = <T>(v: T): T => structuredClone(v);

// ---- JSON value mutations ----

type Path = Array<string | number>;

function pathsOf(v: unknown, prefix: Path = [], out: Path[] = []): Path[] {
    out.push(prefix);
    if (Array.isArray(v)) {
        v.forEach((x, i) => pathsOf(x, [...prefix, i], out));
    } else if (typeof v === 'object' && v !== null) {
        for (const k of Object.keys(v)) {
            pathsOf((v as Record<string, unknown>)[k], [...prefix, k], out);
        }
    }
    return out;
}

function getAt(root: unknown, p: Path): unknown {
    return p.reduce<unknown>((v, k) => (v as Record<string | number, unknown>)[k], root);
}

/** Sets a value as an own data property, so that a key like "__proto__" is a field, not the prototype. */
function setOwn(o: object, k: string | number, v: unknown): void {
    Object.defineProperty(o, k, {value: v, enumerable: true, writable: true, configurable: true});
}

function setAt(holder: {root: unknown}, p: Path, v: unknown): void {
    if (p.length === 0) {
        holder.root = v;
        return;
    }
    const parent = getAt(holder.root, p.slice(0, -1));
    if (typeof parent === 'object' && parent !== null) {
        setOwn(parent, p[p.length - 1], v);
    }
}

function deleteAt(holder: {root: unknown}, p: Path): void {
    if (p.length === 0) {
        holder.root = undefined;
        return;
    }
    const parent = getAt(holder.root, p.slice(0, -1));
    const k = p[p.length - 1];
    if (Array.isArray(parent)) {
        parent.splice(k as number, 1);
    } else {
        delete (parent as Record<string, unknown>)[k];
    }
}

/** Standard padded base64 that decodes and re-encodes to itself, or null. */
function b64Bytes(s: string): Buffer | null {
    if (s.length === 0 || s.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(s)) {
        return null;
    }
    const b = Buffer.from(s, 'base64');
    return b.toString('base64') === s ? b : null;
}

const INTERESTING_KEYS = ['version', 'createdAt', 'epoch', 'iv', 'pubECDHE', 'encryptedKey', 'encryptedData', 'signature', 'channelId',
    'creatorId', 'adderId', 'commitment', 'parts', 'partHashes', 'wraps', 'text', 'IV', 'Version', '__proto__', 'constructor', '', 'x', 'd', 'ext'];

const SPECIAL_VALUES: unknown[] = [NaN, Infinity, -Infinity, -0, 0, 1, 2, 3, -1, 0.5, 2 ** 53, 2 ** 53 - 1, 2 ** 64, 1e21, undefined, null, true,
    false, '', ' ', '\u0000', 'AAAA', '====', [], [[]], {}, '3', [3]];

/** Any value, with the special numbers and near-miss strings a parser must refuse. */
export const weirdValue: fc.Arbitrary<unknown> = fc.oneof(
    {weight: 3, arbitrary: fc.constantFrom(...SPECIAL_VALUES)},
    {weight: 2, arbitrary: fc.jsonValue({maxDepth: 2})},
    {weight: 1, arbitrary: fc.anything({maxDepth: 2})},
    {weight: 1, arbitrary: fc.string({unit: 'binary', maxLength: 20})},
    {weight: 1, arbitrary: fc.integer()},
);

const KINDS = ['replace', 'delete', 'addKey', 'swap', 'copy', 'b64flip', 'b64flip', 'b64flip', 'b64resize', 'b64respell', 'number', 'number',
    'string', 'array', 'array', 'wrap'] as const;

export interface ValueOp {
    kind: typeof KINDS[number];
    at: number;
    at2: number;
    n: number;
    value: unknown;
    key: string;
    text: string;
}

export const valueOp: fc.Arbitrary<ValueOp> = fc.record({
    kind: fc.constantFrom(...KINDS),
    at: fc.nat(),
    at2: fc.nat(),
    n: fc.nat(),
    value: weirdValue,
    key: fc.oneof(fc.constantFrom(...INTERESTING_KEYS), fc.string({maxLength: 8})),
    text: fc.string({unit: 'binary', minLength: 1, maxLength: 6}),
});

function mutateNumber(x: number, n: number): unknown {
    const options = [-0, x + 1, x - 1, -x, -0, 0, x * 2, x + 0.5, x + 2 ** 53, String(x), Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 1, NaN,
        Infinity, x / 1000, [x], {x}, x > 1 ? x - 2 : x + 3];
    return options[n % options.length];
}

function mutateString(s: string, n: number, text: string): string {
    const i = s.length ? n % (s.length + 1) : 0;
    const options = [
        s.slice(0, i) + text + s.slice(i),
        s.slice(0, i) + s.slice(i + 1),
        s.slice(0, i) + text + s.slice(i + 1),
        s.toLowerCase(),
        s.toUpperCase(),
        s + '=',
        s.replace(/=+$/, ''),
        s.replace(/\+/g, '-').replace(/\//g, '_'),
        ' ' + s,
        s + '\n',
        s.slice(0, i) + '\r\n' + s.slice(i),
        s.slice(0, i),
        s + s,
    ];
    return options[(n >> 4) % options.length];
}

function mutateArray(a: unknown[], n: number, value: unknown): unknown[] {
    const i = a.length ? n % a.length : 0;
    const j = a.length ? (n >> 8) % a.length : 0;
    const b = [...a];
    switch ((n >> 4) % 8) {
    case 0: b.splice(i, 0, b[i]); return b; // duplicate an element
    case 1: return b.reverse();
    case 2: b.splice(i, 1); return b;
    case 3: [b[i], b[j]] = [b[j], b[i]]; return b;
    case 4: return [];
    case 5: b.push(clone(value)); return b;
    case 6: return [b];
    default: return b.flat();
    }
}

/** Applies one structure-aware mutation to `holder.root` (in place). */
export function applyValueOp(holder: {root: unknown}, op: ValueOp): void {
    const paths = pathsOf(holder.root);
    const p = paths[op.at % paths.length];
    const cur = getAt(holder.root, p);
    switch (op.kind) {
    case 'replace':
        setAt(holder, p, clone(op.value)); // a copy: one value object twice in the tree could make a cycle
        return;
    case 'delete':
        deleteAt(holder, p);
        return;
    case 'addKey': {
        const objects = paths.filter((q) => {
            const v = getAt(holder.root, q);
            return typeof v === 'object' && v !== null && !Array.isArray(v);
        });
        if (objects.length) {
            setOwn(getAt(holder.root, objects[op.at % objects.length]) as object, op.key, clone(op.value));
        }
        return;
    }
    case 'swap':
    case 'copy': {
        // Two nodes that are not ancestors of each other: field swaps, values copied between fields.
        const q = paths[op.at2 % paths.length];
        const prefix = (a: Path, b: Path) => a.length <= b.length && a.every((k, i) => k === b[i]);
        if (prefix(p, q) || prefix(q, p)) {
            return;
        }
        const a = getAt(holder.root, p);
        const b = getAt(holder.root, q);
        setAt(holder, p, clone(b));
        if (op.kind === 'swap') {
            setAt(holder, q, clone(a));
        }
        return;
    }
    case 'b64flip':
    case 'b64resize':
    case 'b64respell': {
        // On a base64 string: a bit of the decoded bytes flipped, bytes cut or added (still canonical
        // base64, so only the checks after decoding can catch it), or a non-canonical spelling.
        const strings = paths.filter((q) => {
            const v = getAt(holder.root, q);
            return typeof v === 'string' && b64Bytes(v) !== null;
        });
        if (!strings.length) {
            return;
        }
        const q = strings[op.at % strings.length];
        const s = getAt(holder.root, q) as string;
        const bytes = b64Bytes(s)!;
        if (op.kind === 'b64flip') {
            bytes[op.n % bytes.length] ^= 1 << ((op.n >> 12) % 8);
            setAt(holder, q, bytes.toString('base64'));
        } else if (op.kind === 'b64resize') {
            const cut = op.n % 2 === 0;
            const k = 1 + ((op.n >> 1) % 8);
            const out = cut ? bytes.subarray(0, Math.max(0, bytes.length - k)) : Buffer.concat([bytes, Buffer.alloc(k, op.n >> 4)]);
            setAt(holder, q, out.toString('base64'));
        } else {
            setAt(holder, q, mutateString(s, op.n, '='));
        }
        return;
    }
    case 'number': {
        const nums = paths.filter((q) => typeof getAt(holder.root, q) === 'number');
        if (nums.length) {
            const q = nums[op.at2 % nums.length];
            setAt(holder, q, mutateNumber(getAt(holder.root, q) as number, op.n));
        }
        return;
    }
    case 'string': {
        const strings = paths.filter((q) => typeof getAt(holder.root, q) === 'string');
        if (strings.length) {
            const q = strings[op.at2 % strings.length];
            setAt(holder, q, mutateString(getAt(holder.root, q) as string, op.n, op.text));
        }
        return;
    }
    case 'array': {
        const arrays = paths.filter((q) => Array.isArray(getAt(holder.root, q)));
        if (arrays.length) {
            const q = arrays[op.at2 % arrays.length];
            setAt(holder, q, mutateArray(getAt(holder.root, q) as unknown[], op.n, op.value));
        }
        return;
    }
    case 'wrap':
        // The same value in another type: in an array, as its JSON text, in an object.
        setAt(holder, p, [[cur], JSON.stringify(cur) ?? 'undefined', {value: cur}][op.n % 3]);
        return;
    }
}

// ---- JSON text mutations ----

const WS = [' ', '\n', '\r\n', '\t', '  ', '\u00a0', '\u2028'];

export interface TextOp {
    kind: 'flip' | 'truncate' | 'extend' | 'insert' | 'delete' | 'whitespace' | 'duplicate';
    at: number;
    n: number;
    text: string;
}

export const textOp: fc.Arbitrary<TextOp> = fc.record({
    kind: fc.constantFrom('flip', 'truncate', 'extend', 'insert', 'delete', 'whitespace', 'whitespace', 'duplicate'),
    at: fc.nat(),
    n: fc.nat(),
    text: fc.oneof(fc.string({unit: 'binary', minLength: 1, maxLength: 8}), fc.constantFrom('{', '}', '[', ']', ',', ':', '"', '\\', '\\u0000', '0', '-', 'e5', '.0')),
});

export function applyTextOp(s: string, op: TextOp): string {
    const i = op.at % (s.length + 1);
    switch (op.kind) {
    case 'flip': {
        if (!s.length) {
            return s;
        }
        const j = op.at % s.length;
        return s.slice(0, j) + String.fromCharCode(s.charCodeAt(j) ^ (1 << (op.n % 16))) + s.slice(j + 1);
    }
    case 'truncate':
        return s.slice(0, i);
    case 'extend':
        return s + op.text;
    case 'insert':
        return s.slice(0, i) + op.text + s.slice(i);
    case 'delete':
        return s.slice(0, i) + s.slice(i + 1 + (op.n % 16));
    case 'whitespace':
        // Often between tokens (the same value), sometimes inside a string (another value).
        return s.slice(0, i) + WS[op.n % WS.length] + s.slice(i);
    case 'duplicate': {
        const j = Math.min(s.length, i + 1 + (op.n % 64));
        return s.slice(0, j) + s.slice(i, j) + s.slice(j);
    }
    }
}

// ---- inputs made from a valid base value ----

export interface Mutant {
    input: unknown; // an object or JSON text, as the decoders accept either
    how: string;
    toString(): string;
}

function mutant(input: unknown, how: string): Mutant {
    return {input, how, toString: () => `${how}: ${show(input)}`};
}

/** Mutations of a valid JSON base: structure-aware changes of the value (passed as an object or
 * as its JSON text), then optionally text-level changes; or something random. */
export function mutantsOf(base: unknown, options: {textOnly?: boolean} = {}): fc.Arbitrary<Mutant> {
    const structured = (withText: boolean) => fc.tuple(fc.array(valueOp, {minLength: 1, maxLength: 3}),
        withText ? fc.array(textOp, {minLength: 1, maxLength: 2}) : fc.constant([]), fc.boolean())
        .map(([vops, tops, asText]): Mutant => {
            const holder = {root: clone(base)};
            vops.forEach((op) => applyValueOp(holder, op));
            if (!tops.length && !asText && !options.textOnly) {
                return mutant(holder.root, `value ${JSON.stringify(vops.map((o) => o.kind))}`);
            }
            let text = JSON.stringify(holder.root) ?? 'undefined';
            tops.forEach((op) => {
                text = applyTextOp(text, op);
            });
            return mutant(text, `value+text ${JSON.stringify([...vops.map((o) => o.kind), ...tops.map((o) => o.kind)])}`);
        });
    const textOnly = fc.array(textOp, {minLength: 1, maxLength: 4}).map((tops): Mutant => {
        let text = JSON.stringify(base);
        tops.forEach((op) => {
            text = applyTextOp(text, op);
        });
        return mutant(text, `text ${JSON.stringify(tops.map((o) => o.kind))}`);
    });
    const random = fc.oneof(fc.jsonValue(), fc.anything(), fc.string({unit: 'binary'})).map((input): Mutant => mutant(input, 'random'));
    return fc.oneof({weight: 6, arbitrary: structured(false)}, {weight: 2, arbitrary: structured(true)}, {weight: 2, arbitrary: textOnly},
        {weight: 1, arbitrary: random});
}

/** Byte-level mutations: flips, cuts, extensions, random insertions, moved ranges. */
export interface ByteOp {
    kind: 'flip' | 'truncate' | 'extend' | 'insert' | 'delete' | 'set';
    at: number;
    n: number;
    bytes: Uint8Array;
}

export const byteOp: fc.Arbitrary<ByteOp> = fc.record({
    kind: fc.constantFrom('flip', 'flip', 'truncate', 'extend', 'insert', 'delete', 'set'),
    at: fc.nat(),
    n: fc.nat(),
    bytes: fc.uint8Array({minLength: 1, maxLength: 32}),
});

export function applyByteOp(b: Bytes, op: ByteOp): Bytes {
    const i = op.at % (b.length + 1);
    const cat = (...parts: Uint8Array[]) => Uint8Array.from(Buffer.concat(parts));
    switch (op.kind) {
    case 'flip': {
        if (!b.length) {
            return b;
        }
        const out = b.slice();
        out[op.at % b.length] ^= 1 << (op.n % 8);
        return out;
    }
    case 'truncate':
        return b.slice(0, i);
    case 'extend':
        return cat(b, op.bytes);
    case 'insert':
        return cat(b.subarray(0, i), op.bytes, b.subarray(i));
    case 'delete':
        return cat(b.subarray(0, i), b.subarray(Math.min(b.length, i + 1 + (op.n % 64))));
    case 'set': {
        const out = b.slice();
        out.set(op.bytes.subarray(0, Math.max(0, out.length - i)), Math.min(i, out.length));
        return out;
    }
    }
}
