import type {Post} from '@mattermost/types/posts';
import type {UserProfile} from '@mattermost/types/users';

import {mentionKeysFor, previewOf, shouldNotify, textMentions, type NotifyUser} from '../../src/messages/notifications';

import {basePost} from './helpers';
import {CHANNEL, makeWorld} from './world';

const user = (props: Record<string, string> = {}, extra: Partial<NotifyUser> = {}): NotifyUser => ({
    id: 'me', username: 'alice', first_name: 'Alice', notify_props: {desktop: 'mention', channel: 'true', first_name: 'false', mention_keys: '', ...props}, ...extra,
});

describe('mention detection', () => {
    const keys = mentionKeysFor(user({mention_keys: 'deploy, Big Bird', first_name: 'true'}));

    test.each([
        ['@alice can you look', true],
        ['hey @ALICE.', true],
        ['(@alice)', true],
        ['@alice: ping', true],
        ['@alice.smith is someone else', false],
        ['@alicex is someone else', false],
        ['@alice_ is someone else', false],
        ['mail me at bob@alice', false],
        ['we DEPLOY today', true], // mention keys are case-insensitive
        ['redeploy', false],
        ['big bird is here', true],
        ['Alice, hi', true], // first name, when enabled, is case-sensitive
        ['alice, hi', false],
        ['`@alice` in code', false],
        ['```\n@alice\n```', false],
        ['@channel lunch', true],
        ['@all lunch', true],
        ['@here lunch', true],
        ['nothing for you', false],
    ])('%s → %s', (text, expected) => {
        expect(textMentions(text, keys)).toBe(expected);
    });

    test('first name is not a key unless enabled', () => {
        expect(textMentions('Alice, hi', mentionKeysFor(user()))).toBe(false);
    });

    test('channel-wide mentions follow the user and channel settings', () => {
        expect(textMentions('@channel', mentionKeysFor(user({channel: 'false'})))).toBe(false);
        expect(textMentions('@here', mentionKeysFor(user({channel: 'true'}), {notify_props: {ignore_channel_mentions: 'on'}}))).toBe(false);
        expect(textMentions('@all', mentionKeysFor(user({channel: 'false'}), {notify_props: {ignore_channel_mentions: 'off'}}))).toBe(true);
    });

    test('CJK keys match inside words', () => {
        expect(textMentions('今日は山田さん', mentionKeysFor(user({mention_keys: '山田'})))).toBe(true);
    });
});

describe('shouldNotify', () => {
    test('desktop "mention": only when mentioned', () => {
        expect(shouldNotify('hello', user(), undefined, 'O')).toBe(false);
        expect(shouldNotify('hello @alice', user(), undefined, 'O')).toBe(true);
    });
    test('desktop "all": always', () => {
        expect(shouldNotify('hello', user({desktop: 'all'}), undefined, 'O')).toBe(true);
    });
    test('desktop "none": never, even when mentioned', () => {
        expect(shouldNotify('@alice', user({desktop: 'none'}), undefined, 'O')).toBe(false);
        expect(shouldNotify('@alice', user({desktop: 'none'}), undefined, 'D')).toBe(false);
    });
    test('direct and group messages always notify', () => {
        expect(shouldNotify('hello', user(), undefined, 'D')).toBe(true);
        expect(shouldNotify('hello', user(), undefined, 'G')).toBe(true);
    });
    test('the channel setting overrides the account setting', () => {
        expect(shouldNotify('hello', user({desktop: 'all'}), {notify_props: {desktop: 'mention'}}, 'O')).toBe(false);
        expect(shouldNotify('hello', user({desktop: 'mention'}), {notify_props: {desktop: 'all'}}, 'P')).toBe(true);
        expect(shouldNotify('hello @alice', user({desktop: 'all'}), {notify_props: {desktop: 'none'}}, 'O')).toBe(false);
        expect(shouldNotify('hello', user({desktop: 'all'}), {notify_props: {desktop: 'default'}}, 'O')).toBe(true);
    });
    test('no settings at all means "all"', () => {
        expect(shouldNotify('hello', {id: 'me', username: 'alice'}, undefined, 'O')).toBe(true);
    });
});

test('previewOf flattens and truncates', () => {
    expect(previewOf('a\n\nb   c')).toBe('a b c');
    const long = previewOf('x'.repeat(500));
    expect(long).toHaveLength(120);
    expect(long.endsWith('…')).toBe(true);
});

describe('desktop notification hook', () => {
    const args = {title: 'Town Square', body: '@bob: Encrypted message', silent: false, soundName: 'Bing', url: '/e2ee/channels/x', notify: true};

    async function encryptedFromBob(text: string) {
        const w = await makeWorld();
        // bob writes: encrypt with bob's hook-equivalent by swapping "me"
        const {encryptV2} = await import('../../src/crypto');
        const e2ee = await encryptV2({text}, w.bob.keys, [w.alice.pub, w.bob.pub], {channelId: CHANNEL, rootId: '', userId: w.bob.id});
        const post = basePost({user_id: w.bob.id, channel_id: CHANNEL, type: 'custom_e2ee' as Post['type'], message: 'Encrypted message', props: {e2ee}});
        return {w, post};
    }

    test('puts the decrypted text in the body and notifies on a mention', async () => {
        const {w, post} = await encryptedFromBob('hi @alice, the **plan** is ready');
        w.store.entities().users.profiles[w.alice.id].notify_props = {desktop: 'mention', channel: 'true'} as UserProfile['notify_props'];
        const out = await w.notificationHook(post, {}, {id: CHANNEL, type: 'O'}, 'team', args);
        expect(out.args.body).toBe('@bob: hi @alice, the plan is ready'); // markup stripped, as the host does
        expect(out.args.notify).toBe(true);
        expect(out.args.title).toBe('Town Square');
    });

    test('does not notify without a mention when the user wants mentions only', async () => {
        const {w, post} = await encryptedFromBob('just chatting');
        w.store.entities().users.profiles[w.alice.id].notify_props = {desktop: 'mention'} as UserProfile['notify_props'];
        const out = await w.notificationHook(post, {}, {id: CHANNEL, type: 'O'}, 'team', args);
        expect(out.args.notify).toBe(false);
    });

    test('never turns on a notification the host turned off (e.g. channel on screen)', async () => {
        const {w, post} = await encryptedFromBob('@alice look');
        const out = await w.notificationHook(post, {}, {id: CHANNEL, type: 'O'}, 'team', {...args, notify: false});
        expect(out.args.notify).toBe(false);
    });

    test('leaves other posts and undecryptable posts alone, always returning args', async () => {
        const {w, post} = await encryptedFromBob('secret');
        const plain = basePost({user_id: w.bob.id, channel_id: CHANNEL, message: 'hello'});
        expect(await w.notificationHook(plain, {}, {id: CHANNEL, type: 'O'}, 'team', args)).toEqual({args});
        w.myKeys.set(null);
        expect(await w.notificationHook(post, {}, {id: CHANNEL, type: 'O'}, 'team', args)).toEqual({args});
    });
});
