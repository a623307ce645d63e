// Verifies and decrypts encrypted posts for display and notifications, once per post
// version and key set: results are kept in a bounded LRU and concurrent requests share work.
import type {Post} from '@mattermost/types/posts';

import {epochOf, recipientsOf} from '../crypto';
import type {EncryptedMessageJSON, PrivateKeySet, PublicKey} from '../crypto/types';
import type {HistoryKey, KeyDirectory, KeyHistory, TrustStore, VerifiedStore} from '../directory';
import {EARLIER_KEY_GRACE_MS, keyInUseAt} from '../directory/key_history';
import type {MyKeys} from '../types/my_keys';

import type {ChannelKeyService} from './channel_key';
import {classifyDecryptError, type CryptoOps} from './crypto_ops';
import {LRU} from './lru';

export type DecryptResult =
    | {status: 'ok'; text: string; files?: unknown; version: 1 | 2 | 3; senderId: string; senderKeyId: string; fingerprint: string; createdAt?: number; verified?: boolean}
    // Verified with a key the sender had before her current one: trusted in this browser, or
    // only reported by the server's key history.
    // v3: epochSignerId names whose earlier key signed the epoch's record (or joiner copy).
    | {status: 'earlier-key'; text: string; files?: unknown; version: 1 | 2 | 3; senderId: string; senderKeyId: string; fingerprint: string; createdAt?: number; source: 'trusted' | 'server'; epochSignerId?: string}
    | {status: 'no-key'}
    // Channel-key mode: our copy of the epoch's key is not there (yet), or we were not a member then.
    | {status: 'waiting-key'; reason: string}
    | {status: 'not-member'}
    | {status: 'not-recipient'}
    | {status: 'integrity'}
    | {status: 'malformed'; reason: string}
    | {status: 'unknown-sender-key'; reason: 'none' | 'invalid' | 'unavailable'}
    | {status: 'key-changed'; senderId: string; trustedKeyId: string; newKeyId: string}
    // The sender's key changed after this browser's user verified it (design §11.2): hidden.
    | {status: 'verified-changed'; senderId: string; verifiedKeyId: string; newKeyId: string};

export interface DecryptServiceDeps {
    myKeys: MyKeys;
    directory: KeyDirectory;
    trust: TrustStore;
    ops: CryptoOps;
    /** The server's key history; without it, only keys this browser trusted are tried. */
    history?: KeyHistory;
    /** Channel-key mode (v3 posts); without it they show as unreadable. */
    channelKeys?: ChannelKeyService;
    /** Verified contacts; without it every sender is trusted on first use only. */
    verified?: VerifiedStore;
    capacity?: number;
}

export {EARLIER_KEY_GRACE_MS};
const inUseAt = keyInUseAt;

interface Outcome {
    result: DecryptResult;
    final: boolean; // false: a lookup failed, so ask again next time instead of caching
}

interface Mine {
    keys: PrivateKeySet;
    pub: PublicKey;
    /** Earlier keys of mine kept in this browser (design §11.3), to read what was sent to them. */
    previous: Array<{keys: PrivateKeySet; pub: PublicKey}>;
}

export const DEFAULT_CACHE_SIZE = 1000;

/** What a result depends on: the post version, its context (v2 binds it) and its ciphertext
 * (via the signature), so a post moved or altered under the same id and time is checked again. */
export function postVersion(post: Partial<Post>): string {
    const signature = (post.props?.e2ee as {signature?: unknown} | undefined)?.signature;
    return [post.id, post.edit_at ?? 0, post.update_at ?? 0, post.channel_id, post.root_id || '', post.user_id,
        typeof signature === 'string' ? signature : ''].join('|');
}

/** props.e2ee when it has the shape of a message; the crypto core checks the rest. */
export function encryptedPayloadOf(post: Partial<Post> | null | undefined): EncryptedMessageJSON | null {
    const value = post?.props?.e2ee;
    if (!value || typeof value !== 'object' || Array.isArray(value)) {
        return null;
    }
    return typeof (value as {version?: unknown}).version === 'number' ? value as EncryptedMessageJSON : null;
}

export class DecryptService {
    private readonly results: LRU<string, DecryptResult>;
    private readonly latest: LRU<string, string>; // post version -> results key, for peek()
    private readonly inflight = new Map<string, Promise<Outcome>>();
    private readonly fingerprints = new Map<string, Promise<string>>();
    private readonly archived = new Set<string>(); // userId|keyId already in the trust archive
    private mine: Promise<Mine | null> | null = null;
    private revision = 0;
    private acceptingNew = false;
    // Posts shown as waiting for a channel key, by post version: what they wait for.
    private readonly waiting = new Map<string, {channelId: string; epoch: number}>();
    private readonly listeners = new Set<() => void>();
    private readonly unsubscribers: Array<() => void>;

    constructor(private readonly deps: DecryptServiceDeps) {
        const capacity = deps.capacity ?? DEFAULT_CACHE_SIZE;
        this.results = new LRU(capacity);
        this.latest = new LRU(capacity);
        this.unsubscribers = [
            deps.myKeys.onChange(() => {
                this.mine = null;
                this.results.clear();
                this.latest.clear();
                this.bump();
            }),
            deps.directory.onChange(() => this.bump()),
            // Trusting a first-seen sender's key changes no result shown (none was 'key-changed'
            // for a user with no trusted key): no redraw of every post for it.
            deps.trust.onChange(() => {
                if (!this.acceptingNew) {
                    this.bump();
                }
            }),
            deps.verified?.onChange(() => this.bump()) ?? (() => undefined),
        ];
    }

    /** Changes whenever a result may differ (keys, trust): components re-ask then. */
    getRevision = (): number => this.revision;

    subscribe = (listener: () => void): (() => void) => {
        this.listeners.add(listener);
        return () => {
            this.listeners.delete(listener);
        };
    };

    /** The last result for this post version, without any work. */
    peek(post: Post): DecryptResult | undefined {
        const key = this.latest.get(postVersion(post));
        return key === undefined ? undefined : this.results.get(key);
    }

    /** Never throws: every failure is a result. */
    async decrypt(post: Post): Promise<DecryptResult> {
        try {
            return await this.run(post);
        } catch (err) {
            return {status: 'malformed', reason: err instanceof Error ? err.message : 'unreadable message'};
        }
    }

    /** New copies of a channel key may be on the server (joiner wraps added, or a reconnect):
     * posts waiting for one are asked again. Waiting results are never cached, so a redraw is
     * enough; nothing happens when no post waits. */
    channelKeyArrived(channelId?: string, epoch?: number): void {
        const waiting = [...this.waiting.values()].some((w) => channelId === undefined || (w.channelId === channelId && (epoch === undefined || w.epoch === epoch)));
        if (waiting) {
            this.waiting.clear();
            this.bump();
        }
    }

    /** Other users the server also lists with this sender's key (see KeyDirectory.sharedWith). */
    sharedKeyUsers(senderId: string, keyIdB64: string): string[] {
        return this.deps.directory.sharedWith(senderId, keyIdB64);
    }

    acceptSenderKey(userId: string, keyIdB64: string): void {
        this.deps.trust.accept(userId, keyIdB64);
    }

    /** The trust state of a user's current key for the badge and /e2ee verify. */
    async trustOf(userId: string): Promise<{state: 'verified' | 'changed' | 'tofu'; key: PublicKey} | null> {
        const entry = await this.deps.directory.get(userId).catch(() => null);
        if (!entry || entry.status !== 'ok') {
            return null;
        }
        const state = this.deps.verified ? await this.deps.verified.state(userId, entry.key.idB64) : 'tofu';
        return {state, key: entry.key};
    }

    dispose(): void {
        for (const unsubscribe of this.unsubscribers.splice(0)) {
            unsubscribe();
        }
        this.listeners.clear();
    }

    private bump(): void {
        this.revision++;
        for (const listener of [...this.listeners]) {
            listener();
        }
    }

    private loadMine(): Promise<Mine | null> {
        if (!this.mine) {
            const load = Promise.all([this.deps.myKeys.get(), this.deps.myKeys.getPublic(), this.deps.myKeys.getPrevious?.().catch(() => []) ?? []])
                .then(([keys, pub, previous]) => (keys && pub ? {keys, pub, previous} : null));
            this.mine = load;
            load.catch(() => {
                if (this.mine === load) {
                    this.mine = null;
                }
            });
        }
        return this.mine;
    }

    private fingerprint(key: PublicKey): Promise<string> {
        let fp = this.fingerprints.get(key.idB64);
        if (!fp) {
            fp = Promise.resolve(this.deps.ops.fingerprintOf(key));
            this.fingerprints.set(key.idB64, fp);
        }
        return fp;
    }

    private async run(post: Post): Promise<DecryptResult> {
        const msg = encryptedPayloadOf(post);
        if (!msg || typeof post.user_id !== 'string' || !post.user_id || typeof post.channel_id !== 'string') {
            return {status: 'malformed', reason: 'the post holds no encrypted message'};
        }
        if (msg.version === 3 && this.deps.channelKeys && this.latest.get(postVersion(post)) === undefined) {
            // Not shown yet: fetch and open the epoch's record while the sender's key is fetched.
            const epoch = epochOf(msg);
            if (epoch !== null) {
                this.deps.channelKeys.prefetch(post.channel_id, epoch);
            }
        }
        // The sender's key is fetched while our own keys load from storage, not after.
        const senderEntry = this.deps.directory.get(post.user_id);
        senderEntry.catch(() => undefined);
        const mine = await this.loadMine();
        if (!mine) {
            return {status: 'no-key'};
        }
        let entry;
        try {
            entry = await senderEntry;
        } catch {
            return {status: 'unknown-sender-key', reason: 'unavailable'};
        }
        if (entry.status !== 'ok') {
            return {status: 'unknown-sender-key', reason: entry.status};
        }
        const senderKey = entry.key;
        const mineSender = senderKey.idB64 === mine.pub.idB64;
        const verifyState = this.deps.verified && !mineSender ? await this.deps.verified.state(post.user_id, senderKey.idB64) : 'tofu';
        if (verifyState === 'changed') {
            return this.fromVerifiedKey(msg, post, mine, senderKey);
        }
        let check = this.deps.trust.check(post.user_id, senderKey.idB64);
        const firstSeen = check === 'new';
        if (check === 'changed' && senderKey.idB64 === mine.pub.idB64) {
            check = 'new'; // my own new key (e.g. after /e2ee init --force): this browser holds it
        }
        if (check === 'changed') {
            return {status: 'key-changed', senderId: post.user_id, trustedKeyId: this.deps.trust.trustedKeyId(post.user_id) ?? '', newKeyId: senderKey.idB64};
        }
        if (check === 'new') {
            this.acceptingNew = firstSeen;
            try {
                this.deps.trust.accept(post.user_id, senderKey.idB64, senderKey.json);
            } finally {
                this.acceptingNew = false;
            }
            this.archived.add(`${post.user_id}|${senderKey.idB64}`);
        } else {
            this.archive(post.user_id, senderKey); // trusted before the archive existed
        }

        const version = postVersion(post);
        const key = `${version}|${mine.pub.idB64}|${senderKey.idB64}|${verifyState}`;
        const cached = this.results.get(key);
        if (cached) {
            this.latest.set(version, key);
            return cached;
        }
        let pending = this.inflight.get(key);
        if (!pending) {
            pending = this.verifyAndDecrypt(msg, post, mine, senderKey)
                .then((o) => (o.result.status === 'ok' && verifyState === 'verified' ? {...o, result: {...o.result, verified: true}} : o))
                .finally(() => this.inflight.delete(key));
            this.inflight.set(key, pending);
        }
        const {result, final} = await pending;
        // A key change during the work made this result stale: don't keep it.
        if (final && this.mine && (await this.mine)?.pub.idB64 === mine.pub.idB64) {
            this.results.set(key, result);
            this.latest.set(version, key);
        }
        return result;
    }

    /** The sender's key changed after it was verified: only posts that verify with the verified
     * key (made before the change) are shown; the rest wait for re-verification or an accept. */
    private async fromVerifiedKey(msg: EncryptedMessageJSON, post: Post, mine: Mine, current: PublicKey): Promise<DecryptResult> {
        const verifiedKey = await this.deps.verified!.verifiedKey(post.user_id);
        const alarm: DecryptResult = {status: 'verified-changed', senderId: post.user_id, verifiedKeyId: verifiedKey?.idB64 ?? '', newKeyId: current.idB64};
        if (!verifiedKey) {
            return alarm;
        }
        const r = await this.decryptOnce(msg, post, mine, verifiedKey);
        if (r.status === 'ok') {
            return {...r, status: 'earlier-key', source: 'trusted'};
        }
        return r.status === 'integrity' ? alarm : r;
    }

    private archive(userId: string, key: PublicKey): void {
        const id = `${userId}|${key.idB64}`;
        if (!this.archived.has(id)) {
            this.archived.add(id);
            this.deps.trust.remember(userId, key.idB64, key.json);
        }
    }

    /** With the sender's current key, then, if that fails verification, with an earlier one. */
    private async verifyAndDecrypt(msg: EncryptedMessageJSON, post: Post, mine: Mine, senderKey: PublicKey): Promise<Outcome> {
        if (msg.version === 3) {
            const first = await this.decryptChannelKey(msg, post, senderKey);
            return first.result.status === 'integrity' ? this.channelKeyEarlierSender(msg, post, senderKey, first) : first;
        }
        const result = await this.decryptOnce(msg, post, mine, senderKey);
        if (result.status !== 'integrity') {
            return {result, final: true};
        }
        return this.withEarlierKey(msg, post, mine, senderKey);
    }

    /** Only keys in the message's recipient list can have signed it (senders always encrypt to
     * themselves), so those are the only ones tried: first the ones this browser trusted, then
     * the ones the server's history reports for the time of the post. A key the history shows
     * retired before the post was made does not count, even if trusted here (it may have leaked).
     * Never throws. */
    private async withEarlierKey(msg: EncryptedMessageJSON, post: Post, mine: Mine, current: PublicKey): Promise<Outcome> {
        const integrity: Outcome = {result: {status: 'integrity'}, final: true};
        let candidates: Set<string>;
        try {
            // Not the current key (tried already), nor mine: when I am the sender it is the current one.
            candidates = new Set(recipientsOf(msg).filter((id) => id !== current.idB64 && id !== mine.pub.idB64));
        } catch {
            return integrity;
        }
        if (candidates.size === 0) {
            return integrity;
        }
        const earlier = (r: DecryptResult, source: 'trusted' | 'server', final = true): Outcome =>
            ({result: r.status === 'ok' ? {...r, status: 'earlier-key', source} : r, final});
        let historyLoad: Promise<HistoryKey[] | null> | undefined;
        const loadHistory = () => {
            // null: the server's history could not be fetched right now.
            historyLoad ??= this.deps.history ? this.deps.history.get(post.user_id).catch(() => null) : Promise.resolve([]);
            return historyLoad;
        };

        const known = this.deps.trust.knownKeys(post.user_id);
        const tried = new Set<string>();
        for (const [id, json] of known) {
            if (!json || !candidates.has(id)) {
                continue;
            }
            tried.add(id);
            const key = await this.importChecked(json, id);
            const r = key ? await this.decryptOnce(msg, post, mine, key) : null;
            if (!r || r.status === 'integrity') {
                continue;
            }
            const history = await loadHistory();
            if (history === null) {
                return earlier(r, 'trusted', false); // trusted here; check its dates next time
            }
            if (!history.some((h) => h.key.idB64 === id) || inUseAt(history, id, post.create_at)) {
                return earlier(r, 'trusted');
            }
        }

        if ([...candidates].every((id) => tried.has(id))) {
            return integrity;
        }
        const history = await loadHistory();
        if (history === null) {
            return {...integrity, final: false};
        }
        for (const h of history) {
            const id = h.key.idB64;
            if (!candidates.has(id) || tried.has(id) || !inUseAt(history, id, post.create_at)) {
                continue;
            }
            tried.add(id);
            const r = await this.decryptOnce(msg, post, mine, h.key);
            if (r.status !== 'integrity') {
                // A key whose ID this browser trusted is that very key (the ID is its hash).
                return earlier(r, known.has(id) ? 'trusted' : 'server');
            }
        }
        return integrity;
    }

    /** v3 has no recipient list to narrow the candidates: the sender's keys that the server's
     * history shows in use when the post was made are tried, marked as for v2. */
    private async channelKeyEarlierSender(msg: EncryptedMessageJSON, post: Post, current: PublicKey, failed: Outcome): Promise<Outcome> {
        if (!this.deps.history) {
            return failed;
        }
        let history: HistoryKey[];
        try {
            history = await this.deps.history.get(post.user_id);
        } catch {
            return {...failed, final: false};
        }
        const known = this.deps.trust.knownKeys(post.user_id);
        for (const h of history) {
            const id = h.key.idB64;
            if (id === current.idB64 || !inUseAt(history, id, post.create_at)) {
                continue;
            }
            const o = await this.decryptChannelKey(msg, post, h.key);
            if (o.result.status === 'ok' || o.result.status === 'earlier-key') {
                // The weaker mark wins: a key only the server reports, for the post or its epoch.
                const source = known.has(id) && !(o.result.status === 'earlier-key' && o.result.source === 'server') ? 'trusted' : 'server';
                const r = o.result;
                return {result: {text: r.text, files: r.files, version: 3, senderId: r.senderId, senderKeyId: id, fingerprint: await this.fingerprint(h.key),
                    createdAt: r.createdAt, status: 'earlier-key', source}, final: o.final};
            }
        }
        return failed;
    }

    /** v3: one epoch key per epoch (opened once, cached by the service); waiting states are not
     * final, so the post is tried again when asked next (a copy may arrive). */
    private async decryptChannelKey(msg: EncryptedMessageJSON, post: Post, senderKey: PublicKey): Promise<Outcome> {
        if (!this.deps.channelKeys) {
            return {result: {status: 'malformed', reason: 'channel-key messages are not supported here'}, final: true};
        }
        const context = {channelId: post.channel_id, rootId: post.root_id || '', userId: post.user_id};
        try {
            const payload = await this.deps.channelKeys.decrypt(msg, senderKey, context);
            const ok = {text: payload.text, files: payload.files, version: 3 as const, senderId: post.user_id, senderKeyId: senderKey.idB64,
                fingerprint: await this.fingerprint(senderKey), createdAt: (msg as {createdAt?: number}).createdAt};
            // The epoch's key was vouched for by an earlier key of its signer: marked as v2 posts are.
            const vouch = this.deps.channelKeys.keySource(post.channel_id, (msg as unknown as {epoch: number}).epoch);
            if (vouch && vouch.source !== 'current') {
                return {result: {...ok, status: 'earlier-key', source: vouch.source, epochSignerId: vouch.signerId}, final: true};
            }
            return {result: {...ok, status: 'ok'}, final: true};
        } catch (err) {
            const code = err && typeof err === 'object' && 'code' in err ? (err as {code: unknown}).code : '';
            if (code === 'epoch_key') {
                this.markWaiting(post, msg);
                return {result: {status: 'waiting-key', reason: err instanceof Error ? err.message : 'no copy yet'}, final: false};
            }
            if (code === 'not_recipient') {
                return {result: {status: 'not-member'}, final: true};
            }
            const status = err && typeof err === 'object' && 'status' in err ? (err as {status: unknown}).status : undefined;
            if (status === 403 || status === 404) {
                return {result: {status: 'not-member'}, final: false};
            }
            if (typeof status === 'number') {
                this.markWaiting(post, msg);
                return {result: {status: 'waiting-key', reason: 'the channel key could not be fetched right now'}, final: false};
            }
            const kind = classifyDecryptError(err);
            return {result: kind === 'malformed' ? {status: 'malformed', reason: err instanceof Error ? err.message : 'unreadable'} : {status: kind}, final: true};
        }
    }

    private markWaiting(post: Post, msg: EncryptedMessageJSON): void {
        const version = postVersion(post);
        this.waiting.delete(version);
        if (this.waiting.size >= DEFAULT_CACHE_SIZE) {
            this.waiting.delete(this.waiting.keys().next().value as string); // the oldest
        }
        this.waiting.set(version, {channelId: post.channel_id, epoch: (msg as unknown as {epoch: number}).epoch});
    }

    private async importChecked(json: unknown, idB64: string): Promise<PublicKey | null> {
        try {
            const key = await this.deps.ops.importPublicKey(json as PublicKey['json']);
            return key.idB64 === idB64 ? key : null;
        } catch {
            return null;
        }
    }

    private myEarlierRecipient(msg: EncryptedMessageJSON, mine: Mine): {keys: PrivateKeySet; pub: PublicKey} | undefined {
        if (mine.previous.length === 0) {
            return undefined;
        }
        let ids: Set<string>;
        try {
            ids = new Set(recipientsOf(msg));
        } catch {
            return undefined;
        }
        return mine.previous.find((p) => ids.has(p.pub.idB64));
    }

    private async decryptOnce(msg: EncryptedMessageJSON, post: Post, mine: Mine, senderKey: PublicKey): Promise<DecryptResult> {
        const context = {channelId: post.channel_id, rootId: post.root_id || '', userId: post.user_id};
        try {
            let out;
            try {
                out = await this.deps.ops.decryptMessage(msg, mine.keys, mine.pub, senderKey, context);
            } catch (err) {
                // Verified, but not for my current key: an earlier key of mine may be a recipient.
                const earlier = classifyDecryptError(err) === 'not-recipient' ? this.myEarlierRecipient(msg, mine) : undefined;
                if (!earlier) {
                    throw err;
                }
                out = await this.deps.ops.decryptMessage(msg, earlier.keys, earlier.pub, senderKey, context);
            }
            if (typeof out?.text !== 'string') {
                return {status: 'malformed', reason: 'the message holds no text'};
            }
            return {
                status: 'ok',
                text: out.text,
                files: out.payload?.files, // design §15.4, checked where shown
                version: out.version,
                senderId: post.user_id,
                senderKeyId: senderKey.idB64,
                fingerprint: await this.fingerprint(senderKey),
                createdAt: out.createdAt,
            };
        } catch (err) {
            const kind = classifyDecryptError(err);
            if (kind === 'malformed') {
                return {status: 'malformed', reason: err instanceof Error ? err.message : 'unreadable message'};
            }
            return {status: kind};
        }
    }
}
