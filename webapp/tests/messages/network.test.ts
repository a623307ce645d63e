// The default wiring (the plugin's HTTP client for its own API and Mattermost's REST API) against a
// fake server at the fetch level: what goes over the wire for a send and an edit, and
// that no plaintext is in any request.
import type {Post} from '@mattermost/types/posts';
import type {Store} from 'redux';

import {setSiteURL} from '../../src/client';
import {decryptMessage} from '../../src/crypto';
import {registerMessageFeatures} from '../../src/messages';
import type {PluginRegistry} from '../../src/types/registry';

import {FakeMyKeys, MemoryStorage, basePost, makeRegistry, makeStore, makeUser, profile} from './helpers';

const SITE = 'http://mm.test';
const CHANNEL = 'netchannelaaaaaaaaaaaaaaaa';
const SECRET = 'wire secret 4242';

interface Seen {
    method: string;
    url: string;
    body: string;
}

test('send and edit: the server sees ciphertext only, through the real clients', async () => {
    const [alice, bob] = await Promise.all([makeUser('alice'), makeUser('bob')]);
    const seen: Seen[] = [];
    let stored: Post | null = null;
    const json = (data: unknown, status = 200) => new Response(JSON.stringify(data), {status, headers: {'Content-Type': 'application/json'}});
    const fetchMock = jest.fn(async (input: string | URL | Request, init?: RequestInit) => {
        const url = new URL(String(input));
        const method = (init?.method ?? 'GET').toUpperCase();
        seen.push({method, url: url.toString(), body: typeof init?.body === 'string' ? init.body : ''});
        const p = url.pathname;
        if (p === '/plugins/org.mme2ee.e2ee/api/v1/channel/encryption_method' && method === 'GET') {
            return json({method: 'p2p'});
        }
        if (p === '/plugins/org.mme2ee.e2ee/api/v1/pubkey/get' && method === 'POST') {
            const {userIds} = JSON.parse(String(init!.body)) as {userIds: string[]};
            const keys: Record<string, unknown> = {[alice.id]: alice.json, [bob.id]: bob.json};
            return json({pubKeys: Object.fromEntries(userIds.map((id) => [id, keys[id] ?? null]))});
        }
        if (p === '/api/v4/users' && url.searchParams.get('in_channel') === CHANNEL) {
            return json(url.searchParams.get('page') === '0' ? [profile(alice), profile(bob)] : []);
        }
        if (p === `/api/v4/posts/${stored?.id}/patch` && method === 'PUT') {
            stored = {...stored!, ...JSON.parse(String(init!.body)), edit_at: 2};
            return json(stored);
        }
        return json({message: 'not found'}, 404);
    });
    const realFetch = global.fetch;
    global.fetch = fetchMock as unknown as typeof fetch;
    try {
        setSiteURL(SITE);
        const store = makeStore({currentUserId: alice.id, currentChannelId: CHANNEL});
        const registry = makeRegistry();
        registerMessageFeatures(registry as unknown as PluginRegistry, store as unknown as Store, new FakeMyKeys(alice), {storage: new MemoryStorage()});
        const willPost = (registry.registered.willPost[0] as unknown[])[0] as (post: Post) => Promise<{post: Post}>;
        const willUpdate = (registry.registered.willUpdate[0] as unknown[])[0] as (n: Partial<Post>, o: Post) => Promise<{post: Post}>;

        const {post} = await willPost(basePost({user_id: alice.id, channel_id: CHANNEL, message: SECRET}));
        const ctx = {channelId: CHANNEL, rootId: '', userId: alice.id};
        expect((await decryptMessage(post.props.e2ee, bob.keys, bob.pub, alice.pub, ctx)).text).toBe(SECRET);

        const members = seen.find((r) => r.url.includes('/api/v4/users?'))!;
        expect(new URL(members.url).searchParams.get('active')).toBe('true');
        expect(new URL(members.url).searchParams.get('per_page')).toBe('200');
        expect(seen.some((r) => r.url.includes('/channel/encryption_method?chanID=' + CHANNEL))).toBe(true);

        stored = {...post, id: 'storedpostaaaaaaaaaaaaaaaa'};
        store.entities().posts.posts[stored.id] = stored;
        const updated = await willUpdate({id: stored.id, message: `${SECRET} edited`, channel_id: CHANNEL}, stored);
        expect(updated.post.message).toBe('Encrypted message');
        const patch = seen.find((r) => r.method === 'PUT' && r.url.includes('/posts/'))!;
        expect(seen.filter((r) => r.method === 'PUT' && r.url.includes('/posts/'))).toHaveLength(1);
        // alice has a key: the host's draft syncing was turned off for her (src/messages/drafts.ts).
        const pref = seen.find((r) => r.url === `${SITE}/api/v4/users/${alice.id}/preferences`);
        expect(pref && JSON.parse(pref.body)).toEqual([{user_id: alice.id, category: 'advanced_settings', name: 'sync_drafts', value: 'false'}]);
        expect(patch.url).toBe(`${SITE}/api/v4/posts/${stored.id}/patch`);
        const sent = JSON.parse(patch.body);
        expect(sent.message).toBe('Encrypted message');
        expect((await decryptMessage(sent.props.e2ee, bob.keys, bob.pub, alice.pub, ctx)).text).toBe(`${SECRET} edited`);

        for (const r of seen) {
            expect(r.url).not.toContain('4242');
            expect(r.body).not.toContain('4242');
        }
    } finally {
        global.fetch = realFetch;
    }
});
