// Public key directory (server-published keys) and the TOFU trust store.
export {KeyDirectory} from './key_directory';
export type {DirectoryEntry, KeyDirectoryDeps} from './key_directory';
export {TrustStore} from './trust_store';
export type {TrustCheck, EncryptionMethodName} from './trust_store';
