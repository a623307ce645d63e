// Shows the clear-text backup once, right after the key was made. It lives only in
// this dialog's props: closing it drops the last copy the plugin holds.
import React from 'react';

import {Modal} from './modal';
import {colours, type Theme} from './theme';

interface Props {
    text: string;
    gpgSentTo: string | null;
    theme: Theme;
    onClose: () => void;
}

async function copyText(text: string, area: HTMLTextAreaElement | null): Promise<boolean> {
    try {
        if (navigator.clipboard?.writeText) {
            await navigator.clipboard.writeText(text);
            return true;
        }
    } catch {
        // fall back to the selection below (e.g. clipboard permission refused)
    }
    if (area && typeof document.execCommand === 'function') {
        area.select();
        return document.execCommand('copy');
    }
    return false;
}

export function BackupDialog({text, gpgSentTo, theme, onClose}: Props) {
    const c = colours(theme);
    const area = React.useRef<HTMLTextAreaElement>(null);
    const [copied, setCopied] = React.useState<boolean | null>(null);

    const onCopy = async () => {
        setCopied(await copyText(text, area.current));
    };

    return (
        <Modal
            title='Your E2EE key backup'
            testId='e2ee-backup-dialog'
            theme={theme}
            footer={(
                <>
                    <button
                        type='button'
                        className='btn btn-tertiary'
                        data-testid='e2ee-backup-copy'
                        onClick={onCopy}
                    >
                        {copied ? 'Copied' : 'Copy to clipboard'}
                    </button>
                    <button
                        type='button'
                        className='btn btn-primary'
                        data-testid='e2ee-backup-close'
                        onClick={onClose}
                        style={{background: c.button, color: c.buttonText}}
                    >
                        {'I have stored it safely'}
                    </button>
                </>
            )}
        >
            <p
                data-testid='e2ee-backup-warning'
                style={{borderLeft: `4px solid ${c.warning}`, paddingLeft: 12}}
            >
                <strong>{'Store this text somewhere safe now (a password manager, for instance). It is shown only this once.'}</strong>
                {' It is your private key: it is the only way to read your encrypted messages on another device or browser, '}
                {'and anyone who gets it can read them. Do not post it in any channel.'}
            </p>
            {gpgSentTo && (
                <p data-testid='e2ee-backup-gpg-note'>
                    {`A copy encrypted to your GPG key ${gpgSentTo} is also being emailed to you.`}
                </p>
            )}
            <textarea
                ref={area}
                readOnly={true}
                value={text}
                data-testid='e2ee-backup-text'
                className='form-control'
                rows={10}
                spellCheck={false}
                autoComplete='off'
                onFocus={(e) => e.currentTarget.select()}
                style={{width: '100%', fontFamily: 'monospace', fontSize: 12, resize: 'vertical'}}
            />
            {copied === false && (
                <p style={{color: c.error}}>{'Copying failed: select the text and copy it by hand.'}</p>
            )}
        </Modal>
    );
}
