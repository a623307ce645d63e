// The "Encryption adoption" section of the plugin's System Console page: a custom setting
// (settings_schema type "custom") that only shows figures from GET /admin/stats; it has no
// value of its own, so it never calls onChange or setSaveNeeded.
import React, {useCallback, useEffect, useState} from 'react';

import {pluginAPI, type AdminStats} from '../client';

/** The props the System Console passes to a plugin's custom setting component. */
export interface CustomSettingProps {
    id: string;
    label?: React.ReactNode;
    helpText?: React.ReactNode;
    value?: unknown;
    disabled?: boolean;
    setByEnv?: boolean;
    onChange?: (id: string, value: unknown) => void;
    setSaveNeeded?: () => void;
}

const modeNames: Record<string, string> = {p2p: 'per-recipient (p2p)'};
const policyNames: Record<string, string> = {off: 'off', when_all_have_keys: 'when every member has a key', always: 'always'};

function percent(share: number): string {
    return `${Math.round(share * 1000) / 10}%`;
}

export function AdoptionSetting(props: CustomSettingProps): React.ReactElement {
    const [stats, setStats] = useState<AdminStats | null>(null);
    const [error, setError] = useState('');
    const [busy, setBusy] = useState(false);

    const load = useCallback(async (recount: boolean) => {
        setBusy(true);
        try {
            setStats(await pluginAPI.getAdminStats(recount));
            setError('');
        } catch (err) {
            setError(err instanceof Error ? err.message : 'unknown error');
        } finally {
            setBusy(false);
        }
    }, []);
    useEffect(() => {
        load(false);
    }, [load]);

    const row = (testId: string, name: string, value: React.ReactNode) => (
        <tr>
            <th scope='row' style={{textAlign: 'left', paddingRight: 16, fontWeight: 600}}>{name}</th>
            <td data-testid={testId}>{value}</td>
        </tr>
    );
    return (
        <div data-testid='e2ee-admin-stats' id={props.id}>
            {error && <div data-testid='e2ee-admin-error' className='error-message'>{`Cannot load the figures: ${error}`}</div>}
            {stats?.config_error && (
                <div data-testid='e2ee-admin-config-error' className='alert alert-danger'>
                    {`The saved settings are invalid (${stats.config_error}); the previous configuration stays active.`}
                </div>
            )}
            {stats && (
                <table>
                    <tbody>
                        {row('e2ee-admin-users', 'Active users with a key',
                            `${stats.active_users_with_key} of ${stats.active_users} (${percent(stats.key_share)})${stats.approximate ? ', approximate' : ''}`)}
                        {Object.keys(stats.encrypted_channels).sort().map((mode) => (
                            <React.Fragment key={mode}>
                                {row(`e2ee-admin-channels-${mode}`, `Encrypted channels, ${modeNames[mode] || mode}`, String(stats.encrypted_channels[mode]))}
                            </React.Fragment>
                        ))}
                        {row('e2ee-admin-direct', 'Direct and group messages encrypted', String(stats.encrypted_direct))}
                        {row('e2ee-admin-keys-30d', 'Keys registered in the last 30 days', String(stats.keys_last_30_days))}
                        {row('e2ee-admin-drafts', 'Synced drafts', stats.synced_drafts ?
                            'on: drafts typed in encrypted channels are stored on the server in plaintext. Turn off Site Configuration > Posts > Enable server syncing of message drafts.' :
                            'off')}
                        {row('e2ee-admin-policy', 'Policy in force',
                            `direct and group messages: ${policyNames[stats.policy.auto_encrypt_direct] || stats.policy.auto_encrypt_direct}; ` +
                            `new private channels: ${policyNames[stats.policy.auto_encrypt_private_channels] || stats.policy.auto_encrypt_private_channels}; ` +
                            `encryption required: ${stats.policy.require_encryption ? 'yes' : 'no'}`)}
                    </tbody>
                </table>
            )}
            <button type='button' className='btn btn-tertiary' data-testid='e2ee-admin-recount' disabled={busy} onClick={() => load(true)}>
                {busy ? 'Counting…' : 'Recount'}
            </button>
            {props.helpText && <div className='help-text'>{props.helpText}</div>}
        </div>
    );
}
