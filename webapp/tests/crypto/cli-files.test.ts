// mm-e2ee encrypt-file / decrypt-file end to end (the webpack-built CLI run by node): round trip,
// the output is F1 as an independent reader on Node's crypto sees it, and exit codes 3 and 2.
import * as nodeCrypto from 'crypto';
import * as fs from 'fs';

import {builtCli} from './cli_harness';

const cliHarness = builtCli('mm-e2ee-cli-files');
const run = cliHarness.run;
const p = cliHarness.path;

describe('encrypt-file / decrypt-file', () => {
    const plain = nodeCrypto.randomBytes((2 * 65536) + 123);
    let keyJSON: {format: string; key: string; hash: string; size: number};

    beforeAll(() => {
        fs.writeFileSync(p('doc.pdf'), plain);
        const r = run(['encrypt-file', '--in', p('doc.pdf'), '--out', p('doc.bin')]);
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        keyJSON = JSON.parse(r.stdout);
        fs.writeFileSync(p('key.json'), r.stdout);
    });

    test('prints the key JSON and writes F1 that Node crypto decrypts', () => {
        expect(keyJSON.format).toBe('F1');
        expect(keyJSON.size).toBe(plain.length);
        const ct = fs.readFileSync(p('doc.bin'));
        expect(ct.length).toBe(20 + plain.length + (3 * 16));
        expect(ct.subarray(0, 12).toString('hex')).toBe('4d4d45324545460100010000');
        // Independent check of the first chunk: AES-256-GCM, nonce prefix || 0 || flag 0, AAD header.
        const nonce = Buffer.concat([ct.subarray(12, 19), Buffer.alloc(5)]);
        const d = nodeCrypto.createDecipheriv('aes-256-gcm', Buffer.from(keyJSON.key, 'base64'), nonce);
        d.setAAD(ct.subarray(0, 20));
        d.setAuthTag(ct.subarray(20 + 65536, 20 + 65536 + 16));
        expect(Buffer.concat([d.update(ct.subarray(20, 20 + 65536)), d.final()]).equals(plain.subarray(0, 65536))).toBe(true);
        expect(ct.includes(plain.subarray(100, 132))).toBe(false);
    });

    test('round trip gives the original bytes', () => {
        const r = run(['decrypt-file', '--in', p('doc.bin'), '--key-json', p('key.json'), '--out', p('back.pdf')]);
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        expect(fs.readFileSync(p('back.pdf')).equals(plain)).toBe(true);
    });

    test('exit 3 on tampering, truncation, extension and a wrong key; no output file', () => {
        const ct = fs.readFileSync(p('doc.bin'));
        const flipped = Buffer.from(ct);
        flipped[20 + 70000] ^= 0x80;
        const wrongKey = JSON.stringify({key: nodeCrypto.randomBytes(32).toString('base64')});
        fs.writeFileSync(p('wrong.json'), wrongKey);
        const cases: Array<[string, Buffer, string]> = [
            ['flipped.bin', flipped, 'key.json'],
            ['truncated.bin', ct.subarray(0, 20 + (2 * 65552)), 'key.json'],
            ['extended.bin', Buffer.concat([ct, Buffer.from([1, 2, 3])]), 'key.json'],
            ['wrongkey.bin', ct, 'wrong.json'],
        ];
        for (const [name, bytes, key] of cases) {
            fs.writeFileSync(p(name), bytes);
            const out = p(`${name}.out`);
            const r = run(['decrypt-file', '--in', p(name), '--key-json', p(key), '--out', out]);
            expect(r.code).toBe(3);
            expect(r.stderr).toMatch(/file failed verification/);
            expect(fs.existsSync(out)).toBe(false);
        }
    });

    test('exit 3 when the ciphertext is authentic under the key but not the one the hash names', () => {
        fs.writeFileSync(p('other.pdf'), plain);
        const other = run(['encrypt-file', '--in', p('other.pdf'), '--out', p('other.bin')]);
        const otherKey = JSON.parse(other.stdout);
        fs.writeFileSync(p('mixed.json'), JSON.stringify({key: otherKey.key, hash: keyJSON.hash}));
        const r = run(['decrypt-file', '--in', p('other.bin'), '--key-json', p('mixed.json'), '--out', p('mixed.out')]);
        expect(r.code).toBe(3);
        expect(r.stderr).toMatch(/hash/);
    });

    test('exit 2 on usage errors and bad key JSON', () => {
        fs.writeFileSync(p('bad.json'), '{"key":"short"}');
        fs.writeFileSync(p('notjson.json'), 'nope');
        for (const args of [
            ['encrypt-file', '--in', p('doc.pdf')],
            ['encrypt-file', '--in', p('missing'), '--out', p('x.bin')],
            ['encrypt-file', '--in', p('doc.pdf'), '--out', p('x.bin'), '--bogus', '1'],
            ['decrypt-file', '--in', p('doc.bin'), '--out', p('x')],
            ['decrypt-file', '--in', p('doc.bin'), '--key-json', p('bad.json'), '--out', p('x')],
            ['decrypt-file', '--in', p('doc.bin'), '--key-json', p('notjson.json'), '--out', p('x')],
            ['decrypt-file', '--in', p('doc.bin'), '--key-json', p('nokey.json'), '--out', p('x')],
        ]) {
            const r = run(args);
            expect({args, code: r.code}).toEqual({args, code: 2});
        }
    });
});

describe('encrypt --files and decrypt-export through the built CLI', () => {
    test('--files puts checked file entries into the signed v2 payload; bad entries exit 2', () => {
        const key = cliHarness.file('k.backup', run(['keygen']).stdout);
        const pub = cliHarness.file('k.pub', run(['pubkey', key]).stdout);
        const ctx = ['--channel', 'c'.repeat(26), '--root', '', '--user', 'u'.repeat(26)];
        const entry = {id: 'f'.repeat(26), key: Buffer.alloc(32, 1).toString('base64'), hash: Buffer.alloc(32, 2).toString('base64'),
            name: 'a.pdf', type: 'application/pdf', size: 3};
        const good = cliHarness.file('files.json', JSON.stringify([entry]));
        const r = run(['encrypt', '--key', key, '--to', pub, ...ctx, '--files', good], 'with a file');
        expect(r.code).toBe(0);
        fs.writeFileSync(p('msg.json'), r.stdout);
        expect(run(['decrypt', '--key', key, '--sender', pub, ...ctx], r.stdout).stdout).toBe('with a file');
        const bad = cliHarness.file('bad.json', JSON.stringify([{...entry, size: -1}]));
        expect(run(['encrypt', '--key', key, '--to', pub, ...ctx, '--files', bad], 'x').code).toBe(2);
        expect(run(['encrypt', '--key', key, '--to', pub, '--format', 'v1', '--files', good], 'x').code).toBe(2);
    });

    test('decrypt-export usage errors exit 2', () => {
        expect(run(['decrypt-export', '--key', 'k']).code).toBe(2);
        expect(run(['export-bundle', '--url', 'ftp://x', '--token-file', p('k.pub'), '--out', p('b.json')]).code).toBe(2);
    });
});
