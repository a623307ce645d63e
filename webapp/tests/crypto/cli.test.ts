// mm-e2ee end to end (the webpack-built file run by node), and a v1 message it writes checked by an
// independent v1 decryptor written here on Node's crypto module (not on our core).
import * as nodeCrypto from 'crypto';

import {builtCli} from './cli_harness';
import {loadVectors} from './helpers';

const cliHarness = builtCli('mm-e2ee-cli');
const run = cliHarness.run;
const file = cliHarness.file;

// ---- independent v1 decryptor (protocol-v1.md, Node crypto only) ----

function pointToKeyObject(raw: Buffer): nodeCrypto.KeyObject {
    const b64u = (b: Buffer) => b.toString('base64url');
    return nodeCrypto.createPublicKey({key: {kty: 'EC', crv: 'P-256', x: b64u(raw.subarray(1, 33)), y: b64u(raw.subarray(33))}, format: 'jwk'});
}

function backupEncrD(backup: string): Buffer {
    const body = backup.split('-----')[2].replace(/\s/g, '');
    return Buffer.from(JSON.parse(Buffer.from(body, 'base64').toString('utf8')).encr.d, 'base64url');
}

/** AES-CTR with a 64-bit big-endian counter in the IV's last 8 bytes (as WebCrypto length: 64). */
function aesCtr64(key: Buffer, iv: Buffer, data: Buffer): Buffer {
    const out = Buffer.alloc(data.length);
    const ecb = nodeCrypto.createCipheriv('aes-128-ecb', key, null).setAutoPadding(false);
    const prefix = iv.subarray(0, 8);
    let ctr = iv.readBigUInt64BE(8);
    for (let off = 0; off < data.length; off += 16) {
        const block = Buffer.concat([prefix, Buffer.alloc(8)]);
        block.writeBigUInt64BE(ctr, 8);
        const ks = ecb.update(block);
        for (let i = 0; i < 16 && off + i < data.length; i++) {
            out[off + i] = data[off + i] ^ ks[i];
        }
        ctr = (ctr + 1n) & 0xffffffffffffffffn;
    }
    return out;
}

function independentV1Decrypt(json: string, recipientBackup: string, recipientId: string, senderSignB64: string): string {
    const m = JSON.parse(json);
    expect(m.version).toBe(1);
    const iv = Buffer.from(m.iv, 'base64');
    const pubE = Buffer.from(m.pubECDHE, 'base64');
    const ct = Buffer.from(m.encryptedData, 'base64');
    const ids: Buffer[] = m.encryptedKey.map((e: string[]) => Buffer.from(e[0], 'base64'));
    const le32 = (n: number) => {
        const b = Buffer.alloc(4);
        b.writeUInt32LE(n);
        return b;
    };
    const signed = Buffer.concat([iv, nodeCrypto.createHash('sha256').update(pubE).digest(), le32(ids.length), ...ids, le32(ct.length), ct]);
    const ok = nodeCrypto.verify('sha256', signed, {key: pointToKeyObject(Buffer.from(senderSignB64, 'base64')), dsaEncoding: 'ieee-p1363'},
        Buffer.from(m.signature, 'base64'));
    if (!ok) {
        throw new Error('independent: bad signature');
    }
    const entry = m.encryptedKey.find((e: string[]) => e[0] === recipientId);
    if (!entry) {
        throw new Error('independent: not a recipient');
    }
    const ecdh = nodeCrypto.createECDH('prime256v1');
    ecdh.setPrivateKey(backupEncrD(recipientBackup));
    const shared = ecdh.computeSecret(pubE);
    const kwk = nodeCrypto.createHash('sha256').update(shared).digest().subarray(0, 16);
    const unwrap = nodeCrypto.createDecipheriv('id-aes128-wrap', kwk, Buffer.from('A6A6A6A6A6A6A6A6', 'hex'));
    const mk = Buffer.concat([unwrap.update(Buffer.from(entry[1], 'base64')), unwrap.final()]);
    return aesCtr64(mk, iv, ct).toString('utf8');
}

// ---- tests ----

interface Identity {
    backupFile: string;
    backup: string;
    pubFile: string;
    pubJSON: {sign: string; encr: string};
    id: string;
}

function identity(name: string): Identity {
    const kg = run(['keygen']);
    expect(kg.code).toBe(0);
    const backupFile = file(`${name}.key`, kg.stdout);
    const pk = run(['pubkey', backupFile]);
    expect(pk.code).toBe(0);
    const [line1, line2, rest] = pk.stdout.split('\n');
    expect(rest).toBe('');
    return {backupFile, backup: kg.stdout, pubFile: file(`${name}.pub`, pk.stdout), pubJSON: JSON.parse(line1), id: line2};
}

const ctxArgs = ['--channel', 'chan1', '--root', '', '--user', 'alice'];

test('keygen/pubkey formats; v2 round trip prints the exact plaintext', () => {
    const a = identity('a');
    const b = identity('b');
    expect(a.backup).toMatch(/^-----BEGIN MM E2EE PRIVATE KEY-----\n[\s\S]+\n-----END MM E2EE PRIVATE KEY-----\n$/);
    expect(Object.keys(a.pubJSON)).toEqual(['sign', 'encr']);
    expect(Buffer.from(a.id, 'base64').length).toBe(32);
    const text = 'héllo 🔐\nsecond line\n';
    const enc = run(['encrypt', '--key', a.backupFile, '--to', a.pubFile, '--to', b.pubFile, ...ctxArgs], text);
    expect(enc.code).toBe(0);
    const msg = JSON.parse(enc.stdout);
    expect(msg.version).toBe(2);
    expect(msg.encryptedKey.map((e: string[]) => e[0])).toEqual([a.id, b.id]);
    const msgFile = enc.stdout;
    for (const who of [a, b]) {
        const dec = run(['decrypt', '--key', who.backupFile, '--sender', a.pubFile, ...ctxArgs], msgFile);
        expect(dec).toEqual({code: 0, stdout: text, stderr: ''});
    }
    // A public key file holding only the JSON works too.
    const pubOnly = file('a-json-only.pub', JSON.stringify(a.pubJSON));
    expect(run(['decrypt', '--key', b.backupFile, '--sender', pubOnly, ...ctxArgs], msgFile).stdout).toBe(text);
});

test('exit codes: 3 integrity (context, sender, tamper), 4 not a recipient, 2 usage or malformed', () => {
    const a = identity('a2');
    const b = identity('b2');
    const c = identity('c2');
    const v2 = run(['encrypt', '--key', a.backupFile, '--to', b.pubFile, ...ctxArgs], 'secret').stdout;
    const dec = (key: Identity, sender: Identity, extra: string[], input: string) =>
        run(['decrypt', '--key', key.backupFile, '--sender', sender.pubFile, ...extra], input).code;
    expect(dec(b, a, ctxArgs, v2)).toBe(0);
    expect(dec(b, a, ['--channel', 'chan2', '--root', '', '--user', 'alice'], v2)).toBe(3);
    expect(dec(b, a, ['--channel', 'chan1', '--root', 'r1', '--user', 'alice'], v2)).toBe(3);
    expect(dec(b, a, ['--channel', 'chan1', '--root', '', '--user', 'mallory'], v2)).toBe(3);
    expect(dec(b, c, ctxArgs, v2)).toBe(3);
    expect(dec(c, a, ctxArgs, v2)).toBe(4);
    const tampered = JSON.parse(v2);
    tampered.createdAt += 1;
    expect(dec(b, a, ctxArgs, JSON.stringify(tampered))).toBe(3);
    expect(dec(b, a, [], v2)).toBe(2); // v2 without context
    expect(dec(b, a, ctxArgs, 'not json')).toBe(2);
    expect(dec(b, a, ctxArgs, JSON.stringify({...tampered, version: 7}))).toBe(2);
    expect(dec(b, a, ctxArgs, JSON.stringify({...tampered, iv: 'AA=='}))).toBe(2);
    expect(run([]).code).toBe(2);
    expect(run(['frobnicate']).code).toBe(2);
    expect(run(['encrypt', '--key', a.backupFile, '--to', b.pubFile], 'x').code).toBe(2); // v2 needs context
    expect(run(['encrypt', '--key', a.backupFile, '--to', b.pubFile, '--format', 'v3'], 'x').code).toBe(2);
    expect(run(['encrypt', '--key', a.backupFile], 'x').code).toBe(2);
    expect(run(['encrypt', '--key', cliHarness.path('missing'), '--to', b.pubFile, '--format', 'v1'], 'x').code).toBe(2);
    expect(run(['encrypt', '--key', b.pubFile, '--to', b.pubFile, '--format', 'v1'], 'x').code).toBe(2); // not a backup
    expect(run(['encrypt', '--key', a.backupFile, '--to', a.backupFile, '--format', 'v1'], 'x').code).toBe(2); // not a pubkey
    expect(run(['pubkey', file('bad.key', 'garbage')]).code).toBe(2);
});

test('a v1 message written by the CLI decrypts with an independent implementation of protocol-v1.md', () => {
    const a = identity('a3');
    const b = identity('b3');
    for (const text of ['hello v1', '', 'Ünïcödé 🔐 '.repeat(50)]) {
        const enc = run(['encrypt', '--format', 'v1', '--key', a.backupFile, '--to', a.pubFile, '--to', b.pubFile], text);
        expect(enc.code).toBe(0);
        expect(independentV1Decrypt(enc.stdout, b.backup, b.id, a.pubJSON.sign)).toBe(text);
        expect(independentV1Decrypt(enc.stdout, a.backup, a.id, a.pubJSON.sign)).toBe(text);
        // And the CLI reads it back (v1 ignores context flags).
        expect(run(['decrypt', '--key', b.backupFile, '--sender', a.pubFile], enc.stdout)).toEqual({code: 0, stdout: text, stderr: ''});
        // The independent decryptor really checks: a flipped ciphertext bit fails its signature check.
        const m = JSON.parse(enc.stdout);
        const ct = Buffer.from(m.encryptedData, 'base64');
        if (ct.length > 0) {
            ct[0] ^= 1;
            expect(() => independentV1Decrypt(JSON.stringify({...m, encryptedData: ct.toString('base64')}), b.backup, b.id, a.pubJSON.sign))
                .toThrow(/signature/);
            expect(run(['decrypt', '--key', b.backupFile, '--sender', a.pubFile], JSON.stringify({...m, encryptedData: ct.toString('base64')})).code).toBe(3);
        }
    }
});

test('the independent decryptor agrees with the original plugin vectors, and the CLI decrypts them', () => {
    const v = loadVectors();
    const user = (n: string) => v.users.find((u) => u.name === n)!;
    for (const m of v.messages.filter((x) => x.expect === 'ok')) {
        const me = user(m.recipients[m.recipients.length - 1]);
        const sender = user(m.sender);
        expect(independentV1Decrypt(JSON.stringify(m.e2ee), me.backup, me.pubkey_id, sender.pubkey.sign)).toBe(m.plaintext);
        const keyFile = file(`vec-${me.name}.key`, me.backup);
        const senderFile = file(`vec-${sender.name}.pub`, JSON.stringify(sender.pubkey));
        expect(run(['decrypt', '--key', keyFile, '--sender', senderFile], JSON.stringify(m.e2ee))).toEqual({code: 0, stdout: m.plaintext, stderr: ''});
    }
});

test('push-proof prints the proof for POST /pubkey/push: r || s over the label, user ID and nonce', () => {
    const alice = loadVectors().users.find((u) => u.name === 'alice')!;
    const keyFile = file('proof-alice.key', alice.backup);
    const r = run(['push-proof', '--key', keyFile, '--user', 'w1o3a8qgf7y5bx9nkd8e4mujhr', '--nonce', 'n0nce']);
    expect(r.code).toBe(0);
    const point = Buffer.from(alice.pubkey.sign, 'base64');
    const pub = nodeCrypto.createPublicKey({key: {kty: 'EC', crv: 'P-256', x: point.subarray(1, 33).toString('base64url'), y: point.subarray(33).toString('base64url')}, format: 'jwk'});
    const proof = Buffer.from(r.stdout.trim(), 'base64');
    expect(proof).toHaveLength(64);
    expect(nodeCrypto.verify('sha256', Buffer.from('mm-e2ee/pubkey-push/v1\nw1o3a8qgf7y5bx9nkd8e4mujhr\nn0nce'), {key: pub, dsaEncoding: 'ieee-p1363'}, proof)).toBe(true);
    expect(run(['push-proof', '--key', keyFile, '--user', 'u']).code).toBe(2);
});

describe('safety-number', () => {
    // docs/design.md §11.1: alice and bob of the vectors with these user IDs.
    const ALICE_USER = 'w1o3a8qgf7y5bx9nkd8e4mujhr';
    const BOB_USER = 'q6c9zd3kxb8r5nfyht1ma4pwoe';
    const GROUPED = '20411 05027 72425 72634 73614 84012 28227 62771 08741 18705 27622 19691';

    test('prints the 12 groups on one line, the same from both sides', () => {
        const v = loadVectors();
        const alice = v.users.find((u) => u.name === 'alice')!;
        const bob = v.users.find((u) => u.name === 'bob')!;
        // The JSON alone, or `pubkey` output (JSON then key ID).
        const aliceFile = file('sn-alice.pub', JSON.stringify(alice.pubkey));
        const bobFile = file('sn-bob.pub', `${JSON.stringify(bob.pubkey)}\n${bob.pubkey_id}\n`);
        expect(run(['safety-number', '--user', ALICE_USER, '--pubkey', aliceFile, '--other-user', BOB_USER, '--other-pubkey', bobFile]))
            .toEqual({code: 0, stdout: `${GROUPED}\n`, stderr: ''});
        expect(run(['safety-number', '--user', BOB_USER, '--pubkey', bobFile, '--other-user', ALICE_USER, '--other-pubkey', aliceFile]).stdout)
            .toBe(`${GROUPED}\n`);
    });

    test('bad input exits 2 with a message', () => {
        const v = loadVectors();
        const alice = file('sn2-alice.pub', JSON.stringify(v.users[0].pubkey));
        const broken = file('sn2-broken.pub', '{"sign":"AAAA","encr":"AAAA"}');
        const cases: string[][] = [
            ['safety-number', '--user', 'a', '--pubkey', alice, '--other-user', 'b'],
            ['safety-number', '--user', 'a', '--pubkey', alice, '--other-user', 'b', '--other-pubkey', broken],
            ['safety-number', '--user', '', '--pubkey', alice, '--other-user', 'b', '--other-pubkey', alice],
            ['safety-number', '--user', 'a', '--pubkey', cliHarness.path('missing.pub'), '--other-user', 'b', '--other-pubkey', alice],
            ['safety-number', 'extra', '--user', 'a', '--pubkey', alice, '--other-user', 'b', '--other-pubkey', alice],
        ];
        for (const args of cases) {
            const r = run(args);
            expect(r.code).toBe(2);
            expect(r.stdout).toBe('');
            expect(r.stderr).toMatch(/^mm-e2ee: /);
        }
    });
});
