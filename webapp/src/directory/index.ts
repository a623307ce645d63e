// Public key directory (server-published keys and their history) and the TOFU trust store.
export {KeyDirectory} from './key_directory';
export type {DirectoryEntry, KeyDirectoryDeps} from './key_directory';
export {KeyHistory} from './key_history';
export type {HistoryKey, KeyHistoryDeps} from './key_history';
export {TrustStore} from './trust_store';
export type {TrustCheck, EncryptionMethodName} from './trust_store';
export {VerifiedStore} from './verified_store';
export type {VerifiedRecord, VerifyState} from './verified_store';
