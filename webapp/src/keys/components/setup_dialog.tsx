// The one setup dialog for a user without a key in this browser: create a new key, or restore
// one from a backup (paste or file). Each choice says what happens.
import React from 'react';

import type {ImportCheck, SetupChoice} from '../ui';

import {ImportDialog} from './import_dialog';
import {Modal} from './modal';
import {colours, type Theme} from './theme';

interface Props {
    hasServerKey: boolean;
    check: (text: string) => Promise<ImportCheck>;
    touched: {value: boolean};
    theme: Theme;
    onFinish: (choice: SetupChoice) => void;
}

export function SetupDialog({hasServerKey, check, touched, theme, onFinish}: Props) {
    const c = colours(theme);
    const [step, setStep] = React.useState<'choose' | 'restore'>('choose');
    const close = React.useCallback(() => onFinish('closed'), [onFinish]);
    if (step === 'restore') {
        return (
            <ImportDialog
                check={check}
                theme={theme}
                title='Restore your E2EE key'
                onClose={() => setStep('choose')}
                onImported={() => onFinish('restored')}
            />
        );
    }
    const primary = {background: c.button, color: c.buttonText};
    return (
        <Modal
            title='Set up end-to-end encryption in this browser'
            testId='e2ee-setup-dialog'
            theme={theme}
            onDismiss={close}
            footer={(
                <button type='button' className='btn btn-tertiary' data-testid='e2ee-setup-later' onClick={close}>
                    {'Not now'}
                </button>
            )}
        >
            <p>
                {'Encrypted messages are encrypted in each member\'s browser for the keys of the channel\'s members. '}
                {'This browser has no key of yours yet, so you cannot read or write encrypted messages here.'}
            </p>
            {hasServerKey && (
                <p data-testid='e2ee-setup-has-key' style={{borderLeft: `4px solid ${c.warning}`, paddingLeft: 12}}>
                    {'You already have a key (registered on the server, from another browser or device). '}
                    <strong>{'Restore it from its backup'}</strong>
                    {' to read your messages here. A new key would replace it: messages sent to the old key would stay readable only where that key is.'}
                </p>
            )}
            <div style={{display: 'grid', gap: 12, marginTop: 12}}>
                <div>
                    <button
                        type='button'
                        className='btn btn-primary'
                        data-testid='e2ee-setup-restore'
                        style={hasServerKey ? primary : undefined}
                        onClick={() => {
                            touched.value = true;
                            setStep('restore');
                        }}
                    >
                        {'Restore from a backup'}
                    </button>
                    <div style={{fontSize: 12, opacity: 0.8}}>{'Paste your backup or choose its file (backups of the original E2EE plugin work too). It stays in this browser.'}</div>
                </div>
                <div>
                    <button
                        type='button'
                        className='btn btn-primary'
                        data-testid='e2ee-setup-create'
                        style={hasServerKey ? undefined : primary}
                        onClick={() => {
                            touched.value = true;
                            onFinish('create');
                        }}
                    >
                        {hasServerKey ? 'Create a new key (replaces your current one)' : 'Create a new key'}
                    </button>
                    <div style={{fontSize: 12, opacity: 0.8}}>{'Your key is made in this browser and never leaves it; only its public half goes to the server. You then save a backup of it.'}</div>
                </div>
            </div>
        </Modal>
    );
}
