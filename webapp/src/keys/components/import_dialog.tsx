// Paste a key backup, check it, and (after a warning if it replaces the current key)
// store and register it.
import React from 'react';

import type {ImportCheck} from '../ui';

import {readFileText} from './backup_dialog';

import {Modal} from './modal';
import {colours, type Theme} from './theme';

interface Props {
    theme: Theme;
    check: (text: string) => Promise<ImportCheck>;
    onClose: () => void;
    /** After a successful import; onClose when absent. */
    onImported?: () => void;
    title?: string;
}

type Ready = Extract<ImportCheck, {ok: true}>;

export function ImportDialog({theme, check, onClose, onImported, title}: Props) {
    const c = colours(theme);
    const [text, setText] = React.useState('');
    const [busy, setBusy] = React.useState(false);
    const [error, setError] = React.useState('');
    const [pending, setPending] = React.useState<Ready | null>(null);
    const mounted = React.useRef(true);
    React.useEffect(() => () => {
        mounted.current = false;
    }, []);

    const commit = async (ready: Ready) => {
        setBusy(true);
        const err = await ready.commit();
        if (!mounted.current) {
            return;
        }
        setBusy(false);
        if (err) {
            setError(err);
            setPending(null);
        } else {
            (onImported ?? onClose)();
        }
    };

    const submit = async () => {
        setBusy(true);
        setError('');
        let result: ImportCheck;
        try {
            result = await check(text);
        } catch (err) {
            result = {ok: false, error: err instanceof Error ? err.message : String(err)};
        }
        if (!mounted.current) {
            return;
        }
        setBusy(false);
        if (!result.ok) {
            setError(result.error);
        } else if (result.replaces) {
            setPending(result);
        } else {
            await commit(result);
        }
    };

    const primary = {background: c.button, color: c.buttonText};
    return (
        <Modal
            title={title ?? 'Import your E2EE key'}
            testId='e2ee-import-dialog'
            theme={theme}
            onDismiss={busy ? undefined : onClose}
            footer={(
                <>
                    <button
                        type='button'
                        className='btn btn-tertiary'
                        data-testid='e2ee-import-cancel'
                        disabled={busy}
                        onClick={onClose}
                    >
                        {'Cancel'}
                    </button>
                    {pending ? (
                        <button
                            type='button'
                            className='btn btn-danger'
                            data-testid='e2ee-key-replace-confirm'
                            disabled={busy}
                            onClick={() => commit(pending)}
                            style={{background: c.error, color: '#fff'}}
                        >
                            {'Replace my key'}
                        </button>
                    ) : (
                        <button
                            type='button'
                            className='btn btn-primary'
                            data-testid='e2ee-import-submit'
                            disabled={busy || !text.trim()}
                            onClick={submit}
                            style={primary}
                        >
                            {busy ? 'Checking…' : 'Import'}
                        </button>
                    )}
                </>
            )}
        >
            <p>
                {'Paste the key backup you saved when you created your key, from '}
                <code>{'-----BEGIN MM E2EE PRIVATE KEY-----'}</code>
                {' to '}
                <code>{'-----END MM E2EE PRIVATE KEY-----'}</code>
                {' (an all-keys backup, "KEY SET", works too), or choose its file. It stays in this browser; only your public key is sent to the server.'}
            </p>
            <input
                type='file'
                accept='.txt,text/plain'
                data-testid='e2ee-import-file'
                aria-label='Choose your backup file'
                disabled={busy || pending !== null}
                onChange={async (e) => {
                    const f = e.target.files?.[0];
                    if (f) {
                        setText(await readFileText(f));
                        setError('');
                    }
                }}
                style={{marginBottom: 8}}
            />
            <textarea
                className='form-control'
                data-testid='e2ee-import-textarea'
                aria-label='Key backup'
                rows={10}
                spellCheck={false}
                autoComplete='off'
                value={text}
                disabled={busy || pending !== null}
                onChange={(e) => {
                    setText(e.target.value);
                    setError('');
                }}
                style={{width: '100%', fontFamily: 'monospace', fontSize: 12, resize: 'vertical'}}
            />
            {error && (
                <p
                    role='alert'
                    data-testid='e2ee-import-error'
                    style={{color: c.error, marginTop: 8}}
                >
                    {error}
                </p>
            )}
            {pending?.replaces && (
                <div
                    role='alert'
                    data-testid='e2ee-key-replace-warning'
                    style={{borderLeft: `4px solid ${c.error}`, paddingLeft: 12, marginTop: 12}}
                >
                    <p>
                        <strong>{'This backup is not your current key.'}</strong>
                        {' If you replace it, new messages will be encrypted to and signed with this key, '}
                        {'other users will no longer be able to verify messages you signed with your current key, '}
                        {'and devices that hold only your current key will not read new messages.'}
                    </p>
                    <p style={{fontFamily: 'monospace', fontSize: 12}}>
                        {`Current key: ${pending.replaces.currentFingerprint}`}
                        <br/>
                        {`This backup: ${pending.replaces.newFingerprint}`}
                    </p>
                </div>
            )}
        </Modal>
    );
}
