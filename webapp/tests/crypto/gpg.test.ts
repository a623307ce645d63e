// The backup encrypted to a GPG key decrypts back with OpenPGP; key info is read correctly.
import * as openpgp from 'openpgp';

import {encryptBackupToGPG, generateKeys, GPGError, readGPGKeyInfo} from '../../src/crypto';

// OpenPGP key generation is slow on a loaded 2-core machine.
jest.setTimeout(60000);

let pub: string;
let priv: string;

beforeAll(async () => {
    const k = await openpgp.generateKey({type: 'ecc', curve: 'curve25519Legacy', userIDs: [{name: 'Alice', email: 'alice@example.org'}], format: 'armored'});
    pub = k.publicKey;
    priv = k.privateKey;
}, 30000);

test('encryptBackupToGPG round trip', async () => {
    const {backup} = await generateKeys();
    const armored = await encryptBackupToGPG(pub, backup);
    expect(armored).toMatch(/^-----BEGIN PGP MESSAGE-----/);
    expect(armored).not.toContain(backup.split('\n')[1]);
    const message = await openpgp.readMessage({armoredMessage: armored});
    const {data} = await openpgp.decrypt({message, decryptionKeys: await openpgp.readPrivateKey({armoredKey: priv})});
    expect(data).toBe(backup);
});

test('readGPGKeyInfo reports fingerprint, user IDs and state', async () => {
    const info = await readGPGKeyInfo(pub);
    const key = await openpgp.readKey({armoredKey: pub});
    expect(info).toEqual({fingerprint: key.getFingerprint(), userIDs: ['Alice <alice@example.org>'], expired: false, revoked: false});
    expect(info.fingerprint).toMatch(/^[0-9a-f]{40,64}$/);
});

test('revoked and expired keys are reported; garbage is a GPGError', async () => {
    const rev = await openpgp.generateKey({type: 'ecc', curve: 'curve25519Legacy', userIDs: [{name: 'R'}], format: 'armored'});
    const {publicKey: revoked} = await openpgp.revokeKey({key: await openpgp.readPrivateKey({armoredKey: rev.privateKey}), format: 'armored'});
    expect((await readGPGKeyInfo(revoked)).revoked).toBe(true);
    await expect(encryptBackupToGPG(revoked, 'x')).rejects.toBeInstanceOf(GPGError);

    const past = new Date(Date.now() - 10 * 86400 * 1000);
    const exp = await openpgp.generateKey({type: 'ecc', curve: 'curve25519Legacy', userIDs: [{name: 'E'}], keyExpirationTime: 86400, date: past, format: 'armored'});
    expect((await readGPGKeyInfo(exp.publicKey)).expired).toBe(true);
    await expect(encryptBackupToGPG(exp.publicKey, 'x')).rejects.toBeInstanceOf(GPGError);

    await expect(readGPGKeyInfo('not a key')).rejects.toBeInstanceOf(GPGError);
    await expect(encryptBackupToGPG('-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nAAAA\n-----END PGP PUBLIC KEY BLOCK-----', 'x')).rejects.toBeInstanceOf(GPGError);
}, 30000);
