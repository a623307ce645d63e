// The System Console section shows the figures GET /admin/stats answers, recounts on request,
// and reports an invalid saved configuration and load errors.
import {act, fireEvent, render, screen} from '@testing-library/react';
import React from 'react';

import {AdoptionSetting} from '../../src/admin/adoption_setting';
import {setSiteURL, type AdminStats} from '../../src/client';

const stats: AdminStats = {
    active_users: 250, active_users_with_key: 100, key_share: 0.4, approximate: false,
    encrypted_channels: {p2p: 37}, encrypted_direct: 21, keys_last_30_days: 12, synced_drafts: true,
    policy: {auto_encrypt_direct: 'when_all_have_keys', auto_encrypt_private_channels: 'off', require_encryption: true},
    config_error: '', counted_since: 1,
};

function fakeFetch(answers: Array<{status: number; body: unknown}>): string[] {
    const calls: string[] = [];
    (globalThis as {fetch: unknown}).fetch = jest.fn(async (url: string, init: RequestInit) => {
        calls.push(`${init.method} ${url}`);
        const a = answers.shift()!;
        return {ok: a.status < 400, status: a.status, text: async () => JSON.stringify(a.body)};
    });
    return calls;
}

beforeEach(() => setSiteURL('http://mm.test'));

test('renders the endpoint figures, and the recount button asks for a recount', async () => {
    const calls = fakeFetch([{status: 200, body: stats}, {status: 200, body: {...stats, encrypted_channels: {p2p: 40}, synced_drafts: false}}]);
    await act(async () => {
        render(<AdoptionSetting id='PluginSettings.Plugins.org+mme2ee+e2ee.adoptionstats' helpText='Counted by the server.'/>);
    });
    expect(screen.getByTestId('e2ee-admin-users').textContent).toBe('100 of 250 (40%)');
    expect(screen.getByTestId('e2ee-admin-channels-p2p').textContent).toBe('37');
    expect(screen.getByTestId('e2ee-admin-direct').textContent).toBe('21');
    expect(screen.getByTestId('e2ee-admin-keys-30d').textContent).toBe('12');
    expect(screen.getByTestId('e2ee-admin-drafts').textContent).toContain('Turn off');
    expect(screen.getByTestId('e2ee-admin-policy').textContent).toContain('when every member has a key');
    expect(screen.getByTestId('e2ee-admin-policy').textContent).toContain('encryption required: yes');
    expect(screen.getByText('Counted by the server.')).toBeTruthy();
    expect(screen.queryByTestId('e2ee-admin-config-error')).toBeNull();

    await act(async () => {
        fireEvent.click(screen.getByTestId('e2ee-admin-recount'));
    });
    expect(calls).toEqual([
        'GET http://mm.test/plugins/org.mme2ee.e2ee/api/v1/admin/stats',
        'POST http://mm.test/plugins/org.mme2ee.e2ee/api/v1/admin/stats/recount',
    ]);
    expect(screen.getByTestId('e2ee-admin-channels-p2p').textContent).toBe('40');
    expect(screen.getByTestId('e2ee-admin-drafts').textContent).toBe('off');
});

test('an invalid saved configuration and a refused request are shown', async () => {
    fakeFetch([{status: 200, body: {...stats, config_error: 'AutoEncryptDirect "sometimes" is not one of off, when_all_have_keys, always'}}]);
    await act(async () => {
        render(<AdoptionSetting id='x'/>);
    });
    expect(screen.getByTestId('e2ee-admin-config-error').textContent).toContain('previous configuration stays active');
    fakeFetch([{status: 403, body: {error: 'only a system admin can see the encryption statistics'}}]);
    await act(async () => {
        fireEvent.click(screen.getByTestId('e2ee-admin-recount'));
    });
    expect(screen.getByTestId('e2ee-admin-error').textContent).toContain('only a system admin');
});
