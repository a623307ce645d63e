// Test fixtures for the message features: real keys from the crypto core, an in-memory
// localStorage, a small redux-like store and a registry that records registrations.
// Only the network is faked.
import type {Post} from '@mattermost/types/posts';
import type {UserProfile} from '@mattermost/types/users';

import {generateKeys, publicKeyOf, publicKeyToJSON} from '../../src/crypto';
import type {PrivateKeySet, PublicKey, PublicKeyJSON} from '../../src/crypto/types';
import {defaultCryptoOps, type CryptoOps} from '../../src/messages/crypto_ops';
import {STATE_KEY, reducer} from '../../src/messages/state';
import type {MyKeys} from '../../src/types/my_keys';
import type {WebSocketMessage} from '../../src/types/registry';

export interface TestUser {
    id: string;
    username: string;
    keys: PrivateKeySet;
    pub: PublicKey;
    json: PublicKeyJSON;
}

let seq = 0;
export function userId(name: string): string {
    return `${name}${'x'.repeat(26)}`.slice(0, 26);
}

export async function makeUser(username: string): Promise<TestUser> {
    const {keys} = await generateKeys();
    const pub = await publicKeyOf(keys);
    return {id: userId(username), username, keys, pub, json: publicKeyToJSON(pub)};
}

/** The same person with a brand-new key (new device, or an attacker's key). */
export async function rekey(user: TestUser): Promise<TestUser> {
    const {keys} = await generateKeys();
    const pub = await publicKeyOf(keys);
    return {...user, keys, pub, json: publicKeyToJSON(pub)};
}

export class FakeMyKeys implements MyKeys {
    private listeners = new Set<() => void>();
    constructor(private user: TestUser | null) {}
    async get() {
        return this.user?.keys ?? null;
    }
    async getPublic() {
        return this.user?.pub ?? null;
    }
    onChange(listener: () => void) {
        this.listeners.add(listener);
        return () => {
            this.listeners.delete(listener);
        };
    }
    set(user: TestUser | null) {
        this.user = user;
        for (const l of [...this.listeners]) {
            l();
        }
    }
}

export class MemoryStorage implements Storage {
    private map = new Map<string, string>();
    get length() {
        return this.map.size;
    }
    clear() {
        this.map.clear();
    }
    getItem(key: string) {
        return this.map.has(key) ? this.map.get(key)! : null;
    }
    key(i: number) {
        return [...this.map.keys()][i] ?? null;
    }
    removeItem(key: string) {
        this.map.delete(key);
    }
    setItem(key: string, value: string) {
        this.map.set(key, String(value));
    }
    dump(): Record<string, string> {
        return Object.fromEntries(this.map);
    }
}

export interface HostFixture {
    currentUserId: string;
    currentChannelId?: string;
    profiles?: Record<string, Partial<UserProfile>>;
    myMembers?: Record<string, {notify_props?: Record<string, string>}>;
    posts?: Record<string, Post>;
}

export interface Entities {
    users: {currentUserId: string; profiles: Record<string, Partial<UserProfile>>};
    channels: {currentChannelId: string; myMembers: Record<string, {notify_props?: Record<string, string>}>};
    posts: {posts: Record<string, Post>};
}

/** A minimal store: the host's entities as given, our reducer at state['plugins-<id>'],
 * and every dispatched action recorded. */
export function makeStore(fixture: HostFixture) {
    const listeners = new Set<() => void>();
    const actions: Array<{type: string; [k: string]: unknown}> = [];
    const entities: Entities = {
        users: {currentUserId: fixture.currentUserId, profiles: fixture.profiles ?? {}},
        channels: {currentChannelId: fixture.currentChannelId ?? '', myMembers: fixture.myMembers ?? {}},
        posts: {posts: fixture.posts ?? {}},
    };
    let state: Record<string, unknown> = {entities, [STATE_KEY]: reducer(undefined, {type: '@@INIT'})};
    const store = {
        actions,
        getState: () => state,
        dispatch(action: {type: string; [k: string]: unknown}) {
            actions.push(action);
            const next = reducer(state[STATE_KEY], action);
            if (next !== state[STATE_KEY]) {
                state = {...state, [STATE_KEY]: next};
            }
            for (const l of [...listeners]) {
                l();
            }
            return action;
        },
        subscribe(l: () => void) {
            listeners.add(l);
            return () => {
                listeners.delete(l);
            };
        },
        replaceReducer() {
            throw new Error('not used');
        },
        [Symbol.observable]() {
            throw new Error('not used');
        },
        /** Replaces top-level host slices (e.g. views). */
        patchState(patch: Record<string, unknown>) {
            state = {...state, ...patch};
            for (const l of [...listeners]) {
                l();
            }
        },
        /** Changes the host part of the state (e.g. switching channel). */
        entities: () => state.entities as Entities,
        plugin: () => state[STATE_KEY] as ReturnType<typeof reducer>,
        setEntities(update: (entities: Entities) => Entities) {
            state = {...state, entities: update(state.entities as Entities)};
            for (const l of [...listeners]) {
                l();
            }
        },
        notices(): string[] {
            return actions.filter((a) => a.type === 'RECEIVED_NEW_POST').map((a) => (a.data as Post).message);
        },
    };
    return store;
}

export type FakeStore = ReturnType<typeof makeStore>;

/** The real crypto functions, with call counts. */
export function countingOps(): CryptoOps & {calls: {decrypt: number; encrypt: number; import: number}} {
    const calls = {decrypt: 0, encrypt: 0, import: 0};
    return {
        calls,
        importPublicKey: (json) => {
            calls.import++;
            return defaultCryptoOps.importPublicKey(json);
        },
        encryptV2: (payload, sender, recipients, context) => {
            calls.encrypt++;
            return defaultCryptoOps.encryptV2(payload, sender, recipients, context);
        },
        decryptMessage: (msg, me, myPublic, senderPublic, context) => {
            calls.decrypt++;
            return defaultCryptoOps.decryptMessage(msg, me, myPublic, senderPublic, context);
        },
        fingerprintOf: (pub) => defaultCryptoOps.fingerprintOf(pub),
    };
}

/** The plugin server's key API over a table; counts requests. */
export function fakeKeyServer(table: Record<string, PublicKeyJSON | null>) {
    const requests: string[][] = [];
    return {
        requests,
        table,
        async getPublicKeys(ids: string[]) {
            requests.push([...ids]);
            const out: Record<string, PublicKeyJSON | null> = {};
            for (const id of ids) {
                out[id] = table[id] ?? null;
            }
            return out;
        },
    };
}

export function profile(user: {id: string; username: string}, extra: Partial<UserProfile> = {}): UserProfile {
    return {id: user.id, username: user.username, delete_at: 0, ...extra} as UserProfile;
}

export function basePost(fields: Partial<Post>): Post {
    seq++;
    return {
        id: `post${seq}`.padEnd(26, 'p'),
        create_at: 1700000000000 + seq,
        update_at: 1700000000000 + seq,
        edit_at: 0,
        delete_at: 0,
        is_pinned: false,
        user_id: '',
        channel_id: '',
        root_id: '',
        original_id: '',
        message: '',
        type: '',
        props: {},
        hashtags: '',
        pending_post_id: '',
        reply_count: 0,
        metadata: {embeds: [], emojis: [], files: [], images: {}},
        ...fields,
    } as Post;
}

/** Records what the plugin registers, like the host's PluginRegistry. */
export function makeRegistry() {
    let n = 0;
    const registered: Record<string, unknown[]> = {};
    const ws: Record<string, (msg: WebSocketMessage) => void> = {};
    let reconnect: (() => void) | null = null;
    let reducerFn: unknown = null;
    const add = (kind: string, ...args: unknown[]) => {
        (registered[kind] ??= []).push(args);
        n++;
        return `id${n}`;
    };
    const unregistered: string[] = [];
    const registry = {
        registered,
        ws,
        unregistered,
        get reconnect() {
            return reconnect;
        },
        get reducer() {
            return reducerFn;
        },
        registerRootComponent: (c: unknown) => add('root', c),
        registerPostTypeComponent: (t: string, c: unknown) => add('postType', t, c),
        registerReducer: (r: unknown) => {
            reducerFn = r;
        },
        registerWebSocketEventHandler: (event: string, h: (msg: WebSocketMessage) => void) => {
            ws[event] = h;
        },
        unregisterWebSocketEventHandler: (event: string) => {
            delete ws[event];
        },
        registerReconnectHandler: (h: () => void) => {
            reconnect = h;
        },
        unregisterReconnectHandler: () => {
            reconnect = null;
        },
        registerChannelHeaderButtonAction: (...args: unknown[]) => add('header', ...args),
        registerPostDropdownMenuAction: (...args: unknown[]) => add('dropdown', ...args),
        registerMessageWillBePostedHook: (h: unknown) => add('willPost', h),
        registerMessageWillBeUpdatedHook: (h: unknown) => add('willUpdate', h),
        registerSlashCommandWillBePostedHook: (h: unknown) => add('slash', h),
        registerDesktopNotificationHook: (h: unknown) => add('notification', h),
        registerFilesWillUploadHook: (h: unknown) => add('files', h),
        unregisterComponent: (id: string) => {
            unregistered.push(id);
        },
    };
    return registry;
}

export function first<T>(registry: ReturnType<typeof makeRegistry>, kind: string, index = 0): T {
    const entry = registry.registered[kind]?.[0] as unknown[] | undefined;
    if (!entry) {
        throw new Error(`nothing registered as ${kind}`);
    }
    return entry[index] as T;
}
