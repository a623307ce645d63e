// The all-keys backup armor (docs/design.md §11.4): our writer against an independent one on
// Node's crypto, the vector's hash, reading both armors, and refusals.
import {createHash, webcrypto} from 'crypto';

import {
    BackupFormatError, combineBackups, containsBackup, exportBackupSet, importBackup, importBackupSet, parseBackupEntries, publicKeyOf,
} from '../../src/crypto';

import {loadVectors} from './helpers';

const users = loadVectors().users;
const backupOf = (name: string) => users.find((u) => u.name === name)!.backup;
const idOf = (name: string) => users.find((u) => u.name === name)!.pubkey_id;

/** The writer of §11.4 again, from the original armors, with Node only. */
function independentSet(armors: string[]): string {
    const keys = armors.map((a) => {
        const body = a.split('\n').filter((l) => !l.startsWith('-----')).join('');
        const o = JSON.parse(Buffer.from(body, 'base64').toString('utf8'));
        const norm = (j: Record<string, unknown>, op: string) => ({kty: 'EC', crv: 'P-256', x: j.x, y: j.y, d: j.d, key_ops: [op], ext: true});
        return {sign: norm(o.sign, 'sign'), encr: norm(o.encr, 'deriveBits')};
    });
    const b64 = Buffer.from(JSON.stringify({version: 1, keys}), 'utf8').toString('base64');
    return ['-----BEGIN MM E2EE PRIVATE KEY SET-----', ...b64.match(/.{1,60}/g)!, '-----END MM E2EE PRIVATE KEY SET-----'].join('\n');
}

// docs/design.md §11.4: alice's key current, bob's earlier.
const VECTOR_SHA256 = 'c32e342868157f446dc9102928bdcb1cf27fbfddab8b3995e8cda7762583ce1a';

describe('all-keys backup', () => {
    test('matches the independent writer and the vector in the design', async () => {
        const ours = await combineBackups([backupOf('alice'), backupOf('bob')]);
        const theirs = independentSet([backupOf('alice'), backupOf('bob')]);
        expect(ours).toBe(theirs);
        expect(createHash('sha256').update(ours).digest('hex')).toBe(VECTOR_SHA256);
    });

    test('reads back every key, current first, non-extractable; the single-key reader takes the current one', async () => {
        const armor = await combineBackups([backupOf('alice'), backupOf('bob'), backupOf('alice')]);
        expect(parseBackupEntries(armor)).toHaveLength(2); // alice once
        const sets = await importBackupSet(`notes around it\n${armor}\nmore`);
        const ids = await Promise.all(sets.map(async (k) => (await publicKeyOf(k)).idB64));
        expect(ids).toEqual([idOf('alice'), idOf('bob')]);
        expect(sets.every((k) => !k.ecdh.privateKey.extractable && !k.ecdsa.privateKey.extractable)).toBe(true);
        expect((await publicKeyOf(await importBackup(armor))).idB64).toBe(idOf('alice'));
        // A signature made with an imported earlier key verifies with its public half (WebCrypto).
        const data = new Uint8Array([1, 2, 3]);
        const sig = await webcrypto.subtle.sign({name: 'ECDSA', hash: 'SHA-256'}, sets[1].ecdsa.privateKey, data);
        expect(await webcrypto.subtle.verify({name: 'ECDSA', hash: 'SHA-256'}, sets[1].ecdsa.publicKey, sig, data)).toBe(true);
    });

    test('the original single-key armor still reads as a one-key set', async () => {
        const sets = await importBackupSet(backupOf('carol'));
        expect(sets).toHaveLength(1);
        expect((await publicKeyOf(sets[0])).idB64).toBe(idOf('carol'));
    });

    test('refuses malformed sets with a clear error', async () => {
        const wrap = (o: unknown) => `-----BEGIN MM E2EE PRIVATE KEY SET-----\n${Buffer.from(JSON.stringify(o)).toString('base64')}\n-----END MM E2EE PRIVATE KEY SET-----`;
        const good = parseBackupEntries(backupOf('alice'))[0];
        await expect(importBackupSet(wrap({version: 2, keys: [good]}))).rejects.toThrow(/version/);
        await expect(importBackupSet(wrap({version: 1, keys: []}))).rejects.toThrow(/1 to 64/);
        await expect(importBackupSet(wrap({version: 1, keys: [{sign: good.sign}]}))).rejects.toThrow(/"encr" is not a JWK/);
        await expect(importBackupSet(wrap({version: 1, keys: [{sign: good.encr, encr: good.sign}]}))).rejects.toThrow(BackupFormatError);
        await expect(importBackupSet('-----BEGIN MM E2EE PRIVATE KEY SET-----\nAAAA')).rejects.toThrow(/END MM E2EE PRIVATE KEY SET/);
        // A private key that does not match its public point.
        const bob = parseBackupEntries(backupOf('bob'))[0];
        await expect(importBackupSet(wrap({version: 1, keys: [{sign: {...good.sign, d: bob.sign.d}, encr: good.encr}]}))).rejects.toThrow(BackupFormatError); // WebCrypto or the pair check refuses it
        expect(() => exportBackupSet([])).toThrow(/1 to 64/);
    });

    test('both armors are recognised as backups (never posted or sent as a command)', async () => {
        expect(containsBackup(backupOf('alice'))).toBe(true);
        expect(containsBackup(await combineBackups([backupOf('alice')]))).toBe(true);
        expect(containsBackup('hello')).toBe(false);
    });
});
