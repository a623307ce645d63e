// The plugin entry: registers under the manifest id while it evaluates, and keeps the
// message guards even when the key features fail to start.
import type {Post} from '@mattermost/types/posts';

import manifest from '../src/manifest';

import {basePost, makeRegistry, makeStore} from './messages/helpers';

jest.mock('../src/keys', () => ({
    registerKeyFeatures: () => {
        throw new Error('IndexedDB is not available');
    },
}));

test('with broken key features, a post in an encrypted channel is refused, not sent in clear', async () => {
    const registered: Array<[string, {initialize: (r: unknown, s: unknown) => void}]> = [];
    window.registerPlugin = (id: string, plugin: unknown) => {
        registered.push([id, plugin as {initialize: (r: unknown, s: unknown) => void}]);
    };
    // The server says the channel is encrypted.
    const fetchMock = jest.fn(async () => ({ok: true, status: 200, text: async () => JSON.stringify({method: 'p2p'})}));
    (globalThis as {fetch: unknown}).fetch = fetchMock;
    jest.spyOn(console, 'error').mockImplementation(() => undefined);

    jest.isolateModules(() => {
        require('../src/index'); // eslint-disable-line @typescript-eslint/no-require-imports -- evaluate the entry afresh, as the host's script tag does
    });
    expect(registered.map(([id]) => id)).toEqual([manifest.id]);

    const registry = makeRegistry();
    const store = makeStore({currentUserId: 'aliceaaaaaaaaaaaaaaaaaaaaa', currentChannelId: 'channelaaaaaaaaaaaaaaaaaaaa'});
    registered[0][1].initialize(registry, store);

    const hook = (registry.registered.willPost?.[0] as unknown[] | undefined)?.[0] as ((post: Post) => Promise<unknown>) | undefined;
    expect(hook).toBeDefined();
    const result = await hook!(basePost({channel_id: 'channelaaaaaaaaaaaaaaaaaaaa', user_id: 'aliceaaaaaaaaaaaaaaaaaaaaa', message: 'secret plaintext'}));
    expect(result).toEqual({error: expect.objectContaining({message: expect.any(String)})});
    expect(JSON.stringify(result)).not.toContain('secret plaintext');
});
