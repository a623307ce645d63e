// Channel header button: shows whether the current channel is encrypted and toggles it.
import React, {useSyncExternalStore} from 'react';
import type {Store} from 'redux';

import type {EncryptionMethod, MethodRequest} from '../client';

import type {Notices} from './notices';
import {currentChannelId, selectChannelMethod, type ChannelMethods} from './state';

function useCurrentMethod(store: Store): EncryptionMethod | undefined {
    return useSyncExternalStore(store.subscribe, () => {
        const state = store.getState();
        return selectChannelMethod(state, currentChannelId(state));
    });
}

/** The header's words for a method, naming the mode when on. */
export function headerLabel(method: EncryptionMethod | undefined): string {
    switch (method) {
    case 'p2p':
        return 'Encryption on (P2P mode)';
    case 'channel':
        return 'Encryption on (channel-key mode)';
    default:
        return 'Encryption off';
    }
}

export function makeHeaderIcon(store: Store): React.FC {
    function EncryptionHeaderIcon(): React.ReactElement {
        const method = useCurrentMethod(store);
        const on = method === 'p2p' || method === 'channel';
        const label = headerLabel(method);
        return (
            <span data-testid='e2ee-header-icon' data-e2ee-state={on ? 'on' : 'off'} aria-label={label} title={label} className='icon'>
                <svg width='16' height='16' viewBox='0 0 16 16' aria-hidden='true'>
                    {on ?
                        <path fill='currentColor' d='M4 7V5a4 4 0 1 1 8 0v2h1a1 1 0 0 1 1 1v7a1 1 0 0 1-1 1H3a1 1 0 0 1-1-1V8a1 1 0 0 1 1-1h1zm2 0h4V5a2 2 0 1 0-4 0v2z'/> :
                        <path fill='currentColor' d='M10 7V5a2 2 0 1 0-4 0H4a4 4 0 1 1 8 0v2h1a1 1 0 0 1 1 1v7a1 1 0 0 1-1 1H3a1 1 0 0 1-1-1V8a1 1 0 0 1 1-1h7zm-6 2v5h8V9H4z'/>}
                </svg>
            </span>
        );
    }
    return EncryptionHeaderIcon;
}

export function makeHeaderTooltip(store: Store): React.FC {
    function EncryptionHeaderTooltip(): React.ReactElement {
        const method = useCurrentMethod(store);
        return <span data-testid='e2ee-header-tooltip' data-e2ee-mode={method ?? ''}>{headerLabel(method)}</span>;
    }
    return EncryptionHeaderTooltip;
}

export interface ToggleDeps {
    methods: ChannelMethods;
    setMethod(channelId: string, method: MethodRequest): Promise<EncryptionMethod>;
    notices: Notices;
}

/** Flips the channel's method on the server and records the server's answer. Turning on asks
 * for `auto`: the server picks P2P or channel-key mode by ChannelKeyThreshold, as /e2ee start. */
export async function toggleEncryption(deps: ToggleDeps, channelId: string): Promise<EncryptionMethod | undefined> {
    let target: MethodRequest = 'auto';
    try {
        const current = deps.methods.get(channelId) ?? await deps.methods.refresh(channelId);
        target = current === 'p2p' || current === 'channel' ? 'none' : 'auto';
        const method = await deps.setMethod(channelId, target);
        deps.methods.set(channelId, method);
        return method;
    } catch (err) {
        deps.notices.show(channelId, '', `Could not turn encryption ${target === 'none' ? 'off' : 'on'}: ${err instanceof Error ? err.message : 'unknown error'}.`);
        return undefined;
    }
}
