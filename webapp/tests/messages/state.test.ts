import {CHANNEL_METHOD_RECEIVED, STATE_KEY, reducer} from '../../src/messages/state';
import {toggleEncryption} from '../../src/messages/header_button';

import {basePost} from './helpers';
import {CHANNEL, makeWorld} from './world';

describe('plugin reducer', () => {
    test('records methods per channel and ignores junk', () => {
        let s = reducer(undefined, {type: '@@INIT'});
        expect(s).toEqual({channelMethods: {}});
        s = reducer(s, {type: CHANNEL_METHOD_RECEIVED, channelId: 'c1', method: 'p2p'});
        expect(s.channelMethods).toEqual({c1: 'p2p'});
        const same = reducer(s, {type: CHANNEL_METHOD_RECEIVED, channelId: 'c1', method: 'p2p'});
        expect(same).toBe(s);
        expect(reducer(s, {type: CHANNEL_METHOD_RECEIVED, channelId: 'c1', method: 'rot13'})).toBe(s);
        expect(reducer(s, {type: CHANNEL_METHOD_RECEIVED, channelId: '', method: 'none'})).toBe(s);
        expect(reducer(s, {type: 'OTHER'})).toBe(s);
    });
});

describe('channel encryption state', () => {
    test('is registered at plugins-<id> and fetched for the current channel, then on each switch', async () => {
        const w = await makeWorld();
        expect(w.registry.reducer).toBe(reducer);
        expect(STATE_KEY).toBe('plugins-org.mme2ee.e2ee');
        expect(w.methodRequests).toEqual([CHANNEL]);
        expect(w.store.plugin().channelMethods[CHANNEL]).toBe('p2p');

        w.channelMethods['chan2'] = 'none';
        w.store.setEntities((e) => ({...e, channels: {...e.channels, currentChannelId: 'chan2'}}));
        await new Promise((r) => setTimeout(r, 0));
        expect(w.methodRequests).toEqual([CHANNEL, 'chan2']);
        expect(w.features.methods.get('chan2')).toBe('none');
    });

    test('follows channelStateChanged events and ignores malformed ones', async () => {
        const w = await makeWorld();
        const handler = w.registry.ws['custom_org.mme2ee.e2ee_channelStateChanged'];
        handler({event: 'custom_org.mme2ee.e2ee_channelStateChanged', data: {chanID: CHANNEL, method: 'none'}, broadcast: {}, seq: 1});
        expect(w.features.methods.get(CHANNEL)).toBe('none');
        handler({event: 'x', data: {chanID: CHANNEL, method: 'plaintext-please'}, broadcast: {}, seq: 2});
        handler({event: 'x', data: null as unknown as Record<string, unknown>, broadcast: {}, seq: 3});
        expect(w.features.methods.get(CHANNEL)).toBe('none');
        handler({event: 'x', data: {chanID: CHANNEL, method: 'p2p'}, broadcast: {}, seq: 4});
        expect(w.features.methods.get(CHANNEL)).toBe('p2p');
    });

    test('reconnect forgets other channels, refreshes the current one and the key directory', async () => {
        const w = await makeWorld();
        w.features.methods.set('elsewhere', 'p2p');
        const dirEvents: Array<string | undefined> = [];
        w.features.directory.onChange((id) => dirEvents.push(id));
        w.channelMethods[CHANNEL] = 'none'; // changed while offline
        w.registry.reconnect!();
        await new Promise((r) => setTimeout(r, 0));
        expect(w.features.methods.get('elsewhere')).toBeUndefined();
        expect(w.features.methods.get(CHANNEL)).toBe('none');
        expect(dirEvents).toEqual([undefined]);
    });

    test('the header action toggles through the server and records its answer', async () => {
        const w = await makeWorld({method: 'none'});
        const action = (w.registry.registered.header[0] as unknown[])[1] as (channel: {id: string}) => void;
        action({id: CHANNEL});
        await new Promise((r) => setTimeout(r, 0));
        expect(w.setRequests).toEqual([[CHANNEL, 'auto']]); // the server chooses the mode
        expect(w.features.methods.get(CHANNEL)).toBe('p2p');
        await toggleEncryption({methods: w.features.methods, setMethod: w.api.setChannelMethod, notices: {show: jest.fn()}}, CHANNEL);
        expect(w.setRequests[1]).toEqual([CHANNEL, 'none']);
        expect(w.features.methods.get(CHANNEL)).toBe('none');
    });

    test('the header action turns on the mode the server chooses (channel-key from the threshold on)', async () => {
        const w = await makeWorld({method: 'none', autoMethod: 'channel'});
        const action = (w.registry.registered.header[0] as unknown[])[1] as (channel: {id: string}) => void;
        action({id: CHANNEL});
        await new Promise((r) => setTimeout(r, 0));
        expect(w.setRequests).toEqual([[CHANNEL, 'auto']]);
        expect(w.features.methods.get(CHANNEL)).toBe('channel');
        action({id: CHANNEL});
        await new Promise((r) => setTimeout(r, 0));
        expect(w.setRequests[1]).toEqual([CHANNEL, 'none']);
        expect(w.features.methods.get(CHANNEL)).toBe('none');
    });

    test('a refused toggle changes nothing and says why', async () => {
        const w = await makeWorld({method: 'none'});
        w.failSetMethod(new Error('you are not allowed to change this channel'));
        const result = await toggleEncryption({methods: w.features.methods, setMethod: w.api.setChannelMethod, notices: {show: (_c, _r, m) => w.store.dispatch({type: 'RECEIVED_NEW_POST', data: {message: m}})}}, CHANNEL);
        expect(result).toBeUndefined();
        expect(w.features.methods.get(CHANNEL)).toBe('none');
        expect(w.store.notices()[0]).toMatch(/Could not turn encryption on: you are not allowed/);
    });

    test('files are encrypted in an encrypted channel, then handed to upload as .bin; passed through elsewhere', async () => {
        const w = await makeWorld();
        const hook = (w.registry.registered.files[0] as unknown[])[0] as (files: File[], upload: unknown) => {message?: string; files?: File[] | null};
        const files = [new File(['the secret plan'], 'plan.txt', {type: 'text/plain'})];
        const uploaded = await new Promise<File[]>((resolve) => {
            // Synchronous: nothing for the host to upload now; ciphertext comes through the callback.
            expect(hook(files, resolve)).toEqual({files: []});
        });
        expect(uploaded).toHaveLength(1);
        expect(uploaded[0].name).toMatch(/^[0-9a-f]{32}\.bin$/);
        expect(uploaded[0].type).toBe('application/octet-stream');
        const bytes = Buffer.from(await uploaded[0].arrayBuffer());
        expect(bytes.subarray(0, 7).toString('latin1')).toBe('MME2EEF');
        expect(bytes.includes(Buffer.from('secret plan'))).toBe(false);
        w.features.methods.set(CHANNEL, 'none');
        expect(hook(files, jest.fn())).toEqual({files});
        // not known yet: refused, and asked for
        w.channelMethods['chan3'] = 'none';
        w.store.setEntities((e) => ({...e, channels: {...e.channels, currentChannelId: 'chan3'}}));
        w.features.methods.clear();
        expect(hook(files, jest.fn())).toEqual({message: expect.stringMatching(/Checking/), files: null});
        await new Promise((r) => setTimeout(r, 0));
        expect(hook(files, jest.fn())).toEqual({files});
    });

    test('files are refused while a thread of an encrypted channel is open on the right of a plaintext channel', async () => {
        const w = await makeWorld();
        const hook = (w.registry.registered.files[0] as unknown[])[0] as (files: File[], upload: unknown) => {message?: string; files?: File[] | null};
        const files = [{name: 'a.txt'}] as unknown as File[];
        w.channelMethods.plainchan = 'none';
        w.features.methods.set('plainchan', 'none');
        w.store.setEntities((e) => ({...e, channels: {...e.channels, currentChannelId: 'plainchan'}}));
        expect(hook(files, jest.fn())).toEqual({files});
        w.store.entities().posts.posts.root1 = basePost({id: 'root1', channel_id: CHANNEL, message: 'x'});
        w.store.patchState({views: {rhs: {selectedPostId: 'root1'}}});
        expect(hook(files, jest.fn())).toEqual({message: expect.stringMatching(/thread of another channel/), files: null});
    });

    test('dispose unregisters everything it registered', async () => {
        const w = await makeWorld();
        const count = Object.values(w.registry.registered).reduce((n, list) => n + list.length, 0);
        w.features.dispose();
        expect(w.registry.unregistered).toHaveLength(count);
        expect(Object.keys(w.registry.ws)).toEqual([]);
        expect(w.registry.reconnect).toBeNull();
    });
});
