// Trust on first use, in the original plugin's localStorage layout (shared protocol-v1
// "Storage"), so a browser that ran the original keeps what it had accepted. On top of it, an
// archive of the key JSONs this browser trusted, to verify posts signed before a key change.
import type {PublicKeyJSON} from '../crypto/types';

export type EncryptionMethodName = 'none' | 'p2p' | 'channel';

export type TrustCheck = 'new' | 'same' | 'changed';

const KEY_ID_B64 = /^[A-Za-z0-9+/]{43}=$/; // 32 bytes, standard base64

const pubkeyItem = (userId: string) => `pubkeyID:${userId}`;
const recipientsItem = (channelId: string) => `e2eeChannelRecipients:${channelId}`;
const methodItem = (channelId: string) => `chanEncrMeth:${channelId}`;
const knownKeysItem = (userId: string) => `e2eeKnownKeys:${userId}`;

/** Earlier keys kept per user; the oldest go first. */
export const MAX_KNOWN_KEYS = 20;

/** pubkey null: only the ID is known (trusted before the archive kept key JSONs). */
interface KnownKey {
    id: string;
    pubkey: PublicKeyJSON | null;
}

export class TrustStore {
    private readonly listeners = new Set<() => void>();

    constructor(private readonly storage: Storage) {}

    /** Key ID (base64) this browser last accepted for the user, or null. */
    trustedKeyId(userId: string): string | null {
        const value = this.read(pubkeyItem(userId));
        return value !== null && KEY_ID_B64.test(value) ? value : null;
    }

    check(userId: string, keyIdB64: string): TrustCheck {
        const trusted = this.trustedKeyId(userId);
        if (trusted === null) {
            return 'new';
        }
        return trusted === keyIdB64 ? 'same' : 'changed';
    }

    /** Trusts this key for the user from now on; with its JSON, also archives it (remember). */
    accept(userId: string, keyIdB64: string, json?: PublicKeyJSON): void {
        if (!KEY_ID_B64.test(keyIdB64)) {
            throw new TypeError('not a base64 key ID');
        }
        const previous = this.trustedKeyId(userId);
        if (previous !== null && previous !== keyIdB64) {
            this.remember(userId, previous, null); // still trusted for what it signed
        }
        if (json) {
            this.remember(userId, keyIdB64, json);
        }
        if (previous === keyIdB64) {
            return;
        }
        this.write(pubkeyItem(userId), keyIdB64);
        for (const listener of [...this.listeners]) {
            listener();
        }
    }

    /** Keys this browser trusted for the user, by key ID, oldest first (null: ID only). The caller
     * checks that a JSON hashes to its ID before relying on it. */
    knownKeys(userId: string): Map<string, PublicKeyJSON | null> {
        return new Map(this.readKnown(userId).map((k) => [k.id, k.pubkey]));
    }

    /** Archives a key this browser trusts (idempotent; a JSON completes an ID-only entry;
     * keeps the last MAX_KNOWN_KEYS). */
    remember(userId: string, keyIdB64: string, json: PublicKeyJSON | null): void {
        if (!KEY_ID_B64.test(keyIdB64) || (json !== null && (typeof json?.sign !== 'string' || typeof json?.encr !== 'string'))) {
            throw new TypeError('not a key ID and public key JSON');
        }
        const list = this.readKnown(userId);
        const existing = list.find((k) => k.id === keyIdB64);
        if (existing && (existing.pubkey || !json)) {
            return;
        }
        const pubkey = json ? {sign: json.sign, encr: json.encr} : null;
        if (existing) {
            existing.pubkey = pubkey;
        } else {
            list.push({id: keyIdB64, pubkey});
        }
        this.write(knownKeysItem(userId), JSON.stringify(list.slice(-MAX_KNOWN_KEYS)));
    }

    /** Key IDs last encrypted for in the channel, or null when never. */
    channelRecipients(channelId: string): string[] | null {
        const value = this.read(recipientsItem(channelId));
        if (value === null) {
            return null;
        }
        try {
            const parsed: unknown = JSON.parse(value);
            return Array.isArray(parsed) ? parsed.filter((x): x is string => typeof x === 'string') : null;
        } catch {
            return null;
        }
    }

    setChannelRecipients(channelId: string, keyIds: string[]): void {
        this.write(recipientsItem(channelId), JSON.stringify(keyIds));
    }

    lastSentMethod(channelId: string): EncryptionMethodName | null {
        const value = this.read(methodItem(channelId));
        return value === 'none' || value === 'p2p' || value === 'channel' ? value : null;
    }

    setLastSentMethod(channelId: string, method: EncryptionMethodName): void {
        this.write(methodItem(channelId), method);
    }

    onChange(listener: () => void): () => void {
        this.listeners.add(listener);
        return () => {
            this.listeners.delete(listener);
        };
    }

    private readKnown(userId: string): KnownKey[] {
        const value = this.read(knownKeysItem(userId));
        if (value === null) {
            return [];
        }
        try {
            const parsed: unknown = JSON.parse(value);
            if (!Array.isArray(parsed)) {
                return [];
            }
            return parsed.filter((k): k is KnownKey => Boolean(k) && typeof k === 'object' && typeof k.id === 'string' && KEY_ID_B64.test(k.id) &&
                (k.pubkey === null || (Boolean(k.pubkey) && typeof k.pubkey.sign === 'string' && typeof k.pubkey.encr === 'string')));
        } catch {
            return [];
        }
    }

    // localStorage throws when disabled or full: behave as an empty store rather than break posting.
    private read(item: string): string | null {
        try {
            return this.storage.getItem(item);
        } catch {
            return null;
        }
    }

    private write(item: string, value: string): void {
        try {
            this.storage.setItem(item, value);
        } catch (err) {
            console.warn('e2ee: could not write to localStorage', err instanceof Error ? err.name : '');
        }
    }
}
