// Channel-key mode in the browser (docs/design.md §13): rotate the epoch when the server says it is
// stale, adopt the winner's epoch on a lost race, encrypt v3 posts, open each epoch's key once
// (kept only as a non-extractable CryptoKey), and add joiner wraps for members without a copy.
import {
    EpochKeyError,
    NotRecipientError,
    createEpochRecord,
    createJoinerWraps,
    decryptV3,
    encryptV3,
    headerOf,
    openEpochKey,
    parseEpochHeader,
    parseJoinerWraps,
    parsePart,
    parseV3,
    verifyEpochHeader,
    type EpochKey,
    type EpochRecipient,
    type MessageV3JSON,
    type ParsedEpochHeader,
    type WrapSource,
} from '../crypto';
import {toHex, fromBase64} from '../crypto/encoding';
import {joinerSignedData} from '../crypto/epoch';
import {verifySignature} from '../crypto/subtle';
import type {MessageContext, MessagePayload, PrivateKeySet, PublicKey} from '../crypto/types';
import type {KeyDirectory, KeyHistory, TrustStore} from '../directory';
import {keyInUseAt} from '../directory/key_history';
import type {MyKeys} from '../types/my_keys';

import {NO_KEY_MESSAGE, SendRefusedError, type Member} from './encryptor';

export interface EpochStatusJSON {
    epoch: number;
    stale: string; // "" when the head can be used; "no_epoch" before the first record
    missing: string[];
    historySharing: boolean;
}

export interface EpochReadJSON {
    epoch: number;
    head: number; // the channel's current epoch
    header: unknown;
    part: number;
    wraps?: unknown;
    joiner?: unknown;
}

/** The server routes of channel-key mode (docs/api.md). A 409 throws an error with status 409. */
export interface ChannelKeyAPI {
    epochStatus(channelId: string, epoch?: number): Promise<EpochStatusJSON>;
    readEpoch(channelId: string, epoch: number): Promise<EpochReadJSON>;
    uploadPart(channelId: string, epoch: number, tag: string, part: number, wraps: unknown): Promise<unknown>;
    commitEpoch(channelId: string, header: unknown): Promise<{epoch: number}>;
    addJoiners(channelId: string, set: unknown): Promise<unknown>;
}

export interface ChannelKeyDeps {
    api: ChannelKeyAPI;
    myKeys: MyKeys;
    directory: KeyDirectory;
    trust: TrustStore;
    listMembers(channelId: string): Promise<Member[]>;
    /** The server's key history: records signed before their creator (or adder) replaced her
     * key are verified with the key she had then. Without it, only current keys are tried. */
    history?: KeyHistory;
    notify?(channelId: string, rootId: string, text: string): void;
}

const statusOf = (err: unknown) => (err && typeof err === 'object' && 'status' in err ? (err as {status: unknown}).status : undefined);

/** Which key vouched for an epoch's key: the signer's current one, or an earlier one that this
 * browser trusted, or that only the server's history reports (shown as such, as for v2). */
export type EpochKeySource = 'current' | 'trusted' | 'server';

/** Why a reader has no key for a post: shown instead of an error. */
export class ChannelKeyWaitError extends EpochKeyError {}

export class ChannelKeyService {
    // Opened epoch keys, per channel and epoch: non-extractable CryptoKeys only.
    private readonly keys = new Map<string, Promise<EpochKey>>();
    // How each opened key was vouched for (absent: by current keys).
    private readonly sources = new Map<string, {source: EpochKeySource; signerId: string}>();

    constructor(private readonly deps: ChannelKeyDeps) {}

    private async mine(): Promise<{keys: PrivateKeySet; pub: PublicKey}> {
        const [keys, pub] = await Promise.all([this.deps.myKeys.get(), this.deps.myKeys.getPublic()]);
        if (!keys || !pub) {
            throw new SendRefusedError('no-key', NO_KEY_MESSAGE);
        }
        return {keys, pub};
    }

    /** Encrypts for the channel's current epoch, rotating first when it is stale. */
    /** `extra`: further payload members beside the text, e.g. `files` (design §15.4). */
    async encrypt(text: string, context: MessageContext, extra: Record<string, unknown> = {}): Promise<MessageV3JSON> {
        const me = await this.mine();
        let key: EpochKey | undefined;
        for (let attempt = 0; attempt < 3 && !key; attempt++) {
            const status = await this.deps.api.epochStatus(context.channelId);
            if (status.stale === '') {
                try {
                    key = await this.openKey(context.channelId, status.epoch);
                } catch (err) {
                    const code = err && typeof err === 'object' && 'code' in err ? (err as {code: unknown}).code : '';
                    if (code !== 'epoch_key' && code !== 'not_recipient') {
                        throw err;
                    }
                    // No copy of the current epoch for us yet (we joined after it): start the next one.
                    key = await this.rotate(context.channelId, status.epoch + 1, me, context);
                    continue;
                }
                this.addJoiners(context.channelId, status, me, context.userId).catch(() => undefined);
                break;
            }
            key = await this.rotate(context.channelId, status.epoch + 1, me, context);
        }
        if (!key) {
            throw new SendRefusedError('unavailable', 'Could not agree on a channel key with the server. Your message was not sent: try again.');
        }
        return encryptV3({text, ...extra} as MessagePayload, me.keys, key, context);
    }

    /** Makes and commits epoch `epoch`; on a lost race (409) returns undefined so that the caller
     * adopts the winner's epoch. */
    private async rotate(channelId: string, epoch: number, me: {keys: PrivateKeySet; pub: PublicKey}, context: MessageContext): Promise<EpochKey | undefined> {
        const members = await this.deps.listMembers(channelId);
        const others = members.filter((m) => m.id !== context.userId);
        const entries = await this.deps.directory.getMany(others.map((m) => m.id));
        const recipients: EpochRecipient[] = [{userId: context.userId, key: me.pub}];
        const changed: string[] = [];
        for (const m of others) {
            const entry = entries.get(m.id);
            if (!entry || entry.status !== 'ok') {
                continue;
            }
            if (this.deps.trust.check(m.id, entry.key.idB64) === 'changed') {
                this.deps.trust.accept(m.id, entry.key.idB64, entry.key.json);
                changed.push(`@${m.username}`);
                continue;
            }
            recipients.push({userId: m.id, key: entry.key});
        }
        if (changed.length) {
            const warning = `Security warning: the encryption key of ${changed.join(', ')} changed since this browser last saw it. ` +
                'If you did not expect this, check with them by another means. Your message was not sent: send it again to include the new key.';
            this.deps.notify?.(channelId, context.rootId, warning);
            throw new SendRefusedError('key-changed', warning);
        }
        const {record, key} = await createEpochRecord({channelId, epoch, creatorId: context.userId, creator: me.keys, recipients});
        const tag = toHex(fromBase64(record.commitment, 'commitment', 32).subarray(0, 8));
        try {
            for (let i = 0; i < record.parts.length; i++) {
                await this.deps.api.uploadPart(channelId, epoch, tag, i, record.parts[i]);
            }
            await this.deps.api.commitEpoch(channelId, headerOf(record));
        } catch (err) {
            if (statusOf(err) === 409) {
                return undefined; // another member rotated first: adopt theirs
            }
            throw err;
        }
        for (const r of recipients) {
            this.deps.trust.accept(r.userId, r.key.idB64, r.key.json);
        }
        this.keys.set(`${channelId}:${epoch}`, Promise.resolve(key));
        return key;
    }

    /** Opens our copy of an epoch's key once; EpochKeyError while we have none. */
    openKey(channelId: string, epoch: number): Promise<EpochKey> {
        const id = `${channelId}:${epoch}`;
        let p = this.keys.get(id);
        if (!p) {
            p = this.open(channelId, epoch);
            this.keys.set(id, p);
            p.catch(() => this.keys.delete(id)); // a copy may arrive later
        }
        return p;
    }

    /** Starts opening an epoch's key without waiting (errors surface at the real use): the
     * record's fetch then overlaps the fetch of the sender's key instead of following it. */
    prefetch(channelId: string, epoch: number): void {
        this.openKey(channelId, epoch).catch(() => undefined);
    }

    private async open(channelId: string, epoch: number): Promise<EpochKey> {
        // The record is fetched while our own keys load from storage, not after.
        const read = this.deps.api.readEpoch(channelId, epoch);
        read.catch(() => undefined);
        const me = await this.mine();
        const res = await read;
        const header = parseEpochHeader(res.header);
        if (header.channelId !== channelId || header.epoch !== epoch) {
            throw new EpochKeyError('the server sent the record of another channel or epoch');
        }
        const creator = await this.signerKey(header.creatorId, header.createdAt, (k) => verifyEpochHeader(header, k));
        let src: WrapSource;
        let vouch = creator;
        if (res.part >= 0 && res.wraps) {
            src = {kind: 'part', index: res.part, wraps: parsePart(res.wraps)};
        } else if (res.joiner) {
            const set = parseJoinerWraps(res.joiner);
            const adder = await this.signerKey(set.adderId, set.createdAt, (k) => verifySignature(k, set.signature, joinerSignedData(set, header.commitment)));
            src = {kind: 'joiner', set, adderPublic: adder.key};
            if (adder.source !== 'current' && creator.source !== 'server') {
                vouch = adder;
            }
        } else if (epoch < res.head) {
            // An older epoch without a copy for us: we joined after it (history sharing off).
            throw new NotRecipientError('not a member of this channel when this was sent');
        } else {
            throw new ChannelKeyWaitError('no copy of this epoch\'s channel key for you yet');
        }
        const key = await openEpochKey(header, src, me.keys, me.pub, creator.key);
        if (vouch.source !== 'current') {
            this.sources.set(`${channelId}:${epoch}`, {source: vouch.source, signerId: vouch.userId});
        }
        return key;
    }

    /** How the key of an opened epoch was vouched for: undefined when by current keys. */
    keySource(channelId: string, epoch: number): {source: EpochKeySource; signerId: string} | undefined {
        return this.sources.get(`${channelId}:${epoch}`);
    }

    /** The key that signed a record or joiner set made at `createdAt`: the user's current key,
     * else one the server's history shows in use then (design §13: records outlive key changes).
     * When none verifies, the current key, so that opening fails as an integrity error. */
    private async signerKey(userId: string, createdAt: number, verifies: (k: PublicKey) => Promise<boolean>):
        Promise<{key: PublicKey; source: EpochKeySource; userId: string}> {
        const entry = await this.deps.directory.get(userId);
        const current = entry.status === 'ok' ? entry.key : undefined;
        if (current && await verifies(current)) {
            return {key: current, source: 'current', userId};
        }
        let history;
        try {
            history = this.deps.history ? await this.deps.history.get(userId) : [];
        } catch {
            throw new ChannelKeyWaitError('the key history of the record\'s signer could not be fetched right now');
        }
        const known = this.deps.trust.knownKeys(userId);
        for (const h of history) {
            if (h.key.idB64 !== current?.idB64 && keyInUseAt(history, h.key.idB64, createdAt) && await verifies(h.key)) {
                return {key: h.key, source: known.has(h.key.idB64) ? 'trusted' : 'server', userId};
            }
        }
        if (!current) {
            throw new EpochKeyError('the key of the epoch\'s creator is not available');
        }
        return {key: current, source: 'current', userId};
    }

    private async senderKey(userId: string): Promise<PublicKey> {
        const entry = await this.deps.directory.get(userId);
        if (entry.status !== 'ok') {
            throw new EpochKeyError('the key of the epoch\'s creator is not available');
        }
        return entry.key;
    }

    /** Decrypts a v3 post with its epoch's key (the caller verified nothing yet). */
    async decrypt(msg: unknown, senderKey: PublicKey, context: MessageContext): Promise<MessagePayload> {
        const m = parseV3(msg);
        const key = await this.openKey(context.channelId, m.epoch);
        return decryptV3(msg, senderKey, key, context);
    }

    /** Wraps the current epoch's key for members the server lists without a copy, and with
     * history sharing on, the keys of past epochs this browser holds (the last 50). */
    private async addJoiners(channelId: string, status: EpochStatusJSON, me: {keys: PrivateKeySet; pub: PublicKey}, userId: string): Promise<void> {
        await this.addJoinersFor(channelId, status, me, userId);
        if (!status.historySharing) {
            return;
        }
        for (let epoch = status.epoch - 1; epoch >= Math.max(1, status.epoch - 50); epoch--) {
            const past = await this.deps.api.epochStatus(channelId, epoch);
            await this.addJoinersFor(channelId, past, me, userId).catch(() => undefined); // epochs we were not in
        }
    }

    private async addJoinersFor(channelId: string, status: EpochStatusJSON, me: {keys: PrivateKeySet; pub: PublicKey}, userId: string): Promise<void> {
        if (status.missing.length === 0) {
            return;
        }
        const res = await this.deps.api.readEpoch(channelId, status.epoch);
        if (res.part < 0 || !res.wraps) {
            return; // only a holder of a record copy adds (joiner copies are not passed on)
        }
        const header: ParsedEpochHeader = parseEpochHeader(res.header);
        const entries = await this.deps.directory.getMany(status.missing.slice(0, 400));
        const joiners: EpochRecipient[] = [];
        for (const id of status.missing.slice(0, 400)) {
            const e = entries.get(id);
            if (e && e.status === 'ok' && this.deps.trust.check(id, e.key.idB64) !== 'changed') {
                joiners.push({userId: id, key: e.key});
            }
        }
        if (!joiners.length || !userId) {
            return;
        }
        const set = await createJoinerWraps({
            header, source: {kind: 'part', index: res.part, wraps: parsePart(res.wraps)}, adder: me.keys, adderPublic: me.pub, adderId: userId,
            creatorPublic: await this.senderKey(header.creatorId), joiners,
        });
        await this.deps.api.addJoiners(channelId, set);
    }
}
