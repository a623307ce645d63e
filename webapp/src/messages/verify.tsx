// Verified contacts in the web app: the dialog with the safety number and its QR code, the list
// of a channel's members by trust state (/e2ee verify), and "Replace my key".
import React from 'react';

import {formatSafetyNumber, safetyNumberOf} from '../crypto/safety';
import type {PublicKey} from '../crypto/types';
import type {KeyDirectory, TrustStore, VerifiedStore, VerifyState} from '../directory';
import {Modal} from '../keys/components/modal';
import {colours, type Theme} from '../keys/components/theme';
import type {MyKeys} from '../types/my_keys';

import type {Member} from './encryptor';
import {qrMatrix} from './qr';

export type VerifyView =
    | {kind: 'user'; userId: string; username: string}
    | {kind: 'list'; channelId: string};

export interface VerifyDeps {
    me(): string;
    myKeys: MyKeys;
    directory: KeyDirectory;
    trust: TrustStore;
    verified: VerifiedStore;
    listMembers(channelId: string): Promise<Member[]>;
    usernameOf(userId: string): string | undefined;
    /** "Replace my key" (the key features' /e2ee init --force); absent: not offered. */
    replaceKey?(): void;
}

/** Which verify dialog is open; plain observable state for the root component. */
export class VerifyController {
    private view: VerifyView | null = null;
    private readonly listeners = new Set<() => void>();

    get = (): VerifyView | null => this.view;

    subscribe = (l: () => void): (() => void) => {
        this.listeners.add(l);
        return () => {
            this.listeners.delete(l);
        };
    };

    open(view: VerifyView | null): void {
        this.view = view;
        for (const l of [...this.listeners]) {
            l();
        }
    }
}

function QRCode({text}: {text: string}) {
    const [matrix, setMatrix] = React.useState<boolean[][] | null>(null);
    const [failed, setFailed] = React.useState(false);
    React.useEffect(() => {
        let live = true;
        qrMatrix(text).then((m) => live && setMatrix(m), () => live && setFailed(true));
        return () => {
            live = false;
        };
    }, [text]);
    if (failed) {
        return <p data-testid='e2ee-safety-qr-failed'>{'The QR code could not be drawn; compare the digits.'}</p>;
    }
    if (!matrix) {
        return <p>{'Drawing the QR code…'}</p>;
    }
    const n = matrix.length;
    const cells: React.ReactElement[] = [];
    matrix.forEach((row, r) => row.forEach((dark, c) => {
        if (dark) {
            cells.push(<rect key={`${r}-${c}`} x={c + 4} y={r + 4} width={1} height={1}/>);
        }
    }));
    return (
        <svg data-testid='e2ee-safety-qr' data-modules={n} viewBox={`0 0 ${n + 8} ${n + 8}`} width={200} height={200} role='img' aria-label='QR code of the safety number' shapeRendering='crispEdges' style={{background: '#fff'}}>
            <g fill='#000'>{cells}</g>
        </svg>
    );
}

const STATE_TEXT: Record<VerifyState, string> = {
    verified: 'Verified',
    tofu: 'Trusted on first use (not verified)',
    changed: 'Key changed since you verified it',
};

function UserVerify({deps, userId, username, theme, onClose}: {deps: VerifyDeps; userId: string; username: string; theme: Theme; onClose(): void}) {
    const c = colours(theme);
    const [info, setInfo] = React.useState<{number: string; key: PublicKey; state: VerifyState} | {error: string} | null>(null);
    const [revision, setRevision] = React.useState(0);
    React.useEffect(() => {
        let live = true;
        (async () => {
            const me = deps.me();
            const mine = await deps.myKeys.getPublic();
            if (!mine) {
                return {error: 'You have no encryption key in this browser: run /e2ee init first.'};
            }
            deps.directory.invalidate(userId); // compare against what the server serves now
            const entry = await deps.directory.get(userId);
            if (entry.status !== 'ok') {
                return {error: `@${username} has no valid encryption key yet.`};
            }
            const number = await safetyNumberOf({userId: me, key: mine}, {userId, key: entry.key});
            return {number, key: entry.key, state: await deps.verified.state(userId, entry.key.idB64)};
        })().then((r) => live && setInfo(r), (err) => live && setInfo({error: `Could not compute the safety number: ${err instanceof Error ? err.message : 'unknown error'}`}));
        return () => {
            live = false;
        };
    }, [deps, userId, username, revision]);

    const ok = info && 'number' in info ? info : null;
    const mark = () => {
        if (ok) {
            deps.trust.accept(userId, ok.key.idB64, ok.key.json);
            deps.verified.mark(userId, ok.key);
            setRevision((r) => r + 1);
        }
    };
    const acceptUnverified = () => {
        if (ok) {
            deps.verified.unmark(userId);
            deps.trust.accept(userId, ok.key.idB64, ok.key.json);
            setRevision((r) => r + 1);
        }
    };
    return (
        <Modal
            title={`Verify @${username}`}
            testId='e2ee-verify-dialog'
            theme={theme}
            onDismiss={onClose}
            footer={(
                <>
                    {ok?.state === 'verified' && (
                        <button type='button' className='btn btn-tertiary' data-testid='e2ee-verify-unmark' onClick={() => {
                            deps.verified.unmark(userId);
                            setRevision((r) => r + 1);
                        }}>
                            {'Remove verification'}
                        </button>
                    )}
                    <button type='button' className='btn btn-tertiary' data-testid='e2ee-verify-close' onClick={onClose}>{'Close'}</button>
                    {ok && ok.state !== 'verified' && (
                        <button type='button' className='btn btn-primary' data-testid='e2ee-verify-mark' onClick={mark} style={{background: c.button, color: c.buttonText}}>
                            {'Mark as verified'}
                        </button>
                    )}
                </>
            )}
        >
            {!info && <p>{'Computing the safety number…'}</p>}
            {info && 'error' in info && <p role='alert' data-testid='e2ee-verify-error'>{info.error}</p>}
            {ok && (
                <>
                    <p data-testid='e2ee-verify-state' data-state={ok.state}><strong>{STATE_TEXT[ok.state]}</strong></p>
                    {ok.state === 'changed' && (
                        <div role='alert' data-testid='e2ee-verify-changed-warning' style={{borderLeft: `4px solid ${c.error}`, paddingLeft: 12}}>
                            <p>
                                <strong>{`You verified @${username}'s key before, and the server now serves another key.`}</strong>
                                {' If they did not tell you they replaced their key, someone may be trying to read your messages. '}
                                {'Nothing is encrypted to the new key and their new messages stay hidden until you compare the new number below with them '}
                                {'(in person or on a call) and mark it as verified, or accept the new key without verifying.'}
                            </p>
                            <button type='button' className='btn btn-danger' data-testid='e2ee-verify-accept' onClick={acceptUnverified} style={{background: c.error, color: '#fff'}}>
                                {'Accept the new key without verifying'}
                            </button>
                        </div>
                    )}
                    <p>{`Compare this number with the one @${username} sees for you (/e2ee verify @${deps.usernameOf(deps.me()) ?? 'you'}), or scan their QR code with a phone camera. If it is the same, your messages reach their real key.`}</p>
                    <p data-testid='e2ee-safety-number' style={{fontFamily: 'monospace', fontSize: 18, letterSpacing: 1, wordSpacing: 6, lineHeight: '28px', maxWidth: 420}}>
                        {formatSafetyNumber(ok.number)}
                    </p>
                    <QRCode text={ok.number}/>
                </>
            )}
        </Modal>
    );
}

function MemberList({deps, channelId, theme, onOpen, onClose}: {deps: VerifyDeps; channelId: string; theme: Theme; onOpen(v: VerifyView): void; onClose(): void}) {
    const c = colours(theme);
    const [rows, setRows] = React.useState<Array<{member: Member; state: VerifyState | 'no-key'}> | {error: string} | null>(null);
    const [confirmReplace, setConfirmReplace] = React.useState(false);
    React.useEffect(() => {
        let live = true;
        (async () => {
            const me = deps.me();
            const members = (await deps.listMembers(channelId)).filter((m) => m.id !== me);
            const keys = await deps.directory.getMany(members.map((m) => m.id));
            return Promise.all(members.map(async (member) => {
                const entry = keys.get(member.id);
                const state: VerifyState | 'no-key' = entry?.status === 'ok' ? await deps.verified.state(member.id, entry.key.idB64) : 'no-key';
                return {member, state};
            }));
        })().then((r) => live && setRows(r), (err) => live && setRows({error: `Could not list the channel's members: ${err instanceof Error ? err.message : 'unknown error'}`}));
        return () => {
            live = false;
        };
    }, [deps, channelId]);
    const label = {...STATE_TEXT, 'no-key': 'No key yet'};
    return (
        <Modal
            title='Verify the members of this channel'
            testId='e2ee-verify-list'
            theme={theme}
            onDismiss={onClose}
            footer={(
                <>
                    {deps.replaceKey && (confirmReplace ? (
                        <button type='button' className='btn btn-danger' data-testid='e2ee-replace-key-confirm' style={{background: c.error, color: '#fff'}} onClick={() => {
                            onClose();
                            deps.replaceKey?.();
                        }}>
                            {'Yes, replace my key'}
                        </button>
                    ) : (
                        <button type='button' className='btn btn-tertiary' data-testid='e2ee-replace-key' onClick={() => setConfirmReplace(true)}>{'Replace my key…'}</button>
                    ))}
                    <button type='button' className='btn btn-tertiary' data-testid='e2ee-verify-list-close' onClick={onClose}>{'Close'}</button>
                </>
            )}
        >
            {confirmReplace && (
                <p role='alert' data-testid='e2ee-replace-key-warning' style={{borderLeft: `4px solid ${c.warning}`, paddingLeft: 12}}>
                    {'A new key is made and registered. Your current key stays in this browser to read older messages. Everyone who verified you sees an alarm until they verify you again, '}
                    {'and your other browsers need the new backup.'}
                </p>
            )}
            {!rows && <p>{'Loading…'}</p>}
            {rows && 'error' in rows && <p role='alert'>{rows.error}</p>}
            {rows && !('error' in rows) && (
                <table style={{width: '100%'}}>
                    <tbody>
                        {rows.map(({member, state}) => (
                            <tr key={member.id} data-testid='e2ee-verify-row' data-username={member.username} data-state={state}>
                                <td>{`@${member.username}`}</td>
                                <td style={{color: state === 'changed' ? c.error : undefined}}>{label[state]}</td>
                                <td>
                                    {state !== 'no-key' && (
                                        <button type='button' className='btn btn-sm btn-tertiary' data-testid='e2ee-verify-row-open' onClick={() => onOpen({kind: 'user', userId: member.id, username: member.username})}>
                                            {'Verify'}
                                        </button>
                                    )}
                                </td>
                            </tr>
                        ))}
                    </tbody>
                </table>
            )}
        </Modal>
    );
}

export function makeVerifyRoot(controller: VerifyController, deps: VerifyDeps): React.FC<{theme?: Theme}> {
    function VerifyRoot({theme}: {theme?: Theme}) {
        const view = React.useSyncExternalStore(controller.subscribe, controller.get);
        const close = () => controller.open(null);
        if (!view) {
            return null;
        }
        if (view.kind === 'list') {
            return <MemberList deps={deps} channelId={view.channelId} theme={theme} onOpen={(v) => controller.open(v)} onClose={close}/>;
        }
        return <UserVerify key={view.userId} deps={deps} userId={view.userId} username={view.username} theme={theme} onClose={close}/>;
    }
    return VerifyRoot;
}

/** `/e2ee verify [@user]`: null when the message is not that command. */
export function parseVerifyCommand(message: string): {username: string | null} | {error: string} | null {
    const words = typeof message === 'string' ? message.trim().split(/\s+/) : [];
    if (words[0]?.toLowerCase() !== '/e2ee' || words[1]?.toLowerCase() !== 'verify') {
        return null;
    }
    if (words.length === 2) {
        return {username: null};
    }
    if (words.length === 3 && /^@?[A-Za-z0-9._-]+$/.test(words[2])) {
        return {username: words[2].replace(/^@/, '').toLowerCase()};
    }
    return {error: 'Usage: /e2ee verify [@user]'};
}
