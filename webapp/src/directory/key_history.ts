// Every key a user registered, as the server reports it (POST /pubkey/history): fetched in
// batches, imported and validated, kept a short while. Used only to verify posts signed before
// a key change; the server's word is never trusted beyond "this key signed this post".
import type {KeyHistoryEntryJSON} from '../client';
import type {PublicKey, PublicKeyJSON} from '../crypto/types';

import {BatchedCache} from './batched_cache';

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
    private readonly histories: BatchedCache<KeyHistoryEntryJSON[], HistoryKey[]>;

    constructor(private readonly deps: KeyHistoryDeps) {
        this.histories = new BatchedCache({
            fetch: deps.fetchHistory,
            convert: (list) => this.importList(list),
            missing: [],
            what: 'key history',
            ttlMs: deps.ttlMs ?? DEFAULT_TTL_MS,
            now: deps.now,
        });
    }

    /** A user's keys, oldest first; invalid entries are dropped. Concurrent calls share one request. */
    get(userId: string): Promise<HistoryKey[]> {
        return this.histories.get(userId);
    }

    /** Forget one user's history (newPubkey event) or all (reconnect). */
    invalidate(userId?: string): void {
        this.histories.invalidate(userId);
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

/** A post may reach the server a little after its sender changed keys (sent while the change
 * was under way): an earlier key is still accepted this long after it was replaced. */
export const EARLIER_KEY_GRACE_MS = 5 * 60_000;

/** Whether the history lets this key have signed something made at `createdAt`: from its
 * registration until the next key's, give or take the grace. */
export function keyInUseAt(history: HistoryKey[], keyId: string, createdAt: number | undefined): boolean {
    if (typeof createdAt !== 'number' || !Number.isFinite(createdAt)) {
        return false;
    }
    return history.some((h) => h.key.idB64 === keyId && createdAt >= h.since - EARLIER_KEY_GRACE_MS &&
        (h.until === null || createdAt <= h.until + EARLIER_KEY_GRACE_MS));
}
