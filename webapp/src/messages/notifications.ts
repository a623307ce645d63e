// Desktop notifications for encrypted posts: the server saw only the placeholder, so the
// body and the mention decision are made here from the decrypted text.
import type {Channel} from '@mattermost/types/channels';
import type {Post} from '@mattermost/types/posts';

import type {DesktopNotificationArgs} from '../types/registry';

import type {DecryptResult, DecryptService} from './decrypt_service';
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

/** The effective desktop level, as the host computes it (channel, else account, else "all";
 * a group message on the account's "mention" level counts as "all"). */
export function desktopLevel(user: NotifyUser, member: NotifyMember | undefined, channelType: string | undefined): string {
    const channelLevel = member?.notify_props?.desktop || 'default';
    let level = channelLevel === 'default' ? (user.notify_props?.desktop || 'all') : channelLevel;
    if (channelType === 'G' && channelLevel === 'default' && user.notify_props?.desktop === 'mention') {
        level = 'all';
    }
    return level;
}

/** Whether this post's decrypted text deserves a desktop notification for this user. */
export function shouldNotify(text: string, user: NotifyUser, member: NotifyMember | undefined, channelType: string | undefined): boolean {
    const level = desktopLevel(user, member, channelType);
    if (level === 'none') {
        return false;
    }
    if (channelType === 'D' || level === 'all') {
        return true;
    }
    return textMentions(text, mentionKeysFor(user, member));
}

/** The host's own key test (notification_actions, group messages), used only to predict what
 * the host does with the placeholder: `(^|\W)key(\b|_+\b)`, CJK keys anywhere. */
export function hostKeyMatches(text: string, keys: MentionKey[]): boolean {
    return keys.some(({key, caseSensitive}) => {
        if (!key) {
            return false;
        }
        const flags = caseSensitive ? '' : 'i';
        const pattern = CJK.test(key) ? new RegExp(escapeRegex(key), flags) : new RegExp(`(^|\\W)(${escapeRegex(key)})(\\b|_+\\b)`, flags);
        return pattern.test(text);
    });
}

function idList(json: unknown): string[] {
    if (typeof json !== 'string' || !json) {
        return [];
    }
    try {
        const list = JSON.parse(json);
        return Array.isArray(list) ? list.filter((id): id is string => typeof id === 'string') : [];
    } catch {
        return [];
    }
}

/** The users the server listed as mentioned or following the thread (the WS `posted` data). */
export function serverMentionIds(msgProps: unknown): string[] {
    const props = (msgProps ?? {}) as {mentions?: unknown; followers?: unknown};
    return [...idList(props.mentions), ...idList(props.followers)];
}

/** The server listed me for a reason other than the text (it saw only the placeholder): a
 * thread I follow or reply notifications. Such a post notifies as any other would. */
export function listedForNonText(msgProps: unknown, user: NotifyUser, member: NotifyMember | undefined): boolean {
    return serverMentionIds(msgProps).includes(user.id) && !hostKeyMatches(PLACEHOLDER, mentionKeysFor(user, member));
}

/** Plain text of a message for a notification body (markup dropped, as the host strips it). */
export function stripMarkdown(text: string): string {
    return text.
        replace(/```[^\n]*\n?/g, '').
        replace(/!\[([^\]]*)\]\([^)]*\)/g, '$1').
        replace(/\[([^\]]*)\]\([^)]*\)/g, '$1').
        replace(/^\s{0,3}(#{1,6}\s+|>\s?|[-*+]\s+(?=\S))/gm, '').
        replace(/(\*\*|__|~~)(?=\S)([\s\S]*?\S)\1/g, '$2').
        replace(/(^|[^\w*])([*_])(?=\S)([^\n]*?\S)\2(?!\w)/g, '$1$3').
        replace(/`([^`\n]*)`/g, '$1');
}

/** Readable, verified text of a decryption result (current or earlier sender key). */
export function readableText(result: DecryptResult): string | null {
    return result.status === 'ok' || result.status === 'earlier-key' ? result.text : null;
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
    return async (post: Post, msgProps: unknown, channel: Channel, _teamId: string, args: DesktopNotificationArgs): Promise<{error?: string; args?: DesktopNotificationArgs}> => {
        if (!isEncryptedPost(post)) {
            return {args};
        }
        const text = readableText(await deps.decrypt.decrypt(post));
        if (text === null) {
            return {args};
        }
        const preview = previewOf(stripMarkdown(text));
        const body = typeof args.body === 'string' && args.body.endsWith(PLACEHOLDER) ?
            `${args.body.slice(0, args.body.length - PLACEHOLDER.length)}${preview}` :
            preview;
        const user = deps.currentUser();
        const channelId = channel?.id || post.channel_id;
        const member = deps.myMember(channelId);
        const type = channel?.type;
        const decided = user ? shouldNotify(text, user, member, type) ||
            (type !== 'G' && desktopLevel(user, member, type) === 'mention' && listedForNonText(msgProps, user, member)) : true;
        return {args: {...args, body, notify: Boolean(args.notify) && decided}};
    };
}
