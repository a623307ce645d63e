// Everything about messages in the webapp: encrypting posts, showing them, editing them,
// notifications, and the per-channel encryption switch.
import React from 'react';
import type {Store} from 'redux';

import type {Post} from '@mattermost/types/posts';
import type {UserProfile} from '@mattermost/types/users';

import {isEncryptingMethod, pluginAPI, restAPI, type EncryptionMethod, type MethodRequest, type KeyHistoryEntryJSON} from '../client';
import type {PublicKeyJSON} from '../crypto/types';
import {KeyDirectory, KeyHistory, TrustStore, VerifiedStore} from '../directory';
import {createProfileLoader, hostState} from '../host_state';
import manifest from '../manifest';
import type {MyKeys} from '../types/my_keys';
import type {PluginRegistry, SlashCommandArgs, WebSocketMessage} from '../types/registry';

import {defaultCryptoOps, type CryptoOps} from './crypto_ops';
import {DecryptService} from './decrypt_service';
import {EditController, NOT_AUTHOR_EDIT_REFUSED, PLAINTEXT_EDIT_REFUSED, createUpdateHook, fileEntriesJSON, guardHostEditor, makeEditRoot, saveEncryptedEdit} from './edit';
import {ChannelKeyService, type ChannelKeyAPI} from './channel_key';
import {ChannelEncryptor, fetchChannelMembers, type ProfilesClient} from './encryptor';
import {makeHeaderIcon, makeHeaderTooltip, toggleEncryption} from './header_button';
import {createNotificationHook, mentionKeysFor, type NotifyMember, type NotifyUser} from './notifications';
import {createPostedNotifier} from './notify_posted';
import {storeNotices} from './notices';
import {makeEncryptedPost} from './post_component';
import {E2EE_POST_TYPE, isEncryptedPost} from './post_shape';
import {ConfirmController, makeConfirmRoot, type Question} from './confirm';
import {guardDrafts, type DraftGuardDeps} from './drafts';
import {createSendHook} from './send_hook';
import {createSlashCommandGuard} from './slash_guard';
import {PendingFiles, attachEncryptedFiles, createFilesWillUploadHook, fetchFileName, isEncryptedFileName} from './files';
import type {FileEntryJSON} from '../crypto/file_entry';
import {hideHostFileList, makeLazyFilePreview} from './files_lazy';
import {showRealUploadNames} from './upload_names';
import {VerifyController, makeVerifyRoot, parseVerifyCommand} from './verify';
import {ChannelMethods, type ChannelMode, currentChannelId, currentUserId, isEncryptionMethod, reducer, rhsChannelId, threadsViewChannelId, usernameOf, type HostState} from './state';

export const WS_NEW_PUBKEY = `custom_${manifest.id}_newPubkey`;
export const WS_CHANNEL_STATE = `custom_${manifest.id}_channelStateChanged`;
/** A member added copies of an epoch's key for joiners (server: POST /channel/epoch/joiners). */
export const WS_EPOCH_JOINERS = `custom_${manifest.id}_epochJoiners`;
/** The core event: plugin handlers run after the host's own. */
export const WS_POSTED = 'posted';

/** Seams for tests and other hosts: network clients, storage and crypto binding. */
export interface MessageFeatureOptions {
    ops?: CryptoOps;
    storage?: Storage;
    api?: {
        getPublicKeys(userIds: string[]): Promise<Record<string, PublicKeyJSON | null>>;
        /** POST /pubkey/history; without it only keys this browser trusted verify older posts. */
        getKeyHistory?(userIds: string[]): Promise<Record<string, KeyHistoryEntryJSON[]>>;
        getChannelMethod(channelId: string): Promise<EncryptionMethod>;
        /** The method with who turned encryption off; without it no turn-off warning is shown. */
        getChannelMode?(channelId: string): Promise<ChannelMode>;
        setChannelMethod(channelId: string, method: MethodRequest): Promise<EncryptionMethod>;
    } & Partial<ChannelKeyAPI>;
    client?: ProfilesClient & {
        patchPost(patch: {id: string; message: string; props: Record<string, unknown>; file_ids?: string[]}): Promise<Post>;
        uploadFile?(channelId: string, file: File): Promise<string>;
        getUserByUsername?(username: string): Promise<{id: string; username: string}>;
        getProfilesByIds?(userIds: string[]): Promise<UserProfile[]>;
    } & Partial<DraftGuardDeps['rest'] & DirectChannelClient>;
    directoryTtlMs?: number;
    /** Opens the key setup dialog (no key in this browser): header lock, encrypted channel. */
    offerSetup?(): void;
    /** "Replace my key" (/e2ee init --force). */
    replaceKey?(): void;
}

export interface MessageFeatures {
    dispose(): void;
    directory: KeyDirectory;
    history: KeyHistory | null;
    trust: TrustStore;
    decrypt: DecryptService;
    methods: ChannelMethods;
    edit: EditController;
    verified: VerifiedStore;
    verify: VerifyController;
    confirm: ConfirmController;
    drafts: {run(): Promise<void>} | null;
}

interface DirectChannelClient {
    getUsersByUsernames(usernames: string[]): Promise<Array<{id: string; username: string}>>;
    directChannelId(userIds: string[]): Promise<string>;
}

export function registerMessageFeatures(registry: PluginRegistry, store: Store, myKeys: MyKeys, options: MessageFeatureOptions = {}): MessageFeatures {
    const ops = options.ops ?? defaultCryptoOps;
    const api = options.api ?? pluginAPI;
    const client = options.client ?? restAPI;
    const storage = options.storage ?? window.localStorage;

    const state = () => store.getState() as HostState;
    const me = () => currentUserId(state());
    const directory = new KeyDirectory({fetchKeys: (ids) => api.getPublicKeys(ids), importKey: (json) => ops.importPublicKey(json), ttlMs: options.directoryTtlMs});
    const trust = new TrustStore(storage);
    const notices = storeNotices(store);
    const getChannelMode = api.getChannelMode?.bind(api);
    const methods = new ChannelMethods(store, (id) => (getChannelMode ? getChannelMode(id) : api.getChannelMethod(id)));
    const confirm = new ConfirmController();
    const verified = new VerifiedStore(storage, me, (json) => ops.importPublicKey(json));
    const encryptor = new ChannelEncryptor({listMembers: (id) => fetchChannelMembers(client, id), directory, trust, myKeys, ops, notices, verified});
    const getKeyHistory = api.getKeyHistory?.bind(api);
    const history = getKeyHistory ? new KeyHistory({fetchHistory: (ids) => getKeyHistory(ids), importKey: (json) => ops.importPublicKey(json)}) : null;
    const channelKeyAPI = api.epochStatus && api.readEpoch && api.uploadPart && api.commitEpoch && api.addJoiners ? api as ChannelKeyAPI : null;
    const channelKeys = channelKeyAPI ? new ChannelKeyService({
        api: channelKeyAPI, myKeys, directory, trust, listMembers: (id) => fetchChannelMembers(client, id), history: history ?? undefined,
        notify: (channelId, rootId, text) => notices.show(channelId, rootId, text),
    }) : undefined;
    const decrypt = new DecryptService({myKeys, directory, trust, ops, history: history ?? undefined, channelKeys, verified});
    const verify = new VerifyController();
    const edit = new EditController();

    const ids: string[] = [];
    const teardown: Array<() => void> = [];

    registry.registerReducer(reducer);
    // The guards first: if anything below fails, plaintext still cannot leave through these.
    // The page shows real names for our uploads (upload_names.ts), watched from the first one on.
    let stopUploadNames: (() => void) | undefined;
    const pendingFiles = new PendingFiles(() => {
        stopUploadNames = stopUploadNames ?? showRealUploadNames((name) => pendingFiles.displayName(name));
    });
    teardown.push(() => stopUploadNames?.());
    const maxFileSize = () => {
        const v = Number((state() as {entities?: {general?: {config?: {MaxFileSize?: string}}}}).entities?.general?.config?.MaxFileSize);
        return Number.isFinite(v) && v > 0 ? v : undefined;
    };
    const fileNameOf = async (fileId: string): Promise<string | undefined> => {
        const known = (state() as {entities?: {files?: {files?: Record<string, {name?: string} | undefined>}}}).entities?.files?.files?.[fileId]?.name;
        return typeof known === 'string' ? known : fetchFileName(fileId);
    };
    const ask = (q: Question) => confirm.ask(q);
    ids.push(registry.registerMessageWillBePostedHook(createSendHook({methods, encryptor, channelKeys, trust, currentUserId: me, confirm: ask, files: {pending: pendingFiles, nameOf: fileNameOf}})));
    ids.push(registry.registerSlashCommandWillBePostedHook(createSlashCommandGuard({
        methods,
        confirm: ask,
        directChannelId: async (usernames) => {
            if (!client.getUsersByUsernames || !client.directChannelId) {
                throw new Error('no REST client for users and channels');
            }
            const wanted = new Set(usernames.map((u) => u.toLowerCase()));
            const users = (await client.getUsersByUsernames([...wanted])).filter((u) => u.id !== me());
            if (users.length !== [...wanted].filter((u) => u !== usernameOf(state(), me())?.toLowerCase()).length) {
                throw new Error('unknown user');
            }
            return client.directChannelId([me(), ...users.map((u) => u.id)]);
        },
    })));

    const currentUser = () => hostState.currentUser(state()) as NotifyUser | undefined;
    const myMember = (channelId: string) => hostState.myChannelMember(state(), channelId) as NotifyMember | undefined;
    const profileLoader = createProfileLoader(store, (userIds) => (client.getProfilesByIds ?? restAPI.getProfilesByIds)(userIds));
    const openVerify = (userId: string) => verify.open({kind: 'user', userId, username: usernameOf(state(), userId) ?? userId});
    ids.push(registry.registerSlashCommandWillBePostedHook(async (message: string, args: SlashCommandArgs) => {
        const cmd = parseVerifyCommand(message);
        if (cmd === null) {
            return {message, args};
        }
        if ('error' in cmd) {
            return {error: {message: cmd.error}};
        }
        if (cmd.username === null) {
            const channelId = args?.channel_id || currentChannelId(state());
            verify.open({kind: 'list', channelId});
            return {};
        }
        const profiles = hostState.users(state());
        let user = Object.values(profiles).find((p) => p?.username?.toLowerCase() === cmd.username) as {id: string; username?: string} | undefined;
        if (!user && client.getUserByUsername) {
            user = await client.getUserByUsername(cmd.username).catch(() => undefined);
        }
        if (!user) {
            return {error: {message: `No user @${cmd.username}.`}};
        }
        verify.open({kind: 'user', userId: user.id, username: user.username ?? cmd.username});
        return {};
    }));
    ids.push(registry.registerPostTypeComponent(E2EE_POST_TYPE, makeEncryptedPost({
        openVerify,
        decrypt,
        usernameOf: (id) => {
            const name = usernameOf(state(), id);
            if (name === undefined) {
                profileLoader.loadMissing([id]);
            }
            return name;
        },
        mentionKeys: (channelId) => {
            const user = currentUser();
            return user ? mentionKeysFor(user, myMember(channelId)) : [];
        },
    })));


    const editDeps = {
        encryptor,
        channelKeys,
        // Fresh from the server, else the last known state (an edit is ciphertext either way).
        methodOf: (channelId: string) => methods.refresh(channelId, true).catch((err) => {
            const known = methods.get(channelId);
            if (known === undefined) {
                throw err;
            }
            return known;
        }),
        currentUserId: me,
        patchPost: (patch: {id: string; message: string; props: Record<string, unknown>; file_ids?: string[]}) => client.patchPost(patch),
        onSaved: (updated: Post) => {
            store.dispatch({type: 'RECEIVED_POST', data: updated, features: {crtEnabled: false}});
        },
        filesOf: async (post: Post) => {
            const r = await decrypt.decrypt(post);
            return r.status === 'ok' ? r.files : undefined;
        },
    };
    const save = (post: Post, text: string, files?: FileEntryJSON[]) => saveEncryptedEdit(editDeps, post, text, files);
    const uploadFile = client.uploadFile ?? (options.client ? undefined : restAPI.uploadFile);
    const attach = uploadFile ? (channelId: string, files: File[]) => attachEncryptedFiles({upload: uploadFile, maxFileSize}, channelId, files) : undefined;
    ids.push(registry.registerMessageWillBeUpdatedHook(createUpdateHook({...editDeps, methods})));
    ids.push(registry.registerRootComponent(makeEditRoot(edit, save, attach) as React.ComponentType<Record<string, unknown>>));
    ids.push(registry.registerRootComponent(makeVerifyRoot(verify, {
        me,
        myKeys,
        directory,
        trust,
        verified,
        listMembers: (id) => fetchChannelMembers(client, id),
        usernameOf: (id) => usernameOf(state(), id),
        replaceKey: options.replaceKey,
    }) as React.ComponentType<Record<string, unknown>>));
    ids.push(registry.registerRootComponent(makeConfirmRoot(confirm) as React.ComponentType<Record<string, unknown>>));
    const postById = (postId: string) => hostState.post(state(), postId);
    const openOurEditor = async (post: Post) => {
        const result = await decrypt.decrypt(post);
        if (result.status !== 'ok') {
            return false;
        }
        let files: FileEntryJSON[] | undefined;
        try {
            files = fileEntriesJSON(result.files);
        } catch {
            files = undefined; // unreadable entries: the files cannot be changed, an edit keeps them as they are
        }
        edit.open(post, result.text, files);
        return true;
    };
    ids.push(registry.registerPostDropdownMenuAction(
        'Edit encrypted message',
        (postId) => {
            const post = postById(postId);
            if (post) {
                openOurEditor(post);
            }
        },
        (postId) => {
            const post = postById(postId);
            return Boolean(post) && isEncryptedPost(post) && post!.user_id === me() && decrypt.peek(post!)?.status === 'ok';
        },
    ));
    teardown.push(guardHostEditor(store, {
        currentUserId: me,
        openOurEditor,
        refuse: (post) => notices.show(post.channel_id, post.root_id || '', 'This encrypted message cannot be edited here: it could not be decrypted in this browser.'),
        refuseNotAuthor: (post) => notices.show(post.channel_id, post.root_id || '', NOT_AUTHOR_EDIT_REFUSED),
        methodOf: (channelId) => methods.get(channelId),
        refusePlain: (post, known) => {
            if (!known) {
                methods.refresh(post.channel_id).catch(() => undefined);
            }
            notices.show(post.channel_id, post.root_id || '', known ? PLAINTEXT_EDIT_REFUSED : 'Checking whether this channel is encrypted: try editing again in a moment.');
        },
    }));

    ids.push(registry.registerDesktopNotificationHook(createNotificationHook({decrypt, currentUser, myMember})));
    // The mentions the host drops before asking the hook (it saw only the placeholder).
    const notifyPosted = createPostedNotifier({decrypt, getState: () => store.getState(), dispatch: (action) => store.dispatch(action as never)});
    registry.registerWebSocketEventHandler(WS_POSTED, (msg: WebSocketMessage) => notifyPosted(msg).catch(() => undefined));

    const Icon = makeHeaderIcon(store);
    const Tooltip = makeHeaderTooltip(store);
    ids.push(registry.registerChannelHeaderButtonAction(
        <Icon/>,
        async (channel) => {
            // Without a key here, the lock opens the setup dialog instead (design §11.5).
            if (options.offerSetup && !(await myKeys.get().catch(() => null))) {
                options.offerSetup();
                return;
            }
            toggleEncryption({methods, setMethod: (id, m) => api.setChannelMethod(id, m), notices}, channel.id);
        },
        'Toggle encryption',
        <Tooltip/>,
    ));

    // Files in encrypted channels are encrypted here before the host uploads them (design §15).
    // The hook is not told where the files go: the centre channel, or the thread open on the right.
    if (registry.registerFilesWillUploadHook) {
        ids.push(registry.registerFilesWillUploadHook(createFilesWillUploadHook({
            pending: pendingFiles,
            // The Threads view shows one thread (with its reply box) instead of the centre channel.
            candidateChannels: () => {
                const threads = threadsViewChannelId(state());
                return threads === null ? [currentChannelId(state()), rhsChannelId(state())] : [threads]; // '': not known yet
            },
            methodOf: (id) => {
                const m = methods.get(id);
                return m === undefined ? undefined : isEncryptingMethod(m) ? 'p2p' : 'none'; // p2p or channel key: encrypt
            },
            refresh: (id) => {
                methods.refresh(id).catch(() => undefined);
            },
            report: (channelIds, message) => channelIds.forEach((id) => notices.show(id, '', message)),
            maxFileSize,
        })));
    }
    teardown.push(hideHostFileList());
    if (registry.registerFilePreviewComponent) {
        ids.push(registry.registerFilePreviewComponent(
            (fileInfo, post) => isEncryptedPost(post) && isEncryptedFileName(fileInfo?.name),
            makeLazyFilePreview(decrypt),
        ));
    }

    registry.registerWebSocketEventHandler(WS_CHANNEL_STATE, (msg: WebSocketMessage) => {
        const {chanID, method} = (msg?.data ?? {}) as {chanID?: unknown; method?: unknown};
        if (typeof chanID === 'string' && chanID && isEncryptionMethod(method)) {
            methods.set(chanID, method);
        }
    });
    registry.registerWebSocketEventHandler(WS_NEW_PUBKEY, (msg: WebSocketMessage) => {
        const userID = (msg?.data as {userID?: unknown} | undefined)?.userID;
        if (typeof userID === 'string' && userID) {
            history?.invalidate(userID);
            directory.invalidate(userID);
        }
    });
    registry.registerWebSocketEventHandler(WS_EPOCH_JOINERS, (msg: WebSocketMessage) => {
        const {chanID, epoch} = (msg?.data ?? {}) as {chanID?: unknown; epoch?: unknown};
        if (typeof chanID === 'string' && chanID && typeof epoch === 'number') {
            decrypt.channelKeyArrived(chanID, epoch); // posts still waiting for that key ask again
        }
    });
    registry.registerReconnectHandler(() => {
        // Events may have been missed while disconnected.
        history?.invalidate();
        directory.invalidate();
        decrypt.channelKeyArrived();
        const current = currentChannelId(state());
        methods.clear(current);
        if (current) {
            methods.refresh(current).catch(() => undefined);
        }
    });

    teardown.push(methods.watchCurrentChannel());
    if (options.offerSetup) {
        // Opening an encrypted channel without a key here offers the setup dialog, once a page load.
        let offered = false;
        const offerSetup = options.offerSetup;
        const check = () => {
            const channelId = currentChannelId(state());
            if (offered || !channelId || !isEncryptingMethod(methods.get(channelId))) {
                return;
            }
            offered = true;
            myKeys.get().then((k) => {
                if (!k) {
                    offerSetup();
                }
            }, () => undefined);
        };
        teardown.push(store.subscribe(check));
        check();
    }

    let drafts: ReturnType<typeof guardDrafts> | null = null;
    if (client.savePreferences && client.getDrafts && client.deleteDraft) {
        drafts = guardDrafts({
            myKeys,
            getState: () => store.getState(),
            dispatch: (action) => store.dispatch(action as never),
            rest: {savePreferences: client.savePreferences.bind(client), getDrafts: client.getDrafts.bind(client), deleteDraft: client.deleteDraft.bind(client)},
            methodOf: (id) => methods.refresh(id),
            inEncryptedChannel: () => {
                const id = currentChannelId(state());
                return Boolean(id) && isEncryptingMethod(methods.get(id));
            },
            notify: (text) => {
                const channelId = currentChannelId(state());
                if (channelId) {
                    notices.show(channelId, '', text);
                }
            },
        }, (listener) => store.subscribe(listener));
        const d = drafts;
        teardown.push(() => d.dispose());
    }

    return {
        directory,
        history,
        trust,
        decrypt,
        methods,
        edit,
        verified,
        verify,
        confirm,
        drafts,
        dispose() {
            for (const undo of teardown.splice(0)) {
                undo();
            }
            for (const id of ids.splice(0)) {
                registry.unregisterComponent(id);
            }
            registry.unregisterWebSocketEventHandler?.(WS_CHANNEL_STATE);
            registry.unregisterWebSocketEventHandler?.(WS_NEW_PUBKEY);
            registry.unregisterWebSocketEventHandler?.(WS_EPOCH_JOINERS);
            registry.unregisterWebSocketEventHandler?.(WS_POSTED);
            registry.unregisterReconnectHandler?.();
            decrypt.dispose();
            edit.close();
            confirm.close();
        },
    };
}
