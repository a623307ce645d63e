// Shows the clear-text backup once, right after the key was made, with ways to keep it (file,
// clipboard, all-keys backup). It lives only in this dialog's props: closing it drops the last
// copy the plugin holds, so closing asks for an acknowledgement or an explicit second click.
import React from 'react';

import {combineBackups} from '../../crypto/backup';
import type {BackupExtras} from '../ui';

import {Modal} from './modal';
import {colours, type Theme} from './theme';

interface Props {
    text: string;
    gpgSentTo: string | null;
    extras?: BackupExtras;
    theme: Theme;
    onClose: () => void;
}

export async function copyText(text: string, area: HTMLTextAreaElement | null): Promise<boolean> {
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

/** Saves `text` as a file through the browser's download (nothing goes to the server). */
export function downloadText(text: string, fileName: string): boolean {
    try {
        const url = URL.createObjectURL(new Blob([text + '\n'], {type: 'text/plain'}));
        const a = document.createElement('a');
        a.href = url;
        a.download = fileName;
        a.rel = 'noopener';
        document.body.appendChild(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(url), 1000);
        return true;
    } catch {
        return false;
    }
}

/** Reads a chosen file as text (for pasting a backup from a file). */
export function readFileText(file: File): Promise<string> {
    if (typeof file.text === 'function') {
        return file.text();
    }
    return new Promise((resolve, reject) => {
        const reader = new FileReader();
        reader.onload = () => resolve(String(reader.result ?? ''));
        reader.onerror = () => reject(new Error('the file could not be read'));
        reader.readAsText(file);
    });
}

function AllKeysBackup({text, fileName, theme}: {text: string; fileName: string; theme: Theme}) {
    const c = colours(theme);
    const [earlier, setEarlier] = React.useState('');
    const [result, setResult] = React.useState('');
    const [error, setError] = React.useState('');
    const area = React.useRef<HTMLTextAreaElement>(null);
    const make = async () => {
        setError('');
        try {
            // Several backups may be pasted one after the other.
            const armors = earlier.match(/-----BEGIN MM E2EE PRIVATE KEY( SET)?-----[\s\S]*?-----END MM E2EE PRIVATE KEY( SET)?-----/g) ?? [earlier];
            setResult(await combineBackups([text, ...armors]));
        } catch (err) {
            setError(`${err instanceof Error ? err.message : String(err)}. Paste the backup (or the all-keys backup) you saved for your earlier key.`);
        }
    };
    return (
        <div data-testid='e2ee-backup-all' style={{borderTop: '1px solid rgba(0,0,0,0.1)', marginTop: 12, paddingTop: 8}}>
            <p>
                <strong>{'Backup of all your keys. '}</strong>
                {'Your earlier keys stay in this browser to read older messages, but a browser cannot export them. '}
                {'Paste (or choose) the backups you saved for your earlier keys, one after the other, to make one backup holding all of them; '}
                {'/e2ee import reads it in another browser.'}
            </p>
            <textarea
                className='form-control'
                data-testid='e2ee-backup-all-earlier'
                aria-label='Backup of your earlier keys'
                rows={4}
                spellCheck={false}
                autoComplete='off'
                value={earlier}
                onChange={(e) => setEarlier(e.target.value)}
                style={{width: '100%', fontFamily: 'monospace', fontSize: 12}}
            />
            <input
                type='file'
                accept='.txt,text/plain'
                data-testid='e2ee-backup-all-file'
                aria-label='Choose the backup file of your earlier keys'
                onChange={async (e) => {
                    const f = e.target.files?.[0];
                    if (f) {
                        setEarlier(await readFileText(f));
                    }
                }}
            />
            <button type='button' className='btn btn-tertiary' data-testid='e2ee-backup-all-make' disabled={!earlier.trim()} onClick={make}>
                {'Make the all-keys backup'}
            </button>
            {error && <p role='alert' data-testid='e2ee-backup-all-error' style={{color: c.error}}>{error}</p>}
            {result && (
                <>
                    <textarea
                        ref={area}
                        readOnly={true}
                        value={result}
                        data-testid='e2ee-backup-all-text'
                        className='form-control'
                        rows={6}
                        spellCheck={false}
                        onFocus={(e) => e.currentTarget.select()}
                        style={{width: '100%', fontFamily: 'monospace', fontSize: 12}}
                    />
                    <button type='button' className='btn btn-tertiary' data-testid='e2ee-backup-all-download' onClick={() => downloadText(result, fileName.replace(/\.txt$/, '-all-keys.txt'))}>
                        {'Download all keys'}
                    </button>
                    <button type='button' className='btn btn-tertiary' data-testid='e2ee-backup-all-copy' onClick={() => copyText(result, area.current)}>
                        {'Copy all keys'}
                    </button>
                </>
            )}
        </div>
    );
}

export function BackupDialog({text, gpgSentTo, extras, theme, onClose}: Props) {
    const c = colours(theme);
    const area = React.useRef<HTMLTextAreaElement>(null);
    const [copied, setCopied] = React.useState<boolean | null>(null);
    const [acknowledged, setAcknowledged] = React.useState(false);
    const [warnUnsaved, setWarnUnsaved] = React.useState(false);
    const fileName = extras?.fileName || 'mm-e2ee-backup.txt';

    const onCopy = async () => {
        setCopied(await copyText(text, area.current));
    };
    const tryClose = () => {
        if (acknowledged) {
            onClose();
        } else {
            setWarnUnsaved(true);
        }
    };

    return (
        <Modal
            title='Your E2EE key backup'
            testId='e2ee-backup-dialog'
            theme={theme}
            onDismiss={tryClose}
            footer={(
                <>
                    <button type='button' className='btn btn-tertiary' data-testid='e2ee-backup-download' onClick={() => downloadText(text, fileName)}>
                        {'Download as a file'}
                    </button>
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
                        onClick={tryClose}
                        style={{background: c.button, color: c.buttonText}}
                    >
                        {'Done'}
                    </button>
                </>
            )}
        >
            <p
                data-testid='e2ee-backup-warning'
                style={{borderLeft: `4px solid ${c.warning}`, paddingLeft: 12}}
            >
                <strong>{'Store this backup somewhere safe now (a password manager, or the downloaded file on a USB stick). It is shown only this once.'}</strong>
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
                rows={8}
                spellCheck={false}
                autoComplete='off'
                onFocus={(e) => e.currentTarget.select()}
                style={{width: '100%', fontFamily: 'monospace', fontSize: 12, resize: 'vertical'}}
            />
            {copied === false && (
                <p style={{color: c.error}}>{'Copying failed: select the text and copy it by hand.'}</p>
            )}
            {(extras?.earlierKeys ?? 0) > 0 && <AllKeysBackup text={text} fileName={fileName} theme={theme}/>}
            <label style={{display: 'flex', gap: 8, alignItems: 'center', marginTop: 12}}>
                <input
                    type='checkbox'
                    data-testid='e2ee-backup-ack'
                    checked={acknowledged}
                    onChange={(e) => {
                        setAcknowledged(e.target.checked);
                        setWarnUnsaved(false);
                    }}
                />
                {'I have stored my backup'}
            </label>
            {warnUnsaved && (
                <div role='alert' data-testid='e2ee-backup-unsaved-warning' style={{borderLeft: `4px solid ${c.error}`, paddingLeft: 12, marginTop: 12}}>
                    <p>
                        <strong>{'You have not confirmed that you stored your backup.'}</strong>
                        {' Without it, if this browser\'s data is lost (cleared, another computer), every message encrypted to this key is lost too, '}
                        {'and this text cannot be shown again.'}
                    </p>
                    <button
                        type='button'
                        className='btn btn-danger'
                        data-testid='e2ee-backup-close-anyway'
                        onClick={onClose}
                        style={{background: c.error, color: '#fff'}}
                    >
                        {'Close without a backup'}
                    </button>
                </div>
            )}
        </Modal>
    );
}
