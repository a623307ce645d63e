// The `posted` handler that notifies the encrypted mentions Mattermost drops before any plugin
// hook runs, checked together with a replica of the host's own path (notification_actions:
// shouldSkipNotification, then the hooks, then notifyMe), so that every post notifies at most
// once, through exactly one of the two. Real keys and WebCrypto; only the network is faked.
import type {Post} from '@mattermost/types/posts';

import {encryptV2} from '../../src/crypto';
import {hostKeyMatches, listedForNonText, shouldNotify, stripMarkdown} from '../../src/messages/notifications';
import type {DesktopNotification} from '../../src/messages/notify_posted';
import type {WebSocketMessage} from '../../src/types/registry';

import {basePost, type TestUser} from './helpers';
import {CHANNEL, makeWorld, type World} from './world';

const TEAM = 'teamaaaaaaaaaaaaaaaaaaaaaa';
const OTHER = 'otherchannelaaaaaaaaaaaaaa';
const PLACEHOLDER = 'Encrypted message';

interface Sent extends DesktopNotification {
    via: 'host' | 'plugin';
}

interface Setup {
    type?: 'O' | 'P' | 'D' | 'G';
    user?: Record<string, string>; // alice's account notify_props
    member?: Record<string, string> | null; // alice's channel notify_props; null: not a member
    status?: string;
    focused?: boolean;
    onChannel?: boolean; // the post's channel is the current one
    config?: Record<string, string>;
    preferences?: Record<string, {value: string}>;
    rhs?: {isSidebarOpen: boolean; selectedPostId: string};
    webappUtils?: boolean;
}

async function world(s: Setup = {}) {
    const w = await makeWorld();
    const sent: Sent[] = [];
    const type = s.type ?? 'O';
    w.store.setEntities((e) => {
        const me = e.users.profiles[w.alice.id]!;
        const bob = e.users.profiles[w.bob.id]!;
        return {
            ...e,
            users: {
                ...e.users,
                profiles: {
                    ...e.users.profiles,
                    [w.alice.id]: {...me, first_name: 'Alice', notify_props: {desktop: 'mention', channel: 'true', first_name: 'false', mention_keys: '', ...s.user} as never},
                    [w.bob.id]: {...bob, first_name: 'Bob', last_name: 'Builder'},
                },
                statuses: {[w.alice.id]: s.status ?? 'online'},
            },
            channels: {
                ...e.channels,
                currentChannelId: s.onChannel ? CHANNEL : OTHER,
                channels: {[CHANNEL]: {id: CHANNEL, name: 'plans', display_name: 'Plans', type, team_id: type === 'D' || type === 'G' ? '' : TEAM}},
                myMembers: s.member === null ? {} : {[CHANNEL]: {notify_props: {desktop: 'default', mark_unread: 'all', ...s.member}}},
            },
            teams: {currentTeamId: TEAM, teams: {[TEAM]: {id: TEAM, name: 'e2ee'}}},
            general: {config: s.config ?? {}},
            preferences: {myPreferences: s.preferences ?? {}},
        } as never;
    });
    w.store.patchState({views: {browser: {focused: s.focused ?? false}, rhs: s.rhs ?? {isSidebarOpen: false, selectedPostId: ''}, threads: {selectedThreadIdInTeam: {}}}});
    // The host's store runs thunks (Mattermost's notifyMe is an action creator).
    const plainDispatch = w.store.dispatch.bind(w.store);
    (w.store as {dispatch: unknown}).dispatch = (action: unknown) => (typeof action === 'function' ?
        action(w.store.dispatch, w.store.getState) : plainDispatch(action as never));
    const notifyMe = (via: Sent['via']) => (title: string, body: string, channelId: string, teamId: string, silent: boolean, soundName: string, url: string) =>
        async () => {
            sent.push({via, title, body, channelId, teamId, silent, soundName, url});
        };
    (globalThis as {window?: unknown}).window = s.webappUtils === false ? {} : {WebappUtils: {sendDesktopNotificationToMe: notifyMe('plugin')}};
    return {w, sent, type, hostNotifyMe: notifyMe('host')};
}

afterEach(() => {
    delete (globalThis as {window?: unknown}).window;
});

async function encryptedBy(w: World, from: TestUser, text: string, fields: Partial<Post> = {}): Promise<Post> {
    const rootId = fields.root_id ?? '';
    const e2ee = await encryptV2({text}, from.keys, [w.alice.pub, w.bob.pub], {channelId: CHANNEL, rootId, userId: from.id});
    return basePost({user_id: from.id, channel_id: CHANNEL, type: 'custom_e2ee' as Post['type'], message: PLACEHOLDER, props: {e2ee}, ...fields});
}

function wsData(_w: World, post: Post, type: string, mentions: string[] = [], followers: string[] = []): Record<string, string> {
    return {
        post: JSON.stringify(post), channel_type: type, channel_display_name: 'Plans', channel_name: 'plans', team_id: type === 'D' || type === 'G' ? '' : TEAM,
        sender_name: '@bob', set_online: 'true', mentions: JSON.stringify(mentions), followers: JSON.stringify(followers),
    };
}

type Ctx = Awaited<ReturnType<typeof world>>;

/** Mattermost's sendDesktopNotification, written from its source (mattermost-host.md, the
 * brief's facts): the skip rules in order, then the hooks, then notifyMe. */
async function hostPath(ctx: Ctx, post: Post, data: Record<string, string>): Promise<void> {
    const {w} = ctx;
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the host's whole state, read loosely
    const state = w.store.getState() as any;
    const me = state.entities.users.currentUserId;
    if (post.user_id === me && post.props?.from_webhook !== 'true') {
        return;
    }
    if (post.type.startsWith('system_')) {
        return;
    }
    const member = state.entities.channels.myMembers[post.channel_id];
    if (!member) {
        return;
    }
    if (member.notify_props?.mark_unread === 'mention') {
        return;
    }
    const user = state.entities.users.profiles[me];
    const status = state.entities.users.statuses[me];
    if (status === 'dnd' || status === 'ooo') {
        return;
    }
    const channel = state.entities.channels.channels[post.channel_id];
    const mentions = [...JSON.parse(data.followers || '[]'), ...JSON.parse(data.mentions || '[]')];
    const channelLevel = member.notify_props?.desktop || 'default';
    let level = channelLevel === 'default' ? (user.notify_props?.desktop || 'all') : channelLevel;
    if (channel.type === 'G' && channelLevel === 'default' && user.notify_props?.desktop === 'mention') {
        level = 'all';
    }
    if (level === 'none') {
        return;
    }
    if (channel.type === 'G' && level === 'mention') {
        // getAllUserMentionKeys, then `(^|\W)key(\b|_+\b)` on post.message
        const keys = [`@${user.username}`, ...(user.notify_props.mention_keys || '').split(',').map((k: string) => k.trim()).filter(Boolean)];
        if (user.notify_props.first_name === 'true') {
            keys.push(user.first_name);
        }
        const hit = keys.some((k) => new RegExp(`(^|\\W)(${k.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')})(\\b|_+\\b)`, 'i').test(post.message));
        if (!hit) {
            return;
        }
    } else if (level === 'mention' && !mentions.includes(me) && data.channel_type !== 'D') {
        return;
    }
    if (state.views.browser.focused && state.entities.channels.currentChannelId === post.channel_id) {
        return; // (CRT off in this replica)
    }
    const args = {title: channel.type === 'D' ? 'Direct Message' : channel.display_name, body: `@bob: ${post.message}`, silent: false, soundName: 'Bing', url: '/e2ee/channels/plans', notify: true};
    const result = await w.notificationHook(post, data, channel, data.team_id, args);
    if (!result.args.notify) {
        return;
    }
    const a = result.args;
    await ctx.hostNotifyMe(a.title, a.body, channel.id, data.team_id, a.silent, a.soundName, a.url)();
}

/** The host's WebSocket: its own handling first, then the plugin's `posted` handler. */
async function deliver(ctx: Ctx, post: Post, data: Record<string, string>): Promise<void> {
    await hostPath(ctx, post, data);
    const handler = ctx.w.registry.ws.posted as (msg: WebSocketMessage) => Promise<void>;
    await handler({event: 'posted', data, broadcast: {channel_id: post.channel_id}, seq: 1});
}

describe('posted handler: the encrypted mentions the host drops', () => {
    test('registers for the core posted event and unregisters on dispose', async () => {
        const {w} = await world();
        expect(typeof w.registry.ws.posted).toBe('function');
        w.features.dispose();
        expect(w.registry.ws.posted).toBeUndefined();
    });

    test('an @mention on the default "mention" level notifies once, with the decrypted text, through the host notifier', async () => {
        const ctx = await world();
        const post = await encryptedBy(ctx.w, ctx.w.bob, 'hey @alice, the **plan** is [here](http://x)');
        await deliver(ctx, post, wsData(ctx.w, post, 'O'));
        expect(ctx.sent).toEqual([{
            via: 'plugin', title: 'Plans', body: '@bob: hey @alice, the plan is here', channelId: CHANNEL, teamId: TEAM,
            silent: false, soundName: 'Bing', url: '/e2ee/channels/plans',
        }]);
    });

    // [what, setup, text, server mentions alice?, expected path or null]
    const table: Array<[string, Setup, string, boolean, Sent['via'] | null]> = [
        ['no mention on "mention"', {}, 'just chatting', false, null],
        ['@alice. ends a sentence', {}, 'ask @alice.', false, 'plugin'],
        ['@alice.smith is someone else', {}, 'ask @alice.smith', false, null],
        ['@channel', {}, '@channel lunch', false, 'plugin'],
        ['@here with channel mentions off', {user: {channel: 'false'}}, '@here lunch', false, null],
        ['@all ignored in this channel', {member: {ignore_channel_mentions: 'on'}}, '@all lunch', false, null],
        ['a mention key', {user: {mention_keys: 'deploy,Big Bird'}}, 'we DEPLOY at noon', false, 'plugin'],
        ['first name, enabled', {user: {first_name: 'true'}}, 'Alice, look', false, 'plugin'],
        ['first name, not enabled', {}, 'Alice, look', false, null],
        ['a mention in code only', {}, 'run `@alice`', false, null],
        ['channel level "mention" over account "all"', {user: {desktop: 'all'}, member: {desktop: 'mention'}}, '@alice hi', false, 'plugin'],
        ['account "all": the hook notifies', {user: {desktop: 'all'}}, 'just chatting', false, 'host'],
        ['account "all" and a mention: still only the hook', {user: {desktop: 'all'}}, '@alice hi', false, 'host'],
        ['channel "all" over account "mention"', {member: {desktop: 'all'}}, 'hi', false, 'host'],
        ['level "none"', {member: {desktop: 'none'}}, '@alice hi', false, null],
        ['account "none"', {user: {desktop: 'none'}}, '@alice hi', false, null],
        ['muted channel', {member: {mark_unread: 'mention'}}, '@alice hi', false, null],
        ['do not disturb', {status: 'dnd'}, '@alice hi', false, null],
        ['out of office', {status: 'ooo'}, '@alice hi', false, null],
        ['not a member', {member: null}, '@alice hi', false, null],
        ['focused on this channel', {focused: true, onChannel: true}, '@alice hi', false, null],
        ['focused on another channel', {focused: true}, '@alice hi', false, 'plugin'],
        ['this channel, window not focused', {onChannel: true}, '@alice hi', false, 'plugin'],
        ['server listed alice (a followed thread): the hook notifies', {}, 'just chatting', true, 'host'],
        ['server listed alice and a mention: only the hook', {}, '@alice hi', true, 'host'],
        ['DM on "mention": the hook', {type: 'D'}, 'hi', false, 'host'],
        ['DM with a mention: only the hook', {type: 'D'}, '@alice hi', false, 'host'],
        ['DM, level none', {type: 'D', user: {desktop: 'none'}}, 'hi', false, null],
        ['GM, account "mention": counts as "all", the hook', {type: 'G'}, 'hi', false, 'host'],
        ['GM, channel "mention", mentioned', {type: 'G', member: {desktop: 'mention'}}, '@alice hi', false, 'plugin'],
        ['GM, channel "mention", not mentioned', {type: 'G', member: {desktop: 'mention'}}, 'hi', false, null],
        ['GM, channel "mention", a key matching the placeholder: the hook decides (yes)', {type: 'G', member: {desktop: 'mention'}, user: {mention_keys: 'message'}}, '@alice hi', false, 'host'],
        ['GM, channel "mention", a key matching the placeholder: the hook decides (no)', {type: 'G', member: {desktop: 'mention'}, user: {mention_keys: 'message'}}, 'hi', false, null],
        ['GM muted', {type: 'G', member: {desktop: 'mention', mark_unread: 'mention'}}, '@alice hi', false, null],
    ];

    test.each(table)('%s', async (_what, setup, text, listed, expected) => {
        const ctx = await world(setup);
        const post = await encryptedBy(ctx.w, ctx.w.bob, text);
        await deliver(ctx, post, wsData(ctx.w, post, ctx.type, listed ? [ctx.w.alice.id] : []));
        expect(ctx.sent.map((n) => n.via)).toEqual(expected ? [expected] : []);
        for (const n of ctx.sent) {
            expect(n.body).toContain(text.replace(/`/g, ''));
            expect(n.body).not.toContain(PLACEHOLDER);
        }
    });

    test('one decryption serves the notification and the display; a redelivered event notifies no more', async () => {
        const ctx = await world();
        const post = await encryptedBy(ctx.w, ctx.w.bob, '@alice once');
        const data = wsData(ctx.w, post, 'O');
        await deliver(ctx, post, data);
        await deliver(ctx, post, data);
        expect(ctx.sent).toHaveLength(1);
        await ctx.w.features.decrypt.decrypt(post); // as the post component does
        expect(ctx.w.ops.calls.decrypt).toBe(1);
    });

    test('own posts, plain posts and posts it cannot read never notify', async () => {
        const ctx = await world();
        const own = await encryptedBy(ctx.w, ctx.w.alice, '@alice note to self');
        const plain = basePost({user_id: ctx.w.bob.id, channel_id: CHANNEL, message: '@alice plain'});
        await deliver(ctx, own, wsData(ctx.w, own, 'O'));
        // The server saw this mention itself: the host's own path, not ours.
        await ctx.w.registry.ws.posted({event: 'posted', data: wsData(ctx.w, plain, 'O', [ctx.w.alice.id]), broadcast: {}, seq: 2});
        const unreadable = await encryptedBy(ctx.w, ctx.w.bob, '@alice secret');
        ctx.w.myKeys.set(null);
        await deliver(ctx, unreadable, wsData(ctx.w, unreadable, 'O'));
        const broken = {...unreadable, id: 'brokenpostaaaaaaaaaaaaaaaa', props: {e2ee: {version: 2}}} as Post;
        await deliver(ctx, broken, wsData(ctx.w, broken, 'O'));
        await ctx.w.registry.ws.posted({event: 'posted', data: {post: '{not json'}, broadcast: {}, seq: 3});
        expect(ctx.sent).toEqual([]);
    });

    test('sound, sender name and team as the host would set them', async () => {
        const ctx = await world({
            member: {desktop_sound: 'off', desktop_notification_sound: 'default'},
            user: {desktop_notification_sound: 'Crackle'},
            preferences: {'display_settings--name_format': {value: 'full_name'}},
        });
        const post = await encryptedBy(ctx.w, ctx.w.bob, '@alice hi');
        await deliver(ctx, post, wsData(ctx.w, post, 'O'));
        expect(ctx.sent).toMatchObject([{body: '@Bob Builder: @alice hi', silent: true, soundName: 'Crackle', teamId: TEAM}]);
    });

    test('collapsed threads: a reply is titled "Reply in …", links to the post, and is skipped only while its thread is open', async () => {
        const crt = {config: {CollapsedThreads: 'always_on'}, focused: true, onChannel: true};
        const open = await world({...crt, rhs: {isSidebarOpen: true, selectedPostId: 'rootpostaaaaaaaaaaaaaaaaaa'}});
        const inOpen = await encryptedBy(open.w, open.w.bob, '@alice in the thread', {root_id: 'rootpostaaaaaaaaaaaaaaaaaa'});
        await open.w.registry.ws.posted({event: 'posted', data: wsData(open.w, inOpen, 'O'), broadcast: {}, seq: 1});
        expect(open.sent).toEqual([]);

        const closed = await world(crt); // on the channel, but the thread is not open
        const reply = await encryptedBy(closed.w, closed.w.bob, '@alice in the thread', {root_id: 'rootpostaaaaaaaaaaaaaaaaaa'});
        await closed.w.registry.ws.posted({event: 'posted', data: wsData(closed.w, reply, 'O'), broadcast: {}, seq: 1});
        expect(closed.sent).toMatchObject([{title: 'Reply in Plans', url: `/e2ee/pl/${reply.id}`}]);
    });

    test('a GM links to the channel under the current team', async () => {
        const ctx = await world({type: 'G', member: {desktop: 'mention'}});
        const post = await encryptedBy(ctx.w, ctx.w.bob, '@alice gm');
        await deliver(ctx, post, wsData(ctx.w, post, 'G'));
        expect(ctx.sent).toMatchObject([{via: 'plugin', title: 'Plans', url: '/e2ee/channels/plans', teamId: TEAM}]);
    });

    test('without the host notifier: the browser Notification API, only when permission is granted', async () => {
        for (const permission of ['granted', 'default', 'denied']) {
            const ctx = await world({webappUtils: false});
            const shown: Array<{title: string; body?: string}> = [];
            class FakeNotification {
                static permission = permission;
                onclick: unknown = null;
                constructor(title: string, opts: {body?: string}) {
                    shown.push({title, body: opts.body});
                }
            }
            (globalThis as {window?: unknown}).window = {Notification: FakeNotification, focus: () => undefined};
            const post = await encryptedBy(ctx.w, ctx.w.bob, '@alice hi');
            await ctx.w.registry.ws.posted({event: 'posted', data: wsData(ctx.w, post, 'O'), broadcast: {}, seq: 1});
            expect(shown).toEqual(permission === 'granted' ? [{title: 'Plans', body: '@bob: @alice hi'}] : []);
        }
    });

    test('sends nothing to the server', async () => {
        const ctx = await world();
        const post = await encryptedBy(ctx.w, ctx.w.bob, '@alice hi');
        const before = {keys: ctx.w.keyServer.requests.length, methods: ctx.w.methodRequests.length};
        await deliver(ctx, post, wsData(ctx.w, post, 'O'));
        expect(ctx.sent).toHaveLength(1);
        expect(ctx.w.patches).toEqual([]);
        expect(ctx.w.setRequests).toEqual([]);
        expect(ctx.w.methodRequests.length).toBe(before.methods);
        // Only bob's public key may be fetched (a read); no request carries the text.
        expect(JSON.stringify(ctx.w.keyServer.requests)).not.toContain('hi');
    });
});

describe('the decision helpers', () => {
    const user = {id: 'me', username: 'alice', first_name: 'Alice', notify_props: {desktop: 'mention', channel: 'true'}};

    test('group messages on an explicit channel "mention" level decide from the text', () => {
        expect(shouldNotify('hello', user, {notify_props: {desktop: 'mention'}}, 'G')).toBe(false);
        expect(shouldNotify('@alice hello', user, {notify_props: {desktop: 'mention'}}, 'G')).toBe(true);
        expect(shouldNotify('hello', user, {notify_props: {desktop: 'default'}}, 'G')).toBe(true);
    });

    test('the host key test, as Mattermost writes it', () => {
        expect(hostKeyMatches(PLACEHOLDER, [{key: 'message', caseSensitive: false}])).toBe(true);
        expect(hostKeyMatches(PLACEHOLDER, [{key: 'crypt', caseSensitive: false}])).toBe(false);
        expect(hostKeyMatches(PLACEHOLDER, [{key: '@alice', caseSensitive: false}, {key: '', caseSensitive: false}])).toBe(false);
        expect(hostKeyMatches('Encrypted', [{key: 'encrypted', caseSensitive: true}])).toBe(false);
    });

    test('listed by the server for a reason other than the text', () => {
        expect(listedForNonText({followers: '["me"]'}, user, undefined)).toBe(true);
        expect(listedForNonText({mentions: '["me"]'}, user, undefined)).toBe(true);
        expect(listedForNonText({mentions: '["me"]'}, {...user, notify_props: {...user.notify_props, mention_keys: 'encrypted'}}, undefined)).toBe(false);
        expect(listedForNonText({mentions: 'not json'}, user, undefined)).toBe(false);
        expect(listedForNonText(undefined, user, undefined)).toBe(false);
    });

    test.each([
        ['**bold** and _it_ and ~~gone~~', 'bold and it and gone'],
        ['# Title\n> quoted\n- item', 'Title\nquoted\nitem'],
        ['[link](http://x) ![img](http://y)', 'link img'],
        ['```js\ncode()\n```', 'code()\n'],
        ['snake_case_name and 2*3*4', 'snake_case_name and 2*3*4'],
        ['`@alice`', '@alice'],
    ])('stripMarkdown(%j)', (input, output) => {
        expect(stripMarkdown(input)).toBe(output);
    });
});
