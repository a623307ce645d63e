// The current user's own keys in this browser (the MyKeys the message features use),
// loaded once from storage and cached until the user or the keys change.
import {publicKeyOf} from '../crypto';
import type {PrivateKeySet, PublicKey} from '../crypto/types';
import type {MyKeys} from '../types/my_keys';

import {loadKeys, loadPreviousKeys} from './storage';

type Listener = () => void;

// Every instance reports here too, so other features can listen without holding one.
const globalListeners = new Set<Listener>();

/** Subscribes to changes of the current user's keys (created, imported, replaced, or
 * another user logged in). Returns an unsubscribe. */
export function onMyKeysChange(listener: Listener): () => void {
    globalListeners.add(listener);
    return () => {
        globalListeners.delete(listener);
    };
}

export class MyKeysStore implements MyKeys {
    private userId = '';
    private keys: Promise<PrivateKeySet | null> | null = null;
    private pub: Promise<PublicKey | null> | null = null;
    private previous: Promise<Array<{keys: PrivateKeySet; pub: PublicKey}>> | null = null;
    private listeners = new Set<Listener>();

    constructor(private readonly currentUserId: () => string) {}

    private sync(): string {
        const id = this.currentUserId() || '';
        if (id !== this.userId) {
            const hadUser = this.userId !== '';
            this.userId = id;
            this.keys = null;
            this.pub = null;
            this.previous = null;
            if (hadUser) {
                this.emit();
            }
        }
        return id;
    }

    /** Re-reads the current user id (call on store changes); notifies when it changed. */
    checkUser(): void {
        this.sync();
    }

    get(): Promise<PrivateKeySet | null> {
        const id = this.sync();
        if (!id) {
            return Promise.resolve(null);
        }
        if (!this.keys) {
            const p = loadKeys(id);
            this.keys = p;
            p.catch(() => {
                if (this.keys === p) {
                    this.keys = null; // retry next time
                }
            });
        }
        return this.keys;
    }

    getPublic(): Promise<PublicKey | null> {
        const keys = this.get();
        if (!this.pub) {
            const p = keys.then((k) => (k ? publicKeyOf(k) : null));
            this.pub = p;
            p.catch(() => {
                if (this.pub === p) {
                    this.pub = null;
                }
            });
        }
        return this.pub;
    }

    getPrevious(): Promise<Array<{keys: PrivateKeySet; pub: PublicKey}>> {
        const id = this.sync();
        if (!id) {
            return Promise.resolve([]);
        }
        if (!this.previous) {
            const p = loadPreviousKeys(id).then((list) => Promise.all(list.map(async (k) => ({keys: k.keys, pub: await publicKeyOf(k.keys)}))));
            this.previous = p;
            p.catch(() => {
                if (this.previous === p) {
                    this.previous = null;
                }
            });
        }
        return this.previous;
    }

    onChange(listener: Listener): () => void {
        this.listeners.add(listener);
        return () => {
            this.listeners.delete(listener);
        };
    }

    /** After the keys were stored for `userId` (or deleted: null). */
    set(userId: string, keys: PrivateKeySet | null, pub?: PublicKey): void {
        this.sync();
        if (userId !== this.userId) {
            return;
        }
        this.keys = Promise.resolve(keys);
        this.pub = keys && pub ? Promise.resolve(pub) : null;
        this.previous = null;
        this.emit();
    }

    private emit(): void {
        for (const l of [...this.listeners, ...globalListeners]) {
            try {
                l();
            } catch (err) {
                console.error('e2ee: a key change listener failed', err instanceof Error ? err.name : typeof err); // the error itself could quote anything
            }
        }
    }
}
