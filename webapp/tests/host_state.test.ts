// The adapter reads the host's state through mattermost-redux's selectors, tolerates a partial
// state, and loads missing profiles once, in batches, with mattermost-redux's own action.
import {createProfileLoader, hostState} from '../src/host_state';

const state = {
    entities: {
        users: {currentUserId: 'me', profiles: {me: {id: 'me', username: 'ann', email: 'ann@example.com'}, u2: {id: 'u2', username: 'ben'}}},
        channels: {currentChannelId: 'c1', myMembers: {c1: {channel_id: 'c1', user_id: 'me', notify_props: {desktop: 'all'}}}},
        general: {config: {SiteURL: 'https://mm.example.com', CollapsedThreads: 'default_on'}},
        preferences: {myPreferences: {'display_settings--name_format': {category: 'display_settings', name: 'name_format', user_id: 'me', value: 'full_name'}}},
        posts: {posts: {p1: {id: 'p1', channel_id: 'c1'}}},
    },
};

test('selectors answer from the host state', () => {
    expect(hostState.currentUserId(state)).toBe('me');
    expect(hostState.currentUser(state)?.email).toBe('ann@example.com');
    expect(hostState.currentChannelId(state)).toBe('c1');
    expect(hostState.user(state, 'u2')?.username).toBe('ben');
    expect(hostState.user(state, 'nobody')).toBeUndefined();
    expect(hostState.myChannelMember(state, 'c1')?.notify_props).toEqual({desktop: 'all'});
    expect(hostState.config(state).SiteURL).toBe('https://mm.example.com');
    expect(hostState.preference(state, 'display_settings', 'name_format')).toBe('full_name');
    expect(hostState.preference(state, 'display_settings', 'collapsed_reply_threads')).toBe('');
    expect(hostState.post(state, 'p1')?.channel_id).toBe('c1');
});

test('a partial or empty state gives the fallbacks instead of throwing', () => {
    for (const s of [undefined, {}, {entities: {}}]) {
        expect(hostState.currentUserId(s)).toBe('');
        expect(hostState.currentChannelId(s)).toBe('');
        expect(hostState.user(s, 'u2')).toBeUndefined();
        expect(hostState.myChannelMember(s, 'c1')).toBeUndefined();
        expect(hostState.config(s)).toEqual({});
        expect(hostState.preference(s, 'display_settings', 'name_format')).toBe('');
        expect(hostState.post(s, 'p1')).toBeUndefined();
    }
});

test('missing profiles are fetched once, batched, and stored with RECEIVED_PROFILES_LIST', async () => {
    const actions: Array<{type: string; data: unknown}> = [];
    const fetched: string[][] = [];
    const store = {getState: () => state, dispatch: (a: {type: string; data: unknown}) => actions.push(a)};
    const loader = createProfileLoader(store, async (ids) => {
        fetched.push(ids);
        return ids.filter((id) => id !== 'gone').map((id) => ({id, username: `name-${id}`}) as never);
    });
    loader.loadMissing(['u2', 'x1']); // u2 is known
    loader.loadMissing(['x1', 'x2', 'gone']);
    await new Promise((r) => setTimeout(r, 0));
    expect(fetched).toEqual([['x1', 'x2', 'gone']]);
    expect(actions).toEqual([{type: 'RECEIVED_PROFILES_LIST', data: [{id: 'x1', username: 'name-x1'}, {id: 'x2', username: 'name-x2'}]}]);
    loader.loadMissing(['gone']); // asked already: not again
    await new Promise((r) => setTimeout(r, 0));
    expect(fetched).toHaveLength(1);

    const many = Array.from({length: 150}, (_, i) => `m${i}`);
    loader.loadMissing(many);
    await new Promise((r) => setTimeout(r, 0));
    expect(fetched.slice(1).map((b) => b.length)).toEqual([100, 50]);
});
