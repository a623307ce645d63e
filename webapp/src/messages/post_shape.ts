// What an encrypted post carries to the server: the placeholder, the ciphertext and nothing
// else that could hold text (only encrypted files' IDs; no hashtags, embeds or free-form props).
import type {Post, PostMetadata} from '@mattermost/types/posts';

import {containsBackup} from '../crypto/backup';
import type {EncryptedMessageJSON} from '../crypto/types';

import {SendRefusedError} from './encryptor';

export const E2EE_POST_TYPE = 'custom_e2ee';
export const PLACEHOLDER = 'Encrypted message';

// Props the host reads that hold no text (booleans only).
const SAFE_BOOLEAN_PROPS = ['disable_group_highlight', 'mentionHighlightDisabled'];

export function safeProps(props: unknown): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    if (props && typeof props === 'object') {
        for (const key of SAFE_BOOLEAN_PROPS) {
            const value = (props as Record<string, unknown>)[key];
            if (typeof value === 'boolean') {
                out[key] = value;
            }
        }
    }
    return out;
}

function safeMetadata(metadata: unknown): PostMetadata {
    const out: PostMetadata = {embeds: [], emojis: [], files: [], images: {}};
    const priority = (metadata as PostMetadata | undefined)?.priority;
    if (priority && typeof priority === 'object' && (priority.priority === 'urgent' || priority.priority === 'important' || priority.priority === '')) {
        out.priority = {priority: priority.priority};
        if (typeof priority.requested_ack === 'boolean') {
            out.priority.requested_ack = priority.requested_ack;
        }
        if (typeof priority.persistent_notifications === 'boolean') {
            out.priority.persistent_notifications = priority.persistent_notifications;
        }
    }
    return out;
}

/** `fileIds`: the encrypted files the payload lists (design §15.4); nothing else may ride along. */
export function encryptedPost(post: Post, message: EncryptedMessageJSON, fileIds: string[] = []): Post {
    const out: Post = {
        ...post,
        type: E2EE_POST_TYPE as Post['type'],
        message: PLACEHOLDER,
        props: {...safeProps(post.props), e2ee: message},
        hashtags: '',
        file_ids: [...fileIds],
        metadata: safeMetadata(post.metadata),
    };
    delete out.filenames;
    delete out.message_source;
    return out;
}

export function isEncryptedPost(post: Partial<Post> | undefined | null): boolean {
    return Boolean(post) && (post!.type as string) === E2EE_POST_TYPE;
}

export const KEY_BACKUP_REFUSED = 'This message contains a private key backup: it was not sent. ' +
    'To restore your key, run /e2ee import alone and paste the backup into the dialog that opens.';

/** A pasted key backup is never sent, encrypted or not: the channel's members (or the server)
 * would get the private key. */
export function refuseKeyBackup(text: unknown): void {
    if (containsBackup(text)) {
        throw new SendRefusedError('key-backup', KEY_BACKUP_REFUSED);
    }
}
