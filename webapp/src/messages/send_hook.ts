// MessageWillBePosted: encrypts posts in encrypted channels before they leave the browser,
// and asks for a confirmation before the first plaintext post where this browser last encrypted.
import type {Post} from '@mattermost/types/posts';

import type {TrustStore} from '../directory';
import type {HookResult, SlashCommandArgs} from '../types/registry';

import {SendRefusedError, type ChannelEncryptor} from './encryptor';
import {encryptedPayloadOf} from './decrypt_service';
import {PLACEHOLDER, encryptedPost, isEncryptedPost, refuseKeyBackup} from './post_shape';
import type {ChannelMethods} from './state';
import {entriesForPost, type PendingFiles} from './files';
import {fileEntryToJSON, serverFileIdsOf} from '../crypto/file_entry';

export interface SendHookDeps {
    methods: ChannelMethods;
    encryptor: ChannelEncryptor;
    trust: TrustStore;
    currentUserId(): string;
    /** Encrypted attachments (design §15): without it, posts with files are refused. */
    files?: {pending: PendingFiles; nameOf(fileId: string): Promise<string | undefined>};
}

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
            if (deps.methods.get(channelId) === 'p2p') {
                return 'p2p';
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
            if (method !== 'p2p') {
                if (deps.trust.lastSentMethod(channelId) === 'p2p' && !confirmedPlaintext.has(channelId)) {
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
            const message = await deps.encryptor.encrypt(post.message ?? '', {channelId, rootId: post.root_id || '', userId}, extra);
            deps.trust.setLastSentMethod(channelId, 'p2p');
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

// Built-in commands that post their text into the channel from the server, unencrypted.
const TEXT_POSTING_COMMANDS = new Set(['/me', '/shrug', '/echo']);

/** SlashCommandWillBePosted: in a channel that is (or may be) encrypted, refuses the commands
 * that would carry the user's text to the server in clear. */
export function createSlashCommandGuard(methods: ChannelMethods) {
    return async (message: string, args: SlashCommandArgs): Promise<HookResult<{message?: string; args?: SlashCommandArgs}>> => {
        const words = typeof message === 'string' ? message.trim().split(/\s+/) : [];
        const command = words[0]?.toLowerCase() ?? '';
        if (!TEXT_POSTING_COMMANDS.has(command) || words.length < 2 || !args?.channel_id) {
            return {message, args};
        }
        let method: string | undefined;
        try {
            method = await methods.refresh(args.channel_id, true);
        } catch {
            method = methods.get(args.channel_id) === 'p2p' ? 'p2p' : undefined;
        }
        if (method === 'none') {
            return {message, args};
        }
        return {error: {message: method === 'p2p' ?
            `This channel is encrypted, and ${command} would send its text to the server unencrypted. Nothing was sent: write your message without ${command}.` :
            `Could not check whether this channel is encrypted, so ${command} was not sent: try again.`}};
    };
}
