// Other users' public keys as the server publishes them: fetched in batches, imported and
// validated, kept a short while (the server tells us of changes through newPubkey events).
import type {PublicKey, PublicKeyJSON} from '../crypto/types';

import {BatchedCache} from './batched_cache';

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

const DEFAULT_TTL_MS = 60_000;

export class KeyDirectory {
    private readonly keys: BatchedCache<PublicKeyJSON | null, DirectoryEntry>;
    private readonly listeners = new Set<(userId?: string) => void>();

    constructor(private readonly deps: KeyDirectoryDeps) {
        this.keys = new BatchedCache({
            fetch: deps.fetchKeys,
            convert: (json) => this.importEntry(json),
            missing: null,
            what: 'key list',
            ttlMs: deps.ttlMs ?? DEFAULT_TTL_MS,
            now: deps.now,
        });
    }

    /** One user's key. Concurrent calls are batched into one request and share it. */
    get(userId: string): Promise<DirectoryEntry> {
        return this.keys.get(userId);
    }

    async getMany(userIds: string[]): Promise<Map<string, DirectoryEntry>> {
        const unique = [...new Set(userIds)];
        const entries = await Promise.all(unique.map((id) => this.get(id)));
        return new Map(unique.map((id, i) => [id, entries[i]]));
    }

    /** Forget one user's key (newPubkey event) or all (reconnect). */
    invalidate(userId?: string): void {
        this.keys.invalidate(userId);
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
