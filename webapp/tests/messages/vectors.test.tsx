// History written by the original plugin (its v1 vectors, testdata/) shows in our post component
// exactly as the vectors expect: text, integrity failure or "not a recipient".
import * as fs from 'fs';

import React from 'react';
import {render, screen} from '@testing-library/react';
import type {Store} from 'redux';

import type {Post} from '@mattermost/types/posts';

import {importBackup, publicKeyOf, publicKeyToJSON} from '../../src/crypto';
import {registerMessageFeatures} from '../../src/messages';
import type {PluginRegistry, PostTypeComponentProps} from '../../src/types/registry';

import {VECTORS_PATH} from '../crypto/helpers';

import {FakeMyKeys, MemoryStorage, basePost, countingOps, fakeKeyServer, makeRegistry, makeStore, userId, type TestUser} from './helpers';

interface Vectors {
    users: Array<{name: string; backup: string; pubkey: {sign: string; encr: string}; pubkey_id: string}>;
    messages: Array<{sender: string; recipients: string[]; plaintext: string; expect: 'ok' | 'integrity' | 'not_recipient'; why?: string; decrypt_as?: string; e2ee: Record<string, unknown>}>;
}

const vectors: Vectors = JSON.parse(fs.readFileSync(VECTORS_PATH, 'utf8'));
const CHANNEL = 'v1channelaaaaaaaaaaaaaaaaa';

async function vectorUser(name: string): Promise<TestUser> {
    const u = vectors.users.find((x) => x.name === name)!;
    const keys = await importBackup(u.backup);
    const pub = await publicKeyOf(keys);
    expect(pub.idB64).toBe(u.pubkey_id);
    return {id: userId(name), username: name, keys, pub, json: publicKeyToJSON(pub)};
}

const STATE_TESTID = {ok: 'e2ee-text', integrity: 'e2ee-state-integrity', not_recipient: 'e2ee-state-not-recipient'} as const;

describe.each(vectors.messages.map((m, i) => [i, m] as const))('v1 vector %i', (_i, m) => {
    test(`${m.sender} → ${m.decrypt_as ?? m.recipients[m.recipients.length - 1]}: ${m.expect}${m.why ? ` (${m.why})` : ''}`, async () => {
        const me = await vectorUser(m.decrypt_as ?? m.recipients[m.recipients.length - 1]);
        const server = fakeKeyServer(Object.fromEntries(vectors.users.map((u) => [userId(u.name), u.pubkey])));
        const store = makeStore({currentUserId: me.id, currentChannelId: CHANNEL, profiles: Object.fromEntries(vectors.users.map((u) => [userId(u.name), {id: userId(u.name), username: u.name}]))});
        const registry = makeRegistry();
        registerMessageFeatures(registry as unknown as PluginRegistry, store as unknown as Store, new FakeMyKeys(me), {
            ops: countingOps(),
            storage: new MemoryStorage(),
            api: {getPublicKeys: server.getPublicKeys, getChannelMethod: async () => 'p2p', setChannelMethod: async (_c, method) => (method === 'auto' ? 'p2p' : method)},
            client: {getProfilesInChannel: async () => [], patchPost: async () => {
                throw new Error('not used');
            }},
        });
        const Component = (registry.registered.postType[0] as unknown[])[1] as React.ComponentType<PostTypeComponentProps>;
        const post = basePost({user_id: userId(m.sender), channel_id: CHANNEL, type: 'custom_e2ee' as Post['type'], message: 'Encrypted message', props: {e2ee: m.e2ee}});
        render(<Component post={post}/>);
        const shown = await screen.findByTestId(STATE_TESTID[m.expect]);
        if (m.expect === 'ok') {
            expect(shown.textContent).toBe(m.plaintext);
            expect(screen.getByTestId('e2ee-lock').getAttribute('title')).toContain(`@${m.sender}`);
        }
    });
});
