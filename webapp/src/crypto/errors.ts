// Typed errors of the crypto core: callers branch on the class (or `code`), never on messages.

export type CryptoErrorCode =
    | 'crypto'
    | 'integrity'
    | 'not_recipient'
    | 'malformed'
    | 'unsupported_version'
    | 'invalid_key'
    | 'backup_format'
    | 'missing_context'
    | 'epoch_key'
    | 'key_server'
    | 'gpg';

export class CryptoError extends Error {
    readonly code: CryptoErrorCode;

    constructor(message: string, code: CryptoErrorCode = 'crypto', options?: {cause?: unknown}) {
        super(message, options);
        this.code = code;
        this.name = new.target.name;
        // Keeps `instanceof` working when compiled to ES5-style classes.
        Object.setPrototypeOf(this, new.target.prototype);
    }
}

/** A signature, AEAD tag or key-wrap check failed, or the message was moved to another context. */
export class IntegrityError extends CryptoError {
    constructor(message = 'message integrity check failed', options?: {cause?: unknown}) {
        super(message, 'integrity', options);
    }
}

/** The message is well formed and authentic but holds no key for us. */
export class NotRecipientError extends CryptoError {
    constructor(message = 'this key is not among the message recipients') {
        super(message, 'not_recipient');
    }
}

/** The input does not have the structure the format requires. */
export class MalformedError extends CryptoError {
    constructor(message: string, options?: {cause?: unknown}) {
        super(message, 'malformed', options);
    }
}

export class UnsupportedVersionError extends CryptoError {
    constructor(message: string) {
        super(message, 'unsupported_version');
    }
}

/** A public or private key that is not a valid P-256 key of the expected form. */
export class InvalidKeyError extends CryptoError {
    constructor(message: string, options?: {cause?: unknown}) {
        super(message, 'invalid_key', options);
    }
}

/** A clear-text private key backup that does not follow the format. */
export class BackupFormatError extends CryptoError {
    constructor(message: string, options?: {cause?: unknown}) {
        super(message, 'backup_format', options);
    }
}

/** A v2 message was verified or decrypted without the context it must be bound to. */
export class MissingContextError extends CryptoError {
    constructor(message = 'a v2 message needs its context (channel, root, user) to be verified') {
        super(message, 'missing_context');
    }
}

/** An HKP key server answered with an error or something unreadable. */
export class KeyServerError extends CryptoError {
    constructor(message: string, options?: {cause?: unknown}) {
        super(message, 'key_server', options);
    }
}

/** OpenPGP could not read a key or encrypt to it. */
export class GPGError extends CryptoError {
    constructor(message: string, options?: {cause?: unknown}) {
        super(message, 'gpg', options);
    }
}

/** v3: the epoch record, or our copy of the channel key in it, is not (yet) available: the reader
 * waits for the channel key; not a failure of the message. */
export class EpochKeyError extends CryptoError {
    constructor(message = 'waiting for the channel key of this epoch') {
        super(message, 'epoch_key');
    }
}
