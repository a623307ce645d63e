import React from 'react';
import {act, cleanup as cleanupRender, fireEvent, render, screen, waitFor} from '@testing-library/react';

import type {Post} from '@mattermost/types/posts';

import {encryptV1, encryptV2} from '../../src/crypto';
import {V1_NOTE} from '../../src/messages/post_component';
import type {PostTypeComponentProps} from '../../src/types/registry';

import {basePost, rekey, type TestUser} from './helpers';
import {CHANNEL, makeWorld, type World} from './world';

type PostComponent = React.ComponentType<PostTypeComponentProps>;

function component(w: World): PostComponent {
    const [type, c] = w.registry.registered.postType[0] as [string, PostComponent];
    expect(type).toBe('custom_e2ee');
    return c;
}

async function encryptedPost(w: World, from: TestUser, text: string, opts: {to?: TestUser[]; rootId?: string; channelId?: string; postChannelId?: string; id?: string} = {}): Promise<Post> {
    const to = opts.to ?? [w.alice, w.bob, w.carol];
    const channelId = opts.channelId ?? CHANNEL;
    const e2ee = await encryptV2({text}, from.keys, to.map((u) => u.pub), {channelId, rootId: opts.rootId ?? '', userId: from.id});
    return basePost({...(opts.id ? {id: opts.id} : {}), user_id: from.id, channel_id: opts.postChannelId ?? channelId, root_id: opts.rootId ?? '', type: 'custom_e2ee' as Post['type'], message: 'Encrypted message', props: {e2ee}});
}

afterEach(() => {
    delete (window as unknown as {PostUtils?: unknown}).PostUtils;
});

describe('custom_e2ee post display', () => {
    test('shows the verified text with a lock naming the sender and key fingerprint', async () => {
        const w = await makeWorld();
        const Post = component(w);
        const post = await encryptedPost(w, w.bob, 'hello *alice*');
        render(<Post post={post} isRHS={false}/>);
        expect(await screen.findByTestId('e2ee-text')).toHaveProperty('textContent', 'hello *alice*');
        const lock = screen.getByTestId('e2ee-lock');
        const fp = w.ops.fingerprintOf(w.bob.pub) as string;
        expect(lock.getAttribute('title')).toContain('@bob');
        expect(lock.getAttribute('title')).toContain(fp);
        expect(fp).toMatch(/^[0-9a-f]{4}( [0-9a-f]{4}){7}$/);
    });

    test('a v1 post is shown, with a v1 marker saying it is bound to no channel or thread', async () => {
        const w = await makeWorld();
        const Post = component(w);
        const e2ee = await encryptV1('old style', w.bob.keys, [w.alice.pub, w.bob.pub]);
        const post = basePost({user_id: w.bob.id, channel_id: CHANNEL, type: 'custom_e2ee' as Post['type'], message: 'Encrypted message', props: {e2ee}});
        render(<Post post={post}/>);
        expect((await screen.findByTestId('e2ee-text')).textContent).toBe('old style');
        const lock = screen.getByTestId('e2ee-lock');
        expect(lock.getAttribute('title')).toContain(V1_NOTE);
        expect(lock.textContent).toBe('v1');
    });

    test('images in decrypted text are not loaded (an image proxy would hand their URLs to the server)', async () => {
        const w = await makeWorld();
        const Post = component(w);
        const formatText = () => '<p>look <img src="https://img.example/secret-plan.png" alt="the plan"> and <IMG SRC="https://img.example/b.png"></p>';
        const messageHtmlToComponent = jest.fn((html: string, _options?: Record<string, unknown>) => <span data-testid='host-md'>{html}</span>);
        (window as unknown as {PostUtils: unknown}).PostUtils = {formatText, messageHtmlToComponent};
        render(<Post post={await encryptedPost(w, w.bob, '![the plan](https://img.example/secret-plan.png)')}/>);
        await screen.findByTestId('host-md');
        const html = messageHtmlToComponent.mock.calls[0][0];
        expect(html).not.toMatch(/<img/i);
        expect(html).toContain('the plan (https://img.example/secret-plan.png)');
        expect(html).toContain('https://img.example/b.png');
        expect(messageHtmlToComponent.mock.calls[0][1]).toMatchObject({images: false});
    });

    test('a sender whose key the server also lists for another user is flagged on every post', async () => {
        const w = await makeWorld();
        const Post = component(w);
        w.keyTable[w.carol.id] = w.bob.json; // carol "registered" bob's key: she could pass off his v1 posts
        // bob's own v1 post, and the same ciphertext shown as carol's.
        const e2ee = await encryptV1('from bob', w.bob.keys, [w.alice.pub, w.bob.pub]);
        const asBob = basePost({id: 'postbob', user_id: w.bob.id, channel_id: CHANNEL, type: 'custom_e2ee' as Post['type'], message: 'Encrypted message', props: {e2ee}});
        const asCarol = basePost({id: 'postcarol', user_id: w.carol.id, channel_id: CHANNEL, type: 'custom_e2ee' as Post['type'], message: 'Encrypted message', props: {e2ee}});
        render(<><Post post={asBob}/><Post post={asCarol}/></>);
        await waitFor(() => expect(screen.getAllByTestId('e2ee-shared-key')).toHaveLength(2));
        const [onBob, onCarol] = screen.getAllByTestId('e2ee-shared-key');
        expect(onBob.textContent).toContain('also registered to @carol, not only to @bob');
        expect(onCarol.textContent).toContain('also registered to @bob, not only to @carol');
        expect(screen.getAllByTestId('e2ee-lock')[0].getAttribute('title')).toContain('The same key is also registered to @carol');

        // An unshared key: no warning.
        cleanupRender();
        render(<Post post={await encryptedPost(w, w.alice, 'mine')}/>);
        await screen.findByTestId('e2ee-text');
        expect(screen.queryByTestId('e2ee-shared-key')).toBeNull();
    });

    test('a v2 post has no v1 marker', async () => {
        const w = await makeWorld();
        const Post = component(w);
        render(<Post post={await encryptedPost(w, w.bob, 'new style')}/>);
        await screen.findByTestId('e2ee-text');
        expect(screen.getByTestId('e2ee-lock').getAttribute('title')).not.toContain('v1');
        expect(screen.getByTestId('e2ee-lock').textContent).toBe('');
    });

    test('renders through the host\'s markdown when window.PostUtils exists, also in the RHS', async () => {
        const w = await makeWorld();
        const formatText = jest.fn((text: string) => `<p>${text.toUpperCase()}</p>`);
        const messageHtmlToComponent = jest.fn((html: string, _options?: Record<string, unknown>) => <span data-testid='host-md'>{html}</span>);
        (window as unknown as {PostUtils: unknown}).PostUtils = {formatText, messageHtmlToComponent};
        const Post = component(w);
        const post = await encryptedPost(w, w.bob, 'reply text', {rootId: 'rootaaaaaaaaaaaaaaaaaaaaaa'});
        render(<Post post={post} isRHS={true}/>);
        expect((await screen.findByTestId('host-md')).textContent).toBe('<p>REPLY TEXT</p>');
        expect(formatText).toHaveBeenCalledWith('reply text', expect.objectContaining({atMentions: true, mentionKeys: expect.arrayContaining([{key: '@alice', caseSensitive: false}])}));
        expect(messageHtmlToComponent).toHaveBeenCalledWith('<p>REPLY TEXT</p>', expect.objectContaining({postId: post.id, channelId: CHANNEL}));
    });

    test('retries without emoji when the host\'s renderer needs its emoji map', async () => {
        const w = await makeWorld();
        const formatText = jest.fn((text: string, options: {emoticons?: boolean}) => {
            if (options.emoticons !== false) {
                throw new TypeError('emojiMap is undefined');
            }
            return `<p>${text}</p>`;
        });
        (window as unknown as {PostUtils: unknown}).PostUtils = {formatText, messageHtmlToComponent: (html: string) => <b data-testid='host-md'>{html}</b>};
        const Post = component(w);
        render(<Post post={await encryptedPost(w, w.bob, 'with :smile:')}/>);
        expect((await screen.findByTestId('host-md')).textContent).toBe('<p>with :smile:</p>');
        expect(formatText).toHaveBeenCalledTimes(2);
    });

    test('falls back to plain text when the host\'s renderer throws', async () => {
        const w = await makeWorld();
        (window as unknown as {PostUtils: unknown}).PostUtils = {formatText: () => {
            throw new Error('boom');
        }, messageHtmlToComponent: jest.fn()};
        const Post = component(w);
        render(<Post post={await encryptedPost(w, w.bob, 'plain <b>text</b>')}/>);
        expect((await screen.findByTestId('e2ee-text')).textContent).toBe('plain <b>text</b>');
    });

    test('a component reused for another post never shows the previous post\'s text', async () => {
        const w = await makeWorld();
        const Post = component(w);
        const a = await encryptedPost(w, w.bob, 'text of A');
        const b = await encryptedPost(w, w.bob, 'text of B');
        const view = render(<Post post={a}/>);
        expect((await screen.findByTestId('e2ee-text')).textContent).toBe('text of A');
        view.rerender(<Post post={b}/>);
        expect(screen.queryByText('text of A')).toBeNull();
        expect((await screen.findByTestId('e2ee-text')).textContent).toBe('text of B');
    });

    test('no key here: tells the user to init or import', async () => {
        const w = await makeWorld({withKeys: false});
        const Post = component(w);
        render(<Post post={await encryptedPost(w, w.bob, 'x')}/>);
        expect((await screen.findByTestId('e2ee-state-no-key')).textContent).toMatch(/\/e2ee init.*\/e2ee import/);
    });

    test('not a recipient', async () => {
        const w = await makeWorld();
        const Post = component(w);
        render(<Post post={await encryptedPost(w, w.bob, 'x', {to: [w.bob, w.carol]})}/>);
        await screen.findByTestId('e2ee-state-not-recipient');
        expect(screen.queryByTestId('e2ee-text')).toBeNull();
    });

    test('integrity: a message moved to another channel fails verification', async () => {
        const w = await makeWorld();
        const Post = component(w);
        render(<Post post={await encryptedPost(w, w.bob, 'x', {channelId: 'otherchanaaaaaaaaaaaaaaaaa', postChannelId: CHANNEL})}/>);
        await screen.findByTestId('e2ee-state-integrity');
    });

    test('integrity: a message signed by someone else than the post author', async () => {
        const w = await makeWorld();
        const Post = component(w);
        const forged = await encryptedPost(w, w.carol, 'x');
        render(<Post post={{...forged, user_id: w.bob.id}}/>);
        await screen.findByTestId('e2ee-state-integrity');
    });

    test('unknown sender key', async () => {
        const w = await makeWorld();
        const Post = component(w);
        const post = await encryptedPost(w, w.bob, 'x');
        render(<Post post={{...post, user_id: w.dave.id}}/>);
        expect((await screen.findByTestId('e2ee-state-unknown-sender-key')).textContent).toContain('@dave');
    });

    test('key changed: hidden until the new key is accepted, then shown', async () => {
        const w = await makeWorld();
        const Post = component(w);
        w.storage.setItem(`pubkeyID:${w.bob.id}`, w.carol.pub.idB64); // trusted an older key of bob
        const post = await encryptedPost(w, w.bob, 'after the change');
        render(<Post post={post}/>);
        expect((await screen.findByTestId('e2ee-state-key-changed')).textContent).toContain('@bob');
        expect(screen.queryByTestId('e2ee-text')).toBeNull();
        expect(w.ops.calls.decrypt).toBe(0);
        fireEvent.click(screen.getByTestId('e2ee-accept-key'));
        expect((await screen.findByTestId('e2ee-text')).textContent).toBe('after the change');
        expect(w.storage.getItem(`pubkeyID:${w.bob.id}`)).toBe(w.bob.pub.idB64);
    });

    test('my own new key is not a "key change" warning on my posts', async () => {
        const w = await makeWorld();
        const Post = component(w);
        w.storage.setItem(`pubkeyID:${w.alice.id}`, w.carol.pub.idB64); // my previous key
        render(<Post post={await encryptedPost(w, w.alice, 'mine')}/>);
        expect((await screen.findByTestId('e2ee-text')).textContent).toBe('mine');
        expect(w.storage.getItem(`pubkeyID:${w.alice.id}`)).toBe(w.alice.pub.idB64);
    });

    test.each([
        ['a string', 'garbage'],
        ['no version', {iv: 'x'}],
        ['a wrong shape', {version: 2, iv: 5, encryptedKey: 'no'}],
        ['an unknown version', {version: 99}],
        ['an array', [1, 2]],
    ])('malformed props (%s) show a state instead of crashing', async (_name, e2ee) => {
        const w = await makeWorld();
        const Post = component(w);
        const post = basePost({user_id: w.bob.id, channel_id: CHANNEL, type: 'custom_e2ee' as Post['type'], props: {e2ee}});
        render(<Post post={post}/>);
        await screen.findByTestId('e2ee-state-malformed');
    });

    test('a missing post or props do not crash', async () => {
        const w = await makeWorld();
        const Post = component(w);
        render(<Post post={null as unknown as Post}/>);
        expect(screen.getByTestId('e2ee-state-malformed')).toBeTruthy();
        const noProps = {...basePost({user_id: w.bob.id, channel_id: CHANNEL}), props: undefined} as unknown as Post;
        render(<Post post={noProps}/>);
        await waitFor(() => expect(screen.getAllByTestId('e2ee-state-malformed')).toHaveLength(2));
    });
});

describe('decryption cache', () => {
    function Channel({Post, posts}: {Post: PostComponent; posts: Post[]}) {
        return <div>{posts.map((p) => <Post key={p.id} post={p}/>)}</div>;
    }

    test('a post moved to another thread or channel under the same id and time is verified again', async () => {
        const w = await makeWorld();
        const post = await encryptedPost(w, w.bob, 'where I said it');
        expect((await w.features.decrypt.decrypt(post)).status).toBe('ok');
        expect((await w.features.decrypt.decrypt({...post, root_id: 'otherrootaaaaaaaaaaaaaaaaa'})).status).toBe('integrity');
        expect((await w.features.decrypt.decrypt({...post, channel_id: 'otherchannelaaaaaaaaaaaaaa'})).status).toBe('integrity');
        const other = await encryptedPost(w, w.bob, 'something else');
        const swapped = {...post, props: other.props}; // same id and times, other ciphertext
        expect(await w.features.decrypt.decrypt(swapped)).toMatchObject({status: 'ok', text: 'something else'});
    });

    test('a channel of 200 encrypted posts decrypts each post once, and again only after a key change', async () => {
        const w = await makeWorld();
        const Post = component(w);
        const senders = [w.bob, w.carol];
        const posts: Post[] = [];
        for (let i = 0; i < 200; i++) {
            posts.push(await encryptedPost(w, senders[i % 2], `message number ${i}`));
        }
        const started = performance.now();
        const view = render(<Channel Post={Post} posts={posts}/>);
        await waitFor(() => expect(screen.getAllByTestId('e2ee-text')).toHaveLength(200), {timeout: 20000});
        const elapsed = performance.now() - started;
        console.warn(`[figure] 200-post channel: first display in ${elapsed.toFixed(0)} ms (${(elapsed / 200).toFixed(2)} ms/post), decrypt calls ${w.ops.calls.decrypt}`);
        expect(w.ops.calls.decrypt).toBe(200);
        expect(w.keyServer.requests).toHaveLength(1); // one batched key fetch for both senders

        // The host re-renders with fresh post objects on every store change; the RHS shows some too.
        view.rerender(<Channel Post={Post} posts={posts.map((p) => ({...p}))}/>);
        render(<Channel Post={Post} posts={posts.slice(0, 20)}/>);
        await waitFor(() => expect(screen.getAllByTestId('e2ee-text')).toHaveLength(220));
        view.unmount();
        render(<Channel Post={Post} posts={posts}/>);
        await waitFor(() => expect(screen.getAllByTestId('e2ee-text')).toHaveLength(220));
        expect(w.ops.calls.decrypt).toBe(200);

        // A newPubkey event re-checks the sender's key; an unchanged key needs no new decryption.
        act(() => {
            w.registry.ws['custom_org.mme2ee.e2ee_newPubkey']({event: 'e', data: {userID: w.bob.id}, broadcast: {}, seq: 1});
        });
        await waitFor(() => expect(w.keyServer.requests).toHaveLength(2));
        await act(() => new Promise((r) => setTimeout(r, 50)));
        expect(w.keyServer.requests[1]).toEqual([w.bob.id]);
        expect(screen.getAllByTestId('e2ee-text')).toHaveLength(220);
        expect(w.ops.calls.decrypt).toBe(200);

        // An edit is a new version of the post: only that one is decrypted again.
        const edited = {...posts[0], edit_at: 1, update_at: posts[0].update_at + 1};
        render(<Post post={edited}/>);
        await waitFor(() => expect(w.ops.calls.decrypt).toBe(201));

        // My key changes: everything cached is dropped and shown for the new key.
        const alice2 = await rekey(w.alice);
        await act(async () => {
            w.myKeys.set(alice2);
        });
        await waitFor(() => expect(screen.queryAllByTestId('e2ee-text')).toHaveLength(0), {timeout: 20000});
        expect(screen.getAllByTestId('e2ee-state-not-recipient').length).toBeGreaterThanOrEqual(200);
        expect(w.ops.calls.decrypt).toBe(402); // 200 posts + the edited version, once each
    }, 60000);

    test('the cache is bounded', async () => {
        const {DecryptService} = await import('../../src/messages/decrypt_service');
        const w = await makeWorld();
        const small = new DecryptService({myKeys: w.myKeys, directory: w.features.directory, trust: w.features.trust, ops: w.ops, capacity: 3});
        const posts = [];
        for (let i = 0; i < 4; i++) {
            posts.push(await encryptedPost(w, w.bob, `m${i}`));
        }
        for (const p of posts) {
            await small.decrypt(p);
        }
        expect(w.ops.calls.decrypt).toBe(4);
        await small.decrypt(posts[3]);
        expect(w.ops.calls.decrypt).toBe(4);
        await small.decrypt(posts[0]); // evicted
        expect(w.ops.calls.decrypt).toBe(5);
        expect(small.peek(posts[0])).toMatchObject({status: 'ok', text: 'm0'});
        small.dispose();
    });
});
