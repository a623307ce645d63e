// The key lifecycle: create (/e2ee init), import a backup (/e2ee import), and bring a
// key this browser already holds in line with the server at start-up.
import type {Store} from 'redux';

import {pluginAPI} from '../client';
import {hostState} from '../host_state';
import {BackupFormatError, InvalidKeyError, fingerprintOf, generateKeys, importBackupSet, importPublicKey, publicKeyOf, signPushProof} from '../crypto';
import type {FetchLike} from '../crypto/hkp';
import type {PrivateKeySet, PublicKey, PublicKeyJSON} from '../crypto/types';

import type {MyKeysStore} from './my_keys';
import {deleteKeys, loadKeys, requestPersistence, saveKeysKeepingPrevious} from './storage';
import type {GPGKeyChoice, ImportCheck, KeysUI} from './ui';

/** The server's key for a user: imported, absent, or present but unusable. */
type ServerKey = PublicKey | null | 'invalid';

// How many HKP search results we look at before giving up (each is one download).
const MAX_GPG_CANDIDATES = 5;

export interface KeyServiceOptions {
    store: Store;
    myKeys: MyKeysStore;
    ui: KeysUI;
    /** For HKP look-ups; the browser's fetch by default. */
    fetchFn?: FetchLike;
}

export function errorText(err: unknown): string {
    if (err instanceof Error && err.message) {
        return err.message;
    }
    return String(err);
}

function describeImportError(err: unknown): string {
    if (err instanceof BackupFormatError) {
        return `This is not a valid E2EE key backup: ${errorText(err)}. Paste the whole text, from "-----BEGIN MM E2EE PRIVATE KEY-----" to "-----END MM E2EE PRIVATE KEY-----" (or the KEY SET lines of an all-keys backup).`;
    }
    if (err instanceof InvalidKeyError) {
        return `The backup holds an unusable key: ${errorText(err)}.`;
    }
    return `The backup could not be imported: ${errorText(err)}.`;
}

export class KeyService {
    private readonly store: Store;
    private readonly myKeys: MyKeysStore;
    private readonly ui: KeysUI;
    private readonly fetchFn?: FetchLike;
    private busy = false;
    private running: Promise<void> | null = null;
    private mismatchNotified = new Set<string>(); // user IDs already told
    // The message features' key directory, once they run: the start-up check then shares its
    // request for my key (my own posts on screen ask for it at the same moment).
    private directoryKey: ((userId: string) => Promise<ServerKey>) | null = null;

    constructor(opts: KeyServiceOptions) {
        this.store = opts.store;
        this.myKeys = opts.myKeys;
        this.ui = opts.ui;
        this.fetchFn = opts.fetchFn;
    }

    private me(): string {
        return hostState.currentUserId(this.store.getState());
    }

    private myUsername(me: string): string {
        const profile = hostState.user(this.store.getState(), me);
        return (profile?.username || '').replace(/[^A-Za-z0-9._-]/g, '');
    }

    private myEmail(me: string): string {
        return hostState.user(this.store.getState(), me)?.email || '';
    }

    private async serverKey(userId: string): Promise<ServerKey> {
        const json = (await pluginAPI.getPublicKeys([userId]))[userId];
        if (!json) {
            return null;
        }
        try {
            return await importPublicKey(json);
        } catch {
            return 'invalid';
        }
    }

    /** Reads users' keys through the message features' key directory (kept current by the
     * server's newPubkey events) for the start-up check. */
    shareKeyLookups(get: (userId: string) => Promise<{status: 'ok'; key: PublicKey} | {status: 'none'} | {status: 'invalid'}>): void {
        this.directoryKey = async (userId) => {
            const entry = await get(userId);
            return entry.status === 'ok' ? entry.key : entry.status === 'none' ? null : 'invalid';
        };
    }

    /** Runs one key operation at a time; any failure becomes an error notice. */
    private async exclusive(what: string, op: () => Promise<void>): Promise<void> {
        // A setup dialog nobody has acted on (opened automatically) gives way to the command.
        if (this.ui.closeIdleSetup() && this.running) {
            await this.running;
        }
        if (this.busy || this.ui.dialogOpen) {
            this.ui.notify('warning', 'Another E2EE key operation is in progress; finish it first.');
            return;
        }
        this.busy = true;
        const run = (async () => {
            try {
                await op();
            } catch (err) {
                this.ui.notify('error', `E2EE ${what} failed: ${errorText(err)}`);
            } finally {
                this.busy = false;
            }
        })();
        this.running = run;
        await run;
    }

    /** Stores the keys here (the key held until now, and `earlier` keys from a backup, are kept
     * as earlier keys, design §11.3) and registers the public key; on failure restores what this
     * browser held before. Returns whether the GPG backup went out. */
    private async commit(me: string, keys: PrivateKeySet, pub: PublicKey, opts: {push: boolean; backupGPG?: string; earlier?: PrivateKeySet[]}): Promise<boolean> {
        const previous = await loadKeys(me).catch(() => null);
        const previousPub = previous ? await publicKeyOf(previous).catch(() => null) : null;
        const retire: Array<{keyId: string; keys: PrivateKeySet}> = [];
        if (previous && previousPub && previousPub.idB64 !== pub.idB64) {
            retire.push({keyId: previousPub.idB64, keys: previous});
        }
        for (const k of opts.earlier ?? []) {
            retire.push({keyId: (await publicKeyOf(k)).idB64, keys: k});
        }
        await saveKeysKeepingPrevious(me, keys, pub.idB64, retire);
        let gpgSent = false;
        try {
            if (opts.push) {
                gpgSent = await this.push(me, keys, pub.json, opts.backupGPG);
            }
        } catch (err) {
            const restore = previous && previousPub ? saveKeysKeepingPrevious(me, previous, previousPub.idB64, []) : deleteKeys(me);
            await restore.catch((e) => console.error('e2ee: could not restore the previous key', e instanceof Error ? e.name : typeof e));
            throw err;
        }
        this.myKeys.set(me, keys, pub);
        return gpgSent;
    }

    /** Registers the key, proving possession with its (non-extractable) private sign key. */
    private async push(me: string, keys: PrivateKeySet, json: PublicKeyJSON, backupGPG?: string): Promise<boolean> {
        const sign = (nonce: string) => signPushProof(keys, me, nonce);
        if (!backupGPG) {
            await pluginAPI.pushPublicKey(json, sign);
            return false;
        }
        try {
            await pluginAPI.pushPublicKey(json, sign, backupGPG);
            return true;
        } catch (err) {
            // The key matters more than the mailed backup: register it without.
            await pluginAPI.pushPublicKey(json, sign);
            this.ui.notify('warning', `The server did not accept the GPG-encrypted backup (${errorText(err)}); your key is registered without it. Keep the backup shown next.`);
            return false;
        }
    }

    /** `/e2ee init [--force]`, the header lock and an encrypted channel without a key here: the
     * setup dialog (create or restore); with a key here, --force (or "Replace my key") makes a new one. */
    init(force: boolean): Promise<void> {
        return this.exclusive('key creation', async () => {
            const me = this.me();
            if (!me) {
                throw new Error('not logged in');
            }
            const local = await this.myKeys.get();
            if (local && !force) {
                this.ui.notify('warning', 'You already have an encryption key in this browser. To replace it with a new key (your earlier keys stay here, so what was encrypted to them stays readable), run /e2ee init --force or use "Replace my key" in /e2ee verify.');
                return;
            }
            if (!local) {
                const server = await this.serverKey(me).catch(() => null);
                const choice = await this.ui.openSetup({hasServerKey: server !== null, check: (text) => this.checkBackup(me, text)});
                if (choice !== 'create') {
                    return; // restored (the dialog committed it) or closed
                }
            }
            await this.create(me);
        });
    }

    /** Opens the setup dialog unless a key is here or a key operation runs (quietly: automatic). */
    async offerSetup(): Promise<void> {
        if (this.busy || this.ui.dialogOpen || !this.me() || await this.myKeys.get().catch(() => null)) {
            return;
        }
        await this.init(false);
    }

    /** Makes, registers and shows the backup of a new key; the key held until now is kept. */
    private async create(me: string): Promise<void> {
        const {keys, backup} = await generateKeys();
        const pub = await publicKeyOf(keys);

        let gpg: {message: string; fingerprint: string} | null = null;
        let keyServer = '';
        try {
            keyServer = await pluginAPI.getGPGKeyServer();
        } catch (err) {
            this.ui.notify('warning', `Could not ask the server about GPG backups (${errorText(err)}); continuing without one.`);
        }
        if (keyServer) {
            gpg = await this.gpgBackup(me, keyServer, backup);
        }

        const gpgSent = await this.commit(me, keys, pub, {push: true, backupGPG: gpg?.message});
        const earlier = (await this.myKeys.getPrevious().catch(() => [])).length;
        this.ui.notify('success', 'Your E2EE key is set up and registered.');
        await this.ui.showBackup(backup, gpgSent && gpg ? gpg.fingerprint : null, {earlierKeys: earlier, fileName: `mm-e2ee-backup-${this.myUsername(me) || me}.txt`});
    }

    /** Finds the user's GPG key on the key server, asks, and encrypts the backup to it.
     * Null when there is no usable key or the user declines (said in a notice). */
    private async gpgBackup(me: string, keyServer: string, backup: string): Promise<{message: string; fingerprint: string} | null> {
        const email = this.myEmail(me);
        const without = 'continuing without a GPG-encrypted backup.';
        if (!email) {
            this.ui.notify('warning', `Your email address is not known here, so no GPG key can be looked up; ${without}`);
            return null;
        }
        let found: {choice: GPGKeyChoice; armored: string} | null = null;
        const progress = this.ui.notify('info', `Looking up your GPG key on ${keyServer}…`);
        try {
            found = await this.findGPGKey(keyServer, email);
        } catch (err) {
            this.ui.notify('warning', `Looking up your GPG key on ${keyServer} failed (${errorText(err)}); ${without}`);
            return null;
        } finally {
            this.ui.dismiss(progress);
        }
        if (!found) {
            this.ui.notify('info', `No valid GPG key for ${email} was found on ${keyServer}; ${without}`);
            return null;
        }
        if (!(await this.ui.confirmGPG(found.choice))) {
            this.ui.notify('info', `GPG backup declined; ${without}`);
            return null;
        }
        try {
            const {encryptBackupToGPG} = await import('../crypto/gpg');
            return {message: await encryptBackupToGPG(found.armored, backup), fingerprint: found.choice.fingerprint};
        } catch (err) {
            this.ui.notify('warning', `Encrypting the backup to your GPG key failed (${errorText(err)}); ${without}`);
            return null;
        }
    }

    private async findGPGKey(keyServer: string, email: string): Promise<{choice: GPGKeyChoice; armored: string} | null> {
        const [{hkpIndex, hkpGet}, {readGPGKeyInfo}] = await Promise.all([import('../crypto/hkp'), import('../crypto/gpg')]);
        const entries = await hkpIndex(keyServer, email, this.fetchFn);
        const wanted = email.toLowerCase();
        for (const entry of entries.slice(0, MAX_GPG_CANDIDATES)) {
            const armored = await hkpGet(keyServer, entry.keyId, this.fetchFn);
            if (!armored) {
                continue;
            }
            const info = await readGPGKeyInfo(armored);
            // A key server may answer loose matches: the key itself must name the address.
            const names = info.userIDs.some((uid) => uid.toLowerCase().includes(wanted));
            if (!info.expired && !info.revoked && names) {
                return {choice: {keyServer, email, fingerprint: info.fingerprint, userIDs: info.userIDs}, armored};
            }
        }
        return null;
    }

    /** `/e2ee import`: opens the dialog; the dialog calls back to check and commit. */
    import(): Promise<void> {
        return this.exclusive('key import', async () => {
            const me = this.me();
            if (!me) {
                throw new Error('not logged in');
            }
            await this.ui.openImport((text) => this.checkBackup(me, text));
        });
    }

    private async checkBackup(me: string, text: string): Promise<ImportCheck> {
        if (!text.trim()) {
            return {ok: false, error: 'Paste your key backup first.'};
        }
        let keys: PrivateKeySet;
        let pub: PublicKey;
        let earlier: PrivateKeySet[];
        try {
            [keys, ...earlier] = await importBackupSet(text);
            pub = await publicKeyOf(keys);
        } catch (err) {
            return {ok: false, error: describeImportError(err)};
        }
        let server: ServerKey;
        try {
            server = await this.serverKey(me);
        } catch (err) {
            return {ok: false, error: `Could not fetch your current key from the server: ${errorText(err)}`};
        }
        const local = await this.myKeys.getPublic().catch(() => null);
        const current = server ?? local;
        let replaces: {currentFingerprint: string; newFingerprint: string} | null = null;
        if (current === 'invalid') {
            replaces = {currentFingerprint: '(unreadable key)', newFingerprint: await fingerprintOf(pub)};
        } else if (current && current.idB64 !== pub.idB64) {
            replaces = {currentFingerprint: await fingerprintOf(current), newFingerprint: await fingerprintOf(pub)};
        }
        const alreadyOnServer = server !== null && server !== 'invalid' && server.idB64 === pub.idB64;
        return {
            ok: true,
            replaces,
            commit: async () => {
                try {
                    await this.commit(me, keys, pub, {push: !alreadyOnServer, earlier});
                } catch (err) {
                    return `Import failed, nothing was changed: ${errorText(err)}`;
                }
                const more = earlier.length ? ` ${earlier.length} earlier key${earlier.length > 1 ? 's' : ''} from the backup will read older messages.` : '';
                this.ui.notify('success', (replaces ? 'Key imported and registered as your new key.' : 'Key imported: this browser can now read your encrypted messages.') + more);
                return null;
            },
        };
    }

    /** At start-up: register a key only this browser knows, or warn once when it is
     * not the one the server has. */
    async reconcile(): Promise<void> {
        const me = this.me();
        if (!me) {
            return;
        }
        const local = await this.myKeys.getPublic();
        if (!local) {
            return;
        }
        requestPersistence();
        const server = this.directoryKey ? await this.directoryKey(me) : await this.serverKey(me);
        if (server === null) {
            const keys = await this.myKeys.get();
            if (!keys) {
                return;
            }
            await this.push(me, keys, local.json);
            this.ui.notify('info', 'The encryption key this browser already had is now registered with the server.');
            return;
        }
        if ((server === 'invalid' || server.idB64 !== local.idB64) && !this.mismatchNotified.has(me)) {
            this.mismatchNotified.add(me);
            this.ui.notify('warning', 'The encryption key in this browser is not the one registered for your account, so new encrypted messages cannot be read here. To fix it, run /e2ee import and paste the backup of your current key, or run /e2ee init --force to create a new key (then import its backup on your other devices).');
        }
    }
}
