// The real WebSocket (/api/v4/websocket, cookie session): core events into the store,
// plugin events to the registered handlers, desktop notifications through the hooks.
import type {Store} from 'redux';

import {WebSocketClient} from '@mattermost/client';
import {Client4} from 'mattermost-redux/client';
import {receivedNewPost, receivedPost, postDeleted} from 'mattermost-redux/actions/posts';

import {runDesktopNotificationHooks} from './hooks';
import {siteURL, loadPlugin, removePlugin} from './plugins';
import {reconnectHandlers, wsHandlers} from './ws_registry';

export interface HostNotification {title: string; body: string; postId: string; error?: string}

export const notificationListeners = new Set<(n: HostNotification) => void>();

interface WSMessage {event: string; data: Record<string, any>; broadcast: Record<string, any>; seq: number}

async function maybeNotify(store: Store, msg: WSMessage, post: any) {
    const state = store.getState();
    const me = state.entities.users.currentUserId;
    if (post.user_id === me) {
        return;
    }
    let mentions: string[] = [];
    try {
        mentions = msg.data.mentions ? JSON.parse(msg.data.mentions) : [];
    } catch {
        mentions = [];
    }
    // Mattermost's rule (actions/notification_actions): the channel's desktop level, else the
    // user's; 'mention' notifies on mentions and in DMs/GMs only.
    const member = state.entities.channels.myMembers[post.channel_id];
    const user = state.entities.users.profiles[me];
    let level = member?.notify_props?.desktop;
    if (!level || level === 'default') {
        level = user?.notify_props?.desktop || 'mention';
    }
    const direct = msg.data.channel_type === 'D' || msg.data.channel_type === 'G';
    if (level === 'none' || (level === 'mention' && !mentions.includes(me) && !direct)) {
        return;
    }
    const channel = state.entities.channels.channels[post.channel_id] || {id: post.channel_id, display_name: msg.data.channel_display_name};
    const sender = msg.data.sender_name || 'someone';
    const args = {
        title: channel.display_name || msg.data.channel_display_name || 'Mattermost',
        body: `${sender}: ${post.message}`,
        silent: false,
        soundName: 'None',
        url: `${siteURL()}/`,
        notify: true,
    };
    const result = await runDesktopNotificationHooks(store, post, msg.data, channel, msg.data.team_id || '', args);
    const n: HostNotification = result.error ? {title: '', body: '', postId: post.id, error: result.error} :
        {title: result.args!.title, body: result.args!.body, postId: post.id};
    if (!result.error && result.args && !result.args.notify) {
        return;
    }
    notificationListeners.forEach((l) => l(n));
}

export function connectWebSocket(store: Store): WebSocketClient {
    const client = new WebSocketClient();
    const url = siteURL().replace(/^http/, 'ws') + Client4.getUrlVersion() + '/websocket';
    client.addMessageListener((raw) => {
        const msg = raw as unknown as WSMessage;
        const crt = false;
        switch (msg.event) {
        case 'posted': {
            const post = JSON.parse(msg.data.post);
            store.dispatch(receivedNewPost(post, crt) as any);
            maybeNotify(store, msg, post);
            break;
        }
        case 'ephemeral_message': {
            const post = JSON.parse(msg.data.post);
            store.dispatch(receivedNewPost({...post, type: post.type || 'system_ephemeral'}, crt) as any);
            break;
        }
        case 'post_edited':
            store.dispatch(receivedPost(JSON.parse(msg.data.post), crt) as any);
            break;
        case 'post_deleted':
            store.dispatch(postDeleted(JSON.parse(msg.data.post)) as any);
            break;
        case 'plugin_disabled':
            removePlugin(store, msg.data.manifest);
            break;
        case 'plugin_enabled':
            loadPlugin(store, msg.data.manifest);
            break;
        default:
            break;
        }
        for (const {event, handler} of wsHandlers.values()) {
            if (event === msg.event) {
                try {
                    handler(msg);
                } catch (e) {
                    // eslint-disable-next-line no-console
                    console.error('plugin websocket handler failed', e);
                }
            }
        }
        // Handled: tests wait on this instead of guessing how long delivery takes.
        (window as unknown as {hostWsEvents: Array<{event: string; data: unknown}>}).hostWsEvents.push({event: msg.event, data: msg.data});
    });
    client.addReconnectListener(() => {
        for (const handler of reconnectHandlers.values()) {
            handler();
        }
    });
    client.initialize(url);
    return client;
}
