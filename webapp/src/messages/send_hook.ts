// MessageWillBePosted: encrypts posts in encrypted channels before they leave the browser,
// and asks for a confirmation before the first plaintext post where this browser last encrypted.
import type {Post} from '@mattermost/types/posts';

import type {TrustStore} from '../directory';
import type {HookResult} from '../types/registry';

import {SendRefusedError, type ChannelEncryptor} from './encryptor';
import {PLACEHOLDER, encryptedPost, isEncryptedPost} from './post_shape';
import type {ChannelMethods} from './state';

export interface SendHookDeps {
    methods: ChannelMethods;
    encryptor: ChannelEncryptor;
    trust: TrustStore;
    currentUserId(): string;
}

export const PLAINTEXT_CONFIRM_MESSAGE = 'This channel is no longer encrypted, but you last sent encrypted messages here. ' +
    'Your message was not sent: send it again to post it unencrypted.';

export function createSendHook(deps: SendHookDeps): (post: Post) => Promise<HookResult<{post: Post}>> {
    const confirmedPlaintext = new Set<string>();

    async function methodOf(channelId: string) {
        try {
            return await deps.methods.refresh(channelId);
        } catch {
            const known = deps.methods.get(channelId);
            if (known) {
                return known;
            }
            throw new SendRefusedError('unavailable', 'Could not check whether this channel is encrypted. Your message was not sent: try again.');
        }
    }

    return async (post) => {
        if (!post || typeof post.channel_id !== 'string' || !post.channel_id) {
            return undefined;
        }
        if (isEncryptedPost(post) && post.message === PLACEHOLDER && post.props && typeof post.props.e2ee === 'object') {
            return undefined; // already encrypted (e.g. a retry of a failed post)
        }
        const channelId = post.channel_id;
        try {
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
            if (post.file_ids && post.file_ids.length) {
                throw new SendRefusedError('files', 'Files cannot be sent in an encrypted channel: they would not be encrypted. Remove the attachments and send again.');
            }
            const userId = deps.currentUserId();
            const message = await deps.encryptor.encrypt(post.message ?? '', {channelId, rootId: post.root_id || '', userId});
            deps.trust.setLastSentMethod(channelId, 'p2p');
            return {post: encryptedPost(post, message)};
        } catch (err) {
            if (err instanceof SendRefusedError) {
                return {error: {message: err.message}};
            }
            console.error('e2ee: encryption failed', err instanceof Error ? err.name : '');
            return {error: {message: 'The message could not be encrypted, so it was not sent.'}};
        }
    };
}
