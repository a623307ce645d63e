// v1 and v2 round trips, context binding, structural refusals and tamper properties.
import {
    CryptoError,
    decryptMessage,
    encryptMessage,
    encryptV1,
    encryptV2,
    IntegrityError,
    MalformedError,
    MissingContextError,
    NotRecipientError,
    parseMessage,
    recipientsOf,
    UnsupportedVersionError,
    verifyMessage,
} from '../../src/crypto';
import type {EncryptedMessageJSON, MessageContext} from '../../src/crypto';
import {newUsers, type User} from './helpers';

const ctx: MessageContext = {channelId: 'chan1234567890abcdefghijkl', rootId: '', userId: 'user1234567890abcdefghijkl'};
let users: User[];

beforeAll(async () => {
    users = await newUsers(6);
});

const TEXTS = ['hello', '', 'Unicode: héllo — 日本語 🔐', 'x'.repeat(5000), 'line\nbreaks\r\n\ttabs'];

describe.each([1, 2] as const)('v%i round trip', (version) => {
    const enc = (text: string, sender: User, rec: User[], c: MessageContext = ctx) =>
        (version === 1 ? encryptV1(text, sender.keys, rec.map((u) => u.pub)) : encryptV2({text}, sender.keys, rec.map((u) => u.pub), c));

    test.each([1, 2, 5])('%i recipient(s): every recipient decrypts every text', async (n) => {
        const rec = users.slice(0, n);
        for (const text of TEXTS) {
            const msg = await enc(text, users[0], rec);
            expect(msg.version).toBe(version);
            expect(recipientsOf(msg)).toEqual(rec.map((u) => u.pub.idB64));
            for (const me of rec) {
                const res = await decryptMessage(msg, me.keys, me.pub, users[0].pub, ctx);
                expect(res.text).toBe(text);
                expect(res.version).toBe(version);
            }
            expect(await verifyMessage(msg, users[0].pub, ctx)).toBe(true);
            expect(await verifyMessage(msg, users[1].pub, ctx)).toBe(false);
        }
    });

    test('a non-recipient gets NotRecipientError, a wrong sender key IntegrityError', async () => {
        const msg = await enc('secret', users[0], users.slice(0, 3));
        await expect(decryptMessage(msg, users[4].keys, users[4].pub, users[0].pub, ctx)).rejects.toBeInstanceOf(NotRecipientError);
        await expect(decryptMessage(msg, users[1].keys, users[1].pub, users[2].pub, ctx)).rejects.toBeInstanceOf(IntegrityError);
        // Signature is checked before membership: a non-recipient with the wrong sender key gets IntegrityError.
        await expect(decryptMessage(msg, users[4].keys, users[4].pub, users[2].pub, ctx)).rejects.toBeInstanceOf(IntegrityError);
    });

    test('repeated recipients are written once; JSON survives a round trip through text', async () => {
        const msg = await enc('dup', users[0], [users[0], users[1], users[0], users[1]]);
        expect(recipientsOf(msg)).toEqual([users[0].pub.idB64, users[1].pub.idB64]);
        const res = await decryptMessage(JSON.parse(JSON.stringify(msg)), users[1].keys, users[1].pub, users[0].pub, ctx);
        expect(res.text).toBe('dup');
        expect((await decryptMessage(JSON.stringify(msg), users[1].keys, users[1].pub, users[0].pub, ctx)).text).toBe('dup');
    });
});

describe('v2 context binding', () => {
    const variants: Array<[string, MessageContext]> = [
        ['another channel', {...ctx, channelId: 'chan1234567890abcdefghijkm'}],
        ['another thread', {...ctx, rootId: 'root1234567890abcdefghijkl'}],
        ['another author', {...ctx, userId: 'user1234567890abcdefghijkm'}],
        ['fields shifted across boundaries', {channelId: ctx.channelId + 'u', rootId: '', userId: ctx.userId.slice(1)}],
    ];

    test.each(variants)('replayed into %s: IntegrityError for every recipient', async (_name, other) => {
        const msg = await encryptV2({text: 'bound'}, users[0].keys, users.slice(0, 3).map((u) => u.pub), ctx);
        for (const me of users.slice(0, 3)) {
            await expect(decryptMessage(msg, me.keys, me.pub, users[0].pub, other)).rejects.toBeInstanceOf(IntegrityError);
            expect((await decryptMessage(msg, me.keys, me.pub, users[0].pub, ctx)).text).toBe('bound');
        }
        expect(await verifyMessage(msg, users[0].pub, other)).toBe(false);
    });

    test('root vs top-level and channel/root swap are distinct contexts', async () => {
        const reply: MessageContext = {...ctx, rootId: 'abc'};
        const msg = await encryptV2({text: 'reply'}, users[0].keys, [users[1].pub], reply);
        await expect(decryptMessage(msg, users[1].keys, users[1].pub, users[0].pub, ctx)).rejects.toBeInstanceOf(IntegrityError);
        const swapped: MessageContext = {channelId: 'abc', rootId: ctx.channelId, userId: ctx.userId};
        await expect(decryptMessage(msg, users[1].keys, users[1].pub, users[0].pub, swapped)).rejects.toBeInstanceOf(IntegrityError);
    });

    test('v2 needs a context; v1 ignores it', async () => {
        const v2 = await encryptV2({text: 'a'}, users[0].keys, [users[1].pub], ctx);
        await expect(decryptMessage(v2, users[1].keys, users[1].pub, users[0].pub)).rejects.toBeInstanceOf(MissingContextError);
        await expect(verifyMessage(v2, users[0].pub)).rejects.toBeInstanceOf(MissingContextError);
        await expect(encryptV2({text: 'a'}, users[0].keys, [users[1].pub], undefined as unknown as MessageContext))
            .rejects.toBeInstanceOf(MissingContextError);
        const v1 = await encryptV1('a', users[0].keys, [users[1].pub]);
        expect((await decryptMessage(v1, users[1].keys, users[1].pub, users[0].pub, {...ctx, channelId: 'other'})).text).toBe('a');
    });

    test('payload extras and createdAt come back', async () => {
        const msg = await encryptV2({text: 'hi', edit: {of: 'p1'}}, users[0].keys, [users[1].pub], ctx, 1700000000123);
        const res = await decryptMessage(msg, users[1].keys, users[1].pub, users[0].pub, ctx);
        expect(res).toEqual({version: 2, text: 'hi', payload: {text: 'hi', edit: {of: 'p1'}}, createdAt: 1700000000123});
    });

    test('encryptMessage defaults to v2 and can write v1', async () => {
        const v2 = await encryptMessage('x', users[0].keys, [users[1].pub], {context: ctx});
        expect(v2.version).toBe(2);
        const v1 = await encryptMessage('x', users[0].keys, [users[1].pub], {format: 'v1'});
        expect(v1.version).toBe(1);
        await expect(encryptMessage('x', users[0].keys, [users[1].pub])).rejects.toBeInstanceOf(MissingContextError);
    });
});

test('v2 props bytes per recipient are no larger than v1', async () => {
    const size = async (v: 1 | 2, n: number) => JSON.stringify(v === 1
        ? await encryptV1('t', users[0].keys, users.slice(0, n).map((u) => u.pub))
        : await encryptV2({text: 't'}, users[0].keys, users.slice(0, n).map((u) => u.pub), ctx)).length;
    const per1 = (await size(1, 6) - await size(1, 1)) / 5;
    const per2 = (await size(2, 6) - await size(2, 1)) / 5;
    expect(per2).toBeLessThanOrEqual(per1);
    expect(per1).toBeLessThanOrEqual(84);
});

describe('structure', () => {
    let v1: EncryptedMessageJSON;
    let v2: EncryptedMessageJSON;
    beforeAll(async () => {
        v1 = await encryptV1('s', users[0].keys, [users[0].pub, users[1].pub]);
        v2 = await encryptV2({text: 's'}, users[0].keys, [users[0].pub, users[1].pub], ctx);
    });

    const decryptAs1 = (m: unknown) => decryptMessage(m, users[1].keys, users[1].pub, users[0].pub, ctx);

    test('malformed inputs give MalformedError, never an untyped exception', async () => {
        const bad: unknown[] = [null, 1, 'x', '{', [], {}, {version: '1'}, {version: 1.5}, {...v1, iv: 5}, {...v1, iv: 'AAAA'},
            {...v1, encryptedKey: []}, {...v1, encryptedKey: [['a']]}, {...v1, encryptedKey: 'x'}, {...v1, signature: undefined},
            {...v1, pubECDHE: Buffer.alloc(65, 2).toString('base64')}, {...v2, createdAt: -1}, {...v2, createdAt: 1.5},
            {...v2, createdAt: '1'}, {...v2, extra: 1}, {...v2, iv: (v1 as unknown as {iv: string}).iv},
            {...v2, encryptedData: Buffer.alloc(15).toString('base64')},
            {...v2, encryptedKey: [(v2.encryptedKey as string[][])[0], (v2.encryptedKey as string[][])[0]]}];
        for (const m of bad) {
            await expect(decryptAs1(m)).rejects.toBeInstanceOf(MalformedError);
            expect(() => parseMessage(m)).toThrow(MalformedError);
        }
    });

    test('unknown versions give UnsupportedVersionError', async () => {
        for (const version of [0, 3, 99]) {
            await expect(decryptAs1({...v2, version})).rejects.toBeInstanceOf(UnsupportedVersionError);
        }
    });

    test('unknown fields are refused in both versions (the server refuses them too)', async () => {
        await expect(decryptAs1({...v1, future: true})).rejects.toBeInstanceOf(MalformedError);
        await expect(decryptAs1({...v2, future: true})).rejects.toBeInstanceOf(MalformedError);
    });

    test('another ephemeral key breaks the v1 signature (signed through its hash); a point off the curve is malformed', async () => {
        const other = (v2 as unknown as {pubECDHE: string}).pubECDHE;
        await expect(decryptAs1({...v1, pubECDHE: other})).rejects.toBeInstanceOf(IntegrityError);
        const pe = Buffer.from((v1 as unknown as {pubECDHE: string}).pubECDHE, 'base64');
        pe[64] ^= 1;
        await expect(decryptAs1({...v1, pubECDHE: pe.toString('base64')})).rejects.toBeInstanceOf(MalformedError);
    });
});

// --- tamper properties -------------------------------------------------------------------------

type Mutation = {name: string; msg: Record<string, unknown>; wrappedOf?: number};

function flipB64(s: string, bit: number): string {
    const b = Buffer.from(s, 'base64');
    b[bit >> 3] ^= 1 << (bit & 7);
    return b.toString('base64');
}

/** Every single-bit flip of every field: base64 fields (decoded bits), each ID and wrapped key,
 * the version and createdAt numbers. */
function mutations(msg: EncryptedMessageJSON): Mutation[] {
    const out: Mutation[] = [];
    const m = msg as Record<string, unknown>;
    for (const f of ['iv', 'pubECDHE', 'encryptedData', 'signature']) {
        const bits = Buffer.from(m[f] as string, 'base64').length * 8;
        for (let i = 0; i < bits; i++) {
            out.push({name: `${f} bit ${i}`, msg: {...m, [f]: flipB64(m[f] as string, i)}});
        }
    }
    const keys = m.encryptedKey as string[][];
    keys.forEach((entry, r) => {
        for (const part of [0, 1]) {
            const bits = Buffer.from(entry[part], 'base64').length * 8;
            for (let i = 0; i < bits; i++) {
                const copy = keys.map((e) => [...e]);
                copy[r][part] = flipB64(entry[part], i);
                out.push({name: `encryptedKey[${r}][${part}] bit ${i}`, msg: {...m, encryptedKey: copy}, wrappedOf: part === 1 ? r : undefined});
            }
        }
    });
    for (let i = 0; i < 8; i++) {
        out.push({name: `version bit ${i}`, msg: {...m, version: (m.version as number) ^ (1 << i)}});
    }
    if (typeof m.createdAt === 'number') {
        for (let i = 0; i < 53; i++) {
            const c = m.createdAt;
            const bit = 2 ** i;
            out.push({name: `createdAt bit ${i}`, msg: {...m, createdAt: Math.floor(c / bit) % 2 === 1 ? c - bit : c + bit}});
        }
    }
    return out;
}

const FAILURES = [IntegrityError, MalformedError, UnsupportedVersionError];

async function outcome(msg: unknown, me: User, sender: User): Promise<string | CryptoError> {
    try {
        return (await decryptMessage(msg, me.keys, me.pub, sender.pub, ctx)).text;
    } catch (e) {
        if (!(e instanceof CryptoError)) {
            throw new Error(`untyped exception: ${e}`);
        }
        return e;
    }
}

test('fuzzed field values and shapes only ever give typed errors', async () => {
    const values: unknown[] = [undefined, null, 0, -1, 1.5, 2 ** 60, '', 'x', '====', [], [[]], [['', '']], {}, true, 'A'.repeat(10000)];
    for (const version of [1, 2] as const) {
        const msg = (version === 1
            ? await encryptV1('fuzz', users[0].keys, [users[0].pub, users[1].pub])
            : await encryptV2({text: 'fuzz'}, users[0].keys, [users[0].pub, users[1].pub], ctx)) as Record<string, unknown>;
        const variants: unknown[] = [];
        for (const f of Object.keys(msg)) {
            for (const v of values) {
                variants.push({...msg, [f]: v});
            }
            const rest = {...msg};
            delete rest[f];
            variants.push(rest);
        }
        const keys = msg.encryptedKey as string[][];
        for (const v of values) {
            variants.push({...msg, encryptedKey: [keys[0], v]}, {...msg, encryptedKey: [[keys[0][0], v], keys[1]]},
                {...msg, encryptedKey: [[v, keys[0][1]], keys[1]]}, {...msg, encryptedKey: [[...keys[0], v], keys[1]]});
        }
        for (const m of variants) {
            for (const me of [users[0], users[1], users[2]]) {
                const r = await outcome(m, me, users[0]);
                if (typeof r === 'string') {
                    expect(r).toBe('fuzz'); // v1: only another recipient's (unsigned) wrapped key may change
                    expect(version).toBe(1);
                }
            }
            await verifyMessage(m, users[0].pub, ctx).catch((e) => expect(e).toBeInstanceOf(CryptoError));
            try {
                recipientsOf(m);
            } catch (e) {
                expect(e).toBeInstanceOf(CryptoError);
            }
        }
    }
}, 120000);

test('v2: flipping any bit of any field makes decryption fail for every recipient', async () => {
    const rec = users.slice(0, 3);
    const msg = await encryptV2({text: 'tamper me'}, users[0].keys, rec.map((u) => u.pub), ctx, 1732600000000);
    const muts = mutations(msg);
    expect(muts.length).toBeGreaterThan(2000);
    for (const mu of muts) {
        for (const me of rec) {
            const r = await outcome(mu.msg, me, users[0]);
            if (typeof r === 'string' || !FAILURES.some((c) => r instanceof c)) {
                throw new Error(`${mu.name}: recipient got ${typeof r === 'string' ? 'a plaintext' : r.name}`);
            }
        }
    }
}, 120000);

test('v2: changing any character of any base64 field never yields a plaintext', async () => {
    const msg = await encryptV2({text: 'chars'}, users[0].keys, [users[0].pub, users[1].pub], ctx);
    const m = msg as Record<string, unknown>;
    const alt = (c: string) => (c === 'A' ? 'B' : 'A');
    let n = 0;
    for (const f of ['iv', 'pubECDHE', 'encryptedData', 'signature']) {
        const s = m[f] as string;
        for (let i = 0; i < s.length; i++) {
            const r = await outcome({...m, [f]: s.slice(0, i) + alt(s[i]) + s.slice(i + 1)}, users[1], users[0]);
            expect(typeof r).not.toBe('string');
            n++;
        }
    }
    const keys = m.encryptedKey as string[][];
    for (let part = 0; part < 2; part++) {
        const s = keys[0][part];
        for (let i = 0; i < s.length; i++) {
            const copy = keys.map((e) => [...e]);
            copy[0][part] = s.slice(0, i) + alt(s[i]) + s.slice(i + 1);
            expect(typeof await outcome({...m, encryptedKey: copy}, users[1], users[0])).not.toBe('string');
            n++;
        }
    }
    expect(n).toBeGreaterThan(300);
});

test('v1: tampering never yields a wrong plaintext; only another recipient\'s wrapped key is unsigned', async () => {
    const rec = users.slice(0, 3);
    const msg = await encryptV1('tamper me', users[0].keys, rec.map((u) => u.pub));
    let sameText = 0;
    for (const mu of mutations(msg)) {
        for (const [ri, me] of rec.entries()) {
            const r = await outcome(mu.msg, me, users[0]);
            if (mu.wrappedOf !== undefined && mu.wrappedOf !== ri) {
                // Not covered by v1's signature, and not ours: we still read the genuine text.
                expect(r).toBe('tamper me');
                sameText++;
            } else if (typeof r === 'string' || !FAILURES.some((c) => r instanceof c)) {
                throw new Error(`${mu.name}: recipient ${ri} got ${typeof r === 'string' ? JSON.stringify(r) : r.name}`);
            }
        }
    }
    expect(sameText).toBe(3 * 2 * 192);
}, 120000);

test('decryption does one ECDH and one unwrap whatever the number of recipients', async () => {
    const others = await newUsers(20);
    // 20 + 6 distinct keys; the 6 repeated ones are dropped.
    const rec = [...others, ...users, ...users].map((u) => u.pub);
    for (const msg of [await encryptV1('n', users[0].keys, rec), await encryptV2({text: 'n'}, users[0].keys, rec, ctx)]) {
        expect(recipientsOf(msg).length).toBe(26);
        const derive = jest.spyOn(crypto.subtle, 'deriveBits');
        const unwrap = jest.spyOn(crypto.subtle, 'unwrapKey');
        try {
            expect((await decryptMessage(msg, users[5].keys, users[5].pub, users[0].pub, ctx)).text).toBe('n');
            expect(derive).toHaveBeenCalledTimes(1);
            expect(unwrap).toHaveBeenCalledTimes(1);
        } finally {
            derive.mockRestore();
            unwrap.mockRestore();
        }
    }
});
