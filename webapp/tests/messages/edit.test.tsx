import React from 'react';
import {act, fireEvent, render, screen, waitFor} from '@testing-library/react';

import type {Post} from '@mattermost/types/posts';

import {createEpochRecord, decryptMessage, decryptV3, encryptV3, headerOf, type EpochRecordJSON} from '../../src/crypto';
import type {ChannelKeyAPI} from '../../src/messages/channel_key';
import {BACKUP_BEGIN} from '../../src/crypto/backup';
import {EDIT_STATE_UNKNOWN, FILES_ADDED_REFUSED, NOT_AUTHOR_EDIT_REFUSED, PLAINTEXT_EDIT_REFUSED, saveEncryptedEdit} from '../../src/messages/edit';
import {KEY_BACKUP_REFUSED} from '../../src/messages/post_shape';

import {basePost, rekey} from './helpers';
import {CHANNEL, makeWorld, type World} from './world';

const ROOT = 'rootaaaaaaaaaaaaaaaaaaaaaa';

async function myEncryptedPost(w: World, text: string, rootId = ''): Promise<Post> {
    const draft = basePost({user_id: w.alice.id, channel_id: CHANNEL, root_id: rootId, message: text});
    const {post} = await w.willPost(draft);
    const stored = {...post, id: 'mypostaaaaaaaaaaaaaaaaaaaa'};
    w.store.entities().posts.posts[stored.id] = stored;
    return stored;
}

function dropdown(w: World) {
    const [text, action, filter] = w.registry.registered.dropdown[0] as [string, (id: string) => void, (id: string) => boolean];
    return {text, action, filter};
}

describe('editing an encrypted message', () => {
    test('post menu → our editor → re-encrypted patch with no plaintext, shown as edited', async () => {
        const w = await makeWorld();
        const post = await myEncryptedPost(w, 'first version', ROOT);
        const Root = (w.registry.registered.root[0] as unknown[])[0] as React.ComponentType;
        render(<Root/>);
        const {text, action, filter} = dropdown(w);
        expect(text).toBe('Edit encrypted message');

        expect(filter(post.id)).toBe(false); // not decrypted yet: nothing to edit from
        await w.features.decrypt.decrypt(post);
        expect(filter(post.id)).toBe(true);

        act(() => action(post.id));
        const area = await screen.findByTestId('e2ee-edit-textarea') as HTMLTextAreaElement;
        expect(area.value).toBe('first version');
        fireEvent.change(area, {target: {value: 'second version, secret'}});
        fireEvent.click(screen.getByTestId('e2ee-edit-save'));
        await waitFor(() => expect(screen.queryByTestId('e2ee-edit-textarea')).toBeNull());

        expect(w.patches).toHaveLength(1);
        const patch = w.patches[0];
        expect(patch.id).toBe(post.id);
        expect(patch.message).toBe('Encrypted message');
        expect(Object.keys(patch.props)).toEqual(['e2ee']);
        expect(JSON.stringify(patch)).not.toContain('second version');
        const out = await decryptMessage(patch.props.e2ee, w.bob.keys, w.bob.pub, w.alice.pub, {channelId: CHANNEL, rootId: ROOT, userId: w.alice.id});
        expect(out.text).toBe('second version, secret');
        // the host's store gets the edited post at once
        expect(w.store.actions.some((a) => a.type === 'RECEIVED_POST' && (a.data as Post).edit_at > 0)).toBe(true);
    });

    test('the menu item is only for my own decryptable encrypted posts', async () => {
        const w = await makeWorld();
        const mine = await myEncryptedPost(w, 'x');
        await w.features.decrypt.decrypt(mine);
        const posts = w.store.entities().posts.posts;
        posts.bobs = {...mine, id: 'bobs', user_id: w.bob.id};
        posts.plain = basePost({id: 'plain', user_id: w.alice.id, channel_id: CHANNEL, message: 'hi'});
        const {filter} = dropdown(w);
        expect(filter(mine.id)).toBe(true);
        expect(filter('bobs')).toBe(false);
        expect(filter('plain')).toBe(false);
        expect(filter('missing')).toBe(false);
    });

    test('a refused save keeps the editor open with the reason; saving again after a key-change warning works', async () => {
        const w = await makeWorld();
        const post = await myEncryptedPost(w, 'v1');
        await w.features.decrypt.decrypt(post);
        const Root = (w.registry.registered.root[0] as unknown[])[0] as React.ComponentType;
        render(<Root/>);
        const bob2 = await rekey(w.bob);
        w.publish(bob2);
        w.features.directory.invalidate(w.bob.id);
        act(() => dropdown(w).action(post.id));
        fireEvent.change(await screen.findByTestId('e2ee-edit-textarea'), {target: {value: 'v2'}});
        fireEvent.click(screen.getByTestId('e2ee-edit-save'));
        expect((await screen.findByTestId('e2ee-edit-error')).textContent).toMatch(/key of @bob changed/);
        expect(w.patches).toHaveLength(0);
        fireEvent.click(screen.getByTestId('e2ee-edit-save'));
        await waitFor(() => expect(w.patches).toHaveLength(1));
        const out = await decryptMessage(w.patches[0].props.e2ee, bob2.keys, bob2.pub, w.alice.pub, {channelId: CHANNEL, rootId: '', userId: w.alice.id});
        expect(out.text).toBe('v2');
    });

    test('a failed save says what the server answered and keeps the editor open', async () => {
        const w = await makeWorld();
        const post = await myEncryptedPost(w, 'v1');
        await w.features.decrypt.decrypt(post);
        w.client.patchPost = async () => {
            throw new Error('the post is too old to edit');
        };
        const Root = (w.registry.registered.root[0] as unknown[])[0] as React.ComponentType;
        render(<Root/>);
        act(() => dropdown(w).action(post.id));
        fireEvent.change(await screen.findByTestId('e2ee-edit-textarea'), {target: {value: 'v2'}});
        fireEvent.click(screen.getByTestId('e2ee-edit-save'));
        expect((await screen.findByTestId('e2ee-edit-error')).textContent).toBe('The server did not save the edit: the post is too old to edit.');
        expect(screen.getByTestId('e2ee-edit-textarea')).toBeTruthy();
    });

    test('cancel closes without saving', async () => {
        const w = await makeWorld();
        const post = await myEncryptedPost(w, 'v1');
        await w.features.decrypt.decrypt(post);
        const Root = (w.registry.registered.root[0] as unknown[])[0] as React.ComponentType;
        render(<Root/>);
        act(() => dropdown(w).action(post.id));
        fireEvent.click(await screen.findByTestId('e2ee-edit-cancel'));
        expect(screen.queryByTestId('e2ee-edit-textarea')).toBeNull();
        expect(w.patches).toHaveLength(0);
    });
});

describe('the host\'s own editor (runs no hook on current hosts)', () => {
    test('is closed when opened on my encrypted post, and ours opens instead', async () => {
        const w = await makeWorld();
        const post = await myEncryptedPost(w, 'typed before');
        const Root = (w.registry.registered.root[0] as unknown[])[0] as React.ComponentType;
        render(<Root/>);
        act(() => w.store.patchState({views: {posts: {editingPost: {postId: post.id, show: true, isRHS: false}}}}));
        expect(w.store.actions).toContainEqual({type: 'TOGGLE_EDITING_POST', data: {show: false}});
        expect(((await screen.findByTestId('e2ee-edit-textarea')) as HTMLTextAreaElement).value).toBe('typed before');
    });

    test('is closed on my plaintext post in an encrypted channel (its new text would go out in clear)', async () => {
        const w = await makeWorld();
        w.store.entities().posts.posts.plain = basePost({id: 'plain', user_id: w.alice.id, channel_id: CHANNEL, message: 'hi'});
        w.store.patchState({views: {posts: {editingPost: {postId: 'plain', show: true}}}});
        expect(w.store.actions).toContainEqual({type: 'TOGGLE_EDITING_POST', data: {show: false}});
        expect(w.store.notices()).toContain(PLAINTEXT_EDIT_REFUSED);
    });

    test('is closed on a plaintext post of a channel whose state is not known yet, and the state is fetched', async () => {
        const w = await makeWorld();
        const other = 'otherchannelaaaaaaaaaaaaaa';
        w.store.entities().posts.posts.plain = basePost({id: 'plain', user_id: w.alice.id, channel_id: other, message: 'hi'});
        w.store.patchState({views: {posts: {editingPost: {postId: 'plain', show: true}}}});
        expect(w.store.actions).toContainEqual({type: 'TOGGLE_EDITING_POST', data: {show: false}});
        expect(w.methodRequests).toContain(other);
    });

    test('is left alone for plain posts of unencrypted channels, mine or others\'', async () => {
        const w = await makeWorld({method: 'none'});
        await new Promise((r) => setTimeout(r, 0));
        w.store.entities().posts.posts.plain = basePost({id: 'plain', user_id: w.alice.id, channel_id: CHANNEL, message: 'hi'});
        w.store.entities().posts.posts.bobsplain = basePost({id: 'bobsplain', user_id: w.bob.id, channel_id: CHANNEL, message: 'hi'});
        w.store.patchState({views: {posts: {editingPost: {postId: 'plain', show: true}}}});
        w.store.patchState({views: {posts: {editingPost: {postId: 'bobsplain', show: true}}}});
        expect(w.store.actions.filter((a) => a.type === 'TOGGLE_EDITING_POST')).toHaveLength(0);
    });

    test('is closed on someone else\'s plaintext post in an encrypted channel (an admin editing a bot\'s post)', async () => {
        const w = await makeWorld();
        w.store.entities().posts.posts.botpost = basePost({id: 'botpost', user_id: 'e2eebotaaaaaaaaaaaaaaaaaaa', channel_id: CHANNEL, message: 'encryption is on'});
        w.store.patchState({views: {posts: {editingPost: {postId: 'botpost', show: true}}}});
        expect(w.store.actions).toContainEqual({type: 'TOGGLE_EDITING_POST', data: {show: false}});
        expect(w.store.notices()).toContain(PLAINTEXT_EDIT_REFUSED);
    });

    test('is closed on someone else\'s encrypted post, and ours does not open', async () => {
        const w = await makeWorld();
        const post = await myEncryptedPost(w, 'bob cannot re-encrypt this');
        w.store.entities().posts.posts.bobs = {...post, id: 'bobs', user_id: w.bob.id};
        const Root = (w.registry.registered.root[0] as unknown[])[0] as React.ComponentType;
        render(<Root/>);
        act(() => w.store.patchState({views: {posts: {editingPost: {postId: 'bobs', show: true}}}}));
        expect(w.store.actions).toContainEqual({type: 'TOGGLE_EDITING_POST', data: {show: false}});
        expect(w.store.notices()).toContain(NOT_AUTHOR_EDIT_REFUSED);
        expect(screen.queryByTestId('e2ee-edit-dialog')).toBeNull();
    });

    test('says so when the post cannot be decrypted here', async () => {
        const w = await makeWorld();
        const post = await myEncryptedPost(w, 'x');
        w.myKeys.set(null);
        w.store.patchState({views: {posts: {editingPost: {postId: post.id, show: true}}}});
        await waitFor(() => expect(w.store.notices().some((m) => m.includes('cannot be edited here'))).toBe(true));
        expect(w.store.actions).toContainEqual({type: 'TOGGLE_EDITING_POST', data: {show: false}});
    });
});

describe('MessageWillBeUpdated (hosts that run it)', () => {
    test('encrypts the new text of an encrypted post and saves it through REST', async () => {
        const w = await makeWorld();
        const old = await myEncryptedPost(w, 'v1', ROOT);
        const result = await w.willUpdate({id: old.id, message: 'v2 secret', props: {...old.props, attachments: ['v2 secret']}, hashtags: '#secret'}, old);
        expect(result.error).toBeUndefined();
        expect(result.post.message).toBe('Encrypted message');
        expect(JSON.stringify(result.post)).not.toContain('secret');
        const out = await decryptMessage(result.post.props.e2ee, w.carol.keys, w.carol.pub, w.alice.pub, {channelId: CHANNEL, rootId: ROOT, userId: w.alice.id});
        expect(out.text).toBe('v2 secret');
        // Hosts that drop "unchanged" edits (the placeholder never changes) still get it saved.
        expect(w.patches).toHaveLength(1);
        expect(w.patches[0]).toEqual({id: old.id, message: 'Encrypted message', props: {e2ee: result.post.props.e2ee}});
    });

    test('files added through the host\'s editor are refused (they were uploaded unencrypted); nothing is saved', async () => {
        const w = await makeWorld();
        const old = await myEncryptedPost(w, 'v1');
        const result = await w.willUpdate({id: old.id, message: 'v2', file_ids: ['plainfileaaaaaaaaaaaaaaaaa']}, old);
        expect(result.error.message).toBe(FILES_ADDED_REFUSED);
        expect(w.patches).toHaveLength(0);
    });

    test('saveEncryptedEdit with a new file list: the payload lists them and file_ids follow, thumbnails after their file', async () => {
        const w = await makeWorld();
        const old = await myEncryptedPost(w, 'v1');
        const patches: Array<Record<string, unknown>> = [];
        const key = Buffer.alloc(32, 1).toString('base64');
        const files = [
            {id: 'fileaaaaaaaaaaaaaaaaaaaaaa', key, hash: key, name: 'a.png', type: 'image/png', size: 5, width: 2, height: 2,
                thumb: {id: 'thumbaaaaaaaaaaaaaaaaaaaaa', key, hash: key, type: 'image/jpeg', width: 1, height: 1}},
            {id: 'filebbbbbbbbbbbbbbbbbbbbbb', key, hash: key, name: 'b.pdf', type: 'application/pdf', size: 9},
        ];
        const sealed: Array<Record<string, unknown>> = []; // what the encryptor was asked to seal
        const deps = {
            encryptor: {encrypt: async (text: string, _ctx: unknown, extra: Record<string, unknown>) => {
                sealed.push({text, ...extra});
                return {version: 2, sealed: sealed.length};
            }},
            currentUserId: () => w.alice.id,
            patchPost: async (p: Record<string, unknown>) => {
                patches.push(p);
                return {...old, ...p} as Post;
            },
        };
        await saveEncryptedEdit(deps as never, old, 'with files', files);
        expect(patches[0].file_ids).toEqual(['fileaaaaaaaaaaaaaaaaaaaaaa', 'thumbaaaaaaaaaaaaaaaaaaaaa', 'filebbbbbbbbbbbbbbbbbbbbbb']);
        expect(patches[0].props).toEqual({e2ee: {version: 2, sealed: 1}});
        expect(sealed[0]).toEqual({text: 'with files', files});
        // All files removed: no "files" member and no file_ids.
        await saveEncryptedEdit(deps as never, old, 'no files', []);
        expect(patches[1].file_ids).toEqual([]);
        expect(sealed[1]).toEqual({text: 'no files'});
        // More than 10 server files: refused before anything is sent.
        const many = Array.from({length: 11}, (_, i) => ({...files[1], id: `file${String(i).padStart(2, '0')}aaaaaaaaaaaaaaaaaaaa`}));
        await expect(saveEncryptedEdit(deps as never, old, 'too many', many)).rejects.toThrow(/At most 10 files/);
        expect(patches).toHaveLength(2);
    });

    test('the untouched placeholder from the host\'s editor is no edit', async () => {
        const w = await makeWorld();
        const old = await myEncryptedPost(w, 'v1');
        expect(await w.willUpdate({id: old.id, message: 'Encrypted message', channel_id: CHANNEL}, old)).toBeUndefined();
        expect(w.patches).toHaveLength(0);
    });

    test('leaves changes without new text alone, refuses others\' posts', async () => {
        const w = await makeWorld();
        const old = await myEncryptedPost(w, 'v1');
        expect(await w.willUpdate({id: old.id, is_pinned: true}, old)).toBeUndefined();
        expect(await w.willUpdate({id: old.id, message: 'Encrypted message', props: old.props}, old)).toBeUndefined();
        const result = await w.willUpdate({id: old.id, message: 'x'}, {...old, user_id: w.bob.id});
        expect(result.error.message).toMatch(/Only the author/);
    });

    test('refuses a plaintext edit in an encrypted channel, allows it elsewhere', async () => {
        const w = await makeWorld();
        const plain = basePost({id: 'plainpost', user_id: w.alice.id, channel_id: CHANNEL, message: 'old'});
        expect((await w.willUpdate({id: plain.id, message: 'new'}, plain)).error.message).toBe(PLAINTEXT_EDIT_REFUSED);
        w.channelMethods[CHANNEL] = 'none';
        expect(await w.willUpdate({id: plain.id, message: 'new'}, plain)).toBeUndefined();
    });

    test('fails closed: a plaintext edit is refused when the channel state cannot be checked', async () => {
        const w = await makeWorld({method: 'none'});
        const plain = basePost({id: 'plainpost', user_id: w.alice.id, channel_id: CHANNEL, message: 'old'});
        w.api.getChannelMethod = async () => {
            throw new Error('down');
        };
        expect((await w.willUpdate({id: plain.id, message: 'new'}, plain)).error.message).toBe(EDIT_STATE_UNKNOWN);
    });

    test('a pasted private key backup is never saved as an edit', async () => {
        const w = await makeWorld();
        const old = await myEncryptedPost(w, 'v1');
        const result = await w.willUpdate({id: old.id, message: `${BACKUP_BEGIN}\nAAAA`}, old);
        expect(result.error.message).toBe(KEY_BACKUP_REFUSED);
        expect(w.patches).toHaveLength(0);
        w.channelMethods[CHANNEL] = 'none';
        const plain = basePost({id: 'plainpost', user_id: w.alice.id, channel_id: CHANNEL, message: 'old'});
        expect((await w.willUpdate({id: plain.id, message: `${BACKUP_BEGIN}\nAAAA`}, plain)).error.message).toBe(KEY_BACKUP_REFUSED);
    });
});

describe('channel header button', () => {
    test('its icon and tooltip follow the current channel\'s state', async () => {
        const w = await makeWorld();
        const [icon, , dropdownText, tooltip] = w.registry.registered.header[0] as [React.ReactElement, unknown, string, React.ReactElement];
        expect(dropdownText).toBe('Toggle encryption');
        render(<div>{icon}{tooltip}</div>);
        expect(screen.getByTestId('e2ee-header-icon').getAttribute('data-e2ee-state')).toBe('on');
        expect(screen.getByTestId('e2ee-header-tooltip').textContent).toBe('Encryption on (P2P mode)');
        act(() => {
            w.registry.ws['custom_org.mme2ee.e2ee_channelStateChanged']({event: 'e', data: {chanID: CHANNEL, method: 'channel'}, broadcast: {}, seq: 1});
        });
        expect(screen.getByTestId('e2ee-header-icon').getAttribute('data-e2ee-state')).toBe('on');
        expect(screen.getByTestId('e2ee-header-tooltip').textContent).toBe('Encryption on (channel-key mode)');
        act(() => {
            w.registry.ws['custom_org.mme2ee.e2ee_channelStateChanged']({event: 'e', data: {chanID: CHANNEL, method: 'none'}, broadcast: {}, seq: 1});
        });
        expect(screen.getByTestId('e2ee-header-icon').getAttribute('data-e2ee-state')).toBe('off');
        expect(screen.getByTestId('e2ee-header-icon').getAttribute('title')).toBe('Encryption off');
        expect(screen.getByTestId('e2ee-header-tooltip').textContent).toBe('Encryption off');
    });
});

describe('editing a channel-key (v3) message', () => {
    async function channelKeyWorld() {
        const status = {epoch: 1, stale: ''};
        const holder: {record?: EpochRecordJSON} = {};
        const api: ChannelKeyAPI = {
            epochStatus: async () => ({...status, missing: [], historySharing: false}),
            readEpoch: async (_ch, epoch) => ({epoch, head: status.epoch, header: headerOf(holder.record!), part: 0, wraps: holder.record!.parts[0]}),
            uploadPart: async () => ({}),
            commitEpoch: async () => {
                throw new Error('no rotation expected');
            },
            addJoiners: async () => ({}),
        };
        const w = await makeWorld({method: 'channel', channelKeyAPI: api});
        const made = await createEpochRecord({channelId: CHANNEL, epoch: 1, creatorId: w.alice.id, creator: w.alice.keys,
            recipients: [w.alice, w.bob, w.carol].map((u) => ({userId: u.id, key: u.pub}))});
        holder.record = made.record;
        const e2ee = await encryptV3({text: 'v1'}, w.alice.keys, made.key, {channelId: CHANNEL, rootId: ROOT, userId: w.alice.id});
        const old = basePost({id: 'mypostaaaaaaaaaaaaaaaaaaaa', user_id: w.alice.id, channel_id: CHANNEL, root_id: ROOT, type: 'custom_e2ee' as Post['type'], message: 'Encrypted message', props: {e2ee}});
        w.store.entities().posts.posts[old.id] = old;
        return {w, old, key: made.key};
    }

    test('MessageWillBeUpdated re-encrypts it as v3 under the current epoch, not as P2P', async () => {
        const {w, old, key} = await channelKeyWorld();
        const result = await w.willUpdate({id: old.id, message: 'v2 secret'}, old);
        expect(result.error).toBeUndefined();
        const e2ee = result.post.props.e2ee as {version: number; epoch: number};
        expect(e2ee.version).toBe(3);
        expect(e2ee.epoch).toBe(1);
        expect(JSON.stringify(w.patches)).not.toContain('secret');
        const out = await decryptV3(e2ee, w.alice.pub, key, {channelId: CHANNEL, rootId: ROOT, userId: w.alice.id});
        expect(out.text).toBe('v2 secret');
    });

    test('our editor saves a v3 edit too', async () => {
        const {w, old, key} = await channelKeyWorld();
        const Root = (w.registry.registered.root[0] as unknown[])[0] as React.ComponentType;
        render(<Root/>);
        act(() => w.features.edit.open(old, 'v1'));
        const area = await screen.findByTestId('e2ee-edit-textarea') as HTMLTextAreaElement;
        fireEvent.change(area, {target: {value: 'edited'}});
        fireEvent.click(screen.getByTestId('e2ee-edit-save'));
        await waitFor(() => expect(w.patches).toHaveLength(1));
        const e2ee = w.patches[0].props.e2ee as {version: number};
        expect(e2ee.version).toBe(3);
        expect((await decryptV3(e2ee, w.alice.pub, key, {channelId: CHANNEL, rootId: ROOT, userId: w.alice.id})).text).toBe('edited');
    });
});
