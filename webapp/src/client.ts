// Thin client for this plugin's server API (docs/api.md) and the two Mattermost REST calls
// the plugin makes. Requests carry the host's session cookie and, for writes, the CSRF token,
// as Mattermost's own web client does. (Not mattermost-redux's Client4 or its actions: they would
// make main.js 1.45 MB, for four calls; docs/design.md §2.2.)
import type {Post} from '@mattermost/types/posts';
import type {UserProfile} from '@mattermost/types/users';

import type {PublicKeyJSON} from './crypto/types';
import manifest from './manifest';

export type EncryptionMethod = 'none' | 'p2p' | 'channel';
/** What a client may ask for: `auto` lets the server choose the mode (as `/e2ee start` does). */
export type MethodRequest = EncryptionMethod | 'auto';

/** Whether a method encrypts (P2P or channel-key mode). */
export function isEncryptingMethod(m: unknown): boolean {
    return m === 'p2p' || m === 'channel';
}

/** Who last turned a channel's encryption off (only for a channel that is not encrypted). */
export interface TurnedOffJSON {
    user_id: string;
    username?: string;
    at: number;
}

export interface ChannelStatus {
    method: EncryptionMethod;
    members_without_key: string[];
    can_change: boolean;
    turned_off?: TurnedOffJSON;
}

/** One draft as the server stores it (GET /api/v4/users/{id}/teams/{team_id}/drafts). */
export interface DraftJSON {
    channel_id: string;
    root_id: string;
    message: string;
}

export interface PreferenceJSON {
    user_id: string;
    category: string;
    name: string;
    value: string;
}

/** One registered key of a user and when it was registered (ms; 0: before history was kept). */
export interface KeyHistoryEntryJSON {
    pubkey: PublicKeyJSON;
    since: number;
}

/** GET /admin/stats (docs/api.md): the admin view's figures. */
export interface AdminStats {
    active_users: number;
    active_users_with_key: number;
    key_share: number;
    approximate: boolean;
    encrypted_channels: Record<string, number>;
    encrypted_direct: number;
    keys_last_30_days: number;
    synced_drafts: boolean;
    policy: {auto_encrypt_direct: string; auto_encrypt_private_channels: string; require_encryption: boolean};
    config_error: string;
    counted_since: number;
}

export class PluginAPIError extends Error {
    constructor(message: string, readonly status: number) {
        super(message);
        this.name = 'PluginAPIError';
    }
}

let siteURL = '';

/** Set once at initialize from the host's config (subpath included). */
export function setSiteURL(url: string): void {
    siteURL = url.replace(/\/+$/, '');
}

export function getSiteURL(): string {
    return siteURL;
}

function apiURL(path: string): string {
    return `${siteURL}/plugins/${manifest.id}/api/v1${path}`;
}

/** The CSRF token the server set in the MMCSRF cookie; writes must echo it. */
function csrfToken(): string {
    const match = /(?:^|;\s*)MMCSRF=([^;]*)/.exec(typeof document === 'undefined' ? '' : document.cookie);
    return match ? decodeURIComponent(match[1]) : '';
}

async function fetchJSON<T>(url: string, method: 'GET' | 'POST' | 'PUT' | 'DELETE', body: unknown, errorOf: (data: unknown) => unknown): Promise<T> {
    const headers: Record<string, string> = {'X-Requested-With': 'XMLHttpRequest'};
    if (body !== undefined) {
        headers['Content-Type'] = 'application/json';
    }
    const csrf = method === 'GET' ? '' : csrfToken();
    if (csrf) {
        headers['X-CSRF-Token'] = csrf;
    }
    const response = await fetch(url, {method, headers, credentials: 'include', body: body === undefined ? undefined : JSON.stringify(body)});
    const text = await response.text();
    let data: unknown = null;
    try {
        data = text ? JSON.parse(text) : null;
    } catch {
        // fall through: a non-JSON answer is an error below
    }
    if (!response.ok) {
        const message = errorOf(data);
        throw new PluginAPIError(typeof message === 'string' && message ? message : `request failed with status ${response.status}`, response.status);
    }
    return data as T;
}

const field = (name: string) => (data: unknown) => (data && typeof data === 'object' ? (data as Record<string, unknown>)[name] : undefined);

// Our API answers errors as {error}; Mattermost's REST API as {message, id, ...}.
function request<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    return fetchJSON<T>(apiURL(path), method, body, field('error'));
}

export const restAPI = {
    /** GET /api/v4/users?in_channel=… (one page of a channel's members). */
    getProfilesInChannel(channelId: string, page = 0, perPage = 60, sort = '', options: {active?: boolean} = {}): Promise<UserProfile[]> {
        const query = new URLSearchParams({in_channel: channelId, page: String(page), per_page: String(perPage)});
        if (sort) {
            query.set('sort', sort);
        }
        if (options.active !== undefined) {
            query.set('active', String(options.active));
        }
        return fetchJSON<UserProfile[]>(`${siteURL}/api/v4/users?${query}`, 'GET', undefined, field('message'));
    },
    /** POST /api/v4/users/ids (what Client4.getProfilesByIds calls). */
    getProfilesByIds(userIds: string[]): Promise<UserProfile[]> {
        return fetchJSON<UserProfile[]>(`${siteURL}/api/v4/users/ids`, 'POST', userIds, field('message'));
    },
    /** POST /api/v4/users/usernames: the users with these names (unknown names are left out). */
    getUsersByUsernames(usernames: string[]): Promise<UserProfile[]> {
        return fetchJSON<UserProfile[]>(`${siteURL}/api/v4/users/usernames`, 'POST', usernames, field('message'));
    },
    /** POST /api/v4/channels/direct or /group: the conversation of these users (made if missing, as /msg does). */
    async directChannelId(userIds: string[]): Promise<string> {
        const route = userIds.length === 2 ? 'direct' : 'group';
        const channel = await fetchJSON<{id: string}>(`${siteURL}/api/v4/channels/${route}`, 'POST', userIds, field('message'));
        return channel.id;
    },
    /** PUT /api/v4/users/{id}/preferences. */
    savePreferences(userId: string, preferences: PreferenceJSON[]): Promise<unknown> {
        return fetchJSON(`${siteURL}/api/v4/users/${encodeURIComponent(userId)}/preferences`, 'PUT', preferences, field('message'));
    },
    /** GET /api/v4/users/me/teams/{team_id}/drafts (501 while the server keeps no drafts). */
    getDrafts(teamId: string): Promise<DraftJSON[]> {
        return fetchJSON<DraftJSON[]>(`${siteURL}/api/v4/users/me/teams/${encodeURIComponent(teamId)}/drafts`, 'GET', undefined, field('message'));
    },
    /** DELETE /api/v4/users/me/channels/{channel_id}/drafts[/{root_id}]. */
    deleteDraft(channelId: string, rootId: string): Promise<unknown> {
        const thread = rootId ? `/${encodeURIComponent(rootId)}` : '';
        return fetchJSON(`${siteURL}/api/v4/users/me/channels/${encodeURIComponent(channelId)}/drafts${thread}`, 'DELETE', undefined, field('message'));
    },
    /** GET /api/v4/users/username/{username} */
    getUserByUsername(username: string): Promise<UserProfile> {
        return fetchJSON<UserProfile>(`${siteURL}/api/v4/users/username/${encodeURIComponent(username)}`, 'GET', undefined, field('message'));
    },
    /** PUT /api/v4/posts/{id}/patch: the edit is saved and shown as edited. */
    patchPost(patch: {id: string; message: string; props: Record<string, unknown>; file_ids?: string[]}): Promise<Post> {
        return fetchJSON<Post>(`${siteURL}/api/v4/posts/${encodeURIComponent(patch.id)}/patch`, 'PUT', patch, field('message'));
    },
    /** POST /api/v4/files: uploads one file into a channel (multipart, as the host does); its file ID. */
    async uploadFile(channelId: string, file: File): Promise<string> {
        const form = new FormData();
        form.append('channel_id', channelId);
        form.append('files', file, file.name);
        const headers: Record<string, string> = {'X-Requested-With': 'XMLHttpRequest'};
        const csrf = csrfToken();
        if (csrf) {
            headers['X-CSRF-Token'] = csrf;
        }
        const res = await fetch(`${siteURL}/api/v4/files`, {method: 'POST', headers, credentials: 'include', body: form});
        const data = await res.json().catch(() => null) as {file_infos?: Array<{id?: unknown}>; message?: unknown} | null;
        const id = data?.file_infos?.[0]?.id;
        if (!res.ok || typeof id !== 'string') {
            throw new PluginAPIError(typeof data?.message === 'string' && data.message ? data.message : `upload failed with status ${res.status}`, res.status);
        }
        return id;
    },
};

export const pluginAPI = {
    /** A single-use nonce (5 minutes) for the next push's proof of possession. */
    async getPushNonce(): Promise<string> {
        const res = await request<{nonce: string}>('GET', '/pubkey/nonce');
        if (!res || typeof res.nonce !== 'string' || !res.nonce) {
            throw new PluginAPIError('the server answered no nonce', 500);
        }
        return res.nonce;
    },
    /** Registers pubkey; `sign(nonce)` proves possession of its private sign key (docs/api.md).
     * Each call fetches a fresh nonce: one is used up by every push, accepted or not. */
    async pushPublicKey(pubkey: PublicKeyJSON, sign: (nonce: string) => Promise<string>, backupGPG?: string): Promise<unknown> {
        const proof = await sign(await pluginAPI.getPushNonce());
        return request('POST', '/pubkey/push', backupGPG ? {pubkey, backupGPG, proof} : {pubkey, proof});
    },
    async getPublicKeys(userIds: string[]): Promise<Record<string, PublicKeyJSON | null>> {
        const out: Record<string, PublicKeyJSON | null> = {};
        for (let i = 0; i < userIds.length; i += 1000) { // the server takes at most 1000 IDs a request
            const res = await request<{pubKeys: Record<string, PublicKeyJSON | null>}>('POST', '/pubkey/get', {userIds: userIds.slice(i, i + 1000)});
            Object.assign(out, res.pubKeys);
        }
        return out;
    },
    /** Every key each user registered, oldest first (docs/api.md: at most 200 IDs a request). */
    async getKeyHistory(userIds: string[]): Promise<Record<string, KeyHistoryEntryJSON[]>> {
        const out: Record<string, KeyHistoryEntryJSON[]> = {};
        for (let i = 0; i < userIds.length; i += 200) {
            const res = await request<{history: Record<string, KeyHistoryEntryJSON[]>}>('POST', '/pubkey/history', {userIds: userIds.slice(i, i + 200)});
            Object.assign(out, res.history);
        }
        return out;
    },
    async getChannelMethod(channelId: string): Promise<EncryptionMethod> {
        const res = await request<{method: EncryptionMethod}>('GET', `/channel/encryption_method?chanID=${encodeURIComponent(channelId)}`);
        return res.method;
    },
    /** The method, and for an unencrypted channel who turned encryption off (if recorded). */
    getChannelMode(channelId: string): Promise<{method: EncryptionMethod; turned_off?: TurnedOffJSON}> {
        return request('GET', `/channel/encryption_method?chanID=${encodeURIComponent(channelId)}`);
    },
    async setChannelMethod(channelId: string, method: MethodRequest): Promise<EncryptionMethod> {
        const res = await request<{method: EncryptionMethod}>('POST', `/channel/encryption_method?chanID=${encodeURIComponent(channelId)}&method=${method}`);
        return res.method;
    },
    getChannelStatus(channelId: string): Promise<ChannelStatus> {
        return request<ChannelStatus>('GET', `/channel/status?chanID=${encodeURIComponent(channelId)}`);
    },
    epochStatus(channelId: string, epoch?: number): Promise<import('./messages/channel_key').EpochStatusJSON> {
        return request('GET', `/channel/epoch/status?chanID=${encodeURIComponent(channelId)}${epoch ? `&epoch=${epoch}` : ''}`);
    },
    readEpoch(channelId: string, epoch: number): Promise<import('./messages/channel_key').EpochReadJSON> {
        return request('GET', `/channel/epoch?chanID=${encodeURIComponent(channelId)}&epoch=${epoch}`);
    },
    uploadPart(channelId: string, epoch: number, tag: string, part: number, wraps: unknown): Promise<unknown> {
        return request('POST', `/channel/epoch/part?chanID=${encodeURIComponent(channelId)}&epoch=${epoch}&tag=${tag}&part=${part}`, wraps);
    },
    commitEpoch(channelId: string, header: unknown): Promise<{epoch: number}> {
        return request('POST', `/channel/epoch?chanID=${encodeURIComponent(channelId)}`, header);
    },
    addJoiners(channelId: string, set: unknown): Promise<unknown> {
        return request('POST', `/channel/epoch/joiners?chanID=${encodeURIComponent(channelId)}`, set);
    },
    /** System admins only. recount: rebuild the counters from the server's data first. */
    getAdminStats(recount = false): Promise<AdminStats> {
        return recount ? request<AdminStats>('POST', '/admin/stats/recount') : request<AdminStats>('GET', '/admin/stats');
    },
    async getGPGKeyServer(): Promise<string> {
        const res = await request<{url: string}>('GET', '/gpg/key_server');
        return res.url || '';
    },
};
