// A post waiting for its channel key redraws when the server announces new copies (the
// epochJoiners WebSocket event), without a reload.
import React from 'react';
import {act, render, screen, waitFor} from '@testing-library/react';

import type {Post} from '@mattermost/types/posts';

import {createEpochRecord, createJoinerWraps, encryptV3, headerOf, parseEpochHeader, parsePart, type EpochRecordJSON} from '../../src/crypto';
import type {ChannelKeyAPI} from '../../src/messages/channel_key';
import type {PostTypeComponentProps} from '../../src/types/registry';

import {basePost} from './helpers';
import {CHANNEL, makeWorld} from './world';

test('a post waiting for the channel key shows its text once a member adds our copy (epochJoiners event)', async () => {
    const served: {record?: EpochRecordJSON; joiner?: unknown} = {}; // what the fake server holds
    let reads = 0;
    const api: ChannelKeyAPI = {
        epochStatus: async () => ({epoch: 1, stale: '', missing: [], historySharing: false}),
        readEpoch: async (_ch, epoch) => {
            reads++;
            return {epoch, head: 1, header: headerOf(served.record!), part: -1, joiner: served.joiner};
        },
        uploadPart: async () => ({}),
        commitEpoch: async () => ({epoch: 1}),
        addJoiners: async () => ({}),
    };
    const w = await makeWorld({method: 'channel', channelKeyAPI: api});
    // Bob's epoch 1 was made before alice (this browser) had a key in the channel.
    const made = await createEpochRecord({channelId: CHANNEL, epoch: 1, creatorId: w.bob.id, creator: w.bob.keys,
        recipients: [{userId: w.bob.id, key: w.bob.pub}, {userId: w.carol.id, key: w.carol.pub}]});
    const record = made.record;
    served.record = record;
    const e2ee = await encryptV3({text: 'hello alice'}, w.bob.keys, made.key, {channelId: CHANNEL, rootId: '', userId: w.bob.id});
    const post = basePost({user_id: w.bob.id, channel_id: CHANNEL, type: 'custom_e2ee' as Post['type'], message: 'Encrypted message', props: {e2ee}});

    const [, Component] = w.registry.registered.postType[0] as [string, React.ComponentType<PostTypeComponentProps>];
    render(<Component post={post}/>);
    await waitFor(() => expect(screen.getByTestId('e2ee-state-waiting-key')).toBeTruthy());
    const readsWhileWaiting = reads;

    // An event for another channel changes nothing.
    act(() => {
        w.registry.ws['custom_org.mme2ee.e2ee_epochJoiners']({event: 'e', data: {chanID: 'otherchannelaaaaaaaaaaaaaa', epoch: 1}, broadcast: {}, seq: 1});
    });
    await act(() => new Promise((r) => setTimeout(r, 50)));
    expect(reads).toBe(readsWhileWaiting);

    // Carol's browser adds alice's copy; the server announces it.
    const header = parseEpochHeader(headerOf(record));
    served.joiner = await createJoinerWraps({header, source: {kind: 'part', index: 0, wraps: parsePart(record.parts[0])}, adder: w.carol.keys,
        adderPublic: w.carol.pub, adderId: w.carol.id, creatorPublic: w.bob.pub, joiners: [{userId: w.alice.id, key: w.alice.pub}]});
    act(() => {
        w.registry.ws['custom_org.mme2ee.e2ee_epochJoiners']({event: 'e', data: {chanID: CHANNEL, epoch: 1}, broadcast: {}, seq: 2});
    });
    await waitFor(() => expect(screen.getByTestId('e2ee-text').textContent).toBe('hello alice'));
    expect(reads).toBe(readsWhileWaiting + 1);
});

test('a v3 post\'s epoch record is fetched before the sender\'s key has arrived, not after it (one round trip less)', async () => {
    const served: {record?: EpochRecordJSON} = {};
    let keyFetched = false;
    let readBeforeKey = false;
    const api: ChannelKeyAPI = {
        epochStatus: async () => ({epoch: 1, stale: '', missing: [], historySharing: false}),
        readEpoch: async (_ch, epoch) => {
            readBeforeKey ||= !keyFetched;
            return {epoch, head: 1, header: headerOf(served.record!), part: 0, wraps: served.record!.parts[0]};
        },
        uploadPart: async () => ({}),
        commitEpoch: async () => ({epoch: 1}),
        addJoiners: async () => ({}),
    };
    const w = await makeWorld({method: 'channel', channelKeyAPI: api});
    const made = await createEpochRecord({channelId: CHANNEL, epoch: 1, creatorId: w.bob.id, creator: w.bob.keys,
        recipients: [{userId: w.alice.id, key: w.alice.pub}, {userId: w.bob.id, key: w.bob.pub}]});
    served.record = made.record;
    const e2ee = await encryptV3({text: 'read sooner'}, w.bob.keys, made.key, {channelId: CHANNEL, rootId: '', userId: w.bob.id});
    const post = basePost({user_id: w.bob.id, channel_id: CHANNEL, type: 'custom_e2ee' as Post['type'], message: 'Encrypted message', props: {e2ee}});
    // The key server answers slowly: the record's fetch must not wait for it.
    const fetchKeys = w.api.getPublicKeys;
    w.api.getPublicKeys = async (ids: string[]) => {
        await new Promise((r) => setTimeout(r, 30));
        keyFetched = true;
        return fetchKeys(ids);
    };
    const r = await w.features.decrypt.decrypt(post);
    expect(r.status === 'ok' && r.text).toBe('read sooner');
    expect(readBeforeKey).toBe(true);
});

test('a v3 post\'s record and sender\'s key are both asked for while this browser\'s own keys still load from storage', async () => {
    const served: {record?: EpochRecordJSON} = {};
    const asked: string[] = [];
    const api: ChannelKeyAPI = {
        epochStatus: async () => ({epoch: 1, stale: '', missing: [], historySharing: false}),
        readEpoch: async (_ch, epoch) => {
            asked.push('record');
            return {epoch, head: 1, header: headerOf(served.record!), part: 0, wraps: served.record!.parts[0]};
        },
        uploadPart: async () => ({}),
        commitEpoch: async () => ({epoch: 1}),
        addJoiners: async () => ({}),
    };
    const w = await makeWorld({method: 'channel', channelKeyAPI: api});
    const made = await createEpochRecord({channelId: CHANNEL, epoch: 1, creatorId: w.bob.id, creator: w.bob.keys,
        recipients: [{userId: w.alice.id, key: w.alice.pub}, {userId: w.bob.id, key: w.bob.pub}]});
    served.record = made.record;
    const e2ee = await encryptV3({text: 'no wait for storage'}, w.bob.keys, made.key, {channelId: CHANNEL, rootId: '', userId: w.bob.id});
    const post = basePost({user_id: w.bob.id, channel_id: CHANNEL, type: 'custom_e2ee' as Post['type'], message: 'Encrypted message', props: {e2ee}});
    const fetchKeys = w.api.getPublicKeys;
    w.api.getPublicKeys = (ids: string[]) => {
        asked.push('keys');
        return fetchKeys(ids);
    };
    // Our own keys come from IndexedDB: slow here, and held until both requests are out.
    let release: () => void = () => undefined;
    const storage = new Promise<void>((r) => {
        release = r;
    });
    const get = w.myKeys.get.bind(w.myKeys);
    w.myKeys.get = async () => {
        await storage;
        return get();
    };
    const pending = w.features.decrypt.decrypt(post);
    await new Promise((r) => setTimeout(r, 20));
    expect(asked.sort()).toEqual(['keys', 'record']);
    release();
    const r = await pending;
    expect(r.status === 'ok' && r.text).toBe('no wait for storage');
});

test('trusting a sender seen for the first time does not redraw every post (no new revision)', async () => {
    const w = await makeWorld({method: 'channel', channelKeyAPI: {
        epochStatus: async () => ({epoch: 1, stale: '', missing: [], historySharing: false}),
        readEpoch: async (_ch, epoch) => ({epoch, head: 1, header: headerOf(served.record!), part: 0, wraps: served.record!.parts[0]}),
        uploadPart: async () => ({}),
        commitEpoch: async () => ({epoch: 1}),
        addJoiners: async () => ({}),
    }});
    const served: {record?: EpochRecordJSON} = {};
    const made = await createEpochRecord({channelId: CHANNEL, epoch: 1, creatorId: w.bob.id, creator: w.bob.keys,
        recipients: [{userId: w.alice.id, key: w.alice.pub}, {userId: w.bob.id, key: w.bob.pub}]});
    served.record = made.record;
    const e2ee = await encryptV3({text: 'first sight'}, w.bob.keys, made.key, {channelId: CHANNEL, rootId: '', userId: w.bob.id});
    const post = basePost({user_id: w.bob.id, channel_id: CHANNEL, type: 'custom_e2ee' as Post['type'], message: 'Encrypted message', props: {e2ee}});
    const before = w.features.decrypt.getRevision();
    const r = await w.features.decrypt.decrypt(post);
    expect(r.status === 'ok' && r.text).toBe('first sight');
    expect(w.features.trust.trustedKeyId(w.bob.id)).toBe(w.bob.pub.idB64); // trusted on first use
    expect(w.features.decrypt.getRevision()).toBe(before);
    // A change of a key trusted before still redraws (posts may show "key changed" then).
    w.features.trust.accept(w.bob.id, w.carol.pub.idB64);
    expect(w.features.decrypt.getRevision()).toBe(before + 1);
});
