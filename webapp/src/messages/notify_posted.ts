// Desktop notifications the host never asks our hook about. On the "mention" level the web app
// decides from the server's mention list (or, in group messages, from post.message), and both
// only saw the placeholder: it drops an encrypted @mention before any plugin hook runs. This
// handler of the core `posted` event fills exactly that gap, with the host's other rules; every
// other case stays with the notification hook, so a post never notifies twice.
import type {Post} from '@mattermost/types/posts';

import {hostState} from '../host_state';
import type {WebSocketMessage} from '../types/registry';

import type {DecryptService} from './decrypt_service';
import {LRU} from './lru';
import {desktopLevel, hostKeyMatches, mentionKeysFor, previewOf, readableText, serverMentionIds, stripMarkdown, textMentions, type NotifyMember, type NotifyUser} from './notifications';
import {isEncryptedPost} from './post_shape';

type Props = Record<string, string | undefined>;
interface Named {
    id?: string;
    name?: string;
    display_name?: string;
    type?: string;
    team_id?: string;
}
interface Profile extends NotifyUser {
    nickname?: string;
    last_name?: string;
}

/** The parts of the host's state read here (Mattermost's GlobalState). */
export interface NotifyState {
    entities?: {
        general?: {config?: Props};
        users?: {currentUserId?: string; profiles?: Record<string, Profile | undefined>; statuses?: Props};
        channels?: {currentChannelId?: string; channels?: Record<string, Named | undefined>; myMembers?: Record<string, NotifyMember | undefined>};
        teams?: {currentTeamId?: string; teams?: Record<string, Named | undefined>};
        preferences?: {myPreferences?: Record<string, {value?: string} | undefined>};
    };
    views?: {
        browser?: {focused?: boolean};
        rhs?: {isSidebarOpen?: boolean; selectedPostId?: string};
        threads?: {selectedThreadIdInTeam?: Record<string, string | null | undefined>};
    };
}

export interface DesktopNotification {
    title: string;
    body: string;
    channelId: string;
    teamId: string;
    silent: boolean;
    soundName: string;
    url: string;
}

type SendToMe = (title: string, body: string, channelId: string, teamId: string, silent: boolean, soundName: string, url: string) => unknown;

export interface PostedNotifierDeps {
    decrypt: DecryptService;
    getState(): unknown;
    dispatch(action: unknown): unknown;
    /** The host's notifier; default: window.WebappUtils.sendDesktopNotificationToMe. */
    sendToMe?(): SendToMe | undefined;
    /** Without the host's notifier; default: the browser's Notification API, if granted. */
    fallback?(n: DesktopNotification): void;
}

function pref(state: NotifyState, name: string): string | undefined {
    return hostState.preference(state, 'display_settings', name) || undefined;
}

/** mattermost-redux isCollapsedThreadsEnabled. */
function collapsedThreads(state: NotifyState): boolean {
    const setting = hostState.config(state).CollapsedThreads;
    if (!setting || setting === 'disabled') {
        return false;
    }
    const fallback = setting === 'default_on' || setting === 'always_on' ? 'on' : 'off';
    return setting === 'always_on' || (pref(state, 'collapsed_reply_threads') ?? fallback) === 'on';
}

/** mattermost-redux displayUsername with the teammate name display setting. */
function displayName(state: NotifyState, user: Profile): string {
    const setting = pref(state, 'name_format') || hostState.config(state).TeammateNameDisplay || 'username';
    const full = [user.first_name, user.last_name].filter(Boolean).join(' ').trim();
    let name = user.username;
    if (setting === 'nickname_full_name') {
        name = user.nickname || full;
    } else if (setting === 'full_name') {
        name = full;
    }
    return name && name.trim() ? name : (user.username ?? '');
}

function browserNotification(n: DesktopNotification): void {
    const N = typeof window === 'undefined' ? undefined : (window as {Notification?: typeof Notification}).Notification;
    if (!N || N.permission !== 'granted') {
        return;
    }
    const shown = new N(n.title, {body: n.body, silent: n.silent});
    shown.onclick = () => window.focus();
}

function hostSender(): SendToMe | undefined {
    if (typeof window === 'undefined') {
        return undefined;
    }
    const send = (window as {WebappUtils?: {sendDesktopNotificationToMe?: unknown}}).WebappUtils?.sendDesktopNotificationToMe;
    return typeof send === 'function' ? send as SendToMe : undefined;
}

function parsePost(data: unknown): Post | null {
    const raw = (data as {post?: unknown} | undefined)?.post;
    try {
        const post = typeof raw === 'string' ? JSON.parse(raw) : raw;
        return post && typeof post === 'object' && typeof post.id === 'string' ? post as Post : null;
    } catch {
        return null;
    }
}

type Plan = {user: Profile; member: NotifyMember; notification: DesktopNotification; sender: string};

/** What the host would skip only for want of a visible mention, with the notification it would
 * have shown; null when the host shows it (through our hook) or skips it for another reason. */
export function planGapNotification(state: NotifyState, post: Post, data: Props): Plan | null {
    const e = state.entities ?? {};
    const me = hostState.currentUserId(state);
    const props = (post.props ?? {}) as Record<string, unknown>;
    if (!isEncryptedPost(post) || !me || (post.user_id === me && props.from_webhook !== 'true')) {
        return null;
    }
    const member = hostState.myChannelMember(state, post.channel_id) as NotifyMember | undefined;
    const user = hostState.user(state, me) as Profile | undefined;
    if (!member || !user || member.notify_props?.mark_unread === 'mention') {
        return null; // not a member, or muted
    }
    const status = e.users?.statuses?.[me];
    if (status === 'dnd' || status === 'ooo') {
        return null;
    }
    const channel: Named = e.channels?.channels?.[post.channel_id] ??
        {id: post.channel_id, name: data.channel_name, display_name: data.channel_display_name, type: data.channel_type};
    if (desktopLevel(user, member, channel.type) !== 'mention') {
        return null; // "all" reaches our hook, "none" never notifies
    }
    if (channel.type === 'G') {
        // The host tests the mention keys on post.message; if the placeholder passes, our hook decides.
        if (hostKeyMatches(post.message ?? '', mentionKeysFor(user, member))) {
            return null;
        }
    } else if (data.channel_type === 'D' || serverMentionIds(data).includes(me)) {
        return null; // reaches our hook
    }
    const crtReply = collapsedThreads(state) && Boolean(post.root_id);
    const teamId = data.team_id || channel.team_id || e.teams?.currentTeamId || '';
    const v = state.views;
    if (v?.browser?.focused) {
        if (crtReply) {
            const open = post.root_id === v.threads?.selectedThreadIdInTeam?.[e.teams?.currentTeamId ?? ''] ||
                (Boolean(v.rhs?.isSidebarOpen) && post.root_id === v.rhs?.selectedPostId);
            if (open) {
                return null;
            }
        } else if (e.channels?.currentChannelId === post.channel_id) {
            return null;
        }
    }

    let title = channel.type === 'D' ? 'Direct Message' : (channel.display_name || '');
    if (!title) {
        title = data.channel_type === 'D' ? 'Direct Message' : (data.channel_display_name ?? '');
    }
    if (crtReply) {
        title = `Reply in ${title}`;
    }
    const config = e.general?.config ?? {};
    const author = e.users?.profiles?.[post.user_id];
    const override = props.override_username;
    const sender = typeof override === 'string' && override && config.EnablePostUsernameOverride === 'true' ? override :
        (author ? displayName(state, author) : '') || data.sender_name || 'Someone';

    const mp = member.notify_props ?? {};
    const up = user.notify_props ?? {};
    const sound = mp.desktop_sound === 'on' || mp.desktop_sound === 'off' ? mp.desktop_sound === 'on' : (up.desktop_sound ? up.desktop_sound === 'true' : true);
    const soundName = [mp.desktop_notification_sound, up.desktop_notification_sound].find((s) => s && s !== 'default') || 'Bing';

    const teamPath = (id: string) => {
        const name = e.teams?.teams?.[id]?.name;
        return name ? `/${name}` : '';
    };
    let url: string;
    if (crtReply) {
        url = `${teamPath(teamId) || teamPath(e.teams?.currentTeamId ?? '')}/pl/${post.id}`;
    } else if (channel.type === 'D' || channel.type === 'G') {
        url = `${teamPath(e.teams?.currentTeamId ?? '') || '/'}/channels/${channel.name ?? ''}`.replace(/^\/\//, '/');
    } else {
        url = `${teamPath(teamId)}/channels/${channel.name ?? ''}`;
    }
    return {user, member, sender, notification: {title, body: '', channelId: post.channel_id, teamId, silent: !sound, soundName, url}};
}

export function createPostedNotifier(deps: PostedNotifierDeps) {
    const handled = new LRU<string, true>(500); // a post redelivered (reconnect) is not announced again
    const sendToMe = deps.sendToMe ?? hostSender;
    const fallback = deps.fallback ?? browserNotification;
    return async (msg: WebSocketMessage): Promise<void> => {
        const post = parsePost(msg?.data);
        if (!post || !isEncryptedPost(post) || handled.get(post.id)) {
            return;
        }
        // Decided now, on the state the host decided on; only the mention waits for decryption.
        const plan = planGapNotification(deps.getState() as NotifyState, post, (msg.data ?? {}) as Props);
        if (!plan) {
            return;
        }
        handled.set(post.id, true);
        const text = readableText(await deps.decrypt.decrypt(post));
        if (text === null || !textMentions(text, mentionKeysFor(plan.user, plan.member))) {
            return;
        }
        const n = {...plan.notification, body: `@${plan.sender}: ${previewOf(stripMarkdown(text))}`};
        const send = sendToMe();
        if (!send) {
            fallback(n);
            return;
        }
        // Mattermost's notifyMe is an action creator: what it returns is dispatched.
        const action = send(n.title, n.body, n.channelId, n.teamId, n.silent, n.soundName, n.url);
        if (typeof action === 'function') {
            await deps.dispatch(action);
        }
    };
}
