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
    // Which users the server gave each key ID (as last fetched): two users with one key could
    // pass off each other's v1 messages, so the UI warns (docs/design.md §4.1).
    private readonly usersOfKey = new Map<string, Set<string>>();
    private readonly keyOfUser = new Map<string, string>();

    constructor(private readonly deps: KeyDirectoryDeps) {
        this.keys = new BatchedCache({
            fetch: deps.fetchKeys,
            convert: (json, userId) => this.importEntry(json, userId),
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

    /** Other users whose fetched key has this key ID (empty when none). */
    sharedWith(userId: string, keyIdB64: string): string[] {
        return [...(this.usersOfKey.get(keyIdB64) ?? [])].filter((id) => id !== userId);
    }

    private record(userId: string, keyIdB64: string | null): void {
        const previous = this.keyOfUser.get(userId);
        if (previous === keyIdB64) {
            return;
        }
        if (previous !== undefined) {
            this.usersOfKey.get(previous)?.delete(userId);
            this.keyOfUser.delete(userId);
        }
        if (keyIdB64 === null) {
            return;
        }
        this.keyOfUser.set(userId, keyIdB64);
        const users = this.usersOfKey.get(keyIdB64) ?? new Set<string>();
        users.add(userId);
        this.usersOfKey.set(keyIdB64, users);
        if (users.size > 1) {
            // Posts already shown from the other users must show the warning too.
            setTimeout(() => {
                for (const listener of [...this.listeners]) {
                    listener();
                }
            }, 0);
        }
    }

    onChange(listener: (userId?: string) => void): () => void {
        this.listeners.add(listener);
        return () => {
            this.listeners.delete(listener);
        };
    }

    private async importEntry(json: PublicKeyJSON | null | undefined, userId: string): Promise<DirectoryEntry> {
        if (json === null || json === undefined) {
            this.record(userId, null);
            return {status: 'none'};
        }
        try {
            const key = await this.deps.importKey(json);
            this.record(userId, key.idB64);
            return {status: 'ok', key};
        } catch (err) {
            this.record(userId, null);
            return {status: 'invalid', error: err instanceof Error ? err.message : String(err)};
        }
    }
}
