// Public API of the crypto core (plain TypeScript over WebCrypto; no Mattermost imports).
export * from './types';
export * from './errors';
export {generateKeys, importPublicKey, publicKeyOf, publicKeyToJSON, keyIdOf, keyIdToBase64, fingerprintOf} from './keys';
export {
    exportBackup, importBackup, importBackupSet, importBackupEntry, parseBackupEntries, exportBackupSet, combineBackups, backupEntryKeyId, containsBackup,
    BACKUP_BEGIN, BACKUP_END, BACKUP_SET_BEGIN, BACKUP_SET_END, BACKUP_MARKER, MAX_BACKUP_KEYS, type BackupEntry,
} from './backup';
export {signPushProof, pushProofMessage, PUSH_PROOF_LABEL} from './push_proof';
export {
    encryptV1,
    encryptV2,
    encryptMessage,
    decryptMessage,
    verifyMessage,
    parseMessage,
    recipientsOf,
    type EncryptOptions,
    type MessageFormat,
} from './p2p';
export type {ParsedMessage, ParsedV1, ParsedV2, WrappedKeyEntry} from './message';
export {encryptBackupToGPG, readGPGKeyInfo, type GPGKeyInfo} from './gpg';
export {hkpIndex, hkpGet, hkpBaseURL, parseHKPIndex, type HKPKey, type FetchLike} from './hkp';
export {
    PART_MAX,
    createEpochRecord,
    createJoinerWraps,
    headerOf,
    openEpochKey,
    openEpochKeyFromRecord,
    parseEpochHeader,
    parseEpochRecord,
    parseJoinerWraps,
    parsePart,
    verifyEpochHeader,
    type EpochHeaderJSON,
    type EpochKey,
    type EpochRecipient,
    type EpochRecordJSON,
    type JoinerWrapsJSON,
    type ParsedEpochHeader,
    type ParsedEpochRecord,
    type ParsedJoinerWraps,
    type Wrap,
    type WrapJSON,
    type WrapSource,
} from './epoch';
export {decryptV3, encryptV3, epochOf, parseV3, verifyV3, type MessageV3JSON, type ParsedV3} from './v3';
export {safetyNumberOf, safetyDigits, combineSafetyDigits, formatSafetyNumber, SAFETY_ROUNDS, type SafetyParty} from './safety';
