// Editing encrypted posts. The host's inline editor runs no hook (mattermost/mattermost#30935)
// and would send the new text as plaintext, so we offer our own editor (post menu → modal)
// that re-encrypts and patches through REST; the update hook covers hosts that do call it.
import React, {useEffect, useRef, useState, useSyncExternalStore} from 'react';

import type {Post} from '@mattermost/types/posts';

import {hostState} from '../host_state';

import {isEncryptingMethod, type EncryptionMethod} from '../client';
import type {HookResult} from '../types/registry';
import type {MessageContext} from '../crypto/types';

import {SendRefusedError, type ChannelEncryptor} from './encryptor';
import {encryptedPayloadOf} from './decrypt_service';
import {PLACEHOLDER, isEncryptedPost, refuseKeyBackup, safeProps} from './post_shape';
import type {ChannelMethods} from './state';
import {MAX_POST_FILE_IDS, fileEntryToJSON, parseFileEntries, type FileEntryJSON} from '../crypto/file_entry';

export interface EditSession {
    post: Post;
    text: string;
    /** The post's encrypted files as its payload lists them (design §15.4), if any. */
    files?: FileEntryJSON[];
}

/** Which post (if any) our editor is open for. */
export class EditController {
    private session: EditSession | null = null;
    private readonly listeners = new Set<() => void>();

    getSnapshot = (): EditSession | null => this.session;

    subscribe = (listener: () => void): (() => void) => {
        this.listeners.add(listener);
        return () => {
            this.listeners.delete(listener);
        };
    };

    open(post: Post, text: string, files?: FileEntryJSON[]): void {
        this.session = {post, text, files};
        this.emit();
    }

    close(): void {
        this.session = null;
        this.emit();
    }

    private emit(): void {
        for (const listener of [...this.listeners]) {
            listener();
        }
    }
}

export interface EditDeps {
    encryptor: ChannelEncryptor;
    currentUserId(): string;
    patchPost(patch: {id: string; message: string; props: Record<string, unknown>; file_ids?: string[]}): Promise<Post>;
    onSaved?(post: Post): void;
    /** The encrypted files the post lists now (design §15.4): an edit keeps them. */
    filesOf?(post: Post): Promise<unknown>;
    /** Channel-key mode (design §13): a v3 post is re-encrypted as v3 under the current epoch. */
    channelKeys?: {encrypt(text: string, context: MessageContext, extra?: Record<string, unknown>): Promise<unknown>};
}

/** The file entries of a decrypted payload's `files` member, as JSON; throws on a broken one. */
export function fileEntriesJSON(files: unknown): FileEntryJSON[] {
    return files === undefined ? [] : parseFileEntries({files}).map(fileEntryToJSON);
}

/** The server file IDs the entries name (each file, then its thumbnail): the post's file_ids. */
export function fileIdsOfEntries(files: FileEntryJSON[]): string[] {
    return files.flatMap((f) => (f.thumb ? [f.id, f.thumb.id] : [f.id]));
}

/** Re-encrypts the new text for the channel (same context as the post) and patches it. `files`,
 * when given, are the encrypted files the post carries from now on (kept, removed or added in the
 * editor; each was encrypted in this browser or was already on the post); otherwise it keeps its own. */
export async function saveEncryptedEdit(deps: EditDeps, post: Post, text: string, newFiles?: FileEntryJSON[]): Promise<Post> {
    const me = deps.currentUserId();
    if (!isEncryptedPost(post) || post.user_id !== me) {
        throw new SendRefusedError('not-encrypted-edit', 'Only your own encrypted messages can be edited here.');
    }
    refuseKeyBackup(text);
    let files: unknown;
    if (newFiles) {
        files = newFiles.length ? newFiles : undefined;
        const ids = fileIdsOfEntries(newFiles);
        if (ids.length > MAX_POST_FILE_IDS) {
            throw new SendRefusedError('files', `At most ${MAX_POST_FILE_IDS} files (thumbnails included) can be attached to an encrypted message. The edit was not saved.`);
        }
        if (new Set(ids).size !== ids.length) {
            throw new SendRefusedError('files', 'A file is attached twice. The edit was not saved.');
        }
    } else {
        files = deps.filesOf && post.file_ids?.length ? await deps.filesOf(post) : undefined;
        if (post.file_ids?.length && files === undefined) {
            throw new SendRefusedError('files', 'The files of this message could not be read, so the edit was not saved (it would lose them).');
        }
    }
    const context = {channelId: post.channel_id, rootId: post.root_id || '', userId: me};
    const extra = files === undefined ? {} : {files};
    // A v3 post stays v3: a P2P (v2) edit cannot reach every member of a huge channel.
    let e2ee: unknown;
    if (encryptedPayloadOf(post)?.version === 3) {
        if (!deps.channelKeys) {
            throw new SendRefusedError('unavailable', 'This message uses the channel key, which this server cannot provide: the edit was not saved.');
        }
        e2ee = await deps.channelKeys.encrypt(text, context, extra);
    } else {
        e2ee = await deps.encryptor.encrypt(text, context, extra);
    }
    let updated: Post;
    try {
        const patch: {id: string; message: string; props: Record<string, unknown>; file_ids?: string[]} = {id: post.id, message: PLACEHOLDER, props: {...safeProps(post.props), e2ee}};
        if (newFiles) {
            patch.file_ids = fileIdsOfEntries(newFiles); // the server checks each one (design §15.6)
        }
        updated = await deps.patchPost(patch);
    } catch (err) {
        const reason = err instanceof Error && err.message ? `: ${err.message}` : '';
        throw new SendRefusedError('unavailable', `The server did not save the edit${reason}.`);
    }
    deps.onSaved?.(updated);
    return updated;
}

const overlay: React.CSSProperties = {
    position: 'fixed', inset: 0, background: 'rgba(0,0,0,0.5)', zIndex: 10000,
    display: 'flex', alignItems: 'center', justifyContent: 'center',
};
const dialog: React.CSSProperties = {
    background: 'var(--center-channel-bg, #fff)', color: 'var(--center-channel-color, #3f4350)',
    borderRadius: 8, padding: 24, width: 'min(600px, 90vw)', boxShadow: '0 20px 32px rgba(0,0,0,0.12)',
};

/** Files added in our editor: encrypted in this browser, uploaded into the post's channel. */
export interface EditAttach {
    /** The entries (design §15.4) of the files, encrypted and uploaded; throws a SendRefusedError naming a file that failed. */
    (channelId: string, files: File[]): Promise<FileEntryJSON[]>;
}

function formatSize(n: number): string {
    return n < 1024 ? `${n} B` : n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KB` : `${(n / (1024 * 1024)).toFixed(1)} MB`;
}

export function makeEditRoot(controller: EditController, save: (post: Post, text: string, files?: FileEntryJSON[]) => Promise<unknown>, attach?: EditAttach): React.FC {
    function EditorDialog({session}: {session: EditSession}): React.ReactElement {
        const [text, setText] = useState(session.text);
        const [files, setFiles] = useState<FileEntryJSON[]>(session.files ?? []);
        const [filesChanged, setFilesChanged] = useState(false);
        const [attaching, setAttaching] = useState(false);
        const [error, setError] = useState('');
        const [saving, setSaving] = useState(false);
        const area = useRef<HTMLTextAreaElement>(null);
        useEffect(() => {
            area.current?.focus();
        }, []);

        const submit = async () => {
            if (saving || attaching) {
                return;
            }
            setSaving(true);
            setError('');
            try {
                await save(session.post, text, filesChanged ? files : undefined);
                controller.close();
            } catch (err) {
                setError(err instanceof SendRefusedError ? err.message : `The message could not be saved${err instanceof Error && err.message ? `: ${err.message}` : ''}.`);
                setSaving(false);
            }
        };

        const add = async (chosen: File[]) => {
            if (!attach || !chosen.length) {
                return;
            }
            setAttaching(true);
            setError('');
            try {
                const added = await attach(session.post.channel_id, chosen);
                setFiles((old) => [...old, ...added]);
                setFilesChanged(true);
            } catch (err) {
                setError(err instanceof SendRefusedError ? err.message : `The files could not be attached${err instanceof Error && err.message ? `: ${err.message}` : ''}.`);
            } finally {
                setAttaching(false);
            }
        };

        return (
            <div style={overlay} onClick={() => controller.close()}>
                <div
                    role='dialog'
                    aria-modal='true'
                    aria-label='Edit encrypted message'
                    data-testid='e2ee-edit-dialog'
                    style={dialog}
                    onClick={(e) => e.stopPropagation()}
                    onKeyDown={(e) => {
                        if (e.key === 'Escape') {
                            controller.close();
                        } else if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
                            submit();
                        }
                    }}
                >
                    <h2 style={{fontSize: 18, marginTop: 0}}>{'Edit encrypted message'}</h2>
                    <textarea
                        ref={area}
                        data-testid='e2ee-edit-textarea'
                        className='form-control'
                        rows={5}
                        style={{width: '100%', resize: 'vertical'}}
                        value={text}
                        onChange={(e) => setText(e.target.value)}
                    />
                    {session.files && (files.length > 0 || attach) && (
                        <div data-testid='e2ee-edit-files' style={{marginTop: 8}}>
                            {files.map((f) => (
                                <div key={f.id} data-testid='e2ee-edit-file' data-file-id={f.id} style={{display: 'flex', gap: 8, alignItems: 'center'}}>
                                    <span data-testid='e2ee-edit-file-name'>{f.name}</span>
                                    <span style={{opacity: 0.7}}>{formatSize(f.size)}</span>
                                    <button
                                        type='button'
                                        className='btn btn-sm btn-tertiary'
                                        data-testid='e2ee-edit-file-remove'
                                        aria-label={`Remove ${f.name}`}
                                        disabled={saving}
                                        onClick={() => {
                                            setFiles((old) => old.filter((x) => x.id !== f.id));
                                            setFilesChanged(true);
                                        }}
                                    >{'Remove'}</button>
                                </div>
                            ))}
                            {attach && session.files && (
                                <label style={{display: 'block', marginTop: 4}}>
                                    {'Attach files (encrypted in this browser): '}
                                    <input
                                        type='file'
                                        multiple={true}
                                        data-testid='e2ee-edit-file-input'
                                        disabled={attaching || saving}
                                        onChange={(e) => {
                                            const chosen = Array.from(e.target.files || []);
                                            e.target.value = '';
                                            add(chosen);
                                        }}
                                    />
                                </label>
                            )}
                            {attaching && <div data-testid='e2ee-edit-attaching'>{'Encrypting and uploading…'}</div>}
                        </div>
                    )}
                    {error && <div data-testid='e2ee-edit-error' role='alert' className='has-error' style={{color: 'var(--error-text, #d24b4e)', marginTop: 8}}>{error}</div>}
                    <div style={{display: 'flex', justifyContent: 'flex-end', gap: 8, marginTop: 16}}>
                        <button type='button' className='btn btn-tertiary' data-testid='e2ee-edit-cancel' onClick={() => controller.close()}>{'Cancel'}</button>
                        <button type='button' className='btn btn-primary' data-testid='e2ee-edit-save' disabled={saving || attaching} onClick={submit}>{saving ? 'Saving…' : 'Save'}</button>
                    </div>
                </div>
            </div>
        );
    }

    function EncryptedEditRoot(): React.ReactElement | null {
        const session = useSyncExternalStore(controller.subscribe, controller.getSnapshot);
        if (!session) {
            return null;
        }
        // keyed by post so a new session starts fresh
        return <EditorDialog key={session.post.id} session={session}/>;
    }
    return EncryptedEditRoot;
}

export interface UpdateHookDeps extends EditDeps {
    methods: ChannelMethods;
}

export const PLAINTEXT_EDIT_REFUSED = 'This channel is encrypted: an unencrypted message cannot be edited here, as the new text would reach the server unencrypted. Delete it and send a new message instead.';
export const NOT_AUTHOR_EDIT_REFUSED = 'Only its author can edit an encrypted message: the host\'s editor would save the new text unencrypted.';
export const FILES_ADDED_REFUSED = 'Files cannot be added to an encrypted message with this editor: they would be uploaded unencrypted. Use "Edit encrypted message" to attach encrypted files.';
export const EDIT_STATE_UNKNOWN = 'Could not check whether this channel is encrypted, so the edit was not saved: try again.';

/** MessageWillBeUpdated, for hosts that run it. The new text is encrypted and saved through
 * REST here: some hosts drop an edit whose message is unchanged, and the placeholder we hand
 * back is always unchanged. Handing back the encrypted post keeps hosts that do save it right. */
export function createUpdateHook(deps: UpdateHookDeps) {
    return async (newPost: Partial<Post>, oldPost: Post): Promise<HookResult<{post: Partial<Post>}>> => {
        try {
            if (isEncryptedPost(oldPost)) {
                if (typeof newPost.message !== 'string' || (newPost.message === PLACEHOLDER && encryptedPayloadOf(newPost))) {
                    return undefined; // no new text (pin, props of ours)
                }
                if (newPost.message === PLACEHOLDER) {
                    return undefined; // the host's editor showed our placeholder and it was not changed
                }
                if (oldPost.user_id !== deps.currentUserId()) {
                    return {error: {message: 'Only the author can edit an encrypted message.'}};
                }
                // The host's editor uploads files unencrypted: it may only remove some of the post's.
                const oldIds = oldPost.file_ids ?? [];
                const newIds = Array.isArray(newPost.file_ids) ? newPost.file_ids : oldIds;
                if (newIds.some((id) => !oldIds.includes(id))) {
                    return {error: {message: FILES_ADDED_REFUSED}};
                }
                let kept: FileEntryJSON[] | undefined;
                if (newIds.length !== oldIds.length) {
                    const current = deps.filesOf ? await deps.filesOf(oldPost) : undefined;
                    if (current === undefined) {
                        return {error: {message: 'The files of this message could not be read, so the edit was not saved.'}};
                    }
                    kept = fileEntriesJSON(current).filter((f) => newIds.includes(f.id)).
                        map((f) => (f.thumb && !newIds.includes(f.thumb.id) ? {...f, thumb: undefined} : f)).
                        map((f) => JSON.parse(JSON.stringify(f)) as FileEntryJSON); // drops thumb: undefined
                }
                const saved = await saveEncryptedEdit(deps, oldPost, newPost.message, kept);
                const out: Partial<Post> = {...newPost, message: PLACEHOLDER, props: {...safeProps(newPost.props ?? oldPost.props), e2ee: saved.props?.e2ee}};
                if ('hashtags' in out) {
                    out.hashtags = '';
                }
                delete out.metadata;
                delete out.message_source;
                return {post: out};
            }
            const channelId = oldPost?.channel_id;
            if (typeof newPost.message === 'string' && newPost.message !== oldPost?.message) {
                refuseKeyBackup(newPost.message);
                if (!channelId) {
                    return {error: {message: EDIT_STATE_UNKNOWN}};
                }
                let method;
                try {
                    method = await deps.methods.refresh(channelId, true);
                } catch {
                    // Fail closed: a remembered "none" may be stale; only "p2p" is sure to refuse.
                    return {error: {message: isEncryptingMethod(deps.methods.get(channelId)) ? PLAINTEXT_EDIT_REFUSED : EDIT_STATE_UNKNOWN}};
                }
                if (method !== 'none') {
                    return {error: {message: PLAINTEXT_EDIT_REFUSED}};
                }
            }
            return undefined;
        } catch (err) {
            if (err instanceof SendRefusedError) {
                return {error: {message: err.message}};
            }
            return {error: {message: 'The message could not be encrypted, so the edit was not saved.'}};
        }
    };
}

interface HostEditingState {
    views?: {posts?: {editingPost?: {postId?: string; show?: boolean}}};
}

export interface HostEditorGuardDeps {
    currentUserId(): string;
    /** Decrypts the post and opens our editor; resolves false when it can't. */
    openOurEditor(post: Post): Promise<boolean>;
    refuse(post: Post): void;
    /** Said when someone else's encrypted post was opened (an admin may edit others' posts). */
    refuseNotAuthor(post: Post): void;
    /** The channel's method as last known (undefined: not known yet). */
    methodOf(channelId: string): EncryptionMethod | undefined;
    /** Said when a plaintext post of a channel that is (or may be) encrypted was opened. */
    refusePlain(post: Post, known: boolean): void;
}

/** The host's own editor (state.views.posts.editingPost) would send the new text of an
 * encrypted post in clear: close it as soon as it opens, and open ours instead (own posts; only
 * the author can re-encrypt). A plaintext post in a channel that is (or may be) encrypted cannot
 * be edited at all, whoever wrote it: admins may edit others' posts, bots' included. */
export function guardHostEditor(store: {getState(): unknown; dispatch(action: {type: string; data?: unknown}): unknown; subscribe(listener: () => void): () => void}, deps: HostEditorGuardDeps): () => void {
    let handled = '';
    return store.subscribe(() => {
        const state = store.getState() as HostEditingState;
        const editing = state?.views?.posts?.editingPost;
        if (!editing?.show || !editing.postId) {
            handled = '';
            return;
        }
        if (handled === editing.postId) {
            return;
        }
        const post = hostState.post(state, editing.postId);
        if (!post) {
            return;
        }
        if (!isEncryptedPost(post)) {
            // Its new text would go out in clear, with no hook to stop it.
            const method = deps.methodOf(post.channel_id);
            if (method === 'none') {
                return;
            }
            handled = editing.postId;
            store.dispatch({type: 'TOGGLE_EDITING_POST', data: {show: false}});
            deps.refusePlain(post, method === 'p2p' || method === 'channel');
            return;
        }
        handled = editing.postId;
        store.dispatch({type: 'TOGGLE_EDITING_POST', data: {show: false}}); // the host's unsetEditingPost()
        if (post.user_id !== deps.currentUserId()) {
            deps.refuseNotAuthor(post);
            return;
        }
        deps.openOurEditor(post).then((opened) => {
            if (!opened) {
                deps.refuse(post);
            }
        });
    });
}
