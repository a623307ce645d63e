// Local, visible-only-to-me notices in a channel (the host's ephemeral post shape).
import type {Store} from 'redux';

export interface Notices {
    show(channelId: string, rootId: string, message: string): void;
}

let counter = 0;

function localId(): string {
    counter += 1;
    const rand = Math.random().toString(36).slice(2, 10);
    return `e2ee${Date.now().toString(36)}${rand}${counter}`.slice(0, 26).padEnd(26, '0');
}

export function storeNotices(store: Store): Notices {
    return {
        show(channelId, rootId, message) {
            const now = Date.now();
            store.dispatch({
                type: 'RECEIVED_NEW_POST',
                data: {
                    id: localId(),
                    user_id: '0', // no real author: the host shows it as a system message
                    channel_id: channelId,
                    root_id: rootId,
                    message,
                    type: 'system_ephemeral',
                    create_at: now,
                    update_at: now,
                    edit_at: 0,
                    delete_at: 0,
                    is_pinned: false,
                    original_id: '',
                    hashtags: '',
                    pending_post_id: '',
                    reply_count: 0,
                    props: {},
                    metadata: {embeds: [], emojis: [], files: [], images: {}},
                },
                // Replies go to their thread; top-level notices to the channel.
                features: {crtEnabled: Boolean(rootId)},
            });
        },
    };
}
