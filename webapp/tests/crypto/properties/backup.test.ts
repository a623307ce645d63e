// Property tests of the private key backups and the OpenPGP keys the code reads (docs/design.md
// §3.2, §4, §8, §11.4): any mutation of a valid armor gives a BackupFormatError, or exactly the
// keys the changed document states (white space and text around the armor are ignored; JWK details
// the import normalizes, such as "ext" or an unknown member, do not change the key). A mutated
// OpenPGP key gives a GPGError or well-formed key details.
import {createHash} from 'crypto';

import fc from 'fast-check';
import * as openpgp from 'openpgp';

import {
    BACKUP_BEGIN,
    BACKUP_END,
    BACKUP_SET_BEGIN,
    BACKUP_SET_END,
    BackupFormatError,
    combineBackups,
    encryptBackupToGPG,
    exportBackupSet,
    generateKeys,
    importBackup,
    importBackupSet,
    parseBackupEntries,
    publicKeyOf,
    readGPGKeyInfo,
} from '../../../src/crypto';

import {applyByteOp, applyTextOp, assertTyped, type ByteOp, byteOp, jestTimeout, mutantsOf, outcome, params, textOp} from './harness';

interface Base {
    armor: string;
    begin: string;
    end: string;
    ids: string[]; // key IDs, current first
    body: unknown; // the decoded JSON document
}

const bases: Record<string, Base> = {};
let gpgKey: string;

function bodyOf(armor: string, begin: string, end: string): unknown {
    const b64 = armor.slice(armor.indexOf(begin) + begin.length, armor.indexOf(end)).replace(/\s+/g, '');
    return JSON.parse(Buffer.from(b64, 'base64').toString('utf8'));
}

beforeAll(async () => {
    const [a, b] = await Promise.all([generateKeys(), generateKeys()]);
    const [ida, idb] = await Promise.all([publicKeyOf(a.keys), publicKeyOf(b.keys)]).then((ks) => ks.map((k) => k.idB64));
    bases.single = {armor: a.backup, begin: BACKUP_BEGIN, end: BACKUP_END, ids: [ida], body: bodyOf(a.backup, BACKUP_BEGIN, BACKUP_END)};
    const set = exportBackupSet([...parseBackupEntries(b.backup), ...parseBackupEntries(a.backup)]);
    bases.set = {armor: set, begin: BACKUP_SET_BEGIN, end: BACKUP_SET_END, ids: [idb, ida], body: bodyOf(set, BACKUP_SET_BEGIN, BACKUP_SET_END)};
    const k = await openpgp.generateKey({type: 'ecc', curve: 'curve25519Legacy', userIDs: [{name: 'Alice', email: 'alice@example.org'}], format: 'armored'});
    gpgKey = k.publicKey;
}, 60000);

/** An armor around a (mutated) JSON document, in lines of `width` characters. */
function armorOf(base: Base, doc: unknown, width: number): string {
    const text = typeof doc === 'string' ? doc : JSON.stringify(doc) ?? 'undefined';
    const b64 = Buffer.from(text, 'utf8').toString('base64');
    const lines = b64.match(new RegExp(`.{1,${width}}`, 'g')) ?? [];
    return [base.begin, ...lines, base.end].join('\n');
}

const backupMutant = fc.constantFrom('single', 'set').chain((name) => fc.tuple(fc.constant(name), fc.oneof(
    // Text-level changes of the armor itself.
    fc.array(textOp, {minLength: 1, maxLength: 3}).map((ops) => ops.reduce((s, op) => applyTextOp(s, op), bases[name].armor)),
    // The document inside, mutated as a JSON value, armored again.
    fc.tuple(mutantsOf(bases[name].body), fc.integer({min: 1, max: 80})).map(([m, w]) => armorOf(bases[name], m.input, w)),
    // Text around the armor and white space inside it (ignored by design).
    fc.tuple(fc.string({maxLength: 20}), fc.string({maxLength: 20}), fc.constantFrom('\n', '\r\n', ' ', '\t')).map(([pre, post, ws]) =>
        pre + bases[name].armor.replace(/\n/g, `${ws}\n`) + post),
    fc.oneof(fc.string({unit: 'binary'}), fc.anything()),
)));

/** Key IDs of the key sets an armor describes, computed apart from the core (Node's hash and
 * Buffer's base64): current first; [] when the text holds no readable document. */
function documentIds(armor: string): string[] {
    const [begin, end] = armor.includes(BACKUP_SET_BEGIN) ? [BACKUP_SET_BEGIN, BACKUP_SET_END] : [BACKUP_BEGIN, BACKUP_END];
    const doc = bodyOf(armor, begin, end) as {keys?: Array<{sign: JsonWebKey; encr: JsonWebKey}>};
    const sets = begin === BACKUP_SET_BEGIN ? doc.keys! : [doc as {sign: JsonWebKey; encr: JsonWebKey}];
    const point = (j: JsonWebKey) => Buffer.concat([Buffer.from([4]), Buffer.from(j.x!, 'base64url'), Buffer.from(j.y!, 'base64url')]);
    return sets.map((k) => createHash('sha256').update(Buffer.concat([point(k.encr), point(k.sign)])).digest('base64'));
}

// A backup is not authenticated: a changed document may hold other valid keys (a sign key of one
// set with the encr key of another, say). What must hold: the keys imported are exactly the ones
// the document states, in its order, and each private key matches its public point (the import
// proves it), or the import is a BackupFormatError.
test('importBackup / importBackupSet: a mutated backup is a BackupFormatError or exactly the keys it states', async () => {
    await fc.assert(fc.asyncProperty(backupMutant, fc.boolean(), async ([name, armor], all) => {
        const r = await outcome(async () => {
            const sets = all ? await importBackupSet(armor as string) : [await importBackup(armor as string)];
            return Promise.all(sets.map(async (k) => (await publicKeyOf(k)).idB64));
        });
        if (!r.ok) {
            assertTyped(r.error, ['backup_format']);
            return;
        }
        const stated = documentIds(armor as string);
        const want = all ? stated : stated.slice(0, 1);
        if (JSON.stringify(r.value) !== JSON.stringify(want)) {
            throw new Error(`imported ${JSON.stringify(r.value)}, the document states ${JSON.stringify(want)}`);
        }
        if (armor === bases[name].armor && JSON.stringify(stated) !== JSON.stringify(bases[name].ids)) {
            throw new Error('the unchanged backup imported other keys');
        }
    }), params());
}, jestTimeout());

test('combineBackups: mutated backups give a BackupFormatError or a set of the keys they state', async () => {
    await fc.assert(fc.asyncProperty(backupMutant, async ([, armor]) => {
        const r = await outcome(async () => importBackupSet(await combineBackups([armor as string, bases.single.armor])));
        if (!r.ok) {
            assertTyped(r.error, ['backup_format']);
            return;
        }
        const ids = await Promise.all(r.value.map(async (k) => (await publicKeyOf(k)).idB64));
        const want = [...new Set([...documentIds(armor as string), ...bases.single.ids])];
        if (JSON.stringify(ids) !== JSON.stringify(want)) {
            throw new Error(`combined ${JSON.stringify(ids)}, the documents state ${JSON.stringify(want)}`);
        }
    }), params(0.5));
}, jestTimeout(0.5));

// ---- OpenPGP public keys (the armored keys a user pastes or an HKP server returns) ----

/** The packets of an armored key, mutated as bytes and armored again (no checksum line: optional). */
function mutatePackets(armored: string, ops: ByteOp[]): string {
    const lines = armored.trim().split(/\r?\n/);
    const body = lines.slice(lines.indexOf('') + 1, -1).filter((l) => !l.startsWith('='));
    const bytes = ops.reduce(applyByteOp, Uint8Array.from(Buffer.from(body.join(''), 'base64')));
    const b64 = Buffer.from(bytes).toString('base64').match(/.{1,64}/g) ?? [];
    return ['-----BEGIN PGP PUBLIC KEY BLOCK-----', '', ...b64, '-----END PGP PUBLIC KEY BLOCK-----', ''].join('\n');
}

const gpgMutant = fc.oneof(
    fc.array(byteOp, {minLength: 1, maxLength: 3}).map((ops) => mutatePackets(gpgKey, ops)),
    fc.array(textOp, {minLength: 1, maxLength: 3}).map((ops) => ops.reduce((s, op) => applyTextOp(s, op), gpgKey)),
    fc.oneof(fc.string({unit: 'binary'}), fc.anything()),
);

test('readGPGKeyInfo: a mutated OpenPGP key is a GPGError or well-formed details', async () => {
    await fc.assert(fc.asyncProperty(gpgMutant, async (armored) => {
        const r = await outcome(() => readGPGKeyInfo(armored as string));
        if (!r.ok) {
            assertTyped(r.error, ['gpg']);
            return;
        }
        expect(r.value.fingerprint).toMatch(/^[0-9a-f]{40,64}$/);
        expect(r.value.userIDs.every((u) => typeof u === 'string')).toBe(true);
        expect(typeof r.value.expired).toBe('boolean');
        expect(typeof r.value.revoked).toBe('boolean');
    }), params(0.5));
}, jestTimeout(0.5));

test('encryptBackupToGPG: a mutated OpenPGP key is a GPGError or an OpenPGP message', async () => {
    await fc.assert(fc.asyncProperty(gpgMutant, async (armored) => {
        const r = await outcome(() => encryptBackupToGPG(armored as string, bases.single.armor));
        if (!r.ok) {
            assertTyped(r.error, ['gpg']);
            return;
        }
        expect(r.value).toMatch(/^-----BEGIN PGP MESSAGE-----/);
        expect(r.value).not.toContain(bases.single.armor.split('\n')[1]);
    }), params(0.25));
}, jestTimeout(0.25));

describe('regressions', () => {
    test('an all-keys backup that holds a key twice is refused (§11.4: no key ID twice)', async () => {
        const body = bases.set.body as {version: number; keys: unknown[]};
        const twice = armorOf(bases.set, {...body, keys: [body.keys[0], ...body.keys]}, 60);
        await expect(importBackupSet(twice)).rejects.toBeInstanceOf(BackupFormatError);
        // The same key spelt with a non-canonical last base64url character is still the same key.
        expect(await Promise.all((await importBackupSet(bases.set.armor)).map(async (k) => (await publicKeyOf(k)).idB64))).toEqual(bases.set.ids);
    });
});
