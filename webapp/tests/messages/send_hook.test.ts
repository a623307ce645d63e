import type {UserProfile} from '@mattermost/types/users';

import type {EncryptionMethod} from '../../src/client';
import {decryptMessage, recipientsOf} from '../../src/crypto';
import {BACKUP_BEGIN, BACKUP_END} from '../../src/crypto/backup';
import {KEY_BACKUP_REFUSED} from '../../src/messages/post_shape';
import {PLAINTEXT_CONFIRM_MESSAGE} from '../../src/messages/send_hook';

import {basePost, profile, rekey} from './helpers';
import {CHANNEL, makeWorld, type World} from './world';

const SECRET = 'the launch code is 0000 #secret @bob';

function draft(w: World, fields: Record<string, unknown> = {}) {
    return basePost({
        id: '',
        user_id: w.alice.id,
        channel_id: CHANNEL,
        message: SECRET,
        pending_post_id: `${w.alice.id}:123`,
        props: {disable_group_highlight: true, attachments: [{text: SECRET}], from_webhook: SECRET},
        file_ids: [],
        hashtags: '#secret',
        ...fields,
    });
}

describe('MessageWillBePosted in an encrypted channel', () => {
    let w: World;
    beforeEach(async () => {
        w = await makeWorld();
    });

    test('encrypts for every member with a key, sender included, and leaks no plaintext', async () => {
        const result = await w.willPost(draft(w));
        expect(result.error).toBeUndefined();
        const post = result.post;
        expect(post.type).toBe('custom_e2ee');
        expect(post.message).toBe('Encrypted message');
        expect(Object.keys(post.props).sort()).toEqual(['disable_group_highlight', 'e2ee']);
        expect(post.hashtags).toBe('');
        expect(post.file_ids).toEqual([]);
        expect(post.pending_post_id).toBe(`${w.alice.id}:123`);
        const wire = JSON.stringify(post);
        expect(wire).not.toContain('launch code');
        expect(wire).not.toContain('secret');

        expect(new Set(recipientsOf(post.props.e2ee))).toEqual(new Set([w.alice.pub.idB64, w.bob.pub.idB64, w.carol.pub.idB64]));
        const context = {channelId: CHANNEL, rootId: '', userId: w.alice.id};
        for (const reader of [w.alice, w.bob, w.carol]) {
            const out = await decryptMessage(post.props.e2ee, reader.keys, reader.pub, w.alice.pub, context);
            expect(out.text).toBe(SECRET);
            expect(out.version).toBe(2);
        }
        // bound to its thread: moved under another root it fails
        await expect(decryptMessage(post.props.e2ee, w.bob.keys, w.bob.pub, w.alice.pub, {...context, rootId: 'otherroot'})).rejects.toMatchObject({code: 'integrity'});
        expect(w.storage.getItem(`chanEncrMeth:${CHANNEL}`)).toBe('p2p');
        expect(JSON.parse(w.storage.getItem(`e2eeChannelRecipients:${CHANNEL}`)!).sort()).toEqual([w.alice.pub.idB64, w.bob.pub.idB64, w.carol.pub.idB64].sort());
        expect(w.storage.getItem(`pubkeyID:${w.bob.id}`)).toBe(w.bob.pub.idB64);
    });

    test('binds replies to their root', async () => {
        const result = await w.willPost(draft(w, {root_id: 'rootpostaaaaaaaaaaaaaaaaaa'}));
        const out = await decryptMessage(result.post.props.e2ee, w.bob.keys, w.bob.pub, w.alice.pub, {channelId: CHANNEL, rootId: 'rootpostaaaaaaaaaaaaaaaaaa', userId: w.alice.id});
        expect(out.text).toBe(SECRET);
    });

    test('tells once which members cannot read (no key)', async () => {
        await w.willPost(draft(w));
        await w.willPost(draft(w));
        const notices = w.store.notices();
        expect(notices).toHaveLength(1);
        expect(notices[0]).toContain('@dave');
        expect(notices[0]).toContain('/e2ee init');
    });

    test('tells once which recipients are new', async () => {
        await w.willPost(draft(w));
        const erin = {...(await rekey(w.bob)), id: 'erinxxxxxxxxxxxxxxxxxxxxxx', username: 'erin'};
        w.publish(erin);
        w.features.directory.invalidate(erin.id);
        w.setMembers([profile(w.alice), profile(w.bob), profile(w.carol), {...profile(w.dave)}, profile(erin)]);
        await w.willPost(draft(w));
        await w.willPost(draft(w));
        const news = w.store.notices().filter((m) => m.includes('new recipients'));
        expect(news).toHaveLength(1);
        expect(news[0]).toContain('@erin');
        expect(news[0]).not.toContain('@bob');
    });

    test('refuses when this browser has no key for the sender', async () => {
        w.myKeys.set(null);
        const result = await w.willPost(draft(w));
        expect(result.post).toBeUndefined();
        expect(result.error.message).toMatch(/no encryption key/);
        expect(result.error.message).toMatch(/\/e2ee init/);
        expect(result.error.message).toMatch(/\/e2ee import/);
        expect(w.ops.calls.encrypt).toBe(0);
    });

    test.each([
        ['a duplicate user name', (w: World) => [profile(w.alice), profile(w.bob), {...profile(w.carol), username: 'bob'}]],
        ['a duplicate user name differing in case', (w: World) => [profile(w.alice), profile(w.bob), {...profile(w.carol), username: 'BOB'}]],
        ['an empty user name', (w: World) => [profile(w.alice), profile(w.bob), {...profile(w.carol), username: ''}]],
        ['a duplicate user ID', (w: World) => [profile(w.alice), profile(w.bob), {...profile(w.bob), username: 'bob2'}]],
    ])('refuses a forged member list with %s, changing nothing', async (_name, members) => {
        w.setMembers(members(w));
        const result = await w.willPost(draft(w));
        expect(result.post).toBeUndefined();
        expect(result.error.message).toMatch(/forged/);
        expect(w.ops.calls.encrypt).toBe(0);
        expect(w.storage.dump()).toEqual({});
    });

    test('reads the member list page by page', async () => {
        const many = Array.from({length: 450}, (_, i) => ({id: `u${i}`.padEnd(26, 'u'), username: `user${i}`, delete_at: 0}));
        w.setMembers([profile(w.alice), profile(w.bob), ...many as UserProfile[]]);
        const result = await w.willPost(draft(w));
        expect(result.error).toBeUndefined();
        const withoutKey = w.store.notices().find((m) => m.includes('no encryption key'))!;
        expect(withoutKey).toContain('@user449');
        expect(new Set(recipientsOf(result.post.props.e2ee))).toEqual(new Set([w.alice.pub.idB64, w.bob.pub.idB64]));
    });

    test('refuses attachments this browser did not encrypt', async () => {
        const result = await w.willPost(draft(w, {file_ids: ['file1']}));
        expect(result.error.message).toMatch(/not encrypted in this browser/);
        expect(w.ops.calls.encrypt).toBe(0);
    });

    test('refuses when the channel state cannot be checked and was never known', async () => {
        const other = 'otherchannelaaaaaaaaaaaaaaa';
        w.api.getChannelMethod = async () => {
            throw new Error('down');
        };
        const result = await w.willPost(draft(w, {channel_id: other}));
        expect(result.error.message).toMatch(/Could not check/);
    });

    test('fails closed when the check fails and only "none" was remembered (it may be stale)', async () => {
        w.features.methods.set(CHANNEL, 'none');
        w.api.getChannelMethod = async () => {
            throw new Error('down');
        };
        const result = await w.willPost(draft(w));
        expect(result.post).toBeUndefined();
        expect(result.error.message).toMatch(/Could not check/);
    });

    test('when the check fails for a channel known to be encrypted, the post is still encrypted', async () => {
        w.api.getChannelMethod = async () => {
            throw new Error('down');
        };
        const result = await w.willPost(draft(w));
        expect(result.post.type).toBe('custom_e2ee');
        expect(JSON.stringify(result.post)).not.toContain('launch code');
    });

    test('an already encrypted post (a retry) is re-shaped: no other field carries text', async () => {
        const first = await w.willPost(draft(w));
        const retry = {...first.post, props: {...first.post.props, attachments: [{text: SECRET}]}, file_ids: ['f1'], hashtags: '#secret', message_source: SECRET};
        const result = await w.willPost(retry as unknown as Parameters<typeof w.willPost>[0]);
        expect(result.post.props.e2ee).toEqual(first.post.props.e2ee);
        expect(result.post.file_ids).toEqual(['f1']); // the encrypted files it was built with; the server checks them
        expect(JSON.stringify(result.post)).not.toContain('secret');
    });

    test.each(['p2p', 'none'] as const)('never sends a pasted private key backup (%s channel)', async (method) => {
        w.channelMethods[CHANNEL] = method;
        const result = await w.willPost(draft(w, {message: `here: ${BACKUP_BEGIN}\nAAAA\n${BACKUP_END}`}));
        expect(result.post).toBeUndefined();
        expect(result.error.message).toBe(KEY_BACKUP_REFUSED);
        expect(w.ops.calls.encrypt).toBe(0);
    });

    test('does not reuse a state request made before the send (encryption turned on meanwhile)', async () => {
        const w = await makeWorld({method: 'none'});
        let answerOld: () => void = () => undefined;
        const getMethod = w.api.getChannelMethod;
        w.api.getChannelMethod = () => new Promise<EncryptionMethod>((resolve) => {
            answerOld = () => resolve('none');
            w.api.getChannelMethod = getMethod;
        });
        const old = w.features.methods.refresh(CHANNEL); // e.g. asked when the channel was opened
        w.channelMethods[CHANNEL] = 'p2p';
        const result = await w.willPost(draft(w));
        expect(result.post.type).toBe('custom_e2ee');
        expect(JSON.stringify(result.post)).not.toContain('launch code');
        answerOld();
        await old;
    });

    test('asks the server for the channel state at send time (a missed event cannot leak)', async () => {
        w.channelMethods[CHANNEL] = 'none';
        w.features.methods.set(CHANNEL, 'none');
        w.channelMethods[CHANNEL] = 'p2p'; // turned on, event missed
        const result = await w.willPost(draft(w));
        expect(result.post.type).toBe('custom_e2ee');
    });
});

describe('TOFU: a member whose key changed', () => {
    test('refuses the send once, naming who changed, before anything is encrypted to the new key', async () => {
        const w = await makeWorld();
        await w.willPost(draft(w)); // bob's first key is now trusted
        const encryptsBefore = w.ops.calls.encrypt;

        const bob2 = await rekey(w.bob);
        w.publish(bob2);
        w.registry.ws['custom_org.mme2ee.e2ee_newPubkey']({event: 'custom_org.mme2ee.e2ee_newPubkey', data: {userID: w.bob.id}, broadcast: {}, seq: 1});

        const refused = await w.willPost(draft(w));
        expect(refused.post).toBeUndefined();
        expect(refused.error.message).toMatch(/key of @bob changed/);
        expect(refused.error.message).toMatch(/send it again/);
        expect(w.store.notices().filter((m) => m.includes('key of @bob changed'))).toHaveLength(1); // also visible in the channel
        expect(w.ops.calls.encrypt).toBe(encryptsBefore); // nothing encrypted to the new key
        expect(w.storage.getItem(`pubkeyID:${w.bob.id}`)).toBe(bob2.pub.idB64); // accepted by resending

        const sent = await w.willPost(draft(w));
        expect(sent.error).toBeUndefined();
        expect(recipientsOf(sent.post.props.e2ee)).toContain(bob2.pub.idB64);
        expect(recipientsOf(sent.post.props.e2ee)).not.toContain(w.bob.pub.idB64);
    });

    test('a refused send records only the changed key it warned about', async () => {
        const w = await makeWorld();
        const bob2 = await rekey(w.bob);
        w.storage.setItem(`pubkeyID:${w.bob.id}`, w.bob.pub.idB64);
        w.publish(bob2);
        const refused = await w.willPost(draft(w));
        expect(refused.error.message).toMatch(/@bob/);
        // ...and archives bob's keys (the old one by ID), to verify his earlier posts later.
        expect(w.storage.dump()).toEqual({
            [`pubkeyID:${w.bob.id}`]: bob2.pub.idB64,
            [`e2eeKnownKeys:${w.bob.id}`]: JSON.stringify([{id: w.bob.pub.idB64, pubkey: null}, {id: bob2.pub.idB64, pubkey: bob2.json}]),
        });
    });

    test('a first key is trusted on first use without a warning', async () => {
        const w = await makeWorld();
        const result = await w.willPost(draft(w));
        expect(result.error).toBeUndefined();
        expect(w.storage.getItem(`pubkeyID:${w.carol.id}`)).toBe(w.carol.pub.idB64);
    });

    test('keeps the original plugin\'s localStorage layout', async () => {
        const w = await makeWorld();
        w.storage.setItem(`pubkeyID:${w.carol.id}`, w.bob.pub.idB64); // what the original had stored
        const refused = await w.willPost(draft(w));
        expect(refused.error.message).toMatch(/@carol/);
    });
});

describe('plaintext after encryption', () => {
    test('asks for confirmation before the first plaintext post where this browser last encrypted', async () => {
        const w = await makeWorld();
        await w.willPost(draft(w));
        w.channelMethods[CHANNEL] = 'none';
        const first = await w.willPost(draft(w));
        expect(first.error.message).toBe(PLAINTEXT_CONFIRM_MESSAGE);
        const second = await w.willPost(draft(w));
        expect(second).toBeUndefined(); // unchanged: sent as typed
        expect(w.storage.getItem(`chanEncrMeth:${CHANNEL}`)).toBe('none');
        expect(await w.willPost(draft(w))).toBeUndefined(); // no more questions
    });

    test('does not ask in channels never encrypted from here', async () => {
        const w = await makeWorld({method: 'none'});
        expect(await w.willPost(draft(w))).toBeUndefined();
    });
});

describe('slash commands that post their text', () => {
    const args = {channel_id: CHANNEL, team_id: 'team1', root_id: ''};
    function guard(w: World) {
        return (w.registry.registered.slash[0] as unknown[])[0] as (message: string, a: typeof args) => Promise<{message?: string; args?: unknown; error?: {message: string}}>;
    }

    test.each(['/me waves the launch code', '/SHRUG the launch code', '/echo the launch code 5'])('%j is refused in an encrypted channel', async (message) => {
        const w = await makeWorld();
        const result = await guard(w)(message, args);
        expect(result.error?.message).toMatch(/encrypted.*Nothing was sent/);
        expect(result.message).toBeUndefined();
    });

    test('fails closed when the channel state cannot be checked', async () => {
        const w = await makeWorld({method: 'none'});
        w.api.getChannelMethod = async () => {
            throw new Error('down');
        };
        expect((await guard(w)('/me the launch code', args)).error?.message).toMatch(/Could not check/);
    });

    test.each([
        ['/me in a plain channel', 'none', '/me waves'],
        ['other commands', 'p2p', '/invite @bob'],
        ['/shrug alone', 'p2p', '/shrug'],
    ])('passes %s unchanged', async (_name, method, message) => {
        const w = await makeWorld({method: method as 'none' | 'p2p'});
        expect(await guard(w)(message, args)).toEqual({message, args});
    });
});

describe('plaintext in a channel whose encryption was turned off lately', () => {
    const DAY = 24 * 60 * 60 * 1000;

    test('asks before every plaintext send, naming who turned it off; declined sends nothing', async () => {
        const w = await makeWorld({method: 'none'});
        w.turnedOff[CHANNEL] = {user_id: w.bob.id, username: 'bob', at: Date.now() - 6 * DAY};
        for (let i = 0; i < 3; i++) {
            const pending = w.willPost(draft(w));
            const question = await w.answer(false);
            expect(question).toMatch(/@bob turned off end-to-end encryption/);
            const out = await pending;
            expect(out.error.message).toMatch(/not sent/);
            expect(out.post).toBeUndefined();
        }
        const pending = w.willPost(draft(w));
        await w.answer(true);
        expect(await pending).toBeUndefined(); // sent as typed
        const again = w.willPost(draft(w));
        await w.answer(true); // asked again: every send
        expect(await again).toBeUndefined();
    });

    test('this browser never sent encrypted there: still asks (the record is the server\'s)', async () => {
        const w = await makeWorld({method: 'none'});
        expect(w.storage.getItem(`chanEncrMeth:${CHANNEL}`)).toBeNull();
        w.turnedOff[CHANNEL] = {user_id: w.carol.id, username: 'carol', at: Date.now() - 1000};
        const pending = w.willPost(draft(w));
        expect(await w.answer(false)).toMatch(/@carol/);
        expect((await pending).error.message).toMatch(/not sent/);
    });

    test('no question once 7 days have passed, nor while encrypted', async () => {
        const w = await makeWorld({method: 'none'});
        w.turnedOff[CHANNEL] = {user_id: w.bob.id, username: 'bob', at: Date.now() - 7 * DAY - 1000};
        expect(await w.willPost(draft(w))).toBeUndefined();
        expect(w.features.confirm.getSnapshot()).toBeNull();
        w.channelMethods[CHANNEL] = 'p2p';
        w.turnedOff[CHANNEL] = {user_id: w.bob.id, username: 'bob', at: Date.now()};
        const out = await w.willPost(draft(w));
        expect(out.post.type).toBe('custom_e2ee');
        expect(w.features.confirm.getSnapshot()).toBeNull();
    });

    test('a malformed record from the server is ignored', async () => {
        const w = await makeWorld({method: 'none'});
        w.turnedOff[CHANNEL] = {user_id: w.bob.id, at: 'yesterday'} as never;
        expect(await w.willPost(draft(w))).toBeUndefined();
    });
});
