// Verified contacts (docs/design.md §11.2): per viewer and contact, the key ID the viewer
// verified by comparing safety numbers, with that key's JSON. Kept in this browser only.
import type {PublicKey, PublicKeyJSON} from '../crypto/types';

export type VerifyState = 'verified' | 'changed' | 'tofu';

export interface VerifiedRecord {
    keyId: string;
    pubkey: PublicKeyJSON;
    verifiedAt: number;
}

const KEY_ID_B64 = /^[A-Za-z0-9+/]{43}=$/;

export class VerifiedStore {
    private readonly listeners = new Set<() => void>();
    // Record text -> its key once checked to hash to keyId (null: it does not).
    private readonly checked = new Map<string, Promise<PublicKey | null>>();

    constructor(
        private readonly storage: Storage,
        private readonly viewer: () => string,
        private readonly importKey: (json: PublicKeyJSON) => Promise<PublicKey>,
    ) {}

    private item(userId: string): string {
        return `e2eeVerified:${this.viewer()}:${userId}`;
    }

    private raw(userId: string): string | null {
        if (!this.viewer() || !userId) {
            return null;
        }
        try {
            return this.storage.getItem(this.item(userId));
        } catch {
            return null;
        }
    }

    /** The stored record when well formed (its key is checked by verifiedKey). */
    record(userId: string): VerifiedRecord | null {
        const raw = this.raw(userId);
        if (raw === null) {
            return null;
        }
        try {
            const o = JSON.parse(raw) as Partial<VerifiedRecord>;
            if (o && typeof o.keyId === 'string' && KEY_ID_B64.test(o.keyId) && o.pubkey && typeof o.pubkey.sign === 'string' &&
                typeof o.pubkey.encr === 'string' && typeof o.verifiedAt === 'number') {
                return {keyId: o.keyId, pubkey: {sign: o.pubkey.sign, encr: o.pubkey.encr}, verifiedAt: o.verifiedAt};
            }
        } catch {
            // not JSON: not verified
        }
        return null;
    }

    /** The verified key, only if the record's JSON hashes to its key ID. */
    verifiedKey(userId: string): Promise<PublicKey | null> {
        const raw = this.raw(userId);
        const rec = this.record(userId);
        if (raw === null || rec === null) {
            return Promise.resolve(null);
        }
        let p = this.checked.get(raw);
        if (!p) {
            p = this.importKey(rec.pubkey).then((k) => (k.idB64 === rec.keyId ? k : null), () => null);
            this.checked.set(raw, p);
        }
        return p;
    }

    async state(userId: string, currentKeyId: string): Promise<VerifyState> {
        const key = await this.verifiedKey(userId);
        if (!key) {
            return 'tofu';
        }
        return key.idB64 === currentKeyId ? 'verified' : 'changed';
    }

    mark(userId: string, key: PublicKey, now = Date.now()): void {
        const value: VerifiedRecord = {keyId: key.idB64, pubkey: {sign: key.json.sign, encr: key.json.encr}, verifiedAt: now};
        this.write(userId, JSON.stringify(value));
    }

    unmark(userId: string): void {
        this.write(userId, null);
    }

    onChange(listener: () => void): () => void {
        this.listeners.add(listener);
        return () => {
            this.listeners.delete(listener);
        };
    }

    private write(userId: string, value: string | null): void {
        if (!this.viewer() || !userId) {
            return;
        }
        try {
            if (value === null) {
                this.storage.removeItem(this.item(userId));
            } else {
                this.storage.setItem(this.item(userId), value);
            }
        } catch (err) {
            console.warn('e2ee: could not write to localStorage', err instanceof Error ? err.name : '');
        }
        for (const l of [...this.listeners]) {
            l();
        }
    }
}
