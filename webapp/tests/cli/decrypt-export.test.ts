// mm-e2ee decrypt-export on a bulk export built here with the real crypto core, in the server's
// JSONL shape (docs/design.md §15.8); the real-server run is server/integration/export_test.go.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';

import {decryptExport, runDecryptExport, safeName, ExportUsageError} from '../../src/cli/decrypt_export';
import {BUNDLE_FORMAT, fetchBundle, type Bundle} from '../../src/cli/export_bundle';
import {ZipReader} from '../../src/cli/zip';
import {createEpochRecord, createJoinerWraps, headerOf, parseEpochRecord} from '../../src/crypto/epoch';
import {toBase64} from '../../src/crypto/encoding';
import {encryptFile} from '../../src/crypto/file';
import {exportBackupSet, parseBackupEntries} from '../../src/crypto/backup';
import {fingerprintOf, publicKeyToJSON} from '../../src/crypto/keys';
import {encryptV1, encryptV2} from '../../src/crypto/p2p';
import {encryptV3} from '../../src/crypto/v3';
import type {MessageContext} from '../../src/crypto/types';

import {newUser, type User} from '../crypto/helpers';

jest.setTimeout(60000);

const id = (c: string) => c.repeat(26).slice(0, 26);
const A = id('a');
const B = id('b');
const C = id('c');
const CH = id('1');
const CK = id('2');
const DM = id('3');
const ROOT = id('r');
const FILE = id('f');

// A ZIP as Go's archive/zip writes the export: import.jsonl deflated, attachments stored.
function crc32(b: Uint8Array): number {
    let c = ~0;
    for (const x of b) {
        c ^= x;
        for (let k = 0; k < 8; k++) {
            c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
        }
    }
    return ~c >>> 0;
}

function makeZip(files: Record<string, Uint8Array>): Buffer {
    const locals: Buffer[] = [];
    const central: Buffer[] = [];
    let offset = 0;
    for (const [name, data] of Object.entries(files)) {
        const deflate = name.endsWith('.jsonl');
        const body = deflate ? zlib.deflateRawSync(data) : Buffer.from(data);
        const n = Buffer.from(name);
        const h = Buffer.alloc(30);
        h.writeUInt32LE(0x04034b50, 0);
        h.writeUInt16LE(20, 4);
        h.writeUInt16LE(deflate ? 8 : 0, 8);
        h.writeUInt32LE(crc32(data), 14);
        h.writeUInt32LE(body.length, 18);
        h.writeUInt32LE(data.length, 22);
        h.writeUInt16LE(n.length, 26);
        locals.push(h, n, body);
        const c = Buffer.alloc(46);
        c.writeUInt32LE(0x02014b50, 0);
        c.writeUInt16LE(20, 4);
        c.writeUInt16LE(20, 6);
        c.writeUInt16LE(deflate ? 8 : 0, 10);
        c.writeUInt32LE(crc32(data), 16);
        c.writeUInt32LE(body.length, 20);
        c.writeUInt32LE(data.length, 24);
        c.writeUInt16LE(n.length, 28);
        c.writeUInt32LE(offset, 42);
        central.push(c, n);
        offset += 30 + n.length + body.length;
    }
    const cd = Buffer.concat(central);
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(Object.keys(files).length, 8);
    end.writeUInt16LE(Object.keys(files).length, 10);
    end.writeUInt32LE(cd.length, 12);
    end.writeUInt32LE(offset, 16);
    return Buffer.concat([...locals, cd, end]);
}

interface Fixture {
    alice: User;
    aliceOld: User;
    bob: User;
    carol: User;
    bundle: Bundle;
    lines: Record<string, unknown>[];
    filePlain: Uint8Array;
    fileCipher: Uint8Array;
    filePath: string;
}

let fx: Fixture;
let tmp: string;

const ctx = (channelId: string, rootId: string, userId: string): MessageContext => ({channelId, rootId, userId});
const post = (team: string, channel: string, user: string, createAt: number, e2ee: unknown, extra: Record<string, unknown> = {}) =>
    ({type: 'post', post: {team, channel, user, type: 'custom_e2ee', message: 'Encrypted message', props: {e2ee}, create_at: createAt, edit_at: 0, ...extra}});

beforeAll(async () => {
    const [alice, aliceOld, bob, carol] = await Promise.all([newUser(), newUser(), newUser(), newUser()]);
    const filePlain = new TextEncoder().encode('%PDF-1.4 quarterly report\n'.repeat(3000));
    const enc = await encryptFile(new Blob([filePlain]));
    const fileCipher = new Uint8Array(await enc.ciphertext.arrayBuffer());
    const filePath = `20261127/teams/${id('t')}/channels/${CH}/users/${A}/${FILE}/0123456789abcdef0123456789abcdef.bin`;
    const files = [{id: FILE, key: toBase64(enc.key), hash: toBase64(enc.hash), name: '../../etc/evil:name.pdf', type: 'application/pdf', size: enc.size}];

    const both = [alice.pub, bob.pub];
    const root = await encryptV2({text: 'hello bob, the report', files}, alice.keys, both, ctx(CH, '', A), 1000);
    const reply = await encryptV2({text: 'thanks alice'}, bob.keys, both, ctx(CH, ROOT, B), 2000);
    const onlyAlice = await encryptV2({text: 'note to self'}, alice.keys, [alice.pub], ctx(CH, '', A), 3000);
    const v1 = await encryptV1('an old v1 post', alice.keys, both);
    const tampered = await encryptV2({text: 'will be tampered'}, alice.keys, both, ctx(CH, '', A), 5000);
    const data = tampered.encryptedData as string;
    tampered.encryptedData = (data[0] === 'A' ? 'B' : 'A') + data.slice(1);
    const asBob = await encryptV2({text: 'claimed by bob'}, alice.keys, both, ctx(CH, '', A), 6000);
    const oldKey = await encryptV2({text: 'signed with my earlier key'}, aliceOld.keys, both, ctx(CH, '', A), 7000);
    const byCarol = await encryptV2({text: 'carol is not in the bundle'}, carol.keys, both, ctx(CH, '', C), 8000);

    const {record, key} = await createEpochRecord({channelId: CK, epoch: 1, creatorId: A, creator: alice.keys,
        recipients: [{userId: A, key: alice.pub}, {userId: B, key: bob.pub}]});
    const v3 = await encryptV3({text: 'channel-key post'}, alice.keys, key, ctx(CK, '', A));
    const dm = await encryptV2({text: 'direct message'}, bob.keys, both, ctx(DM, '', B), 9000);
    const hdr = headerOf(record);
    const part = record.parts.findIndex((p) => p.some((w) => w[0] === B));
    // Epoch 2 without bob, who got his copy later through alice's joiner wraps; epoch 3 without him at all.
    const onlyAliceRec = (epoch: number) => createEpochRecord({channelId: CK, epoch, creatorId: A, creator: alice.keys, recipients: [{userId: A, key: alice.pub}]});
    const e2 = await onlyAliceRec(2);
    const e2parsed = parseEpochRecord(e2.record);
    const joiner = await createJoinerWraps({header: e2parsed, source: {kind: 'part', index: 0, wraps: e2parsed.parts[0]}, adder: alice.keys,
        adderPublic: alice.pub, adderId: A, creatorPublic: alice.pub, joiners: [{userId: B, key: bob.pub}]});
    const v3joiner = await encryptV3({text: 'read through a joiner wrap'}, alice.keys, e2.key, ctx(CK, '', A));
    const e3 = await onlyAliceRec(3);
    const v3without = await encryptV3({text: 'epoch without bob'}, alice.keys, e3.key, ctx(CK, '', A));

    const bundle: Bundle = {
        format: BUNDLE_FORMAT, site: 'http://127.0.0.1:1', createdAt: 10000, userId: B,
        users: {
            [A]: {username: 'alice', keys: [{pubkey: publicKeyToJSON(aliceOld.pub), since: 0}, {pubkey: publicKeyToJSON(alice.pub), since: 6500}]},
            [B]: {username: 'bob', keys: [{pubkey: publicKeyToJSON(bob.pub), since: 0}]},
        },
        channels: {
            [CH]: {type: 'P', team: 'team1', name: 'secret'},
            [CK]: {type: 'P', team: 'team1', name: 'channelkey'},
            [DM]: {type: 'D', team: '', name: `${A}__${B}`, members: ['alice', 'bob']},
        },
        roots: {[CH]: [[ROOT, 1000, A], [id('x'), 3000, A]]},
        epochs: {[CK]: {'1': {header: hdr, part, wraps: record.parts[part]}, '2': {header: headerOf(e2.record), part: -1, joiner},
            '3': {header: headerOf(e3.record), part: -1}}},
    };
    const lines: Record<string, unknown>[] = [
        {type: 'version', version: 1, info: {generator: 'mattermost-server'}},
        {type: 'channel', channel: {team: 'team1', name: 'secret', type: 'P'}},
        post('team1', 'secret', 'alice', 1000, root, {
            attachments: [{path: filePath}],
            replies: [{user: 'bob', type: 'custom_e2ee', message: 'Encrypted message', props: {e2ee: reply}, create_at: 2000, edit_at: 0}],
        }),
        post('team1', 'secret', 'alice', 3000, onlyAlice),
        post('team1', 'secret', 'alice', 4000, v1),
        post('team1', 'secret', 'alice', 5000, tampered),
        post('team1', 'secret', 'bob', 6000, asBob),
        post('team1', 'secret', 'alice', 7000, oldKey),
        post('team1', 'secret', 'carol', 8000, byCarol),
        {type: 'post', post: {team: 'team1', channel: 'secret', user: 'alice', type: '', message: 'plain text', props: {}, create_at: 8500, edit_at: 0}},
        post('team1', 'elsewhere', 'alice', 8600, onlyAlice),
        post('team1', 'channelkey', 'alice', 8700, v3),
        post('team1', 'channelkey', 'alice', 8800, v3joiner),
        post('team1', 'channelkey', 'alice', 8900, v3without),
        {type: 'direct_post', direct_post: {channel_members: ['bob', 'alice'], user: 'bob', type: 'custom_e2ee', message: 'Encrypted message',
            props: {e2ee: dm}, create_at: 9000, edit_at: 0}},
    ];
    fx = {alice, aliceOld, bob, carol, bundle, lines, filePlain, fileCipher, filePath};
});

beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'decrypt-export-'));
});

afterEach(() => {
    fs.rmSync(tmp, {recursive: true, force: true});
});

const jsonl = (lines: unknown[]) => lines.map((l) => JSON.stringify(l)).join('\n') + '\n';

function readPosts(out: string, folder: string): Array<Record<string, unknown>> {
    return fs.readFileSync(path.join(out, folder, 'posts.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
}

async function run(exportPath: string, backup = fx.bob.backup, bundle: Bundle = fx.bundle) {
    const out = path.join(tmp, 'out');
    const res = await decryptExport({backup, bundle: JSON.stringify(bundle), exportPath, out});
    return {...res, out};
}

test('a zip export: verified posts of every format, the file byte for byte under a safe name, every other post reported', async () => {
    const zip = path.join(tmp, 'export.zip');
    fs.writeFileSync(zip, makeZip({'import.jsonl': Buffer.from(jsonl(fx.lines)), [`data/${fx.filePath}`]: fx.fileCipher}));
    const r = await run(zip);

    const secret = readPosts(r.out, 'team1__secret');
    expect(secret.map((p) => p.text)).toEqual(['hello bob, the report', 'thanks alice', 'an old v1 post', 'signed with my earlier key']);
    const [root, reply, v1, old] = secret;
    expect(root).toMatchObject({user: 'alice', userId: A, rootId: '', thread: null, version: 2, sentAt: 1000, contextBound: true,
        senderKey: fingerprintOf(fx.alice.pub)});
    expect(reply).toMatchObject({user: 'bob', userId: B, rootId: ROOT, thread: {rootCreateAt: 1000, rootUser: 'alice'}});
    expect(v1).toMatchObject({version: 1, contextBound: false, sentAt: null});
    expect(old.senderKey).toBe(fingerprintOf(fx.aliceOld.pub));

    // The file: real name made safe (no folders or separators), inside the channel's folder, same bytes.
    const files = root.files as Array<{name: string; path: string; size: number}>;
    expect(files).toHaveLength(1);
    expect(files[0].name).toBe('../../etc/evil:name.pdf');
    expect(files[0].path).toBe('files/0001-_.._etc_evil_name.pdf');
    expect(new Uint8Array(fs.readFileSync(path.join(r.out, 'team1__secret', files[0].path)))).toEqual(fx.filePlain);
    expect(fs.readFileSync(path.join(r.out, 'team1__secret', 'posts.md'), 'utf8')).toContain('**alice**');

    expect(readPosts(r.out, 'team1__channelkey').map((p) => [p.text, p.version])).toEqual([['channel-key post', 3], ['read through a joiner wrap', 3]]);
    expect(readPosts(r.out, 'dm__alice__bob').map((p) => p.text)).toEqual(['direct message']);

    // Nothing that failed or could not be verified is written; each is reported.
    const all = fs.readdirSync(r.out, {recursive: true}).map(String);
    const written = all.filter((f) => f.endsWith('posts.jsonl')).map((f) => fs.readFileSync(path.join(r.out, f), 'utf8')).join('');
    for (const t of ['will be tampered', 'claimed by bob', 'carol is not', 'note to self', 'plain text']) {
        expect(written).not.toContain(t);
    }
    const kinds = r.problems.map((p) => [p.createAt, p.kind]);
    expect(kinds).toEqual(expect.arrayContaining([[3000, 'not_for_this_key'], [5000, 'failed'], [6000, 'failed'], [8000, 'unverifiable'],
        [8900, 'not_for_this_key']]));
    expect(r.counts).toMatchObject({written: 7, files: 1, plain: 1, otherChannels: 1, notForThisKey: 2, failed: 2, unverifiable: 1, missingFiles: 0});
    expect(r.code).toBe(3);
    const report = JSON.parse(fs.readFileSync(path.join(r.out, 'report.json'), 'utf8'));
    expect(report.counts.failed).toBe(2);
    expect(report.keys).toEqual([fingerprintOf(fx.bob.pub)]);
});

test('a clean export exits 0; a bare JSONL without data/ reports the file as missing, not as good', async () => {
    const clean = fx.lines.filter((l) => {
        const p = (l.post ?? l.direct_post) as {create_at?: number} | undefined;
        return !p || ![3000, 5000, 6000, 8000].includes(p.create_at as number);
    });
    const file = path.join(tmp, 'import.jsonl');
    fs.writeFileSync(file, jsonl(clean));
    const r = await run(file);
    expect(r.code).toBe(0);
    const root = readPosts(r.out, 'team1__secret')[0];
    expect(root.files).toEqual([{name: '../../etc/evil:name.pdf', type: 'application/pdf', size: fx.filePlain.length,
        error: 'not in the export (export with attachments)'}]);
    expect(r.counts.missingFiles).toBe(1);

    // With the attachments beside it (as the server writes an unzipped export), the file is read.
    fs.mkdirSync(path.join(tmp, 'data', path.dirname(fx.filePath)), {recursive: true});
    fs.writeFileSync(path.join(tmp, 'data', fx.filePath), fx.fileCipher);
    fs.rmSync(path.join(tmp, 'out'), {recursive: true});
    const r2 = await run(file);
    expect(r2.counts).toMatchObject({files: 1, missingFiles: 0});
});

test('a tampered attachment, a moved reply and a repeated post are failures (exit 3), not output', async () => {
    const bad = new Uint8Array(fx.fileCipher);
    bad[100] ^= 1;
    const lines = structuredClone(fx.lines);
    const rootLine = lines[2] as {post: {replies: Array<{create_at: number}>}};
    // The reply shown under another root: its signed root ID no longer matches.
    lines.push(post('team1', 'secret', 'alice', 3000, (fx.lines[3] as {post: {props: {e2ee: unknown}}}).post.props.e2ee, {replies: rootLine.post.replies}));
    lines.push(fx.lines[4]); // the v1 post again
    const zip = path.join(tmp, 'export.zip');
    fs.writeFileSync(zip, makeZip({'import.jsonl': Buffer.from(jsonl(lines)), [`data/${fx.filePath}`]: bad}));
    const r = await run(zip);
    expect(r.code).toBe(3);
    const root = readPosts(r.out, 'team1__secret')[0];
    expect((root.files as Array<{error?: string; path?: string}>)[0]).toMatchObject({error: 'file failed verification'});
    expect((root.files as Array<{path?: string}>)[0].path).toBeUndefined();
    expect(fs.existsSync(path.join(r.out, 'team1__secret', 'files'))).toBe(false);
    const reasons = r.problems.filter((p) => p.kind === 'failed' || p.kind === 'file_failed').map((p) => p.reason).join('\n');
    expect(reasons).toContain('does not verify');
    expect(reasons).toContain('appears twice');
    expect(r.problems.some((p) => p.kind === 'file_failed')).toBe(true);
    // The moved reply is not written a second time.
    expect(readPosts(r.out, 'team1__secret').filter((p) => p.text === 'thanks alice')).toHaveLength(1);
});

test('a channel-key post under a forged epoch record fails, and so does a v3 post moved to a thread', async () => {
    const forged = structuredClone(fx.bundle);
    const {record} = await createEpochRecord({channelId: CK, epoch: 1, creatorId: A, creator: fx.carol.keys,
        recipients: [{userId: A, key: fx.alice.pub}, {userId: B, key: fx.bob.pub}]});
    const part = record.parts.findIndex((p) => p.some((w) => w[0] === B));
    forged.epochs[CK]['1'] = {header: headerOf(record), part, wraps: record.parts[part]};
    const file = path.join(tmp, 'import.jsonl');
    const v3 = (fx.lines.find((l) => (l.post as {create_at?: number} | undefined)?.create_at === 8700) as {post: {props: {e2ee: unknown}}}).post.props.e2ee;
    fs.writeFileSync(file, jsonl([post('team1', 'channelkey', 'alice', 8700, v3)]));
    const r = await run(file, fx.bob.backup, forged);
    expect(r.code).toBe(3);
    expect(r.problems.map((p) => p.reason).join()).toContain('epoch record signature');

    fs.rmSync(path.join(tmp, 'out'), {recursive: true});
    const bundle = structuredClone(fx.bundle);
    bundle.roots[CK] = [[ROOT, 1, A]];
    fs.writeFileSync(file, jsonl([post('team1', 'channelkey', 'alice', 1, v3, {replies: [{user: 'alice', props: {e2ee: v3}, create_at: 8700}]})]));
    const moved = await run(file, fx.bob.backup, bundle);
    // The top-level post is genuine; its copy shown as a reply in a thread fails (the signed root ID is "").
    expect(moved.counts).toMatchObject({written: 1, failed: 1});
    expect(moved.problems.find((p) => p.kind === 'failed')?.reason).toContain('does not verify');
});

test('nothing for this key exits 4; an all-keys backup reads with every key it holds', async () => {
    const file = path.join(tmp, 'import.jsonl');
    fs.writeFileSync(file, jsonl([fx.lines[0], fx.lines[3]]));
    const carol = await run(file, fx.carol.backup);
    expect(carol.code).toBe(4);
    expect(carol.counts).toMatchObject({written: 0, notForThisKey: 1});

    // alice's current and earlier key together: her note to self is read.
    fs.rmSync(path.join(tmp, 'out'), {recursive: true});
    const set = exportBackupSet([...parseBackupEntries(fx.alice.backup), ...parseBackupEntries(fx.aliceOld.backup)]);
    const alice = await run(file, set);
    expect(alice.code).toBe(0);
    expect(readPosts(alice.out, 'team1__secret').map((p) => p.text)).toEqual(['note to self']);
});

test('usage errors: missing options, a non-bundle, a non-empty output folder, a broken zip', async () => {
    await expect(runDecryptExport(['--key', 'k', 'x'])).rejects.toThrow(ExportUsageError);
    await expect(runDecryptExport(['--key', 'k', '--bundle', 'b', '--out', 'o'])).rejects.toThrow('exactly one EXPORT');
    const file = path.join(tmp, 'import.jsonl');
    fs.writeFileSync(file, jsonl(fx.lines));
    await expect(decryptExport({backup: fx.bob.backup, bundle: '{"format":"other"}', exportPath: file, out: path.join(tmp, 'o')}))
        .rejects.toThrow(ExportUsageError);
    fs.mkdirSync(path.join(tmp, 'full'));
    fs.writeFileSync(path.join(tmp, 'full', 'x'), 'x');
    await expect(decryptExport({backup: fx.bob.backup, bundle: JSON.stringify(fx.bundle), exportPath: file, out: path.join(tmp, 'full')}))
        .rejects.toThrow('not empty');
    const zip = path.join(tmp, 'broken.zip');
    fs.writeFileSync(zip, makeZip({'import.jsonl': Buffer.from('x')}).subarray(0, 40));
    await expect(decryptExport({backup: fx.bob.backup, bundle: JSON.stringify(fx.bundle), exportPath: zip, out: path.join(tmp, 'o2')}))
        .rejects.toThrow(ExportUsageError);
});

test('several bundles of one user read as one: an older one knows a channel and a root the newer one does not', async () => {
    const older = structuredClone(fx.bundle);
    const newer = structuredClone(fx.bundle);
    older.createdAt = 1;
    delete newer.channels[DM];
    newer.roots[CH] = [];
    newer.users[A].keys = newer.users[A].keys.slice(1); // the history kept only her current key
    const file = path.join(tmp, 'import.jsonl');
    // The root with its reply, the post signed with alice's earlier key, the direct message.
    fs.writeFileSync(file, jsonl(fx.lines.filter((l) => [1000, 7000, 9000].includes(((l.post ?? l.direct_post) as {create_at?: number} | undefined)?.create_at ?? 0))));
    const alone = await run(file, fx.bob.backup, newer);
    expect(alone.counts).toMatchObject({written: 1, unverifiable: 1, otherChannels: 1, failed: 1});
    fs.rmSync(path.join(tmp, 'out'), {recursive: true});
    const out = path.join(tmp, 'out');
    const both = await decryptExport({backup: fx.bob.backup, bundle: [JSON.stringify(newer), JSON.stringify(older)], exportPath: file, out});
    expect(both.code).toBe(0);
    expect(both.counts).toMatchObject({written: 4, unverifiable: 0, otherChannels: 0, failed: 0});
    const other = {...older, userId: A};
    await expect(decryptExport({backup: fx.bob.backup, bundle: [JSON.stringify(newer), JSON.stringify(other)], exportPath: file, out: path.join(tmp, 'o')}))
        .rejects.toThrow('different users');
});

test('safeName keeps names readable and inside the folder', () => {
    expect(safeName('photo.png')).toBe('photo.png');
    expect(safeName('../../x')).toBe('_.._x');
    expect(safeName('..')).toBe('file');
    expect(safeName('a\\b:c\n')).toBe('a_b_c_');
    expect(safeName('é'.repeat(300))).toHaveLength(120);
});

test('ZipReader reads stored and deflated entries', () => {
    const zip = path.join(tmp, 'z.zip');
    fs.writeFileSync(zip, makeZip({'import.jsonl': Buffer.from('{"a":1}\n'.repeat(1000)), 'data/x.bin': new Uint8Array([1, 2, 3])}));
    const z = ZipReader.open(zip);
    expect(z.read('import.jsonl')?.toString()).toBe('{"a":1}\n'.repeat(1000));
    expect([...(z.read('data/x.bin') ?? [])]).toEqual([1, 2, 3]);
    expect(z.read('nope')).toBeNull();
    z.close();
});

test('export-bundle reads IDs, roots, key histories and epoch records through the user\'s session', async () => {
    const hist = {[A]: [{pubkey: publicKeyToJSON(fx.alice.pub), since: 5}], [B]: [{pubkey: publicKeyToJSON(fx.bob.pub), since: 0}]};
    const calls: string[] = [];
    const routes: Record<string, unknown> = {
        '/api/v4/users/me': {id: B},
        '/api/v4/users/me/teams': [{id: id('t'), name: 'team1'}],
        '/api/v4/users/me/channels?include_deleted=true': [{id: CH, type: 'P', team_id: id('t'), name: 'secret'}, {id: DM, type: 'D', team_id: '', name: `${A}__${B}`}],
        [`/api/v4/channels/${DM}/members?page=0&per_page=200`]: [{user_id: A}, {user_id: B}],
        [`/api/v4/channels/${CH}/posts?page=0&per_page=200`]: {order: ['p2', 'p1'], posts: {
            p1: {id: 'p1', user_id: A, root_id: '', create_at: 1, props: {e2ee: {version: 3, epoch: 2}}},
            p2: {id: 'p2', user_id: B, root_id: 'p1', create_at: 2, props: {e2ee: {version: 2}}}}},
        [`/api/v4/channels/${DM}/posts?page=0&per_page=200`]: {order: [], posts: {}},
        [`/plugins/org.mme2ee.e2ee/api/v1/channel/epoch?chanID=${CH}&epoch=2`]: {epoch: 2, head: 2, header: {creatorId: A}, part: 0, wraps: [['w']]},
        '/api/v4/users/ids': [{id: A, username: 'alice'}, {id: B, username: 'bob'}],
        '/plugins/org.mme2ee.e2ee/api/v1/pubkey/history': {history: hist},
    };
    const fake = (async (url: string, init: {headers: Record<string, string>}) => {
        const p = url.slice('http://mm.test'.length);
        calls.push(p);
        expect(init.headers.Authorization).toBe('Bearer tok');
        const body = routes[p];
        return {status: body === undefined ? 404 : 200, text: async () => JSON.stringify(body ?? {error: 'x'})};
    }) as unknown as typeof fetch;
    const b = await fetchBundle('http://mm.test/', 'tok', fake, 42);
    expect(b).toEqual({
        format: BUNDLE_FORMAT, site: 'http://mm.test', createdAt: 42, userId: B,
        users: {[A]: {username: 'alice', keys: hist[A]}, [B]: {username: 'bob', keys: hist[B]}},
        channels: {[CH]: {type: 'P', team: 'team1', name: 'secret'}, [DM]: {type: 'D', team: '', name: `${A}__${B}`, members: ['alice', 'bob']}},
        roots: {[CH]: [['p1', 1, A]]},
        epochs: {[CH]: {'2': {header: {creatorId: A}, part: 0, wraps: [['w']]}}},
    });
    expect(calls.every((c) => !c.includes('push') && !c.includes('nonce'))).toBe(true);
});
