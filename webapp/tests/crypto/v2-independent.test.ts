// An independent implementation of v2 as docs/design.md states it (Node's crypto module, not our
// core), with the fixed inputs of the design's worked example: our core must decrypt what it builds,
// and it must verify and decrypt what our core builds. Intermediate values are pinned to the doc.
import * as nodeCrypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';

import {decryptMessage, encryptV2, importBackup, importPublicKey, IntegrityError} from '../../src/crypto';
import type {MessageContext} from '../../src/crypto';
import {loadVectors, REPO_ROOT} from './helpers';

const vec = loadVectors();
const alice = vec.users.find((u) => u.name === 'alice')!;
const bob = vec.users.find((u) => u.name === 'bob')!;

const hex = (b: Buffer) => b.toString('hex');
const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
};
const u64 = (n: number) => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(BigInt(n));
    return b;
};
const framed = (...items: Buffer[]) => Buffer.concat(items.flatMap((it) => [u32(it.length), it]));
const sha256 = (b: Buffer) => nodeCrypto.createHash('sha256').update(b).digest();

function jwkOf(backup: string, which: 'sign' | 'encr') {
    const body = backup.split('-----')[2].replace(/\s/g, '');
    return JSON.parse(Buffer.from(body, 'base64').toString('utf8'))[which];
}

function aesKwWrap(kwk: Buffer, key: Buffer): Buffer {
    const c = nodeCrypto.createCipheriv('id-aes128-wrap', kwk, Buffer.from('A6A6A6A6A6A6A6A6', 'hex'));
    return Buffer.concat([c.update(key), c.final()]);
}

function aesKwUnwrap(kwk: Buffer, w: Buffer): Buffer {
    const d = nodeCrypto.createDecipheriv('id-aes128-wrap', kwk, Buffer.from('A6A6A6A6A6A6A6A6', 'hex'));
    return Buffer.concat([d.update(w), d.final()]);
}

function keyId(pub: {sign: string; encr: string}): Buffer {
    return sha256(Buffer.concat([Buffer.from(pub.encr, 'base64'), Buffer.from(pub.sign, 'base64')]));
}

function kwk(z: Buffer, pubE: Buffer, id: Buffer): {kdfInput: Buffer; kwk: Buffer} {
    const kdfInput = Buffer.concat([u32(1), z, framed(Buffer.from('mm-e2ee/p2p/v2/kwk'), pubE, id)]);
    return {kdfInput, kwk: sha256(kdfInput).subarray(0, 16)};
}

const aad = (createdAt: number, c: MessageContext) =>
    framed(Buffer.from('mm-e2ee/p2p/v2/payload'), u64(createdAt), Buffer.from(c.channelId), Buffer.from(c.rootId), Buffer.from(c.userId));

function signedData(m: {createdAt: number; iv: Buffer; pubE: Buffer; keys: Array<[Buffer, Buffer]>; ct: Buffer}, c: MessageContext): Buffer {
    return framed(Buffer.from('mm-e2ee/p2p/v2/signature'), u32(2), u64(m.createdAt), Buffer.from(c.channelId), Buffer.from(c.rootId),
        Buffer.from(c.userId), m.iv, m.pubE, u32(m.keys.length), ...m.keys.flat(), m.ct);
}

// The worked example's fixed inputs (docs/design.md).
const EX = {
    context: {channelId: 'h3kqs1ic7bdcf8sd9qpz8bn5fc', rootId: '', userId: 'w1o3a8qgf7y5bx9nkd8e4mujhr'} as MessageContext,
    createdAt: 1764160000000,
    mk: Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex'),
    iv: Buffer.from('a0a1a2a3a4a5a6a7a8a9aaab', 'hex'),
    ephemeralD: sha256(Buffer.from('mm-e2ee v2 worked example ephemeral key')),
    payload: '{"text":"hello v2"}',
};

function buildExample() {
    const eph = nodeCrypto.createECDH('prime256v1');
    eph.setPrivateKey(EX.ephemeralD);
    const pubE = eph.getPublicKey();
    const recipients = [alice, bob].map((u) => {
        const id = keyId(u.pubkey);
        const z = eph.computeSecret(Buffer.from(u.pubkey.encr, 'base64'));
        const k = kwk(z, pubE, id);
        return {name: u.name, id, z, ...k, wrapped: aesKwWrap(k.kwk, EX.mk)};
    });
    const gcm = nodeCrypto.createCipheriv('aes-128-gcm', EX.mk, EX.iv);
    gcm.setAAD(aad(EX.createdAt, EX.context));
    const ct = Buffer.concat([gcm.update(Buffer.from(EX.payload)), gcm.final(), gcm.getAuthTag()]);
    const data = signedData({createdAt: EX.createdAt, iv: EX.iv, pubE, keys: recipients.map((r) => [r.id, r.wrapped]), ct}, EX.context);
    const signKey = nodeCrypto.createPrivateKey({key: jwkOf(alice.backup, 'sign'), format: 'jwk'});
    const sig = nodeCrypto.sign('sha256', data, {key: signKey, dsaEncoding: 'ieee-p1363'});
    const message = {
        version: 2,
        createdAt: EX.createdAt,
        iv: EX.iv.toString('base64'),
        pubECDHE: pubE.toString('base64'),
        encryptedKey: recipients.map((r) => [r.id.toString('base64'), r.wrapped.toString('base64')]),
        encryptedData: ct.toString('base64'),
        signature: sig.toString('base64'),
    };
    return {pubE, recipients, aad: aad(EX.createdAt, EX.context), ct, data, message};
}

/** Independent v2 decryption: verify over the context first, find our ID, unwrap, open GCM. */
function independentDecrypt(msg: Record<string, unknown>, me: typeof alice, sender: typeof alice, c: MessageContext): string {
    const m = msg as {createdAt: number; iv: string; pubECDHE: string; encryptedKey: string[][]; encryptedData: string; signature: string};
    const b = (s: string) => Buffer.from(s, 'base64');
    const data = signedData({createdAt: m.createdAt, iv: b(m.iv), pubE: b(m.pubECDHE), keys: m.encryptedKey.map((e) => [b(e[0]), b(e[1])]),
        ct: b(m.encryptedData)}, c);
    const senderKey = nodeCrypto.createPublicKey({key: {...jwkOf(sender.backup, 'sign'), d: undefined, key_ops: undefined}, format: 'jwk'});
    if (!nodeCrypto.verify('sha256', data, {key: senderKey, dsaEncoding: 'ieee-p1363'}, b(m.signature))) {
        throw new Error('independent: bad signature');
    }
    const myId = keyId(me.pubkey);
    const entry = m.encryptedKey.find((e) => b(e[0]).equals(myId));
    if (!entry) {
        throw new Error('independent: not a recipient');
    }
    const ecdh = nodeCrypto.createECDH('prime256v1');
    ecdh.setPrivateKey(Buffer.from(jwkOf(me.backup, 'encr').d, 'base64url'));
    const mk = aesKwUnwrap(kwk(ecdh.computeSecret(b(m.pubECDHE)), b(m.pubECDHE), myId).kwk, b(entry[1]));
    const ct = b(m.encryptedData);
    const d = nodeCrypto.createDecipheriv('aes-128-gcm', mk, b(m.iv));
    d.setAAD(aad(m.createdAt, c));
    d.setAuthTag(ct.subarray(ct.length - 16));
    return JSON.parse(Buffer.concat([d.update(ct.subarray(0, ct.length - 16)), d.final()]).toString('utf8')).text;
}

test('the worked example: intermediate values as in docs/design.md', () => {
    const ex = buildExample();
    if (process.env.PRINT_EXAMPLE) {
        console.warn(JSON.stringify({
            ephemeralD: hex(EX.ephemeralD), pubE: hex(ex.pubE),
            recipients: ex.recipients.map((r) => ({name: r.name, id: hex(r.id), z: hex(r.z), kdfInput: hex(r.kdfInput), kwk: hex(r.kwk), wrapped: hex(r.wrapped)})),
            aad: hex(ex.aad), ct: hex(ex.ct), data: hex(ex.data), message: ex.message,
        }, null, 1));
    }
    expect(hex(ex.pubE)).toBe(EXPECTED.pubE);
    expect(ex.recipients.map((r) => hex(r.kwk))).toEqual(EXPECTED.kwk);
    expect(ex.recipients.map((r) => hex(r.wrapped))).toEqual(EXPECTED.wrapped);
    expect(hex(ex.ct)).toBe(EXPECTED.ct);
    expect(hex(sha256(ex.data))).toBe(EXPECTED.signedDataSha256);
});

test('our core decrypts the independently built message, and only in its context', async () => {
    const {message} = buildExample();
    const senderPub = await importPublicKey(alice.pubkey);
    for (const u of [alice, bob]) {
        const keys = await importBackup(u.backup);
        const res = await decryptMessage(message, keys, await importPublicKey(u.pubkey), senderPub, EX.context);
        expect(res).toEqual({version: 2, text: 'hello v2', payload: {text: 'hello v2'}, createdAt: EX.createdAt});
        await expect(decryptMessage(message, keys, await importPublicKey(u.pubkey), senderPub, {...EX.context, rootId: 'x'}))
            .rejects.toBeInstanceOf(IntegrityError);
    }
});

test('the independent implementation verifies and decrypts what our core writes', async () => {
    const keys = await importBackup(alice.backup);
    const recipients = [await importPublicKey(alice.pubkey), await importPublicKey(bob.pubkey)];
    const text = 'from our core — ✓';
    const msg = await encryptV2({text}, keys, recipients, EX.context, 1764160001234);
    expect(independentDecrypt(msg, bob, alice, EX.context)).toBe(text);
    expect(independentDecrypt(msg, alice, alice, EX.context)).toBe(text);
    expect(() => independentDecrypt(msg, bob, alice, {...EX.context, channelId: 'other'})).toThrow(/signature/);
});

const EXPECTED = {
    pubE: '048daf968f5b954ba644127e2639c7d36b5e0428e18fec52ce7752f6d4f3d1222b73285b4a3f1b26e2c891ea6ddd388f468b0926c6ee2c7d7b009d69d69aa59e8b',
    kwk: ['d90be5687b802f1b8bc57a6309e8c3c2', '22e33cb7e51eea6289ea949d41242b06'],
    wrapped: ['bf8e693ce65fe52be0fb1f6a726b67e8c68411a24bbd3f51', '32c4c95b961f734173f396163e9a8b4f50d171d905bc2a77'],
    ct: 'd1a44cde06fd1130a810d06c2a7d901661cc5e46d0c99492eca3ba4c7d2a9132413fe4',
    signedDataSha256: '729eb28d0f682dd1157ee7d21aee413e6698f419234d498e22fb32dd66c2bcb8',
};

test('the example props.e2ee printed in docs/design.md decrypts as bob in its context', async () => {
    const doc = fs.readFileSync(path.join(REPO_ROOT, 'docs/design.md'), 'utf8');
    const block = /Resulting `props.e2ee`[\s\S]*?```json\n([\s\S]*?)```/.exec(doc);
    expect(block).not.toBeNull();
    const msg = JSON.parse(block![1]);
    const keys = await importBackup(bob.backup);
    const res = await decryptMessage(msg, keys, await importPublicKey(bob.pubkey), await importPublicKey(alice.pubkey), EX.context);
    expect(res.text).toBe('hello v2');
    expect(independentDecrypt(msg, bob, alice, EX.context)).toBe('hello v2');
});
