// Posts signed before their sender replaced her key stay readable, verified with the key that
// signed them; nothing else gets through. Bob's browser is the reader, alice replaces her key.
import React from 'react';
import {act, render, screen, waitFor, within} from '@testing-library/react';

import type {Post} from '@mattermost/types/posts';

import type {KeyHistoryEntryJSON} from '../../src/client';
import {encryptV1, encryptV2} from '../../src/crypto';
import type {EncryptedMessageJSON} from '../../src/crypto/types';
import {EARLIER_KEY_GRACE_MS} from '../../src/messages/decrypt_service';
import {V1_NOTE} from '../../src/messages/post_component';
import type {PostTypeComponentProps} from '../../src/types/registry';

import {basePost, rekey, type TestUser} from './helpers';
import {CHANNEL, makeWorld, type World} from './world';

type PostComponent = React.ComponentType<PostTypeComponentProps>;

function component(w: World): PostComponent {
    return (w.registry.registered.postType[0] as [string, PostComponent])[1];
}

function asPost(from: TestUser, e2ee: EncryptedMessageJSON, extra: Partial<Post> = {}): Post {
    return basePost({user_id: from.id, channel_id: CHANNEL, type: 'custom_e2ee' as Post['type'], message: 'Encrypted message', props: {e2ee}, ...extra});
}

async function v2Post(from: TestUser, text: string, to: TestUser[], extra: Partial<Post> = {}): Promise<Post> {
    return asPost(from, await encryptV2({text}, from.keys, to.map((u) => u.pub), {channelId: CHANNEL, rootId: '', userId: from.id}), extra);
}

async function v1Post(from: TestUser, text: string, to: TestUser[]): Promise<Post> {
    return asPost(from, await encryptV1(text, from.keys, to.map((u) => u.pub)));
}

/** Flips one byte of the ciphertext, as a server altering the post would. */
function tampered(post: Post): Post {
    const e2ee = post.props.e2ee as Record<string, unknown>;
    const bytes = Uint8Array.from(atob(e2ee.encryptedData as string), (c) => c.charCodeAt(0));
    bytes[0] ^= 1;
    // Another post id: results are cached per post version, which the signature stands for.
    return {...post, id: `t${post.id.slice(1)}`, props: {e2ee: {...e2ee, encryptedData: btoa(String.fromCharCode(...bytes))}}};
}

/** Bob's browser (he is the reader); alice, bob and carol have keys. */
async function bobsBrowser(keyHistory: Record<string, KeyHistoryEntryJSON[]> = {}) {
    const w = await makeWorld({keyHistory});
    await act(async () => {
        w.myKeys.set(w.bob);
    });
    return w;
}

/** Alice replaces her key (init --force or another backup): the server publishes it and says so. */
async function aliceReplacesHerKey(w: World, announce = true): Promise<TestUser> {
    const alice2 = await rekey(w.alice);
    w.publish(alice2);
    if (announce) {
        act(() => {
            w.registry.ws['custom_org.mme2ee.e2ee_newPubkey']({event: 'e', data: {userID: w.alice.id}, broadcast: {}, seq: 1});
        });
    }
    return alice2;
}

function Channel({Post, posts}: {Post: PostComponent; posts: Post[]}) {
    return <div>{posts.map((p) => <Post key={p.id} post={p}/>)}</div>;
}

describe('posts signed with an earlier key of their sender', () => {
    test('after alice\'s key replacement, her old v2 and v1 posts stay readable via the keys this browser trusted', async () => {
        const w = await bobsBrowser();
        const Post = component(w);
        const posts = [await v2Post(w.alice, 'old v2 text', [w.alice, w.bob, w.carol]), await v1Post(w.alice, 'old v1 text', [w.alice, w.bob])];
        const oldFingerprint = w.ops.fingerprintOf(w.alice.pub) as string;
        const view = render(<Channel Post={Post} posts={posts}/>);
        await waitFor(() => expect(screen.getAllByTestId('e2ee-text')).toHaveLength(2)); // trusted on first use

        const alice2 = await aliceReplacesHerKey(w);
        await waitFor(() => expect(screen.getAllByTestId('e2ee-state-key-changed')).toHaveLength(2));
        act(() => w.features.decrypt.acceptSenderKey(w.alice.id, alice2.pub.idB64));

        await waitFor(() => expect(screen.getAllByTestId('e2ee-state-earlier-key')).toHaveLength(2));
        expect(screen.queryByTestId('e2ee-state-integrity')).toBeNull();
        const [v2, v1] = screen.getAllByTestId('e2ee-state-earlier-key');
        expect(within(v2).getByTestId('e2ee-text').textContent).toBe('old v2 text');
        expect(within(v1).getByTestId('e2ee-text').textContent).toBe('old v1 text');
        for (const el of [v2, v1]) {
            expect(el.getAttribute('data-source')).toBe('trusted');
            const title = within(el).getByTestId('e2ee-lock').getAttribute('title');
            expect(title).toContain(`Signed with an earlier key of @alice (fingerprint ${oldFingerprint}), trusted in this browser`);
        }
        expect(within(v1).getByTestId('e2ee-lock').getAttribute('title')).toContain(V1_NOTE);
        // One request, for the key's dates; this server keeps no history, so the archive decides.
        expect(w.historyRequests).toEqual([[w.alice.id]]);

        // Her new posts are plainly verified with the new key.
        render(<Post post={await v2Post(alice2, 'new text', [alice2, w.bob])}/>);
        await waitFor(() => expect(screen.getAllByTestId('e2ee-text')).toHaveLength(3));
        expect(screen.getAllByTestId('e2ee-state-earlier-key')).toHaveLength(2);

        // Results are cached like any other: showing them again decrypts nothing.
        const calls = w.ops.calls.decrypt;
        view.rerender(<Channel Post={Post} posts={posts.map((p) => ({...p}))}/>);
        render(<Channel Post={Post} posts={posts}/>);
        await waitFor(() => expect(screen.getAllByTestId('e2ee-state-earlier-key')).toHaveLength(4));
        expect(w.ops.calls.decrypt).toBe(calls);
    });

    test('a browser that never saw her old key uses the server\'s history, with a lower trust level, in one request', async () => {
        const history: Record<string, KeyHistoryEntryJSON[]> = {};
        const w = await bobsBrowser(history);
        const Post = component(w);
        const posts = [await v2Post(w.alice, 'old v2 text', [w.alice, w.bob, w.carol]), await v1Post(w.alice, 'old v1 text', [w.alice, w.bob])];
        const alice2 = await aliceReplacesHerKey(w, false);
        const changedAt = Date.now();
        history[w.alice.id] = [{pubkey: w.alice.json, since: 0}, {pubkey: alice2.json, since: changedAt}];

        render(<Channel Post={Post} posts={posts}/>);
        await waitFor(() => expect(screen.getAllByTestId('e2ee-state-earlier-key')).toHaveLength(2));
        const [v2, v1] = screen.getAllByTestId('e2ee-state-earlier-key');
        expect(within(v2).getByTestId('e2ee-text').textContent).toBe('old v2 text');
        expect(within(v1).getByTestId('e2ee-text').textContent).toBe('old v1 text');
        for (const el of [v2, v1]) {
            expect(el.getAttribute('data-source')).toBe('server');
            expect(within(el).getByTestId('e2ee-lock').getAttribute('title'))
                .toContain(`Signed with an earlier key of @alice (fingerprint ${w.ops.fingerprintOf(w.alice.pub)}), as reported by the server, not confirmed in this browser`);
        }
        expect(w.historyRequests).toEqual([[w.alice.id]]); // both posts, one batched request
        expect(w.ops.calls.decrypt).toBe(4); // each post: current key, then the earlier one

        // A post made with the old key well after it was replaced is not "earlier": it could come
        // from whoever holds that retired key.
        const late = await v2Post(w.alice, 'signed with the retired key', [w.alice, w.bob], {create_at: changedAt + EARLIER_KEY_GRACE_MS + 60_000});
        expect(await w.features.decrypt.decrypt(late)).toEqual({status: 'integrity'});
        const inFlight = await v2Post(w.alice, 'sent during the change', [w.alice, w.bob], {create_at: changedAt + 1000});
        expect(await w.features.decrypt.decrypt(inFlight)).toMatchObject({status: 'earlier-key', text: 'sent during the change'});
    });

    test('a key this browser trusted by ID only, whose JSON the server\'s history supplies, counts as trusted here', async () => {
        const history: Record<string, KeyHistoryEntryJSON[]> = {};
        const w = await bobsBrowser(history);
        const post = await v2Post(w.alice, 'old text', [w.alice, w.bob]);
        w.storage.setItem(`pubkeyID:${w.alice.id}`, w.alice.pub.idB64); // trusted by an older version
        const alice2 = await aliceReplacesHerKey(w, false);
        history[w.alice.id] = [{pubkey: w.alice.json, since: 0}, {pubkey: alice2.json, since: Date.now()}];
        w.features.trust.accept(w.alice.id, alice2.pub.idB64);
        expect(await w.features.decrypt.decrypt(post)).toMatchObject({status: 'earlier-key', source: 'trusted', text: 'old text', senderKeyId: w.alice.pub.idB64});
    });

    test('when the history cannot be fetched the post fails verification for now, and is checked again later', async () => {
        const history: Record<string, KeyHistoryEntryJSON[]> = {};
        const w = await bobsBrowser(history);
        const post = await v2Post(w.alice, 'old text', [w.alice, w.bob]);
        const alice2 = await aliceReplacesHerKey(w, false);
        let down = true;
        Object.defineProperty(history, w.alice.id, {enumerable: true, get: () => {
            if (down) {
                throw new Error('network down');
            }
            return [{pubkey: w.alice.json, since: 0}, {pubkey: alice2.json, since: Date.now()}];
        }});
        expect(await w.features.decrypt.decrypt(post)).toEqual({status: 'integrity'});
        down = false;
        expect(await w.features.decrypt.decrypt(post)).toMatchObject({status: 'earlier-key', source: 'server', text: 'old text'});
        expect(w.historyRequests).toHaveLength(2);
    });

    test('a key trusted here but retired before the post was made does not count; without the server it still does', async () => {
        const history: Record<string, KeyHistoryEntryJSON[]> = {};
        const w = await bobsBrowser(history);
        const alice2 = await aliceReplacesHerKey(w, false);
        w.features.trust.accept(w.alice.id, w.alice.pub.idB64, w.alice.json);
        w.features.trust.accept(w.alice.id, alice2.pub.idB64, alice2.json);
        const retiredAt = Date.now() - 3600_000;
        const late = await v2Post(w.alice, 'written with a leaked key', [w.alice, w.bob], {create_at: Date.now()});
        const early = await v2Post(w.alice, 'written in time', [w.alice, w.bob], {create_at: retiredAt - 1000});
        let down = true;
        Object.defineProperty(history, w.alice.id, {enumerable: true, get: () => {
            if (down) {
                throw new Error('network down');
            }
            return [{pubkey: w.alice.json, since: 0}, {pubkey: alice2.json, since: retiredAt}];
        }});
        // Server unreachable: this browser's trust decides for now, and the dates are checked later.
        expect(await w.features.decrypt.decrypt(late)).toMatchObject({status: 'earlier-key', source: 'trusted'});
        down = false;
        expect(await w.features.decrypt.decrypt(late)).toEqual({status: 'integrity'});
        expect(await w.features.decrypt.decrypt(early)).toMatchObject({status: 'earlier-key', source: 'trusted', text: 'written in time'});
    });

    test('a post whose signature verifies with no known key of the sender still fails verification', async () => {
        const history: Record<string, KeyHistoryEntryJSON[]> = {};
        const w = await bobsBrowser(history);
        const Post = component(w);
        const unregistered = await rekey(w.alice); // a key alice never published nor was trusted here
        const alice2 = await aliceReplacesHerKey(w, false);
        history[w.alice.id] = [{pubkey: w.alice.json, since: 0}, {pubkey: alice2.json, since: Date.now()}];
        w.features.trust.accept(w.alice.id, w.alice.pub.idB64, w.alice.json);
        w.features.trust.accept(w.alice.id, alice2.pub.idB64, alice2.json);

        render(<Post post={await v2Post(unregistered, 'who signed this?', [unregistered, w.alice, w.bob])}/>);
        await screen.findByTestId('e2ee-state-integrity');
        expect(screen.queryByTestId('e2ee-text')).toBeNull();
        expect(screen.queryByText(/who signed this/)).toBeNull();
    });

    test('a forged history entry does not make a tampered or forged post look valid', async () => {
        const history: Record<string, KeyHistoryEntryJSON[]> = {};
        const w = await bobsBrowser(history);
        const Post = component(w);
        const genuine = await v2Post(w.alice, 'what alice said', [w.alice, w.bob, w.carol]);
        const evil = await rekey(w.alice); // the attacker's key, passed off as an earlier key of alice
        const forged = await v2Post(evil, 'what the attacker says', [w.bob, w.carol]); // not encrypted to itself
        const alice2 = await aliceReplacesHerKey(w, false);
        history[w.alice.id] = [
            {pubkey: evil.json, since: 0},
            {pubkey: w.alice.json, since: 1},
            {pubkey: w.carol.json, since: genuine.create_at - 1000}, // another user's key, among the recipients
            {pubkey: alice2.json, since: Date.now()},
        ];
        const tried = jest.spyOn(w.ops, 'decryptMessage');

        render(<Channel Post={Post} posts={[tampered(genuine), forged]}/>);
        await waitFor(() => expect(screen.getAllByTestId('e2ee-state-integrity')).toHaveLength(2));
        expect(screen.queryByTestId('e2ee-state-earlier-key')).toBeNull();
        expect(screen.queryByTestId('e2ee-text')).toBeNull();
        const triedKeys = tried.mock.calls.map((c) => c[3].idB64);
        // Tampered: the current key, then alice's old key and carol's (history entries among its
        // recipients); none verifies. Forged: the current key, then carol's. The attacker's key is
        // never tried: it is not among the forged post's recipients.
        expect(triedKeys.sort()).toEqual([alice2.pub.idB64, alice2.pub.idB64, w.alice.pub.idB64, w.carol.pub.idB64, w.carol.pub.idB64].sort());
        expect(triedKeys).not.toContain(evil.pub.idB64);

        // The genuine post itself is still shown, with the key that signed it.
        expect(await w.features.decrypt.decrypt(genuine)).toMatchObject({status: 'earlier-key', text: 'what alice said', senderKeyId: w.alice.pub.idB64});
    });
});
