// Channel-key posts and epoch records made before their author replaced her key stay readable
// in the web app, verified with the key the server's history shows for their time, and marked
// (as v2 posts are) rather than silently trusted. Bob's browser reads; alice replaces her key.
import React from 'react';
import {act, render, screen, waitFor} from '@testing-library/react';

import type {Post} from '@mattermost/types/posts';

import {createEpochRecord, encryptV3, headerOf, type EpochRecordJSON} from '../../src/crypto';
import type {ChannelKeyAPI} from '../../src/messages/channel_key';
import type {PostTypeComponentProps} from '../../src/types/registry';

import {basePost, rekey} from './helpers';
import {CHANNEL, makeWorld} from './world';

const T0 = 1700000000000; // basePost's create_at

async function setup(aliceNewSince: number) {
    const records = new Map<number, EpochRecordJSON>();
    let reader = '';
    const api: ChannelKeyAPI = {
        epochStatus: async () => ({epoch: 1, stale: '', missing: [], historySharing: false}),
        readEpoch: async (_ch, epoch) => {
            const rec = records.get(epoch)!;
            const part = rec.parts.findIndex((p) => p.some((w) => w[0] === reader));
            return {epoch, head: 1, header: headerOf(rec), part, wraps: part >= 0 ? rec.parts[part] : undefined};
        },
        uploadPart: async () => ({}),
        commitEpoch: async () => ({epoch: 1}),
        addJoiners: async () => ({}),
    };
    const history: Record<string, Array<{since: number; pubkey: unknown}>> = {};
    const w = await makeWorld({method: 'channel', channelKeyAPI: api, keyHistory: history as never});
    reader = w.bob.id;
    await act(async () => {
        w.myKeys.set(w.bob);
    });
    // Alice's epoch and post, with her first key.
    const made = await createEpochRecord({channelId: CHANNEL, epoch: 1, creatorId: w.alice.id, creator: w.alice.keys, createdAt: T0 - 1000,
        recipients: [w.alice, w.bob, w.carol].map((u) => ({userId: u.id, key: u.pub}))});
    records.set(1, made.record);
    const e2ee = await encryptV3({text: 'said with my first key'}, w.alice.keys, made.key, {channelId: CHANNEL, rootId: '', userId: w.alice.id});
    const post = basePost({user_id: w.alice.id, channel_id: CHANNEL, type: 'custom_e2ee' as Post['type'], message: 'Encrypted message', props: {e2ee}});
    // Then she replaces her key: the server serves the new one and keeps the old one in its history.
    const alice2 = await rekey(w.alice);
    w.publish(alice2);
    history[w.alice.id] = [{since: T0 - 3_600_000, pubkey: w.alice.json}, {since: aliceNewSince, pubkey: alice2.json}];
    const [, Component] = w.registry.registered.postType[0] as [string, React.ComponentType<PostTypeComponentProps>];
    return {w, post, Component};
}

test('an old channel-key post and its epoch record verify with the key alice had then, marked as the server\'s word', async () => {
    const {post, Component} = await setup(T0 + 60_000);
    render(<Component post={post}/>);
    const shown = await waitFor(() => screen.getByTestId('e2ee-state-earlier-key'));
    expect(shown.getAttribute('data-source')).toBe('server');
    expect(screen.getByTestId('e2ee-text').textContent).toBe('said with my first key');
});

test('a key the history shows replaced long before the post does not count: integrity error', async () => {
    const {post, Component} = await setup(T0 - 1_800_000);
    render(<Component post={post}/>);
    await waitFor(() => expect(screen.getByTestId('e2ee-state-integrity')).toBeTruthy());
});
