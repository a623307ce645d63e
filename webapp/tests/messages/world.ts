// One plugin instance wired to fakes of the network: alice is "me", bob and carol are
// channel members with real keys, dave is a member without a key.
import type {Post} from '@mattermost/types/posts';
import type {UserProfile} from '@mattermost/types/users';

import type {EncryptionMethod, KeyHistoryEntryJSON, MethodRequest} from '../../src/client';
import type {Channel} from '@mattermost/types/channels';

import type {EncryptedMessageJSON, PublicKeyJSON} from '../../src/crypto/types';
import {registerMessageFeatures} from '../../src/messages';
import type {ChannelKeyAPI} from '../../src/messages/channel_key';
import type {TurnedOff} from '../../src/messages/state';
import type {DesktopNotificationArgs, PluginRegistry} from '../../src/types/registry';
import type {Store} from 'redux';

import {FakeMyKeys, MemoryStorage, countingOps, fakeKeyServer, makeRegistry, makeStore, makeUser, profile, userId, type TestUser} from './helpers';

export const CHANNEL = 'channelaaaaaaaaaaaaaaaaaaaa';

/** A hook's answer, loosely typed for assertions: either field may be absent. */
export interface HookOut {
    post: Post & {props: {e2ee: EncryptedMessageJSON}};
    error: {message: string};
}

export interface WorldOptions {
    method?: EncryptionMethod;
    /** What the fake server chooses for method=auto on an unencrypted channel (default p2p). */
    autoMethod?: EncryptionMethod;
    withKeys?: boolean; // alice has keys in this browser
    storage?: MemoryStorage;
    /** The server's key history (POST /pubkey/history); absent: the route is not offered. */
    keyHistory?: Record<string, KeyHistoryEntryJSON[]>;
    /** The channel-key routes (epoch status, records, joiners); absent: not offered. */
    channelKeyAPI?: ChannelKeyAPI;
}

export async function makeWorld(opts: WorldOptions = {}) {
    const [alice, bob, carol] = await Promise.all([makeUser('alice'), makeUser('bob'), makeUser('carol')]);
    const dave = {id: userId('dave'), username: 'dave'};
    const keyTable: Record<string, PublicKeyJSON | null> = {[alice.id]: alice.json, [bob.id]: bob.json, [carol.id]: carol.json, [dave.id]: null};
    const keyServer = fakeKeyServer(keyTable);
    const channelMethods: Record<string, EncryptionMethod> = {[CHANNEL]: opts.method ?? 'p2p'};
    let members: UserProfile[] = [profile(alice), profile(bob), profile(carol), profile(dave)];
    const methodRequests: string[] = [];
    const historyRequests: string[][] = [];
    const setRequests: Array<[string, MethodRequest]> = [];
    let setMethodError: Error | null = null;
    const patches: Array<{id: string; message: string; props: Record<string, unknown>}> = [];
    const store = makeStore({
        currentUserId: alice.id,
        currentChannelId: CHANNEL,
        profiles: {[alice.id]: profile(alice), [bob.id]: profile(bob), [carol.id]: profile(carol), [dave.id]: profile(dave)},
        myMembers: {[CHANNEL]: {notify_props: {desktop: 'default'}}},
    });
    const storage = opts.storage ?? new MemoryStorage();
    const myKeys = new FakeMyKeys(opts.withKeys === false ? null : alice);
    const ops = countingOps();
    const registry = makeRegistry();
    const turnedOff: Record<string, TurnedOff> = {};
    const dmChannels: Record<string, string> = {}; // sorted user IDs joined by "," -> channel ID
    const usernameLookups: string[][] = [];
    const api = {
        getPublicKeys: keyServer.getPublicKeys,
        async getChannelMode(id: string) {
            const method = await api.getChannelMethod(id); // through any override a test set
            return turnedOff[id] ? {method, turned_off: turnedOff[id]} : {method};
        },
        ...(opts.channelKeyAPI ?? {}),
        ...(opts.keyHistory ? {getKeyHistory: async (ids: string[]) => {
            historyRequests.push([...ids]);
            return Object.fromEntries(ids.map((id) => [id, opts.keyHistory![id] ?? []]));
        }} : {}),
        async getChannelMethod(id: string) {
            methodRequests.push(id);
            return channelMethods[id] ?? 'none';
        },
        async setChannelMethod(id: string, method: MethodRequest) {
            if (setMethodError) {
                throw setMethodError;
            }
            setRequests.push([id, method]);
            // "auto": the fake server keeps an encrypted mode, else chooses autoMethod (default P2P).
            const chosen: EncryptionMethod = method !== 'auto' ? method : channelMethods[id] !== 'none' && channelMethods[id] ? channelMethods[id] : opts.autoMethod ?? 'p2p';
            channelMethods[id] = chosen;
            return chosen;
        },
    };
    const users = [alice, bob, carol, dave];
    const client = {
        async getUsersByUsernames(names: string[]) {
            usernameLookups.push([...names]);
            return users.filter((u) => names.includes(u.username)).map((u) => ({id: u.id, username: u.username}));
        },
        async directChannelId(ids: string[]) {
            const key = [...ids].sort().join(',');
            dmChannels[key] ??= `dm${Object.keys(dmChannels).length}`.padEnd(26, 'd');
            return dmChannels[key];
        },
        async getProfilesInChannel(_channelId: string, page = 0, perPage = 60) {
            return members.slice(page * perPage, (page + 1) * perPage);
        },
        async patchPost(patch: {id: string; message: string; props: Record<string, unknown>}) {
            patches.push(patch);
            return {...store.entities().posts.posts[patch.id], ...patch, edit_at: Date.now(), update_at: Date.now()} as Post;
        },
    };
    const features = registerMessageFeatures(registry as unknown as PluginRegistry, store as unknown as Store, myKeys, {ops, storage, api, client});
    await new Promise((r) => setTimeout(r, 0)); // let the initial channel fetch settle

    return {
        turnedOff, dmChannels, usernameLookups,
        /** The DM or group message of alice with these users, as the server would name it. */
        dmOf: (...with_: TestUser[] | Array<{id: string}>) => client.directChannelId([alice.id, ...with_.map((u) => u.id)]),
        slash: (registry.registered.slash[0] as unknown[])[0] as (message: string, a: {channel_id: string; team_id: string; root_id: string}) =>
            Promise<{message?: string; args?: unknown; error?: {message: string}}>,
        /** Waits for the plugin's question, then answers it. Returns the question's text. */
        async answer(yes: boolean): Promise<string> {
            for (let i = 0; i < 100 && !features.confirm.getSnapshot(); i++) {
                await new Promise((r) => setTimeout(r, 0));
            }
            const q = features.confirm.getSnapshot();
            if (!q) {
                throw new Error('no question was asked');
            }
            q.answer(yes);
            return q.text;
        },
        alice, bob, carol, dave, keyTable, keyServer, channelMethods, methodRequests, historyRequests, setRequests, patches,
        store, storage, myKeys, ops, registry, features, api, client,
        setMembers(list: UserProfile[]) {
            members = list;
        },
        failSetMethod(err: Error | null) {
            setMethodError = err;
        },
        publish(user: TestUser) {
            keyTable[user.id] = user.json;
        },
        willPost: (registry.registered.willPost[0] as unknown[])[0] as (post: Post) => Promise<HookOut>,
        willUpdate: (registry.registered.willUpdate[0] as unknown[])[0] as (newPost: Partial<Post>, oldPost: Post) => Promise<HookOut>,
        notificationHook: (registry.registered.notification[0] as unknown[])[0] as (post: Post, msgProps: unknown, channel: Partial<Channel>, teamId: string, args: DesktopNotificationArgs) => Promise<{args: DesktopNotificationArgs}>,
    };
}

export type World = Awaited<ReturnType<typeof makeWorld>>;
