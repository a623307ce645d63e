// mm-e2ee channel-key commands end to end (the webpack-built file run by node): epoch new, encrypt
// --format channel, decrypt of v3 with the record; exit codes 0/2/3/4.
import {importBackup} from '../../src/crypto/backup';
import {openEpochKeyFromRecord} from '../../src/crypto/epoch';
import {importPublicKey, publicKeyOf} from '../../src/crypto/keys';
import {decryptV3} from '../../src/crypto/v3';
import {builtCli} from './cli_harness';
import {loadVectors} from './helpers';

const cliHarness = builtCli('mm-e2ee-cli-channel');
const run = cliHarness.run;
const file = cliHarness.file;

test('epoch new, encrypt --format channel and decrypt with the record; exit codes', () => {
    const v = loadVectors();
    const f: Record<string, {key: string; pub: string}> = {};
    for (const u of v.users) {
        f[u.name] = {key: file(`${u.name}.key`, u.backup), pub: file(`${u.name}.pub`, JSON.stringify(u.pubkey))};
    }
    const ch = ['--channel', 'chan1', '--root', '', '--user', 'alice'];
    const rec = run(['epoch', 'new', '--key', f.alice.key, '--channel', 'chan1', '--epoch', '4', '--user', 'alice',
        '--to', `alice=${f.alice.pub}`, '--to', `bob=${f.bob.pub}`]);
    expect(rec.stderr).toBe('');
    expect(rec.code).toBe(0);
    const record = JSON.parse(rec.stdout);
    expect(record).toMatchObject({version: 3, channelId: 'chan1', epoch: 4, creatorId: 'alice'});
    expect(record.parts[0].map((w: string[]) => w[0])).toEqual(['alice', 'bob']);
    const recFile = file('record.json', rec.stdout);
    const enc = run(['encrypt', '--format', 'channel', '--epoch-record', recFile, '--key', f.alice.key, ...ch], 'secret ✓');
    expect(enc.code).toBe(0);
    const msg = JSON.parse(enc.stdout);
    expect(msg).toMatchObject({version: 3, epoch: 4});
    // bob reads; the creator is the sender here, so --creator is optional
    expect(run(['decrypt', '--key', f.bob.key, '--sender', f.alice.pub, '--epoch-record', recFile, ...ch], enc.stdout))
        .toEqual({code: 0, stdout: 'secret ✓', stderr: ''});
    expect(run(['decrypt', '--key', f.bob.key, '--sender', f.alice.pub, '--creator', f.alice.pub, '--epoch-record', recFile, ...ch], enc.stdout).code).toBe(0);
    // carol is not in the record: 4; a wrong creator key: 3; another thread: 3; no record: 2
    expect(run(['decrypt', '--key', f.carol.key, '--sender', f.alice.pub, '--epoch-record', recFile, ...ch], enc.stdout).code).toBe(4);
    expect(run(['decrypt', '--key', f.bob.key, '--sender', f.alice.pub, '--creator', f.bob.pub, '--epoch-record', recFile, ...ch], enc.stdout).code).toBe(3);
    expect(run(['decrypt', '--key', f.bob.key, '--sender', f.alice.pub, '--epoch-record', recFile, '--channel', 'chan1', '--root', 'r', '--user', 'alice'],
        enc.stdout).code).toBe(3);
    expect(run(['decrypt', '--key', f.bob.key, '--sender', f.alice.pub, ...ch], enc.stdout).code).toBe(2);
    // tampered ciphertext: 3
    const ct = Buffer.from(msg.encryptedData, 'base64');
    ct[0] ^= 1;
    expect(run(['decrypt', '--key', f.bob.key, '--sender', f.alice.pub, '--epoch-record', recFile, ...ch],
        JSON.stringify({...msg, encryptedData: ct.toString('base64')})).code).toBe(3);
    // bob posts under alice's record: --creator names alice
    const byBob = run(['encrypt', '--format', 'channel', '--epoch-record', recFile, '--key', f.bob.key, '--creator', f.alice.pub,
        '--channel', 'chan1', '--root', '', '--user', 'bob'], 'from bob');
    expect(byBob.code).toBe(0);
    expect(run(['decrypt', '--key', f.alice.key, '--sender', f.bob.pub, '--creator', f.alice.pub, '--epoch-record', recFile,
        '--channel', 'chan1', '--root', '', '--user', 'bob'], byBob.stdout).stdout).toBe('from bob');
    // usage errors: 2
    expect(run(['epoch', 'new', '--key', f.alice.key, '--channel', 'chan1', '--epoch', '0', '--to', f.bob.pub]).code).toBe(2);
    expect(run(['epoch', 'new', '--key', f.alice.key, '--channel', 'chan1', '--epoch', '1']).code).toBe(2);
    expect(run(['epoch', 'old']).code).toBe(2);
    // default user IDs: "k" + 25 hex digits of the key ID
    const d = JSON.parse(run(['epoch', 'new', '--key', f.alice.key, '--channel', 'chan1', '--epoch', '1', '--to', f.bob.pub]).stdout);
    expect(d.parts[0][0][0]).toBe('k' + Buffer.from(v.users[1].pubkey_id, 'base64').toString('hex').slice(0, 25));
    expect(d.creatorId).toBe('k' + Buffer.from(v.users[0].pubkey_id, 'base64').toString('hex').slice(0, 25));
});

test('encrypt --format channel --files signs the file entries into the v3 payload', async () => {
    const v = loadVectors();
    const alice = v.users.find((u) => u.name === 'alice')!;
    const bob = v.users.find((u) => u.name === 'bob')!;
    const aliceKey = file('files-alice.key', alice.backup);
    const alicePub = file('files-alice.pub', JSON.stringify(alice.pubkey));
    const bobPub = file('files-bob.pub', JSON.stringify(bob.pubkey));
    const rec = run(['epoch', 'new', '--key', aliceKey, '--channel', 'chan2', '--epoch', '1', '--user', 'alice',
        '--to', `alice=${alicePub}`, '--to', `bob=${bobPub}`]);
    expect(rec.code).toBe(0);
    const recFile = file('files-record.json', rec.stdout);
    const ctxFlags = ['--channel', 'chan2', '--root', '', '--user', 'alice'];
    const entry = {id: 'f'.repeat(26), key: Buffer.alloc(32, 1).toString('base64'), hash: Buffer.alloc(32, 2).toString('base64'),
        name: 'a.pdf', type: 'application/pdf', size: 3};
    const good = file('files-entries.json', JSON.stringify([entry]));
    const enc = run(['encrypt', '--format', 'channel', '--epoch-record', recFile, '--key', aliceKey, ...ctxFlags, '--files', good], 'with a file');
    expect(enc.stderr).toBe('');
    expect(enc.code).toBe(0);

    // bob opens it with the core: the entries are in the signed payload
    const bobKeys = await importBackup(bob.backup);
    const alicePublic = await importPublicKey(alice.pubkey);
    const ctx = {channelId: 'chan2', rootId: '', userId: 'alice'};
    const key = await openEpochKeyFromRecord(JSON.parse(rec.stdout), bobKeys, await publicKeyOf(bobKeys), alicePublic);
    const payload = await decryptV3(JSON.parse(enc.stdout), alicePublic, key, ctx);
    expect(payload).toEqual({text: 'with a file', files: [entry]});

    const bad = file('files-bad.json', JSON.stringify([{...entry, size: -1}]));
    expect(run(['encrypt', '--format', 'channel', '--epoch-record', recFile, '--key', aliceKey, ...ctxFlags, '--files', bad], 'x').code).toBe(2);
});
