// Desktop notifications as Mattermost's actions/notification_actions.tsx sends them:
// sendDesktopNotification (shouldSkipNotification in upstream's order, then the plugin hooks,
// then notifyMe), and notifyMe itself, which plugins get as WebappUtils.sendDesktopNotificationToMe
// (an action creator: plugins dispatch what it returns). Every notification shown is recorded in
// window.__notifications for the tests and listed on the page.
import type {Store} from 'redux';

import {getAllUserMentionKeys} from 'mattermost-redux/selectors/entities/search';
import {isCollapsedThreadsEnabled} from 'mattermost-redux/selectors/entities/preferences';

import {runDesktopNotificationHooks} from './hooks';

export interface HostNotification {
    title: string;
    body: string;
    channelId: string;
    teamId: string;
    silent: boolean;
    soundName: string;
    url: string;
    postId?: string; // known on the host's own path only (notifyMe is not told)
    error?: string; // a hook's error: logged upstream, listed here, never shown
}

export const notificationListeners = new Set<(n: HostNotification) => void>();

type W = {__notifications: HostNotification[]};

function show(n: HostNotification): void {
    if (!n.error) {
        (window as unknown as W).__notifications.push(n);
    }
    notificationListeners.forEach((l) => l(n));
}

/** Mattermost's notifyMe(title, body, channelId, teamId, silent, soundName, url): a thunk. */
export function notifyMe(title: string, body: string, channelId: string, teamId: string, silent: boolean, soundName: string, url: string) {
    return async () => {
        show({title, body, channelId, teamId, silent, soundName, url});
        return {data: {status: 'success'}};
    };
}

interface Msg {data: Record<string, any>}

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const CJKR = /[\u3000-\u303f\u3040-\u309f\u30a0-\u30ff\uff00-\uff9f\u4e00-\u9faf\u3400-\u4dbf\uac00-\ud7a3]/;

/** shouldSkipNotification: a reason, or undefined to go on. */
function skipReason(state: any, post: any, msg: Msg, user: any, channel: any, member: any, isCrtReply: boolean): string | undefined {
    const me = state.entities.users.currentUserId;
    if (me === post.user_id && post.props?.from_webhook !== 'true') {
        return 'own_post';
    }
    if (typeof post.type === 'string' && post.type.startsWith('system_')) {
        return 'system_message';
    }
    if (!member) {
        return 'no_member';
    }
    // (force_notification would skip the rest; nothing here sets it.)
    if (member.notify_props?.mark_unread === 'mention') {
        return 'channel_muted';
    }
    const status = state.entities.users.statuses?.[user.id];
    if (status === 'dnd' || status === 'ooo') {
        return 'user_status';
    }
    let mentions: string[] = msg.data.mentions ? JSON.parse(msg.data.mentions) : [];
    const followers: string[] = msg.data.followers ? JSON.parse(msg.data.followers) : [];
    mentions = [...new Set([...followers, ...mentions])];
    const channelLevel = member.notify_props?.desktop || 'default';
    let level = channelLevel === 'default' ? (user.notify_props?.desktop || 'all') : channelLevel;
    if (channel?.type === 'G' && channelLevel === 'default' && user.notify_props?.desktop === 'mention') {
        level = 'all';
    }
    if (level === 'none') {
        return 'notify_level_none';
    } else if (channel?.type === 'G' && level === 'mention') {
        const prop = member.notify_props?.ignore_channel_mentions || 'default';
        const ignoreChannel = prop === 'default' ? user.notify_props?.channel === 'false' : prop === 'on';
        const text = String(post.message ?? '');
        const hit = getAllUserMentionKeys(state).some((m: {key: string; caseSensitive?: boolean}) => {
            if (!m?.key || (ignoreChannel && ['@all', '@here', '@channel'].includes(m.key))) {
                return false;
            }
            const flags = m.caseSensitive ? 'g' : 'gi';
            const pattern = CJKR.test(m.key) ? new RegExp(`()(${escapeRegex(m.key)})()`, flags) : new RegExp(`(^|\\W)(${escapeRegex(m.key)})(\\b|_+\\b)`, flags);
            return pattern.test(text);
        });
        if (!hit) {
            return 'not_explicitly_mentioned';
        }
    } else if (level === 'mention' && !mentions.includes(user.id) && msg.data.channel_type !== 'D') {
        return 'not_mentioned';
    } else if (isCrtReply && level === 'all' && !followers.includes(me)) {
        return 'not_following_thread';
    }
    const v = state.views;
    if (v.browser.focused) {
        if (isCrtReply) {
            if (v.rhs.isSidebarOpen && v.rhs.selectedPostId === post.root_id) {
                return 'thread_is_open';
            }
        } else if (state.entities.channels.currentChannelId === channel?.id) {
            return 'channel_is_open';
        }
    }
    return undefined;
}

/** sendDesktopNotification(post, msgProps), called for every `posted` event. */
export async function sendDesktopNotification(store: Store, msg: Msg, post: any): Promise<string | undefined> {
    const state: any = store.getState();
    const me = state.entities.users.currentUserId;
    const teamId = msg.data.team_id || '';
    const channel = state.entities.channels.channels[post.channel_id] ||
        {id: post.channel_id, name: msg.data.channel_name, display_name: msg.data.channel_display_name, type: msg.data.channel_type};
    const user = state.entities.users.profiles[me];
    const member = state.entities.channels.myMembers[post.channel_id];
    const isCrtReply = isCollapsedThreadsEnabled(state) && Boolean(post.root_id);
    const reason = skipReason(state, post, msg, user, channel, member, isCrtReply);
    if (reason) {
        return reason;
    }
    let title = channel.type === 'D' ? 'Direct Message' : channel.display_name;
    if (!title) {
        title = msg.data.channel_type === 'D' ? 'Direct Message' : msg.data.channel_display_name;
    }
    if (isCrtReply) {
        title = `Reply in ${title}`;
    }
    const author = state.entities.users.profiles[post.user_id];
    const body = `@${author ? author.username : (msg.data.sender_name || 'Someone')}: ${post.message}`;
    const team = state.entities.teams.teams[teamId] || state.entities.teams.teams[state.entities.teams.currentTeamId];
    const url = isCrtReply ? `/${team?.name}/pl/${post.id}` : `/${team?.name}/channels/${channel.name}`;
    const sound = member.notify_props?.desktop_sound;
    const silent = sound === 'off' || (sound !== 'on' && user.notify_props?.desktop_sound === 'false');
    const soundName = [member.notify_props?.desktop_notification_sound, user.notify_props?.desktop_notification_sound].find((s) => s && s !== 'default') || 'Bing';
    const args = {title, body, silent, soundName, url, notify: true};
    const result = await runDesktopNotificationHooks(store, post, msg.data, channel, teamId, args);
    if (result.error) {
        show({...args, channelId: channel.id, teamId, postId: post.id, error: result.error});
        return 'desktop_notification_hook';
    }
    const a = result.args!;
    if (!a.notify) {
        return 'desktop_notification_hook';
    }
    // dispatch(notifyMe(...)), plus the post id for the page's list (notifyMe is not told it).
    show({title: a.title, body: a.body, channelId: channel.id, teamId, silent: a.silent, soundName: a.soundName, url: a.url, postId: post.id});
    return undefined;
}
