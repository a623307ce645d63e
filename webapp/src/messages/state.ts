// The plugin's redux slice: each channel's encryption method as the server last told us.
import type {Store} from 'redux';

import type {EncryptionMethod} from '../client';
import {hostState} from '../host_state';
import manifest from '../manifest';

export const STATE_KEY = `plugins-${manifest.id}` as const;

export const CHANNEL_METHOD_RECEIVED = 'E2EE_CHANNEL_METHOD_RECEIVED';
export const CHANNEL_METHODS_CLEARED = 'E2EE_CHANNEL_METHODS_CLEARED';

export interface PluginState {
    channelMethods: Record<string, EncryptionMethod>;
}

export type PluginAction =
    | {type: typeof CHANNEL_METHOD_RECEIVED; channelId: string; method: EncryptionMethod}
    | {type: typeof CHANNEL_METHODS_CLEARED; keep?: string};

const initialState: PluginState = {channelMethods: {}};

export function isEncryptionMethod(value: unknown): value is EncryptionMethod {
    return value === 'none' || value === 'p2p' || value === 'channel';
}

export function channelMethodReceived(channelId: string, method: EncryptionMethod): PluginAction {
    return {type: CHANNEL_METHOD_RECEIVED, channelId, method};
}

export function reducer(state: unknown, action: {type: string; [k: string]: unknown}): PluginState {
    const current = (state as PluginState | undefined) ?? initialState;
    switch (action.type) {
    case CHANNEL_METHOD_RECEIVED: {
        const {channelId, method} = action;
        if (typeof channelId !== 'string' || !channelId || !isEncryptionMethod(method) || current.channelMethods[channelId] === method) {
            return current;
        }
        return {...current, channelMethods: {...current.channelMethods, [channelId]: method}};
    }
    case CHANNEL_METHODS_CLEARED: {
        // Everything is stale (reconnect) except, optionally, the channel on screen until refreshed.
        const keep = typeof action.keep === 'string' ? action.keep : '';
        const channelMethods: Record<string, EncryptionMethod> = keep && current.channelMethods[keep] ? {[keep]: current.channelMethods[keep]} : {};
        return {...current, channelMethods};
    }
    default:
        return current;
    }
}

// Narrow view of the host's state: only what we read.
export interface HostState {
    entities?: {
        users?: {currentUserId?: string; profiles?: Record<string, {id: string; username?: string; first_name?: string; notify_props?: Record<string, string>} | undefined>};
        channels?: {currentChannelId?: string; myMembers?: Record<string, {notify_props?: Record<string, string>} | undefined>};
        posts?: {posts?: Record<string, import('@mattermost/types/posts').Post | undefined>};
    };
    [STATE_KEY]?: PluginState;
}

export function selectChannelMethod(state: unknown, channelId: string): EncryptionMethod | undefined {
    return (state as HostState)?.[STATE_KEY]?.channelMethods?.[channelId];
}

export function currentUserId(state: unknown): string {
    return hostState.currentUserId(state);
}

export function currentChannelId(state: unknown): string {
    return hostState.currentChannelId(state);
}

/** The channel of the thread open in the right-hand side, if any. */
export function rhsChannelId(state: unknown): string {
    const s = state as HostState & {views?: {rhs?: {selectedPostId?: string; selectedChannelId?: string}}};
    const postId = s?.views?.rhs?.selectedPostId;
    const post = postId ? hostState.post(state, postId) : undefined;
    return post?.channel_id || s?.views?.rhs?.selectedChannelId || '';
}

/** In the Threads view (views.lhs.currentStaticPageId 'threads'), the channel of the thread shown
 * there with its own reply box ('' while its root post is not loaded); null elsewhere. */
export function threadsViewChannelId(state: unknown): string | null {
    const s = state as HostState & {
        views?: {lhs?: {currentStaticPageId?: string}; threads?: {selectedThreadIdInTeam?: Record<string, string | undefined>}};
        entities?: {teams?: {currentTeamId?: string}};
    };
    if (s?.views?.lhs?.currentStaticPageId !== 'threads') {
        return null;
    }
    const teamId = s.entities?.teams?.currentTeamId ?? '';
    const postId = s.views.threads?.selectedThreadIdInTeam?.[teamId];
    return (postId && hostState.post(state, postId)?.channel_id) || '';
}

export function usernameOf(state: unknown, userId: string): string | undefined {
    return hostState.user(state, userId)?.username;
}

/** Who last turned an unencrypted channel's encryption off, as the server recorded it. */
export interface TurnedOff {
    user_id: string;
    username?: string;
    at: number;
}

/** The server's answer: the method alone, or with who turned encryption off (docs/api.md). */
export type ChannelMode = EncryptionMethod | {method: EncryptionMethod; turned_off?: TurnedOff};

function isTurnedOff(v: unknown): v is TurnedOff {
    const t = v as TurnedOff;
    return Boolean(t) && typeof t.user_id === 'string' && typeof t.at === 'number' && Number.isFinite(t.at) &&
        (t.username === undefined || typeof t.username === 'string');
}

/** Keeps the slice in step with the server: fetches on demand and on channel switch. */
export class ChannelMethods {
    private readonly inflight = new Map<string, Promise<EncryptionMethod>>();
    private readonly turnedOffBy = new Map<string, TurnedOff>();

    constructor(
        private readonly store: Store,
        private readonly fetchMethod: (channelId: string) => Promise<ChannelMode>,
    ) {}

    /** Who turned the channel's encryption off, from the last answer of the server (memory only). */
    turnedOff(channelId: string): TurnedOff | undefined {
        return this.turnedOffBy.get(channelId);
    }

    get(channelId: string): EncryptionMethod | undefined {
        return selectChannelMethod(this.store.getState(), channelId);
    }

    /** Asks the server and records the answer. Requests already under way are shared, unless
     * `fresh`: a send must not rely on an answer asked for before it (the mode may have changed). */
    refresh(channelId: string, fresh = false): Promise<EncryptionMethod> {
        const pending = this.inflight.get(channelId);
        if (pending && !fresh) {
            return pending;
        }
        const request = this.fetchMethod(channelId).then((mode) => {
            const method = typeof mode === 'object' && mode ? mode.method : mode;
            if (!isEncryptionMethod(method)) {
                throw new Error('the server answered an unknown encryption method');
            }
            const off = typeof mode === 'object' && mode && method === 'none' ? mode.turned_off : undefined;
            if (isTurnedOff(off)) {
                this.turnedOffBy.set(channelId, off);
            } else {
                this.turnedOffBy.delete(channelId);
            }
            this.store.dispatch(channelMethodReceived(channelId, method));
            return method;
        }).finally(() => {
            if (this.inflight.get(channelId) === request) {
                this.inflight.delete(channelId);
            }
        });
        this.inflight.set(channelId, request);
        return request;
    }

    set(channelId: string, method: EncryptionMethod): void {
        this.store.dispatch(channelMethodReceived(channelId, method));
    }

    /** Forgets every channel's method but the one given (still shown until refreshed). */
    clear(keep?: string): void {
        this.store.dispatch({type: CHANNEL_METHODS_CLEARED, keep});
    }

    /** Fetches the method of each channel the user opens. Returns an unsubscribe. */
    watchCurrentChannel(): () => void {
        let last = '';
        const check = () => {
            const id = currentChannelId(this.store.getState());
            if (id && id !== last) {
                last = id;
                this.refresh(id).catch((err) => console.warn('e2ee: could not fetch the channel encryption state', err instanceof Error ? err.message : ''));
            }
        };
        const unsubscribe = this.store.subscribe(check);
        check();
        return unsubscribe;
    }
}
