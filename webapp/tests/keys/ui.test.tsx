// The key features as the host runs them: registered through the registry, driven by
// the slash-command hook, and seen through the root component's dialogs and notices.
import React from 'react';
import {act, fireEvent, render, screen, waitFor} from '@testing-library/react';

import {importBackup, publicKeyOf} from '../../src/crypto';
import {registerKeyFeatures} from '../../src/keys';
import {makeKeysRoot} from '../../src/keys/components/root';
import {loadKeys, saveKeys} from '../../src/keys/storage';
import {KeysUI} from '../../src/keys/ui';
import type {PluginRegistry, SlashCommandArgs} from '../../src/types/registry';

import {ME, fakeServer, fakeStore, freshBrowser, vectorUser, type FakeServer} from './helpers';

const args: SlashCommandArgs = {channel_id: 'c1', team_id: 't1', root_id: ''};

interface Host {
    registry: PluginRegistry;
    Root: React.ComponentType<Record<string, unknown>>;
    slash: (message: string, a: SlashCommandArgs) => unknown;
    unregistered: string[];
}

function fakeRegistry(): Host {
    const host = {unregistered: [] as string[]} as Host;
    host.registry = {
        registerRootComponent: (c: React.ComponentType<Record<string, unknown>>) => {
            host.Root = c;
            return 'root-id';
        },
        registerSlashCommandWillBePostedHook: (h: Host['slash']) => {
            host.slash = h;
            return 'hook-id';
        },
        unregisterComponent: (id: string) => host.unregistered.push(id),
    } as unknown as PluginRegistry;
    return host;
}

/** Runs a command through the hook the way the host does (inside act for React). */
function slash(message: string): unknown {
    let result: unknown;
    act(() => {
        result = host.slash(message, args);
    });
    return result;
}

let server: FakeServer;
let host: Host;
let dispose: () => void;

async function start() {
    host = fakeRegistry();
    const keys = registerKeyFeatures(host.registry, fakeStore());
    dispose = keys.dispose;
    render(<host.Root theme={{centerChannelBg: '#fff'}}/>);
    return keys.myKeys;
}

beforeEach(async () => {
    await freshBrowser();
    jest.restoreAllMocks();
    server = fakeServer();
});

afterEach(() => {
    act(() => dispose?.());
});

test('/e2ee init shows the backup once, with a warning and a copy button', async () => {
    const myKeys = await start();
    const writeText = jest.fn(() => Promise.resolve());
    Object.defineProperty(navigator, 'clipboard', {value: {writeText}, configurable: true});

    expect(slash('/e2ee init')).toEqual({});
    // The one setup dialog: create or restore.
    fireEvent.click(await screen.findByTestId('e2ee-setup-create'));
    const area = await screen.findByTestId('e2ee-backup-text') as HTMLTextAreaElement;
    const backup = area.value;
    expect(backup).toMatch(/^-----BEGIN MM E2EE PRIVATE KEY-----\n[\s\S]+\n-----END MM E2EE PRIVATE KEY-----$/);
    expect(screen.getByTestId('e2ee-backup-warning').textContent).toMatch(/shown only this once/);

    const pub = (await myKeys.getPublic())!;
    expect((await publicKeyOf(await importBackup(backup))).idB64).toBe(pub.idB64);
    expect(server.keys[ME]).toEqual(pub.json);

    fireEvent.click(screen.getByTestId('e2ee-backup-copy'));
    await waitFor(() => expect(screen.getByTestId('e2ee-backup-copy').textContent).toBe('Copied'));
    expect(writeText).toHaveBeenCalledWith(backup);

    fireEvent.keyDown(document, {key: 'Escape'}); // must not dismiss the only copy by accident
    expect(screen.getByTestId('e2ee-backup-text')).toBeTruthy();
    // Not closed before the backup is acknowledged: a clear warning, and an explicit way out.
    fireEvent.click(screen.getByTestId('e2ee-backup-close'));
    expect(screen.getByTestId('e2ee-backup-unsaved-warning').textContent).toMatch(/not confirmed.*lost/);
    expect(screen.getByTestId('e2ee-backup-text')).toBeTruthy();
    fireEvent.click(screen.getByTestId('e2ee-backup-ack'));
    fireEvent.click(screen.getByTestId('e2ee-backup-close'));
    await waitFor(() => expect(screen.queryByTestId('e2ee-backup-dialog')).toBeNull());
    expect(document.body.innerHTML).not.toContain(backup.split('\n')[1]);
    expect(JSON.stringify({...localStorage})).not.toContain(backup.split('\n')[1]);
    expect((await screen.findAllByTestId('e2ee-notice')).map((n) => n.getAttribute('data-level'))).toContain('success');
});

test('/e2ee init with a key on the server only: the setup dialog says to restore; restore takes a backup', async () => {
    server.keys[ME] = vectorUser('bob').pubkey;
    const myKeys = await start();
    expect(slash('/e2ee init')).toEqual({});
    expect((await screen.findByTestId('e2ee-setup-has-key')).textContent).toMatch(/Restore it from its backup/);
    fireEvent.click(screen.getByTestId('e2ee-setup-restore'));
    fireEvent.change(await screen.findByTestId('e2ee-import-textarea'), {target: {value: vectorUser('bob').backup}});
    fireEvent.click(screen.getByTestId('e2ee-import-submit'));
    await waitFor(() => expect(screen.queryByTestId('e2ee-import-dialog')).toBeNull());
    expect((await myKeys.getPublic())!.idB64).toBe(vectorUser('bob').pubkey_id);
    expect(server.pushes).toEqual([]); // the server already had this key
    expect(screen.queryByTestId('e2ee-setup-dialog')).toBeNull();
});

test('/e2ee init with a key here refuses with a notice', async () => {
    server.keys[ME] = vectorUser('bob').pubkey;
    const myKeys = await start();
    slash('/e2ee import');
    fireEvent.change(await screen.findByTestId('e2ee-import-textarea'), {target: {value: vectorUser('bob').backup}});
    fireEvent.click(screen.getByTestId('e2ee-import-submit'));
    await waitFor(() => expect(screen.queryByTestId('e2ee-import-dialog')).toBeNull());
    expect(await myKeys.get()).not.toBeNull();
    expect(slash('/e2ee init')).toEqual({});
    await waitFor(() => expect(screen.getAllByTestId('e2ee-notice').some((n) => /already have an encryption key/.test(n.textContent ?? ''))).toBe(true));
    expect(screen.queryByTestId('e2ee-setup-dialog')).toBeNull();
    expect(server.pushes).toEqual([]);
});

test('other subcommands go to the server unchanged', async () => {
    await start();
    expect(slash('/e2ee status')).toEqual({message: '/e2ee status', args});
});

async function paste(text: string) {
    fireEvent.change(await screen.findByTestId('e2ee-import-textarea'), {target: {value: text}});
    fireEvent.click(screen.getByTestId('e2ee-import-submit'));
}

test('/e2ee import: a bad paste shows an error and changes nothing; a good one imports', async () => {
    const myKeys = await start();
    const changed = jest.fn();
    myKeys.onChange(changed);
    expect(slash('/e2ee import')).toEqual({});

    await paste('not a backup');
    expect((await screen.findByTestId('e2ee-import-error')).textContent).toMatch(/not a valid E2EE key backup/);
    expect(await loadKeys(ME)).toBeNull();
    expect(server.pushes).toEqual([]);

    const alice = vectorUser('alice');
    await paste(`Here is my key:\n${alice.backup}\n`);
    await waitFor(() => expect(screen.queryByTestId('e2ee-import-dialog')).toBeNull());
    expect(server.pushes).toEqual([{pubkey: alice.pubkey}]);
    expect((await publicKeyOf((await loadKeys(ME))!)).idB64).toBe(alice.pubkey_id);
    expect((await myKeys.getPublic())!.idB64).toBe(alice.pubkey_id);
    expect(changed).toHaveBeenCalled();
});

test('/e2ee import warns before replacing a different key on the server', async () => {
    server.keys[ME] = vectorUser('bob').pubkey;
    await start();
    slash('/e2ee import');
    await paste(vectorUser('alice').backup);

    const warning = await screen.findByTestId('e2ee-key-replace-warning');
    expect(warning.textContent).toMatch(/no longer be able to verify/);
    expect(server.pushes).toEqual([]);
    expect(await loadKeys(ME)).toBeNull();

    fireEvent.click(screen.getByTestId('e2ee-key-replace-confirm'));
    await waitFor(() => expect(screen.queryByTestId('e2ee-import-dialog')).toBeNull());
    expect(server.keys[ME]).toEqual(vectorUser('alice').pubkey);
    expect(await loadKeys(ME)).not.toBeNull();
});

test('/e2ee import can be cancelled, changing nothing', async () => {
    await start();
    slash('/e2ee import');
    fireEvent.change(await screen.findByTestId('e2ee-import-textarea'), {target: {value: vectorUser('alice').backup}});
    fireEvent.click(screen.getByTestId('e2ee-import-cancel'));
    await waitFor(() => expect(screen.queryByTestId('e2ee-import-dialog')).toBeNull());
    expect(await loadKeys(ME)).toBeNull();
    expect(server.pushes).toEqual([]);
});

test('at start-up, a browser key that differs from the server\'s is reported', async () => {
    await saveKeys(ME, await importBackup(vectorUser('alice').backup));
    server.keys[ME] = vectorUser('bob').pubkey;
    await start();
    const notice = await screen.findByTestId('e2ee-notice');
    expect(notice.getAttribute('data-level')).toBe('warning');
    expect(notice.textContent).toMatch(/not the one registered/);
});

test('dispose unregisters the root component and the hook', async () => {
    await start();
    act(() => dispose());
    expect(host.unregistered.sort()).toEqual(['hook-id', 'root-id']);
});

describe('GPG confirmation dialog', () => {
    const choice = {keyServer: 'https://keys.example.test', email: 'alice@example.com', fingerprint: 'abcd1234abcd1234abcd1234abcd1234abcd1234', userIDs: ['Alice <alice@example.com>']};

    test('shows the key server, fingerprint and user IDs; confirm answers yes', async () => {
        const ui = new KeysUI();
        const Root = makeKeysRoot(ui);
        render(<Root/>);
        let answer: Promise<boolean> = Promise.resolve(false);
        act(() => {
            answer = ui.confirmGPG(choice);
        });
        expect(screen.getByTestId('e2ee-gpg-server').textContent).toBe(choice.keyServer);
        expect(screen.getByTestId('e2ee-gpg-fingerprint').textContent).toBe('ABCD 1234 ABCD 1234 ABCD 1234 ABCD 1234 ABCD 1234');
        expect(screen.getByTestId('e2ee-gpg-userids').textContent).toBe('Alice <alice@example.com>');
        fireEvent.click(screen.getByTestId('e2ee-gpg-confirm'));
        await expect(answer).resolves.toBe(true);
        expect(screen.queryByTestId('e2ee-gpg-dialog')).toBeNull();
    });

    test('Escape declines', async () => {
        const ui = new KeysUI();
        const Root = makeKeysRoot(ui);
        render(<Root/>);
        let answer: Promise<boolean> = Promise.resolve(true);
        act(() => {
            answer = ui.confirmGPG(choice);
        });
        fireEvent.keyDown(document, {key: 'Escape'});
        await expect(answer).resolves.toBe(false);
    });

    test('with Root mounted twice, the dialog is rendered once', () => {
        const ui = new KeysUI();
        const Root = makeKeysRoot(ui);
        render(<><Root/><Root/></>);
        act(() => {
            void ui.confirmGPG(choice);
        });
        expect(screen.getAllByTestId('e2ee-gpg-dialog')).toHaveLength(1);
        act(() => ui.reset());
    });
});
