// The custom_e2ee post type: verifies and decrypts, then shows the text with a lock, or a
// state that says why it can't and what to do.
import React, {useEffect, useMemo, useState, useSyncExternalStore} from 'react';

import type {Post} from '@mattermost/types/posts';

import type {PostTypeComponentProps} from '../types/registry';

import {postVersion, type DecryptResult, type DecryptService} from './decrypt_service';
import {LazyEncryptedFiles} from './files_lazy';
import {DecryptedText} from './markdown';

export interface PostComponentServices {
    decrypt: DecryptService;
    usernameOf(userId: string): string | undefined;
    /** Opens the verify dialog (safety number) for a user. */
    openVerify?(userId: string): void;
    /** The current user's mention keys in a channel, for highlighting. */
    mentionKeys?(channelId: string): Array<{key: string; caseSensitive: boolean}>;
}

/** v1 signs no context: the server could have copied this post from another channel or thread. */
export const V1_NOTE = 'Old format (v1): not bound to this channel, thread or time, so it may have been copied here from elsewhere';

const stateStyle: React.CSSProperties = {fontStyle: 'italic', opacity: 0.8};

function LockIcon(): React.ReactElement {
    return (
        <svg width='12' height='12' viewBox='0 0 16 16' aria-hidden='true' style={{verticalAlign: 'middle'}}>
            <path fill='currentColor' d='M4 7V5a4 4 0 1 1 8 0v2h1a1 1 0 0 1 1 1v7a1 1 0 0 1-1 1H3a1 1 0 0 1-1-1V8a1 1 0 0 1 1-1h1zm2 0h4V5a2 2 0 1 0-4 0v2z'/>
        </svg>
    );
}

function StateLine({testId, children}: {testId: string; children: React.ReactNode}): React.ReactElement {
    return <div data-testid={testId} className='e2ee-state' style={stateStyle}>{children}</div>;
}

/** A clear warning when the sender's key is also another user's: either may have written it. */
function SharedKeyWarning({sender, others}: {sender: string; others: string[]}): React.ReactElement | null {
    if (others.length === 0) {
        return null;
    }
    return (
        <div data-testid='e2ee-shared-key' className='e2ee-state e2ee-shared-key' style={{...stateStyle, color: 'var(--error-text, #d24b4e)'}}>
            {`Warning: the key that signed this message is also registered to ${others.map((o) => `@${o}`).join(', ')}, not only to @${sender}. Any of them may have written it.`}
        </div>
    );
}

/** The lock badge: its text is the tooltip; a click opens it with a "Verify" entry. */
function Lock({title, version, trust, extra, senderId, senderName, openVerify}: {
    title: string; version: number; trust: 'verified' | 'tofu' | 'earlier'; extra?: React.ReactNode;
    senderId: string; senderName: string; openVerify?: (userId: string) => void;
}): React.ReactElement {
    const [open, setOpen] = useState(false);
    return (
        <span style={{float: 'right', marginLeft: 4, position: 'relative'}}>
            <span
                data-testid='e2ee-lock'
                data-version={version}
                data-trust={trust}
                className='e2ee-lock'
                title={title}
                aria-label={title}
                role='button'
                tabIndex={0}
                onClick={() => setOpen((o) => !o)}
                onKeyDown={(e) => {
                    if (e.key === 'Enter' || e.key === ' ') {
                        setOpen((o) => !o);
                    }
                }}
                style={{opacity: trust === 'verified' ? 0.9 : 0.6, cursor: 'pointer', color: trust === 'verified' ? '#3db887' : undefined}}
            >
                <LockIcon/>
                {trust === 'verified' && <sup data-testid='e2ee-lock-verified' style={{fontSize: 9, marginLeft: 1}}>{'✓'}</sup>}
                {extra}
                {version === 1 && <sup style={{fontSize: 9, marginLeft: 1}}>{'v1'}</sup>}
            </span>
            {open && (
                <span
                    data-testid='e2ee-lock-tooltip'
                    role='dialog'
                    style={{position: 'absolute', right: 0, top: 18, zIndex: 20, width: 280, background: 'var(--center-channel-bg, #fff)', color: 'var(--center-channel-color, #3f4350)',
                        boxShadow: '0 4px 12px rgba(0,0,0,0.16)', borderRadius: 4, padding: 8, fontSize: 12, fontStyle: 'normal'}}
                >
                    <span style={{display: 'block', marginBottom: 6}}>{title}</span>
                    {openVerify && (
                        <button
                            type='button'
                            className='btn btn-sm btn-tertiary'
                            data-testid='e2ee-lock-verify'
                            onClick={() => {
                                setOpen(false);
                                openVerify(senderId);
                            }}
                        >
                            {trust === 'verified' ? `Safety number with @${senderName}` : `Verify @${senderName}…`}
                        </button>
                    )}
                </span>
            )}
        </span>
    );
}

function isPost(value: unknown): value is Post {
    return Boolean(value) && typeof value === 'object' && typeof (value as Post).id === 'string';
}

export function makeEncryptedPost(services: PostComponentServices): React.FC<PostTypeComponentProps> {
    function EncryptedPost(props: PostTypeComponentProps): React.ReactElement {
        const post = isPost(props.post) ? props.post : null;
        const revision = useSyncExternalStore(services.decrypt.subscribe, services.decrypt.getRevision);
        // Results are tagged with the post version they belong to, so a reused component never
        // shows another post's (or an older edit's) text.
        const version = post ? postVersion(post) : '';
        const [state, setState] = useState<{version: string; result: DecryptResult} | undefined>();
        const e2ee = post?.props?.e2ee;
        const channelId = post?.channel_id ?? '';
        const mentionKeys = useMemo(() => services.mentionKeys?.(channelId), [channelId]);

        useEffect(() => {
            if (!post) {
                return undefined;
            }
            let live = true;
            services.decrypt.decrypt(post).then((r) => {
                if (live) {
                    setState({version, result: r});
                }
            });
            return () => {
                live = false;
            };
        // post fields listed one by one: the host hands a new object on every store change.
        // eslint-disable-next-line react-hooks/exhaustive-deps
        }, [version, post?.user_id, post?.channel_id, post?.root_id, e2ee, revision]);

        const result = state && state.version === version ? state.result : (post ? services.decrypt.peek(post) : undefined);

        if (!post) {
            return <StateLine testId='e2ee-state-malformed'>This encrypted message is damaged and cannot be read.</StateLine>;
        }
        if (!result) {
            return <StateLine testId='e2ee-state-loading'>Decrypting…</StateLine>;
        }
        const sender = (id: string) => services.usernameOf(id) ?? id;
        switch (result.status) {
        case 'ok': {
            const shared = services.decrypt.sharedKeyUsers(result.senderId, result.senderKeyId).map(sender);
            let title = `End-to-end encrypted. Signed by @${sender(result.senderId)}, key fingerprint ${result.fingerprint}. ` +
                (result.verified ? 'Verified contact: you compared safety numbers.' : 'Key trusted on first use (not verified).');
            if (result.version === 1) {
                title += ` ${V1_NOTE}`;
            }
            if (result.version === 3) {
                title += ' (channel-key mode)';
            }
            if (shared.length > 0) {
                title += ` The same key is also registered to ${shared.map((o) => `@${o}`).join(', ')}.`;
            }
            return (
                <div className='e2ee-post' data-rhs={props.isRHS ? 'true' : undefined}>
                    <Lock
                        title={title}
                        version={result.version}
                        trust={result.verified ? 'verified' : 'tofu'}
                        extra={shared.length > 0 ? <sup style={{fontSize: 9, marginLeft: 1}}>{'shared key!'}</sup> : undefined}
                        senderId={result.senderId}
                        senderName={sender(result.senderId)}
                        openVerify={services.openVerify}
                    />
                    <SharedKeyWarning sender={sender(result.senderId)} others={shared}/>
                    <DecryptedText text={result.text} postId={post.id} channelId={post.channel_id} editedAt={post.edit_at} mentionKeys={mentionKeys}/>
                    {result.files !== undefined && <LazyEncryptedFiles files={result.files}/>}
                </div>
            );
        }
        case 'earlier-key': {
            const shared = services.decrypt.sharedKeyUsers(result.senderId, result.senderKeyId).map(sender);
            // Readable and verified, but with a key the sender has since replaced: say so, and how
            // far that key is trusted (accepted here before, or only the server's word).
            const how = result.source === 'trusted' ? 'trusted in this browser' : 'as reported by the server, not confirmed in this browser';
            let title = result.epochSignerId ?
                `End-to-end encrypted. The channel key of this post was signed with an earlier key of @${sender(result.epochSignerId)}, ${how}` :
                `End-to-end encrypted. Signed with an earlier key of @${sender(result.senderId)} (fingerprint ${result.fingerprint}), ${how}`;
            if (result.version === 1) {
                title += `. ${V1_NOTE}`;
            }
            return (
                <div className='e2ee-post e2ee-earlier-key' data-testid='e2ee-state-earlier-key' data-source={result.source} data-rhs={props.isRHS ? 'true' : undefined}>
                    <Lock
                        title={title}
                        version={result.version}
                        trust='earlier'
                        extra={<>
                            <sup style={{fontSize: 9, marginLeft: 1}}>{result.source === 'trusted' ? 'earlier key' : 'earlier key?'}</sup>
                            {shared.length > 0 && <sup style={{fontSize: 9, marginLeft: 1}}>{'shared key!'}</sup>}
                        </>}
                        senderId={result.senderId}
                        senderName={sender(result.senderId)}
                        openVerify={services.openVerify}
                    />
                    <SharedKeyWarning sender={sender(result.senderId)} others={shared}/>
                    <DecryptedText text={result.text} postId={post.id} channelId={post.channel_id} editedAt={post.edit_at} mentionKeys={mentionKeys}/>
                    {result.files !== undefined && <LazyEncryptedFiles files={result.files}/>}
                </div>
            );
        }
        case 'no-key':
            return <StateLine testId='e2ee-state-no-key'>Encrypted message. You have no encryption key in this browser: run /e2ee init to create one, or /e2ee import to restore your backup.</StateLine>;
        case 'waiting-key':
            return <StateLine testId='e2ee-state-waiting-key'>{`Encrypted message (channel-key mode). Waiting for the channel key: ${result.reason}. A member's browser adds your copy when it is online.`}</StateLine>;
        case 'not-member':
            return <StateLine testId='e2ee-state-not-member'>Encrypted message (channel-key mode). You were not a member of this channel when this was sent, so you have no copy of its key.</StateLine>;
        case 'not-recipient':
            return <StateLine testId='e2ee-state-not-recipient'>Encrypted message, not encrypted for your current key (it was sent before you had this key, or the sender did not have it).</StateLine>;
        case 'integrity':
            return <StateLine testId='e2ee-state-integrity'>Warning: this encrypted message failed verification. It may have been altered, moved or forged, so it is not shown.</StateLine>;
        case 'malformed':
            return <StateLine testId='e2ee-state-malformed'>This encrypted message is damaged or in an unknown format and cannot be read.</StateLine>;
        case 'unknown-sender-key':
            return (
                <StateLine testId='e2ee-state-unknown-sender-key'>
                    {result.reason === 'unavailable' ? 'Encrypted message. The sender\'s key could not be fetched right now, so the message cannot be verified yet.' : `Encrypted message from @${sender(post.user_id)}, who has no valid published key: it cannot be verified, so it is not shown.`}
                </StateLine>
            );
        case 'key-changed':
            return (
                <StateLine testId='e2ee-state-key-changed'>
                    {`Warning: the encryption key of @${sender(result.senderId)} changed since this browser last saw it. The message is hidden until you accept the new key; if you did not expect a change, check with them first. `}
                    <button
                        type='button'
                        data-testid='e2ee-accept-key'
                        className='btn btn-sm btn-tertiary'
                        onClick={() => services.decrypt.acceptSenderKey(result.senderId, result.newKeyId)}
                    >
                        {'Trust the new key'}
                    </button>
                </StateLine>
            );
        case 'verified-changed':
            return (
                <StateLine testId='e2ee-state-verified-changed'>
                    {`Security alarm: the key of @${sender(result.senderId)} changed after you verified it. This message, signed with the new key, is hidden until you compare the new safety number or accept the new key. `}
                    {services.openVerify && (
                        <button
                            type='button'
                            data-testid='e2ee-verified-changed-open'
                            className='btn btn-sm btn-tertiary'
                            onClick={() => services.openVerify?.(result.senderId)}
                        >
                            {'Check the safety number'}
                        </button>
                    )}
                </StateLine>
            );
        default:
            return <StateLine testId='e2ee-state-malformed'>This encrypted message cannot be read.</StateLine>;
        }
    }
    return EncryptedPost;
}
