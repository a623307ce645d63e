// Trust on first use, in the original plugin's localStorage layout (shared protocol-v1
// "Storage"), so a browser that ran the original keeps what it had accepted.
export type EncryptionMethodName = 'none' | 'p2p';

export type TrustCheck = 'new' | 'same' | 'changed';

const KEY_ID_B64 = /^[A-Za-z0-9+/]{43}=$/; // 32 bytes, standard base64

const pubkeyItem = (userId: string) => `pubkeyID:${userId}`;
const recipientsItem = (channelId: string) => `e2eeChannelRecipients:${channelId}`;
const methodItem = (channelId: string) => `chanEncrMeth:${channelId}`;

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

    accept(userId: string, keyIdB64: string): void {
        if (!KEY_ID_B64.test(keyIdB64)) {
            throw new TypeError('not a base64 key ID');
        }
        if (this.read(pubkeyItem(userId)) === keyIdB64) {
            return;
        }
        this.write(pubkeyItem(userId), keyIdB64);
        for (const listener of [...this.listeners]) {
            listener();
        }
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
        return value === 'none' || value === 'p2p' ? value : null;
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
