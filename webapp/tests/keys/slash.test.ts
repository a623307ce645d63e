import {makeSlashCommandHook, parseKeyCommand, type KeyCommand} from '../../src/keys/slash';

const args = {channel_id: 'c1', team_id: 't1', root_id: ''};

describe('slash-command hook', () => {
    test.each([
        '/e2ee help',
        '/e2ee start',
        '/e2ee stop',
        '/e2ee status',
        '/e2ee show_backup',
        '/e2ee',
        '/e2eeinit',
        '/away',
        '/echo /e2ee init',
    ])('passes %j to the server unchanged', (message) => {
        const run = jest.fn();
        const result = makeSlashCommandHook(run)(message, args);
        expect(result).toEqual({message, args});
        expect('args' in result && result.args).toBe(args);
        expect(run).not.toHaveBeenCalled();
    });

    test.each<[string, KeyCommand]>([
        ['/e2ee init', {kind: 'init', force: false}],
        ['/e2ee init --force', {kind: 'init', force: true}],
        ['  /E2EE   Init   --force ', {kind: 'init', force: true}],
        ['/e2ee import', {kind: 'import'}],
    ])('runs %j in the browser and swallows it', (message, cmd) => {
        const run = jest.fn();
        expect(makeSlashCommandHook(run)(message, args)).toEqual({});
        expect(run).toHaveBeenCalledWith(cmd);
    });

    test.each([
        ['/e2ee init now', /Usage: \/e2ee init \[--force\]/],
        ['/e2ee import -----BEGIN MM E2EE PRIVATE KEY-----', /paste your backup into the dialog/],
        ['/e2ee importeyJzaWduIjp7Imt0eSI6IkVDIn19', /paste your backup into the dialog/],
        ['/e2ee\u200bimport -----BEGIN MM E2EE PRIVATE KEY-----\nAAAA', /paste your backup into the dialog/],
        ['/E2EE\u00a0IMPORT\n-----BEGIN MM E2EE PRIVATE KEY-----\nAAAA\n-----END MM E2EE PRIVATE KEY-----', /paste your backup into the dialog/],
        ['/echo -----BEGIN MM E2EE PRIVATE KEY-----', /paste your backup into the dialog/],
    ])('rejects malformed %j with an error and runs nothing', (message, error) => {
        const run = jest.fn();
        const result = makeSlashCommandHook(run)(message, args);
        expect(result).toEqual({error: {message: expect.stringMatching(error)}});
        expect(run).not.toHaveBeenCalled();
    });

    test('parseKeyCommand ignores other commands', () => {
        expect(parseKeyCommand('/e2ee status')).toBeNull();
        expect(parseKeyCommand('hello')).toBeNull();
    });
});
