import type {PrivateKeySet, PublicKey} from '../crypto/types';

/** The current user's own keys, as the key features (src/keys) provide them to the
 * message features (src/messages). */
export interface MyKeys {
    /** This browser's private keys for the current user, or null when none are set up here. */
    get(): Promise<PrivateKeySet | null>;
    /** The public half of get(), imported and with its key ID. */
    getPublic(): Promise<PublicKey | null>;
    /** Earlier keys of the current user kept in this browser (design §11.3), newest first:
     * only to decrypt what was encrypted to them. */
    getPrevious?(): Promise<Array<{keys: PrivateKeySet; pub: PublicKey}>>;
    /** Called after the user's keys were created, imported or replaced. Returns an unsubscribe. */
    onChange(listener: () => void): () => void;
}
