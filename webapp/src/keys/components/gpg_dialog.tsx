// Asks before the backup is encrypted to the GPG key found on the key server and
// mailed: the user checks it really is their key.
import React from 'react';

import type {GPGKeyChoice} from '../ui';

import {Modal} from './modal';
import {colours, type Theme} from './theme';

interface Props {
    choice: GPGKeyChoice;
    theme: Theme;
    onAnswer: (send: boolean) => void;
}

/** "ABCD EF01 ..." groups of four, as GPG tools print fingerprints. */
export function groupFingerprint(fpr: string): string {
    return fpr.replace(/\s+/g, '').toUpperCase().replace(/(.{4})(?=.)/g, '$1 ');
}

export function GPGConfirmDialog({choice, theme, onAnswer}: Props) {
    const c = colours(theme);
    const decline = React.useCallback(() => onAnswer(false), [onAnswer]);
    return (
        <Modal
            title='Send an encrypted key backup by email?'
            testId='e2ee-gpg-dialog'
            theme={theme}
            onDismiss={decline}
            footer={(
                <>
                    <button
                        type='button'
                        className='btn btn-tertiary'
                        data-testid='e2ee-gpg-decline'
                        onClick={decline}
                    >
                        {'No, skip'}
                    </button>
                    <button
                        type='button'
                        className='btn btn-primary'
                        data-testid='e2ee-gpg-confirm'
                        onClick={() => onAnswer(true)}
                        style={{background: c.button, color: c.buttonText}}
                    >
                        {'Yes, this is my key'}
                    </button>
                </>
            )}
        >
            <p>
                {'The key server '}
                <code data-testid='e2ee-gpg-server'>{choice.keyServer}</code>
                {` has this GPG key for ${choice.email}. If it is yours, your new E2EE key backup will be encrypted to it and emailed to you.`}
            </p>
            <dl style={{margin: '12px 0'}}>
                <dt>{'Fingerprint'}</dt>
                <dd
                    data-testid='e2ee-gpg-fingerprint'
                    style={{fontFamily: 'monospace', margin: '0 0 8px'}}
                >
                    {groupFingerprint(choice.fingerprint)}
                </dd>
                <dt>{'User IDs'}</dt>
                <dd
                    data-testid='e2ee-gpg-userids'
                    style={{margin: 0}}
                >
                    <ul style={{margin: 0, paddingLeft: 20}}>
                        {choice.userIDs.map((uid) => (
                            <li key={uid}>{uid}</li>
                        ))}
                    </ul>
                </dd>
            </dl>
            <p>{'Compare the fingerprint with your own GPG key before you confirm.'}</p>
        </Modal>
    );
}
