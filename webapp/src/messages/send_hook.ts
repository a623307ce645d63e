// MessageWillBePosted: encrypts posts in encrypted channels before they leave the browser,
// and asks for a confirmation before the first plaintext post where this browser last encrypted.
import type {Post} from '@mattermost/types/posts';

import {isEncryptingMethod} from '../client';

import type {TrustStore} from '../directory';
import type {HookResult} from '../types/registry';

import type {ChannelKeyService} from './channel_key';
import {SendRefusedError, type ChannelEncryptor} from './encryptor';
import {encryptedPayloadOf} from './decrypt_service';
import {PLACEHOLDER, encryptedPost, isEncryptedPost, refuseKeyBackup} from './post_shape';
import type {Question} from './confirm';
import type {ChannelMethods, TurnedOff} from './state';
import {entriesForPost, type PendingFiles} from './files';
import {fileEntryToJSON, serverFileIdsOf} from '../crypto/file_entry';

export interface SendHookDeps {
    methods: ChannelMethods;
    encryptor: ChannelEncryptor;
    channelKeys?: ChannelKeyService; // channel-key mode (absent: such channels refuse to send)
    trust: TrustStore;
    currentUserId(): string;
    /** Encrypted attachments (design §15): without it, posts with files are refused. */
    files?: {pending: PendingFiles; nameOf(fileId: string): Promise<string | undefined>};
    /** Asks before a plaintext post in a channel whose encryption was turned off lately. */
    confirm?(question: Question): Promise<boolean>;
    now?(): number;
}

/** How long after encryption was turned off every plaintext post asks first. */
export const RECENT_TURN_OFF_MS = 7 * 24 * 60 * 60 * 1000;
export const PLAINTEXT_NOT_SENT = 'Your message was not sent.';

export const PLAINTEXT_CONFIRM_MESSAGE = 'This channel is no longer encrypted, but you last sent encrypted messages here. ' +
    'Your message was not sent: send it again to post it unencrypted.';

export function createSendHook(deps: SendHookDeps): (post: Post) => Promise<HookResult<{post: Post}>> {
    const confirmedPlaintext = new Set<string>();

    async function methodOf(channelId: string) {
        try {
            return await deps.methods.refresh(channelId, true);
        } catch {
            // Fail closed: a remembered "none" may be a channel encrypted a moment ago (event
            // missed), so only a channel known to be encrypted goes on, and it is encrypted.
            const known = deps.methods.get(channelId);
            if (known && isEncryptingMethod(known)) {
                return known;
            }
            throw new SendRefusedError('unavailable', 'Could not check whether this channel is encrypted. Your message was not sent: try again.');
        }
    }

    return async (post) => {
        if (!post || typeof post.channel_id !== 'string' || !post.channel_id) {
            return undefined;
        }
        const already = isEncryptedPost(post) && post.message === PLACEHOLDER ? encryptedPayloadOf(post) : null;
        if (already) {
            // Already encrypted (e.g. a retry of a failed post): re-shaped so that no other field
            // (props, metadata) can carry text along; its files are the encrypted ones it was
            // built with (the server checks each again).
            return {post: encryptedPost(post, already, Array.isArray(post.file_ids) ? post.file_ids : [])};
        }
        const channelId = post.channel_id;
        try {
            refuseKeyBackup(post.message);
            const method = await methodOf(channelId);
            if (!isEncryptingMethod(method)) {
                const off = deps.methods.turnedOff(channelId);
                if (off && deps.confirm && (deps.now ?? Date.now)() - off.at < RECENT_TURN_OFF_MS) {
                    if (!await deps.confirm(turnedOffQuestion(off))) {
                        return {error: {message: PLAINTEXT_NOT_SENT}};
                    }
                    confirmedPlaintext.delete(channelId);
                    deps.trust.setLastSentMethod(channelId, 'none');
                    return undefined;
                }
                if (isEncryptingMethod(deps.trust.lastSentMethod(channelId)) && !confirmedPlaintext.has(channelId)) {
                    confirmedPlaintext.add(channelId);
                    return {error: {message: PLAINTEXT_CONFIRM_MESSAGE}};
                }
                confirmedPlaintext.delete(channelId);
                deps.trust.setLastSentMethod(channelId, 'none');
                return undefined;
            }
            confirmedPlaintext.delete(channelId);
            let extra: Record<string, unknown> = {};
            let fileIds: string[] = [];
            if (deps.files && deps.files.pending.inProgress()) {
                await entriesForPost([], deps.files.pending, deps.files.nameOf); // refuses: uploads still running
            }
            if (post.file_ids && post.file_ids.length) {
                if (!deps.files) {
                    throw new SendRefusedError('files', 'Files cannot be sent in an encrypted channel: they would not be encrypted. Remove the attachments and send again.');
                }
                const entries = await entriesForPost(post.file_ids, deps.files.pending, deps.files.nameOf);
                extra = {files: entries.map(fileEntryToJSON)};
                fileIds = serverFileIdsOf(entries);
            }
            const userId = deps.currentUserId();
            const context = {channelId, rootId: post.root_id || '', userId};
            if (method === 'channel' && !deps.channelKeys) {
                throw new SendRefusedError('unavailable', 'This channel uses channel-key encryption, which this page cannot write yet. Your message was not sent.');
            }
            const message = method === 'channel' ?
                await deps.channelKeys!.encrypt(post.message ?? '', context, extra) as unknown as Record<string, unknown> & {version: number} :
                await deps.encryptor.encrypt(post.message ?? '', context, extra);
            deps.trust.setLastSentMethod(channelId, method);
            return {post: encryptedPost(post, message, fileIds)};
        } catch (err) {
            if (err instanceof SendRefusedError) {
                return {error: {message: err.message}};
            }
            console.error('e2ee: encryption failed', err instanceof Error ? err.name : '');
            return {error: {message: 'The message could not be encrypted, so it was not sent.'}};
        }
    };
}

function turnedOffQuestion(off: TurnedOff): Question {
    const who = off.username ? `@${off.username}` : 'A member';
    const when = new Date(off.at).toLocaleString();
    return {
        title: 'Send unencrypted?',
        text: `${who} turned off end-to-end encryption in this channel (${when}). Your message will be sent unencrypted: the server and its administrators can read it.`,
        confirmLabel: 'Send unencrypted',
    };
}
