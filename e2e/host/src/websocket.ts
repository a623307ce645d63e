// The real WebSocket (/api/v4/websocket, cookie session): core events into the store,
// then every plugin handler for the event (core events too), desktop notifications as upstream.
import type {Store} from 'redux';

import {WebSocketClient} from '@mattermost/client';
import {Client4} from 'mattermost-redux/client';
import {receivedNewPost, receivedPost, postDeleted} from 'mattermost-redux/actions/posts';

import {sendDesktopNotification} from './notifications';
import {siteURL, loadPlugin, removePlugin} from './plugins';
import {reconnectHandlers, wsHandlers} from './ws_registry';

interface WSMessage {event: string; data: Record<string, any>; broadcast: Record<string, any>; seq: number}

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
            sendDesktopNotification(store, msg, post).catch((e) => console.error('desktop notification failed', e)); // eslint-disable-line no-console
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
        case 'preferences_changed':
            store.dispatch({type: 'RECEIVED_PREFERENCES', data: JSON.parse(msg.data.preferences)});
            break;
        case 'config_changed':
            store.dispatch({type: 'CLIENT_CONFIG_RECEIVED', data: msg.data.config});
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
