// Desktop notifications for encrypted posts: the server saw only the placeholder, so the
// body and the mention decision are made here from the decrypted text.
import type {Channel} from '@mattermost/types/channels';
import type {Post} from '@mattermost/types/posts';

import type {DesktopNotificationArgs} from '../types/registry';

import type {DecryptService} from './decrypt_service';
import {PLACEHOLDER, isEncryptedPost} from './post_shape';

export interface NotifyUser {
    id: string;
    username?: string;
    first_name?: string;
    notify_props?: Record<string, string | undefined>;
}

export interface NotifyMember {
    notify_props?: Record<string, string | undefined>;
}

export interface MentionKey {
    key: string;
    caseSensitive: boolean;
}

const CHANNEL_KEYS = ['@channel', '@all', '@here'];
export const BODY_MAX = 120;

function channelMentionsEnabled(user: NotifyUser, member?: NotifyMember): boolean {
    const prop = member?.notify_props?.ignore_channel_mentions;
    if (prop === 'on') {
        return false;
    }
    if (prop === 'off') {
        return true;
    }
    return user.notify_props?.channel !== 'false';
}

/** The words that mention this user, per their settings (as the host's mention keys). */
export function mentionKeysFor(user: NotifyUser, member?: NotifyMember): MentionKey[] {
    const keys: MentionKey[] = [];
    if (user.username) {
        keys.push({key: `@${user.username}`, caseSensitive: false});
    }
    for (const k of (user.notify_props?.mention_keys ?? '').split(',')) {
        const key = k.trim();
        if (key) {
            keys.push({key, caseSensitive: false});
        }
    }
    if (user.notify_props?.first_name === 'true' && user.first_name) {
        keys.push({key: user.first_name, caseSensitive: true});
    }
    if (channelMentionsEnabled(user, member)) {
        for (const key of CHANNEL_KEYS) {
            keys.push({key, caseSensitive: false});
        }
    }
    return keys;
}

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u;

/** Text a mention can't hide in: code is not a mention. */
function mentionable(text: string): string {
    return text.replace(/```[\s\S]*?(```|$)/g, ' ').replace(/`[^`\n]*`/g, ' ');
}

export function textMentions(text: string, keys: MentionKey[]): boolean {
    const haystack = mentionable(text);
    for (const {key, caseSensitive} of keys) {
        if (!key) {
            continue;
        }
        const flags = caseSensitive ? 'u' : 'iu';
        let pattern: RegExp;
        if (CJK.test(key)) {
            pattern = new RegExp(escapeRegex(key), flags);
        } else if (key.startsWith('@')) {
            // "@bob." ends a sentence, "@bob.smith" is someone else.
            pattern = new RegExp(`(^|[^\\p{L}\\p{N}_])${escapeRegex(key)}(?![\\p{L}\\p{N}_.-]*[\\p{L}\\p{N}_])`, flags);
        } else {
            pattern = new RegExp(`(^|[^\\p{L}\\p{N}_])${escapeRegex(key)}(?![\\p{L}\\p{N}_])`, flags);
        }
        if (pattern.test(haystack)) {
            return true;
        }
    }
    return false;
}

/** Whether this post's decrypted text deserves a desktop notification for this user. */
export function shouldNotify(text: string, user: NotifyUser, member: NotifyMember | undefined, channelType: string | undefined): boolean {
    const channelLevel = member?.notify_props?.desktop;
    let level = channelLevel && channelLevel !== 'default' ? channelLevel : (user.notify_props?.desktop || 'all');
    if (channelType === 'G' && (!channelLevel || channelLevel === 'default') && level === 'mention') {
        level = 'all'; // the host treats group messages as "all" unless the channel says otherwise
    }
    if (level === 'none') {
        return false;
    }
    if (channelType === 'D' || channelType === 'G' || level === 'all') {
        return true;
    }
    return textMentions(text, mentionKeysFor(user, member));
}

export function previewOf(text: string, max = BODY_MAX): string {
    const flat = text.replace(/\s+/g, ' ').trim();
    return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

export interface NotificationDeps {
    decrypt: DecryptService;
    currentUser(): NotifyUser | undefined;
    myMember(channelId: string): NotifyMember | undefined;
}

export function createNotificationHook(deps: NotificationDeps) {
    return async (post: Post, _msgProps: unknown, channel: Channel, _teamId: string, args: DesktopNotificationArgs): Promise<{error?: string; args?: DesktopNotificationArgs}> => {
        if (!isEncryptedPost(post)) {
            return {args};
        }
        const result = await deps.decrypt.decrypt(post);
        if (result.status !== 'ok') {
            return {args};
        }
        const preview = previewOf(result.text);
        const body = typeof args.body === 'string' && args.body.endsWith(PLACEHOLDER) ?
            `${args.body.slice(0, args.body.length - PLACEHOLDER.length)}${preview}` :
            preview;
        const user = deps.currentUser();
        const channelId = channel?.id || post.channel_id;
        const notify = Boolean(args.notify) && (user ? shouldNotify(result.text, user, deps.myMember(channelId), channel?.type) : true);
        return {args: {...args, body, notify}};
    };
}
