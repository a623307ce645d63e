// Verifies and decrypts encrypted posts for display and notifications, once per post
// version and key set: results are kept in a bounded LRU and concurrent requests share work.
import type {Post} from '@mattermost/types/posts';

import type {EncryptedMessageJSON, PrivateKeySet, PublicKey} from '../crypto/types';
import type {KeyDirectory, TrustStore} from '../directory';
import type {MyKeys} from '../types/my_keys';

import {classifyDecryptError, type CryptoOps} from './crypto_ops';
import {LRU} from './lru';

export type DecryptResult =
    | {status: 'ok'; text: string; version: 1 | 2; senderId: string; senderKeyId: string; fingerprint: string; createdAt?: number}
    | {status: 'no-key'}
    | {status: 'not-recipient'}
    | {status: 'integrity'}
    | {status: 'malformed'; reason: string}
    | {status: 'unknown-sender-key'; reason: 'none' | 'invalid' | 'unavailable'}
    | {status: 'key-changed'; senderId: string; trustedKeyId: string; newKeyId: string};

export interface DecryptServiceDeps {
    myKeys: MyKeys;
    directory: KeyDirectory;
    trust: TrustStore;
    ops: CryptoOps;
    capacity?: number;
}

interface Mine {
    keys: PrivateKeySet;
    pub: PublicKey;
}

export const DEFAULT_CACHE_SIZE = 1000;

function postVersion(post: Post): string {
    return `${post.id}|${post.edit_at ?? 0}|${post.update_at ?? 0}`;
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
    private readonly inflight = new Map<string, Promise<DecryptResult>>();
    private readonly fingerprints = new Map<string, Promise<string>>();
    private mine: Promise<Mine | null> | null = null;
    private revision = 0;
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
            deps.trust.onChange(() => this.bump()),
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

    acceptSenderKey(userId: string, keyIdB64: string): void {
        this.deps.trust.accept(userId, keyIdB64);
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
            const load = Promise.all([this.deps.myKeys.get(), this.deps.myKeys.getPublic()])
                .then(([keys, pub]) => (keys && pub ? {keys, pub} : null));
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
        const mine = await this.loadMine();
        if (!mine) {
            return {status: 'no-key'};
        }
        let entry;
        try {
            entry = await this.deps.directory.get(post.user_id);
        } catch {
            return {status: 'unknown-sender-key', reason: 'unavailable'};
        }
        if (entry.status !== 'ok') {
            return {status: 'unknown-sender-key', reason: entry.status};
        }
        const senderKey = entry.key;
        let check = this.deps.trust.check(post.user_id, senderKey.idB64);
        if (check === 'changed' && senderKey.idB64 === mine.pub.idB64) {
            check = 'new'; // my own new key (e.g. after /e2ee init --force): this browser holds it
        }
        if (check === 'changed') {
            return {status: 'key-changed', senderId: post.user_id, trustedKeyId: this.deps.trust.trustedKeyId(post.user_id) ?? '', newKeyId: senderKey.idB64};
        }
        if (check === 'new') {
            this.deps.trust.accept(post.user_id, senderKey.idB64);
        }

        const version = postVersion(post);
        const key = `${version}|${mine.pub.idB64}|${senderKey.idB64}`;
        const cached = this.results.get(key);
        if (cached) {
            this.latest.set(version, key);
            return cached;
        }
        let pending = this.inflight.get(key);
        if (!pending) {
            pending = this.decryptOnce(msg, post, mine, senderKey).finally(() => this.inflight.delete(key));
            this.inflight.set(key, pending);
        }
        const result = await pending;
        // A key change during the work made this result stale: don't keep it.
        if (this.mine && (await this.mine)?.pub.idB64 === mine.pub.idB64) {
            this.results.set(key, result);
            this.latest.set(version, key);
        }
        return result;
    }

    private async decryptOnce(msg: EncryptedMessageJSON, post: Post, mine: Mine, senderKey: PublicKey): Promise<DecryptResult> {
        const context = {channelId: post.channel_id, rootId: post.root_id || '', userId: post.user_id};
        try {
            const out = await this.deps.ops.decryptMessage(msg, mine.keys, mine.pub, senderKey, context);
            if (typeof out?.text !== 'string') {
                return {status: 'malformed', reason: 'the message holds no text'};
            }
            return {
                status: 'ok',
                text: out.text,
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
