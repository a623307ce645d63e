// Every key a user registered, as the server reports it (POST /pubkey/history): fetched in
// batches, imported and validated, kept a short while. Used only to verify posts signed before
// a key change; the server's word is never trusted beyond "this key signed this post".
import type {KeyHistoryEntryJSON} from '../client';
import type {PublicKey, PublicKeyJSON} from '../crypto/types';

/** One registration of a key: from `since` until `until` (when the next key came; null: still
 * the latest). Times are server ms; since 0 means "before the history was kept". */
export interface HistoryKey {
    key: PublicKey;
    since: number;
    until: number | null;
}

export interface KeyHistoryDeps {
    fetchHistory(userIds: string[]): Promise<Record<string, KeyHistoryEntryJSON[]>>;
    importKey(json: PublicKeyJSON): Promise<PublicKey>;
    now?: () => number;
    ttlMs?: number;
}

const DEFAULT_TTL_MS = 5 * 60_000;

export class KeyHistory {
    private readonly cache = new Map<string, {at: number; entry: Promise<HistoryKey[]>}>();
    private queue: Map<string, {resolve: (e: HistoryKey[]) => void; reject: (err: unknown) => void}> | null = null;
    private readonly ttl: number;
    private readonly now: () => number;

    constructor(private readonly deps: KeyHistoryDeps) {
        this.ttl = deps.ttlMs ?? DEFAULT_TTL_MS;
        this.now = deps.now ?? Date.now;
    }

    /** A user's keys, oldest first; invalid entries are dropped. Concurrent calls share one request. */
    get(userId: string): Promise<HistoryKey[]> {
        const slot = this.cache.get(userId);
        if (slot && this.now() - slot.at < this.ttl) {
            return slot.entry;
        }
        const entry = new Promise<HistoryKey[]>((resolve, reject) => {
            if (!this.queue) {
                this.queue = new Map();
                setTimeout(() => this.flush(), 0);
            }
            this.queue.set(userId, {resolve, reject});
        });
        this.cache.set(userId, {at: this.now(), entry});
        entry.catch(() => {
            if (this.cache.get(userId)?.entry === entry) {
                this.cache.delete(userId); // a failed request must not stay cached
            }
        });
        return entry;
    }

    /** Forget one user's history (newPubkey event) or all (reconnect). */
    invalidate(userId?: string): void {
        if (userId === undefined) {
            this.cache.clear();
        } else {
            this.cache.delete(userId);
        }
    }

    private async flush(): Promise<void> {
        const batch = this.queue;
        this.queue = null;
        if (!batch || batch.size === 0) {
            return;
        }
        let fetched: Record<string, KeyHistoryEntryJSON[]>;
        try {
            fetched = await this.deps.fetchHistory([...batch.keys()]);
            if (!fetched || typeof fetched !== 'object') {
                throw new Error('the server answered no key history');
            }
        } catch (err) {
            for (const waiter of batch.values()) {
                waiter.reject(err);
            }
            return;
        }
        await Promise.all([...batch.entries()].map(async ([userId, waiter]) => {
            const list = Object.prototype.hasOwnProperty.call(fetched, userId) ? fetched[userId] : [];
            waiter.resolve(await this.importList(list));
        }));
    }

    private async importList(list: unknown): Promise<HistoryKey[]> {
        if (!Array.isArray(list)) {
            return [];
        }
        const valid = list.filter((e): e is KeyHistoryEntryJSON => Boolean(e) && typeof e === 'object' &&
            typeof e.since === 'number' && Number.isFinite(e.since) && Boolean(e.pubkey) && typeof e.pubkey === 'object');
        valid.sort((a, b) => a.since - b.since);
        const imported = await Promise.all(valid.map(async (e, i): Promise<HistoryKey | null> => {
            try {
                return {key: await this.deps.importKey(e.pubkey), since: e.since, until: i + 1 < valid.length ? valid[i + 1].since : null};
            } catch {
                return null; // not a valid key: ignore the entry (its successor still ends its time)
            }
        }));
        return imported.filter((e): e is HistoryKey => e !== null);
    }
}
