// SlashCommandWillBePosted in encrypted channels: only commands without text pass unasked.
import {directTarget} from '../../src/messages/slash_guard';

import {CHANNEL, makeWorld} from './world';

const args = {channel_id: CHANNEL, team_id: 'team1', root_id: ''};

describe('slash commands in an encrypted channel', () => {
    test.each([
        '/away', '/online', '/offline', '/dnd', '/leave', '/collapse', '/expand', '/settings', '/logout', '/help',
        '/join ~town-square', '/open ~off-topic', '/mute', '/mute ~town-square', '/kick @bob', '/remove @bob @carol',
        '/invite @bob ~town-square', '/e2ee', '/e2ee status', '/e2ee stop', '/e2ee init --force', '/e2ee verify', '/e2ee verify @bob', '/msg @bob', '/groupmsg @bob,@carol',
        '/e2ee start --mode channel', '/e2ee start --mode p2p', '/e2ee history on', '/e2ee history off',
    ])('%j carries no text: passes unchanged, without a question', async (message) => {
        const w = await makeWorld();
        expect(await w.slash(message, args)).toEqual({message, args});
        expect(w.features.confirm.getSnapshot()).toBeNull();
    });

    test.each([
        '/code the launch code', '/me waves the launch code', '/echo the launch code',
    ])('%j posts its text here: refused without a question', async (message) => {
        const w = await makeWorld();
        const out = await w.slash(message, args);
        expect(out.error?.message).toMatch(/encrypted.*Nothing was sent/);
        expect(out.message).toBeUndefined();
        expect(w.features.confirm.getSnapshot()).toBeNull();
    });

    test.each([
        '/header the launch code', '/purpose the launch code', '/rename the launch code', '/status the launch code',
        '/somepluginscommand the launch code', '/away back with the launch code', '/join ~town-square the launch code',
        '/e2ee status the launch code', '/kick @bob the launch code', '/search the launch code',
    ])('%j carries text: asks first, and sends nothing when declined', async (message) => {
        const w = await makeWorld();
        const pending = w.slash(message, args);
        const question = await w.answer(false);
        expect(question).toContain(message.split(' ')[0]);
        expect(question).toMatch(/encrypted/);
        const out = await pending;
        expect(out.error?.message).toMatch(/was not sent/);
        expect(out.message).toBeUndefined();
    });

    test('a command with text is sent as typed when the user confirms', async () => {
        const w = await makeWorld();
        const pending = w.slash('/header the launch code', args);
        await w.answer(true);
        expect(await pending).toEqual({message: '/header the launch code', args});
    });

    test('fails closed when the channel state cannot be checked', async () => {
        const w = await makeWorld({method: 'none'});
        w.api.getChannelMethod = async () => {
            throw new Error('down');
        };
        expect((await w.slash('/header the launch code', args)).error?.message).toMatch(/Could not check/);
        expect((await w.slash('/away', args))).toEqual({message: '/away', args}); // no text: nothing to protect
    });
});

describe('/msg and /groupmsg', () => {
    test('refuses text into an encrypted DM, from any channel', async () => {
        const w = await makeWorld({method: 'none'});
        w.channelMethods[await w.dmOf(w.bob)] = 'p2p';
        for (const message of ['/msg @bob the launch code', '/msg bob the launch code', '/groupmsg @bob the launch code']) {
            const out = await w.slash(message, args);
            expect(out.error?.message).toMatch(/conversation with @bob is encrypted.*Nothing was sent/);
        }
        expect(w.features.confirm.getSnapshot()).toBeNull();
    });

    test('refuses text into an encrypted group message', async () => {
        const w = await makeWorld({method: 'none'});
        w.channelMethods[await w.dmOf(w.bob, w.carol)] = 'p2p';
        const out = await w.slash('/groupmsg @bob, @carol the launch code', args);
        expect(out.error?.message).toMatch(/@bob, @carol is encrypted/);
        expect(w.usernameLookups.at(-1)?.sort()).toEqual(['bob', 'carol']);
    });

    test('into an unencrypted DM: passes from a plain channel, asks from an encrypted one', async () => {
        const plain = await makeWorld({method: 'none'});
        expect(await plain.slash('/msg @bob hello', args)).toEqual({message: '/msg @bob hello', args});
        const w = await makeWorld();
        const pending = w.slash('/msg @bob the launch code', args);
        await w.answer(false);
        expect((await pending).error?.message).toMatch(/was not sent/);
    });

    test('an unknown user or a failed check refuses (the text would travel anyway)', async () => {
        const w = await makeWorld({method: 'none'});
        expect((await w.slash('/msg @nobody the launch code', args)).error?.message).toMatch(/Could not check.*@nobody/);
        w.api.getChannelMethod = async () => {
            throw new Error('down');
        };
        expect((await w.slash('/msg @bob the launch code', args)).error?.message).toMatch(/Could not check/);
    });

    test('splits the target from the text as the server does', () => {
        expect(directTarget('/msg', '@bob hi there')).toEqual({usernames: ['bob'], text: 'hi there'});
        expect(directTarget('/msg', '@bob')).toEqual({usernames: ['bob'], text: ''});
        expect(directTarget('/groupmsg', '@bob,@carol hi, you')).toEqual({usernames: ['bob', 'carol'], text: 'hi, you'});
        expect(directTarget('/groupmsg', '@bob, @carol')).toEqual({usernames: ['bob', 'carol'], text: ''});
        expect(directTarget('/groupmsg', 'bob hi')).toEqual({usernames: ['bob'], text: 'hi'});
    });
});
