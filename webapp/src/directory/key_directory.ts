// Other users' public keys as the server publishes them: fetched in batches, imported and
// validated, kept a short while (the server tells us of changes through newPubkey events).
import type {PublicKey, PublicKeyJSON} from '../crypto/types';

export type DirectoryEntry =
    | {status: 'ok'; key: PublicKey}
    | {status: 'none'} // the user has published no key
    | {status: 'invalid'; error: string}; // the server holds something that is not a valid key

export interface KeyDirectoryDeps {
    fetchKeys(userIds: string[]): Promise<Record<string, PublicKeyJSON | null>>;
    importKey(json: PublicKeyJSON): Promise<PublicKey>;
    now?: () => number;
    ttlMs?: number;
}

interface CacheSlot {
    at: number;
    entry: Promise<DirectoryEntry>;
}

const DEFAULT_TTL_MS = 60_000;

export class KeyDirectory {
    private readonly cache = new Map<string, CacheSlot>();
    private readonly listeners = new Set<(userId?: string) => void>();
    private queue: Map<string, {resolve: (e: DirectoryEntry) => void; reject: (err: unknown) => void}> | null = null;
    private readonly ttl: number;
    private readonly now: () => number;

    constructor(private readonly deps: KeyDirectoryDeps) {
        this.ttl = deps.ttlMs ?? DEFAULT_TTL_MS;
        this.now = deps.now ?? Date.now;
    }

    /** One user's key. Concurrent calls are batched into one request and share it. */
    get(userId: string): Promise<DirectoryEntry> {
        const slot = this.cache.get(userId);
        if (slot && this.now() - slot.at < this.ttl) {
            return slot.entry;
        }
        const entry = new Promise<DirectoryEntry>((resolve, reject) => {
            if (!this.queue) {
                this.queue = new Map();
                // Flush after the current burst of calls (e.g. a channel's posts rendering).
                setTimeout(() => this.flush(), 0);
            }
            this.queue.set(userId, {resolve, reject});
        });
        this.cache.set(userId, {at: this.now(), entry});
        // A failed request must not stay cached.
        entry.catch(() => {
            if (this.cache.get(userId)?.entry === entry) {
                this.cache.delete(userId);
            }
        });
        return entry;
    }

    async getMany(userIds: string[]): Promise<Map<string, DirectoryEntry>> {
        const unique = [...new Set(userIds)];
        const entries = await Promise.all(unique.map((id) => this.get(id)));
        return new Map(unique.map((id, i) => [id, entries[i]]));
    }

    /** Forget one user's key (newPubkey event) or all (reconnect). */
    invalidate(userId?: string): void {
        if (userId === undefined) {
            this.cache.clear();
        } else {
            this.cache.delete(userId);
        }
        for (const listener of [...this.listeners]) {
            listener(userId);
        }
    }

    onChange(listener: (userId?: string) => void): () => void {
        this.listeners.add(listener);
        return () => {
            this.listeners.delete(listener);
        };
    }

    private async flush(): Promise<void> {
        const batch = this.queue;
        this.queue = null;
        if (!batch || batch.size === 0) {
            return;
        }
        let fetched: Record<string, PublicKeyJSON | null>;
        try {
            fetched = await this.deps.fetchKeys([...batch.keys()]);
            if (!fetched || typeof fetched !== 'object') {
                throw new Error('the server answered no key list');
            }
        } catch (err) {
            for (const waiter of batch.values()) {
                waiter.reject(err);
            }
            return;
        }
        await Promise.all([...batch.entries()].map(async ([userId, waiter]) => {
            waiter.resolve(await this.importEntry(Object.prototype.hasOwnProperty.call(fetched, userId) ? fetched[userId] : null));
        }));
    }

    private async importEntry(json: PublicKeyJSON | null | undefined): Promise<DirectoryEntry> {
        if (json === null || json === undefined) {
            return {status: 'none'};
        }
        try {
            return {status: 'ok', key: await this.deps.importKey(json)};
        } catch (err) {
            return {status: 'invalid', error: err instanceof Error ? err.message : String(err)};
        }
    }
}
