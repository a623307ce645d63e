// mm-e2ee verify-server against a local HTTP server that serves files the way Mattermost does
// (/api/v4/plugins/webapp, /static/plugins/<id>/...). The real-server test is e2e/tests/integrity.test.ts.
import {createHash} from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import type {AddressInfo} from 'net';
import * as os from 'os';
import * as path from 'path';

import {bundleURL, parseDuration, parseHashes, verifyServer, VERIFY_EXIT} from '../../src/cli/verify_server';

const ID = 'org.mme2ee.e2ee';
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

const MAIN = 'registerPlugin("org.mme2ee.e2ee")';
const CHUNK = 'chunk()';
const SERVED = `${ID}_0123456789abcdef_bundle.js`;
const OTHER = 'other plugin code';

function hashesJSON(): string {
    return JSON.stringify({
        format: 'org.mme2ee.release-hashes/1', plugin_id: ID, version: '1.2.3', commit: 'c0ffee',
        webapp: {bundle_file: 'main.js', served_name: SERVED, bundle_path: `/static/${ID}/${SERVED}`,
            files: {'main.js': sha(MAIN), 'openpgp.1234abcd.js': sha(CHUNK)}},
    });
}

let server: http.Server;
let site: string;
let files: Record<string, string>;
let manifests: unknown[];
let tmp: string;
let hashesFile: string;

beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'verify-server-'));
    hashesFile = path.join(tmp, 'h.json');
    fs.writeFileSync(hashesFile, hashesJSON());
    server = http.createServer((req, res) => {
        const url = (req.url ?? '').replace(/^\/mm/, '');
        if (url === '/api/v4/plugins/webapp') {
            res.setHeader('Content-Type', 'application/json');
            res.end(JSON.stringify(manifests));
            return;
        }
        const body = files[url];
        if (body === undefined) {
            res.statusCode = 404;
            res.end('not found');
            return;
        }
        res.end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    site = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => {
    server.close();
    fs.rmSync(tmp, {recursive: true, force: true});
});

beforeEach(() => {
    files = {
        [`/static/plugins/${ID}/${SERVED}`]: MAIN,
        [`/static/plugins/${ID}/openpgp.1234abcd.js`]: CHUNK,
        '/static/plugins/com.example.other/com.example.other_00_bundle.js': OTHER,
    };
    manifests = [
        {id: ID, version: '1.2.3', webapp: {bundle_path: `/static/${ID}/${SERVED}`}},
        {id: 'com.example.other', version: '9.9', webapp: {bundle_path: '/static/com.example.other/com.example.other_00_bundle.js'}},
        {id: 'com.example.serveronly', version: '1'},
    ];
});

async function run(args: string[]): Promise<{code: number; out: string; err: string}> {
    let out = '';
    let err = '';
    const code = await verifyServer(args, {out: (s) => (out += s), err: (s) => (err += s), sleep: async () => undefined, maxRounds: 3});
    return {code, out, err};
}

test('genuine files: exit 0, lists the other plugin with web app code and its hash', async () => {
    const r = await run(['--url', site, '--hashes', hashesFile]);
    expect(r.err).toBe('');
    expect(r.code).toBe(VERIFY_EXIT.match);
    expect(r.out).toContain('result: MATCH');
    expect(r.out).toContain(`com.example.other 9.9  ${site}/static/plugins/com.example.other/com.example.other_00_bundle.js  ${sha(OTHER)}`);
    expect(r.out).not.toContain('serveronly');
});

test('an altered bundle: exit 5 naming the file, the URL and both hashes', async () => {
    files[`/static/plugins/${ID}/${SERVED}`] = MAIN + ';steal()';
    const r = await run(['--url', site, '--hashes', hashesFile]);
    expect(r.code).toBe(VERIFY_EXIT.mismatch);
    expect(r.out).toContain(`main.js: ${site}/static/plugins/${ID}/${SERVED} has SHA-256 ${sha(MAIN + ';steal()')}, the release's is ${sha(MAIN)}`);
    expect(r.out).toContain('result: MISMATCH (1 problem)');
});

test('an altered or missing lazy chunk: exit 5', async () => {
    files[`/static/plugins/${ID}/openpgp.1234abcd.js`] = 'evil';
    expect((await run(['--url', site, '--hashes', hashesFile])).code).toBe(VERIFY_EXIT.mismatch);
    delete files[`/static/plugins/${ID}/openpgp.1234abcd.js`];
    const r = await run(['--url', site, '--hashes', hashesFile]);
    expect(r.code).toBe(VERIFY_EXIT.mismatch);
    expect(r.out).toContain(`openpgp.1234abcd.js: missing at ${site}/static/plugins/${ID}/openpgp.1234abcd.js (HTTP 404)`);
});

test('another version, another bundle path, or our plugin absent: exit 5', async () => {
    manifests[0] = {id: ID, version: '1.2.4', webapp: {bundle_path: `/static/${ID}/${ID}_ffff_bundle.js`}};
    files[`/static/plugins/${ID}/${ID}_ffff_bundle.js`] = MAIN;
    let r = await run(['--url', site, '--hashes', hashesFile]);
    expect(r.code).toBe(VERIFY_EXIT.mismatch);
    expect(r.out).toContain('version: ');
    expect(r.out).toContain('bundle_path: ');
    manifests.shift();
    r = await run(['--url', site, '--hashes', hashesFile]);
    expect(r.code).toBe(VERIFY_EXIT.mismatch);
    expect(r.out).toContain(`${ID} is not in ${site}/api/v4/plugins/webapp`);
});

test('a site under a subpath', async () => {
    const r = await run(['--url', `${site}/mm/`, '--hashes', hashesFile]);
    expect(r.code).toBe(VERIFY_EXIT.match);
    expect(r.out).toContain(`${site}/mm/static/plugins/${ID}/${SERVED}`);
});

test('--every reports the first check, then only changes', async () => {
    let round = 0;
    let out = '';
    const code = await verifyServer(['--url', site, '--hashes', hashesFile, '--every', '10m'], {
        out: (s) => (out += s), err: () => undefined, maxRounds: 3,
        sleep: async (ms) => {
            expect(ms).toBe(600000);
            round++;
            if (round === 2) {
                files[`/static/plugins/${ID}/${SERVED}`] = 'changed';
            }
        },
    });
    expect(code).toBe(VERIFY_EXIT.mismatch);
    expect(out).toMatch(/first check\n[\s\S]*result: MATCH\n.*unchanged: MATCH\n.*CHANGED since the last check\n[\s\S]*result: MISMATCH/);
});

test('server unreachable: exit 1; bad arguments or hashes file: exit 2 and nothing fetched', async () => {
    expect((await run(['--url', 'http://127.0.0.1:1', '--hashes', hashesFile])).code).toBe(VERIFY_EXIT.failure);
    expect((await run(['--url', site])).code).toBe(VERIFY_EXIT.usage);
    expect((await run(['--url', 'ftp://x', '--hashes', hashesFile])).code).toBe(VERIFY_EXIT.usage);
    expect((await run(['--url', site, '--hashes', hashesFile, '--every', 'soon'])).code).toBe(VERIFY_EXIT.usage);
    const bad = path.join(tmp, 'bad.json');
    for (const content of ['{', '{}', hashesJSON().replace(sha(MAIN), 'abc'), hashesJSON().replace('openpgp.1234abcd.js', '../x.js')]) {
        fs.writeFileSync(bad, content);
        const r = await run(['--url', site, '--hashes', bad]);
        expect(r.code).toBe(VERIFY_EXIT.usage);
        expect(r.err).toContain('hashes file');
    }
});

test('helpers: host URL rewrite, durations, the hashes make dist writes', () => {
    expect(bundleURL('https://x/mm', '/static/a/a_1_bundle.js')).toBe('https://x/mm/static/plugins/a/a_1_bundle.js');
    expect(bundleURL('https://x', '/static/plugins/a/b.js')).toBe('https://x/static/plugins/a/b.js');
    expect(parseDuration('10m')).toBe(600000);
    expect(parseDuration('1.5s')).toBe(1500);
    expect(() => parseDuration('5')).toThrow();
    expect(parseHashes(hashesJSON()).webapp.served_name).toBe(SERVED);
});
