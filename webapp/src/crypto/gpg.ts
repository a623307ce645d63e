// OpenPGP side: encrypt the clear-text backup to a user's GPG key. openpgp is loaded lazily so that
// it stays out of main.js (its own webpack chunk).
import {GPGError} from './errors';

type OpenPGP = typeof import('openpgp');

let loaded: Promise<OpenPGP> | null = null;

function openpgp(): Promise<OpenPGP> {
    if (!loaded) {
        loaded = import(/* webpackChunkName: "openpgp" */ 'openpgp').catch((e) => {
            loaded = null;
            throw new GPGError('could not load OpenPGP', {cause: e});
        });
    }
    return loaded;
}

export interface GPGKeyInfo {
    fingerprint: string; // lower-case hex
    userIDs: string[];
    expired: boolean;
    revoked: boolean;
}

async function readPublic(armored: string) {
    const pgp = await openpgp();
    if (typeof armored !== 'string') {
        throw new GPGError('expected an armored OpenPGP public key');
    }
    try {
        const key = await pgp.readKey({armoredKey: armored});
        return key.isPrivate() ? key.toPublic() : key;
    } catch (e) {
        throw new GPGError('not a readable OpenPGP public key', {cause: e});
    }
}

export async function readGPGKeyInfo(armored: string): Promise<GPGKeyInfo> {
    const key = await readPublic(armored);
    try {
        const exp = await key.getExpirationTime();
        const expired = exp instanceof Date ? exp.getTime() <= Date.now() : exp === null;
        return {
            fingerprint: key.getFingerprint(),
            userIDs: key.getUserIDs(),
            expired,
            revoked: await key.isRevoked(),
        };
    } catch (e) {
        throw new GPGError('cannot read the OpenPGP key details', {cause: e});
    }
}

/** Encrypts the backup text to the key; returns an armored PGP message. */
export async function encryptBackupToGPG(armoredPublicKey: string, backupText: string): Promise<string> {
    const pgp = await openpgp();
    const key = await readPublic(armoredPublicKey);
    try {
        const message = await pgp.createMessage({text: backupText});
        return await pgp.encrypt({message, encryptionKeys: key, format: 'armored'});
    } catch (e) {
        throw new GPGError('cannot encrypt to this OpenPGP key (expired, revoked or no encryption subkey?)', {cause: e});
    }
}
