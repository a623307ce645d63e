// The host UI: login, channel view (posts, post-type components, post menu, host edit),
// composer (hooks, then createPost / executeCommand), thread RHS, header buttons, Root components.
import React, {useCallback, useEffect, useMemo, useState} from 'react';
import {useSelector} from 'react-redux';
import type {Store} from 'redux';

import {Client4} from 'mattermost-redux/client';
import {getClientConfig} from 'mattermost-redux/actions/general';
import {receivedNewPost, receivedPost, getPosts, getPostThread} from 'mattermost-redux/actions/posts';
import {getChannelByNameAndTeamName, getMyChannelMember, selectChannel} from 'mattermost-redux/actions/channels';
import {getMyTeams, selectTeam} from 'mattermost-redux/actions/teams';
import {getProfilesByIds} from 'mattermost-redux/actions/users';
import {FileTypes, UserTypes} from 'mattermost-redux/action_types';
import {getMyPreferences} from 'mattermost-redux/actions/preferences';

import {AdminConsolePluginPage, adminConsolePluginId} from './admin_console';
import {runMessageWillBePostedHooks, runSlashCommandWillBePostedHooks} from './hooks';
import {initializePlugins} from './plugins';
import {CHANGED_SELECTED_THREAD, HOST_RHS_THREAD, SELECT_STATIC_PAGE, type Registered} from './plugins_state';
import {PostUtils} from './post_utils';
import {notificationListeners, type HostNotification} from './notifications';
import {connectWebSocket} from './websocket';

const theme: Record<string, string> = {
    sidebarBg: '#1e325c', sidebarText: '#ffffff', centerChannelBg: '#ffffff', centerChannelColor: '#3f4350',
    linkColor: '#386fe5', buttonBg: '#1c58d9', buttonColor: '#ffffff', errorTextColor: '#d24b4e',
    mentionHighlightBg: '#ffd470', newMessageSeparator: '#cc8f00', onlineIndicator: '#3db887',
};

type AnyState = any;
const NONE: Registered[] = []; // one empty list, so selectors return a stable value
let wsClient: unknown = null;

class ErrorBoundary extends React.Component<{children: React.ReactNode; name: string}, {error: string | null}> {
    state = {error: null as string | null};
    static getDerivedStateFromError(e: unknown) {
        return {error: String(e)};
    }
    render() {
        if (this.state.error) {
            return <div data-testid='plugin-error' className='plugin-error'>{this.props.name}: {this.state.error}</div>;
        }
        return this.props.children;
    }
}

function renderNode(node: unknown): React.ReactNode {
    if (typeof node === 'function') {
        return React.createElement(node as React.ComponentType);
    }
    return node as React.ReactNode;
}

function parseRoute(): {team: string; channel: string} {
    const m = window.location.hash.match(/^#\/([^/]+)\/channels\/([^/?]+)/);
    return m ? {team: m[1], channel: m[2]} : {team: '', channel: 'town-square'};
}

function Login({onDone}: {onDone: () => void}) {
    const [username, setUsername] = useState('');
    const [password, setPassword] = useState('');
    const [error, setError] = useState('');
    const submit = async (e: React.FormEvent) => {
        e.preventDefault();
        setError('');
        try {
            await Client4.login(username, password);
            onDone();
        } catch (err) {
            setError((err as Error).message);
        }
    };
    return (
        <form data-testid='login-form' className='login' onSubmit={submit}>
            <h2>{'Log in (E2EE test host)'}</h2>
            <input data-testid='login-username' placeholder='username' value={username} onChange={(e) => setUsername(e.target.value)}/>
            <input data-testid='login-password' placeholder='password' type='password' value={password} onChange={(e) => setPassword(e.target.value)}/>
            <button data-testid='login-submit' type='submit'>{'Log in'}</button>
            {error && <div data-testid='login-error' className='error'>{error}</div>}
        </form>
    );
}

// As components/file_upload (checkPluginHooksAndUploadFiles, uploadFiles): files sorted by name go
// through each FilesWillUpload hook synchronously (a returned message is shown as an upload error;
// `result?.files || []` goes on), and `upload` lets a plugin upload later into this composer.
function useFileUpload(store: Store, channelId: string, rootId: string) {
    const [fileInfos, setFileInfos] = useState<any[]>([]);
    const [uploading, setUploading] = useState<string[]>([]);
    const [uploadError, setUploadError] = useState('');
    const uploadFiles = useCallback((files: File[]) => {
        for (const file of files) {
            const clientId = `${Date.now().toString(36)}${Math.random().toString(36).slice(2)}`;
            setUploading((u) => [...u, clientId]);
            const form = new FormData();
            form.append('channel_id', channelId);
            form.append('client_ids', clientId);
            form.append('files', file, file.name);
            Client4.uploadFile(form).then((data: any) => {
                store.dispatch({type: FileTypes.RECEIVED_UPLOAD_FILES, data: data.file_infos, channelId, rootId, clientIds: data.client_ids});
                setFileInfos((f) => [...f, ...data.file_infos]);
            }, (err: Error) => setUploadError(err.message)).finally(() => setUploading((u) => u.filter((id) => id !== clientId)));
        }
    }, [store, channelId, rootId]);
    const choose = (chosen: File[]) => {
        setUploadError('');
        let sorted: File[] = [...chosen].sort((a, b) => a.name.localeCompare(b.name));
        const hooks: Registered[] = store.getState().plugins.components.FilesWillUploadHook || [];
        for (const h of hooks) {
            const result = (h.hook as (f: File[], u: (f: File[]) => void) => {message?: string; files?: File[] | null})(sorted, uploadFiles);
            if (result?.message) {
                setUploadError(result.message);
            }
            sorted = result?.files || [];
        }
        if (sorted.length) {
            uploadFiles(sorted);
        }
    };
    const clear = () => setFileInfos([]);
    const remove = (id: string) => setFileInfos((f) => f.filter((x) => x.id !== id));
    return {fileInfos, uploading, uploadError, choose, clear, remove};
}

// As the web app's draft code: drafts go to the server only when the server allows synced
// drafts (client config AllowSyncedDrafts) and the user's preference advanced_settings/sync_drafts
// is not "false"; the check is made at each save, so a changed preference applies at once.
export const DRAFT_SAVE_DELAY_MS = 500;

function draftSyncEnabled(state: AnyState): boolean {
    const pref = state.entities.preferences?.myPreferences?.['advanced_settings--sync_drafts'];
    return state.entities.general.config.AllowSyncedDrafts === 'true' && pref?.value !== 'false';
}

function useDraftSync(store: Store, channelId: string, rootId: string, text: string) {
    useEffect(() => {
        const timer = setTimeout(() => {
            const state: AnyState = store.getState();
            if (!draftSyncEnabled(state)) {
                return;
            }
            const save = text.trim() ?
                Client4.upsertDraft({user_id: state.entities.users.currentUserId, channel_id: channelId, root_id: rootId, message: text,
                    props: {}, file_ids: [], create_at: 0, update_at: 0, delete_at: 0} as any, '') :
                Client4.deleteDraft(channelId, rootId, '');
            save.catch((e: Error) => console.warn('draft sync failed', e.message)); // eslint-disable-line no-console
        }, DRAFT_SAVE_DELAY_MS);
        return () => clearTimeout(timer);
    }, [store, channelId, rootId, text]);
}

type ChooseRef = React.MutableRefObject<((files: File[]) => void) | null>;

// As file_upload's drag and drop (dragster on the centre channel, the RHS or the thread pane): files
// dropped anywhere in the area go to that area's composer, through the same hooks as the file input.
function dropArea(choose: ChooseRef) {
    return {
        onDragOver: (e: React.DragEvent) => {
            if (Array.from(e.dataTransfer?.types || []).includes('Files')) {
                e.preventDefault();
            }
        },
        onDrop: (e: React.DragEvent) => {
            const dropped = Array.from(e.dataTransfer?.files || []);
            if (dropped.length && choose.current) {
                e.preventDefault();
                choose.current(dropped);
            }
        },
    };
}

function Composer({store, channelId, rootId, prefix, chooseRef}: {store: Store; channelId: string; rootId: string; prefix: string; chooseRef?: ChooseRef}) {
    const [text, setText] = useState('');
    const [error, setError] = useState('');
    const [busy, setBusy] = useState(false);
    const files = useFileUpload(store, channelId, rootId);
    if (chooseRef) {
        chooseRef.current = files.choose;
    }
    useDraftSync(store, channelId, rootId, text);
    const submit = async () => {
        const message = text;
        // As create_post: nothing is sent while uploads are in progress; files alone may be sent.
        if ((!message.trim() && !files.fileInfos.length) || busy || files.uploading.length) {
            return;
        }
        setError('');
        setBusy(true);
        const state: AnyState = store.getState();
        try {
            if (message.startsWith('/')) {
                const args = {channel_id: channelId, team_id: state.entities.teams.currentTeamId, root_id: rootId};
                const hooked = await runSlashCommandWillBePostedHooks(store, message, args);
                if (hooked.error) {
                    setError(hooked.error.message);
                    return;
                }
                setText('');
                if (!hooked.data || !hooked.data.message) {
                    return; // swallowed by a plugin
                }
                await Client4.executeCommand(hooked.data.message, hooked.data.args as any);
                return;
            }
            const me = state.entities.users.currentUserId;
            const draft = {
                channel_id: channelId, root_id: rootId, message, user_id: me, create_at: 0,
                pending_post_id: `${me}:${Date.now()}`, props: {}, metadata: {}, file_ids: files.fileInfos.map((f) => f.id),
            };
            const hooked = await runMessageWillBePostedHooks(store, draft);
            if (hooked.error) {
                setError(hooked.error.message);
                return;
            }
            if (!hooked.data) {
                setError('A plugin hook returned no post.');
                return;
            }
            setText('');
            files.clear();
            const created = await Client4.createPost(hooked.data as any);
            store.dispatch(receivedNewPost(created, false) as any);
        } catch (err) {
            setError((err as Error).message);
        } finally {
            setBusy(false);
        }
    };
    return (
        <div className='composer' data-testid={`${prefix}composer`}>
            <textarea
                data-testid={`${prefix}composer-input`}
                value={text}
                placeholder={rootId ? 'Reply…' : 'Write a message…'}
                onChange={(e) => setText(e.target.value)}
                onPaste={(e) => {
                    // As file_upload's paste handler: pasted files (a screenshot) are uploaded, the text stays.
                    const pasted = Array.from(e.clipboardData?.files || []);
                    if (pasted.length) {
                        e.preventDefault();
                        files.choose(pasted);
                    }
                }}
                onKeyDown={(e) => {
                    if (e.key === 'Enter' && !e.shiftKey) {
                        e.preventDefault();
                        submit();
                    }
                }}
            />
            <input
                type='file'
                multiple={true}
                data-testid={`${prefix}file-input`}
                onChange={(e) => {
                    files.choose(Array.from(e.target.files || []));
                    e.target.value = '';
                }}
            />
            <button data-testid={`${prefix}composer-send`} disabled={busy} onClick={submit}>{'Send'}</button>
            <div className='composer-files' data-testid={`${prefix}composer-files`} data-uploading={files.uploading.length}>
                {files.fileInfos.map((f) => (
                    <span key={f.id} data-testid={`${prefix}composer-file`} data-file-id={f.id}>
                        {f.name}<button onClick={() => files.remove(f.id)}>{'×'}</button>
                    </span>
                ))}
            </div>
            {files.uploadError && <div data-testid={`${prefix}upload-error`} className='error'>{files.uploadError}</div>}
            {error && <div data-testid={`${prefix}composer-error`} className='error'>{error}</div>}
        </div>
    );
}

function HostEdit({store, post, onClose}: {store: Store; post: any; onClose: () => void}) {
    const [text, setText] = useState(post.message);
    const [error, setError] = useState('');
    // Mattermost ≥10.5 edits with editPost → Client4.patchPost and runs no plugin hook.
    const save = async () => {
        try {
            const updated = await Client4.patchPost({id: post.id, message: text});
            store.dispatch(receivedPost(updated, false) as any);
            onClose();
        } catch (err) {
            setError((err as Error).message);
        }
    };
    return (
        <div className='host-edit' data-testid='host-edit'>
            <textarea data-testid='host-edit-textarea' value={text} onChange={(e) => setText(e.target.value)}/>
            <button data-testid='host-edit-save' onClick={save}>{'Save'}</button>
            <button data-testid='host-edit-cancel' onClick={onClose}>{'Cancel'}</button>
            {error && <div data-testid='host-edit-error' className='error'>{error}</div>}
        </div>
    );
}

function PostView({store, post, isRHS, onReply}: {store: Store; post: any; isRHS: boolean; onReply?: (id: string) => void}) {
    const postTypes = useSelector((s: AnyState) => s.plugins.postTypes);
    const menuActions: Registered[] = useSelector((s: AnyState) => s.plugins.components.PostDropdownMenu || NONE);
    const author = useSelector((s: AnyState) => s.entities.users.profiles[post.user_id]);
    const me = useSelector((s: AnyState) => s.entities.users.currentUserId);
    // As Mattermost's canEditPost: one's own posts, and others' (not system messages) with
    // edit_others_posts, which system admins have.
    const editsOthers = useSelector((s: AnyState) => String(s.entities.users.profiles[s.entities.users.currentUserId]?.roles || '').split(' ').includes('system_admin'));
    const [menuOpen, setMenuOpen] = useState(false);
    const editing = useSelector((s: AnyState) => s.views.posts.editingPost.show && s.views.posts.editingPost.postId === post.id &&
        Boolean(s.views.posts.editingPost.isRHS) === isRHS);
    const setEditing = (show: boolean) => store.dispatch({type: 'TOGGLE_EDITING_POST', data: show ? {postId: post.id, show: true, isRHS} : {show: false}});
    const type = post.props && typeof post.props.type === 'string' ? post.props.type : post.type;
    const pluginType = postTypes[type];
    const ephemeral = post.type === 'system_ephemeral' || post.state === 'EPHEMERAL';
    let body: React.ReactNode;
    if (pluginType) {
        const Component = pluginType.component as React.ComponentType<Record<string, unknown>>;
        body = <ErrorBoundary name={pluginType.pluginId}><Component post={post} isRHS={isRHS} theme={theme} compactDisplay={false}/></ErrorBoundary>;
    } else {
        // As PostMarkdown: the "Edited" marker comes with the text (a plugin's post type gets one
        // only if its component asks PostUtils for it, as in Mattermost).
        body = PostUtils.messageHtmlToComponent(PostUtils.formatText(post.message, {postId: post.id}), {postId: post.id, editedAt: post.edit_at});
    }
    const visibleActions = menuActions.filter((a) => typeof a.filter !== 'function' || (a.filter as (id: string) => boolean)(post.id));
    return (
        <div className={`post${ephemeral ? ' ephemeral' : ''}`} data-testid='post' data-post-id={post.id} data-post-type={post.type} data-root-id={post.root_id || ''}>
            <div className='post-header'>
                <span data-testid='post-author' className='author'>{author ? author.username : (post.user_id.length === 26 ? post.user_id.slice(0, 6) : 'system')}</span>
                {ephemeral && <span className='ephemeral-tag'>{'(only visible to you)'}</span>}
                {post.root_id && !isRHS && <span className='reply-tag'>{'reply'}</span>}
                {!ephemeral && (
                    <span className='post-actions'>
                        {onReply && <button data-testid='post-reply' onClick={() => onReply(post.root_id || post.id)}>{'Reply'}</button>}
                        <button data-testid='post-menu-button' onClick={() => setMenuOpen(!menuOpen)}>{'…'}</button>
                    </span>
                )}
            </div>
            {menuOpen && (
                <div className='post-menu' data-testid='post-menu'>
                    {(post.user_id === me || (editsOthers && !String(post.type || '').startsWith('system_'))) && (
                        <button data-testid='post-menu-host-edit' onClick={() => {
                            setMenuOpen(false);
                            setEditing(true);
                        }}>{'Edit'}</button>
                    )}
                    {visibleActions.map((a) => (
                        <button key={a.id} data-testid='post-menu-action' data-plugin-id={a.pluginId} onClick={() => {
                            setMenuOpen(false);
                            (a.action as (id: string) => void)(post.id);
                        }}>{renderNode(a.text)}</button>
                    ))}
                </div>
            )}
            {/* As post_component: the message and the file list are children of .post__body. */}
            <div className='post__body'>
                <div className='post-body' data-testid='post-body'>{body}</div>
                {Array.isArray(post.file_ids) && post.file_ids.length > 0 && <Attachments post={post}/>}
            </div>
            {editing && <HostEdit store={store} post={post} onClose={() => setEditing(false)}/>}
        </div>
    );
}

// As FileAttachmentList and FilePreviewModal: the post's files by name (metadata.files); a click
// opens the preview, a plugin's registered FilePreview component when its override claims the file.
function Attachments({post}: {post: any}) {
    const previews: Registered[] = useSelector((s: AnyState) => s.plugins.components.FilePreview || NONE);
    const [open, setOpen] = useState<any>(null);
    const infos: any[] = (post.metadata && Array.isArray(post.metadata.files) && post.metadata.files.length) ?
        post.metadata.files : post.file_ids.map((id: string) => ({id, name: id}));
    const plugin = open ? previews.find((p) => (p.override as (f: unknown, p: unknown) => boolean)(open, post)) : undefined;
    const PluginPreview = plugin ? plugin.component as React.ComponentType<Record<string, unknown>> : null;
    return (
        <div className='post-image__columns post-attachments' data-testid='fileAttachmentList'>
            {infos.map((f) => (
                <button key={f.id} data-testid='post-attachment' data-file-id={f.id} onClick={() => setOpen(f)}>{f.name}</button>
            ))}
            {open && (
                <div className='file-preview-modal' data-testid='file-preview-modal'>
                    <button data-testid='file-preview-close' onClick={() => setOpen(null)}>{'×'}</button>
                    {PluginPreview ? (
                        <ErrorBoundary name={plugin!.pluginId}><PluginPreview fileInfo={open} post={post} onModalDismissed={() => setOpen(null)}/></ErrorBoundary>
                    ) : (
                        <div data-testid='host-file-preview'>{open.name}</div>
                    )}
                </div>
            )}
        </div>
    );
}

function usePosts(channelId: string, rootId?: string) {
    const posts = useSelector((s: AnyState) => s.entities.posts.posts);
    return useMemo(() => Object.values(posts as Record<string, any>).
        filter((p) => p.channel_id === channelId && p.delete_at === 0 && (!rootId || p.id === rootId || p.root_id === rootId)).
        sort((a, b) => a.create_at - b.create_at), [posts, channelId, rootId]);
}

function useMissingProfiles(store: Store, posts: any[]) {
    const profiles = useSelector((s: AnyState) => s.entities.users.profiles);
    useEffect(() => {
        const missing = Array.from(new Set(posts.map((p) => p.user_id))).filter((id) => typeof id === 'string' && id.length === 26 && !profiles[id]);
        if (missing.length) {
            store.dispatch(getProfilesByIds(missing) as any);
        }
    }, [posts, profiles, store]);
}

function Thread({store, rootId, onClose}: {store: Store; rootId: string; onClose: () => void}) {
    const root = useSelector((s: AnyState) => s.entities.posts.posts[rootId]);
    const posts = usePosts(root ? root.channel_id : '', rootId);
    useEffect(() => {
        store.dispatch(getPostThread(rootId) as any);
    }, [rootId, store]);
    useMissingProfiles(store, posts);
    const choose: ChooseRef = React.useRef(null);
    return (
        <div className='rhs' data-testid='rhs' {...dropArea(choose)}>
            <div className='rhs-header'>{'Thread'}<button data-testid='rhs-close' onClick={onClose}>{'×'}</button></div>
            <div className='rhs-posts'>{posts.map((p) => <PostView key={p.id} store={store} post={p} isRHS={true}/>)}</div>
            {root && <Composer store={store} channelId={root.channel_id} rootId={rootId} prefix='rhs-' chooseRef={choose}/>}
        </div>
    );
}

// As the Threads view (components/threading/global_threads): one thread in the centre with its own
// reply box; views.lhs.currentStaticPageId is 'threads' and views.threads.selectedThreadIdInTeam
// names the thread. The current channel stays what it was (here, the channel shown before).
function ThreadsView({store, rootId}: {store: Store; rootId: string}) {
    const teamId = useSelector((s: AnyState) => s.entities.teams.currentTeamId);
    const root = useSelector((s: AnyState) => s.entities.posts.posts[rootId]);
    const posts = usePosts(root ? root.channel_id : '', rootId);
    useEffect(() => {
        store.dispatch({type: SELECT_STATIC_PAGE, data: 'threads'});
        store.dispatch({type: CHANGED_SELECTED_THREAD, data: {team_id: teamId, thread_id: rootId}});
        store.dispatch(getPostThread(rootId) as any);
        return () => {
            store.dispatch({type: SELECT_STATIC_PAGE, data: ''});
        };
    }, [rootId, teamId, store]);
    useMissingProfiles(store, posts);
    const choose: ChooseRef = React.useRef(null);
    const roots: Registered[] = useSelector((s: AnyState) => s.plugins.components.Root || NONE);
    return (
        <div className='layout'>
            <div className='center threads-view' data-testid='threads-view' {...dropArea(choose)}>
                <div className='channel-header'>{'Threads'}</div>
                <div className='post-list'>{posts.map((p) => <PostView key={p.id} store={store} post={p} isRHS={false}/>)}</div>
                {root && <Composer store={store} channelId={root.channel_id} rootId={rootId} prefix='threads-' chooseRef={choose}/>}
            </div>
            {roots.map((r) => {
                const Component = r.component as React.ComponentType<Record<string, unknown>>;
                return <ErrorBoundary key={r.id} name={r.pluginId}><Component theme={theme} webSocketClient={wsClient}/></ErrorBoundary>;
            })}
        </div>
    );
}

function Notifications() {
    const [list, setList] = useState<HostNotification[]>([]);
    useEffect(() => {
        const l = (n: HostNotification) => setList((old) => [...old, n]);
        notificationListeners.add(l);
        return () => {
            notificationListeners.delete(l);
        };
    }, []);
    if (!list.length) {
        return null;
    }
    return (
        <div className='notifications' data-testid='host-notifications'>
            {list.map((n, i) => (
                <div key={i} data-testid='host-notification' data-post-id={n.postId} data-title={n.title} data-error={n.error || ''}>
                    <b>{n.title}</b> {n.body}{n.error ? ` (error: ${n.error})` : ''}
                </div>
            ))}
        </div>
    );
}

function ChannelView({store}: {store: Store}) {
    const channelId = useSelector((s: AnyState) => s.entities.channels.currentChannelId);
    const channel = useSelector((s: AnyState) => s.entities.channels.channels[channelId]);
    const member = useSelector((s: AnyState) => s.entities.channels.myMembers[channelId]);
    const me = useSelector((s: AnyState) => s.entities.users.profiles[s.entities.users.currentUserId]);
    const buttons: Registered[] = useSelector((s: AnyState) => s.plugins.components.ChannelHeaderButton || NONE);
    const roots: Registered[] = useSelector((s: AnyState) => s.plugins.components.Root || NONE);
    const [rhsRoot, setRhsRoot] = useState('');
    useEffect(() => {
        store.dispatch({type: HOST_RHS_THREAD, postId: rhsRoot});
    }, [rhsRoot, store]);
    const posts = usePosts(channelId);
    useMissingProfiles(store, posts);
    const listRef = React.useRef<HTMLDivElement>(null);
    const choose: ChooseRef = React.useRef(null);
    useEffect(() => { // newest at the bottom, in view, as the web app keeps it
        listRef.current?.scrollTo({top: listRef.current.scrollHeight});
    }, [posts.length]);
    return (
        <div className='layout'>
            <div className='center' data-testid='center' {...dropArea(choose)}>
                <div className='channel-header' data-testid='channel-header'>
                    <span data-testid='channel-name' className='channel-name'>{channel ? channel.display_name : ''}</span>
                    <span data-testid='host-current-user' className='me'>{me ? `@${me.username}` : ''}</span>
                    <span className='header-buttons' data-testid='channel-header-buttons'>
                        {buttons.map((b) => (
                            <button key={b.id} data-testid='channel-header-button' data-plugin-id={b.pluginId} title={typeof b.tooltipText === 'string' ? b.tooltipText : undefined}
                                onClick={() => (b.action as (c: unknown, m: unknown) => void)(channel, member)}>
                                {renderNode(b.icon)}<span className='dropdown-text'>{renderNode(b.dropdownText)}</span>
                            </button>
                        ))}
                    </span>
                </div>
                <Notifications/>
                <div className='post-list' data-testid='post-list' ref={listRef}>
                    {posts.map((p) => <PostView key={p.id} store={store} post={p} isRHS={false} onReply={setRhsRoot}/>)}
                </div>
                {channelId && <Composer store={store} channelId={channelId} rootId='' prefix='' chooseRef={choose}/>}
            </div>
            {rhsRoot && <Thread store={store} rootId={rhsRoot} onClose={() => setRhsRoot('')}/>}
            {roots.map((r) => {
                const Component = r.component as React.ComponentType<Record<string, unknown>>;
                return <ErrorBoundary key={r.id} name={r.pluginId}><Component theme={theme} webSocketClient={wsClient}/></ErrorBoundary>;
            })}
        </div>
    );
}

export function App({store}: {store: Store}) {
    const [phase, setPhase] = useState<'loading' | 'login' | 'ready' | 'error'>('loading');
    const [error, setError] = useState('');

    const start = useCallback(async () => {
        try {
            const me = await Client4.getMe();
            store.dispatch({type: UserTypes.RECEIVED_ME, data: me});
            await store.dispatch(getClientConfig() as any);
            await store.dispatch(getMyPreferences() as any); // loaded before plugins, as the web app does
            const route = parseRoute();
            const teams = (await store.dispatch(getMyTeams() as any)).data as any[];
            const team = teams.find((t) => t.name === route.team) || teams[0];
            if (!team) {
                throw new Error('you are in no team');
            }
            store.dispatch(selectTeam(team));
            const channel = (await store.dispatch(getChannelByNameAndTeamName(team.name, route.channel) as any)).data;
            if (!channel) {
                throw new Error(`no channel ${route.channel} in team ${team.name}`);
            }
            await store.dispatch(getMyChannelMember(channel.id) as any);
            store.dispatch(selectChannel(channel.id));
            await store.dispatch(getPosts(channel.id) as any);
            wsClient = connectWebSocket(store);
            setPhase('ready');
            await initializePlugins(store);
            document.body.dataset.hostReady = '1';
        } catch (err) {
            setError((err as Error).message);
            setPhase('error');
        }
    }, [store]);

    useEffect(() => {
        (async () => {
            await store.dispatch(getClientConfig() as any);
            try {
                await Client4.getMe();
                start();
            } catch {
                setPhase('login');
            }
        })();
    }, [start, store]);

    if (phase === 'loading') {
        return <div data-testid='host-loading'>{'Loading…'}</div>;
    }
    if (phase === 'login') {
        return <Login onDone={start}/>;
    }
    if (phase === 'error') {
        return <div data-testid='host-error' className='error'>{error}</div>;
    }
    return <Routed store={store}/>;
}

// The channel view, or the System Console page of a plugin (#/admin_console/plugins/plugin_<id>).
function Routed({store}: {store: Store}) {
    const [hash, setHash] = useState(window.location.hash);
    useEffect(() => {
        const onChange = () => setHash(window.location.hash);
        window.addEventListener('hashchange', onChange);
        return () => window.removeEventListener('hashchange', onChange);
    }, []);
    const pluginId = adminConsolePluginId(hash);
    const thread = hash.match(/^#\/[^/]+\/threads\/([a-z0-9]{26})/);
    if (pluginId) {
        return <AdminConsolePluginPage pluginId={pluginId}/>;
    }
    return thread ? <ThreadsView store={store} rootId={thread[1]}/> : <ChannelView store={store}/>;
}
