// Thin client for this plugin's server API (docs/api.md). Requests go through the
// host's session cookie with the CSRF header, as Mattermost's own Client4 does.
import {Client4} from 'mattermost-redux/client';

import type {PublicKeyJSON} from './crypto/types';
import manifest from './manifest';

export type EncryptionMethod = 'none' | 'p2p';

export interface ChannelStatus {
    method: EncryptionMethod;
    members_without_key: string[];
    can_change: boolean;
}

/** One registered key of a user and when it was registered (ms; 0: before history was kept). */
export interface KeyHistoryEntryJSON {
    pubkey: PublicKeyJSON;
    since: number;
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
    Client4.setUrl(siteURL);
}

export function getSiteURL(): string {
    return siteURL;
}

function apiURL(path: string): string {
    return `${siteURL}/plugins/${manifest.id}/api/v1${path}`;
}

async function request<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const options = Client4.getOptions({method, body: body === undefined ? undefined : JSON.stringify(body)});
    const response = await fetch(apiURL(path), options as RequestInit);
    const text = await response.text();
    let data: unknown = null;
    try {
        data = text ? JSON.parse(text) : null;
    } catch {
        // fall through: a non-JSON answer is an error below
    }
    if (!response.ok) {
        const message = (data && typeof data === 'object' && 'error' in data && typeof data.error === 'string') ? data.error : `request failed with status ${response.status}`;
        throw new PluginAPIError(message, response.status);
    }
    return data as T;
}

export const pluginAPI = {
    pushPublicKey(pubkey: PublicKeyJSON, backupGPG?: string): Promise<unknown> {
        return request('POST', '/pubkey/push', backupGPG ? {pubkey, backupGPG} : {pubkey});
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
    async setChannelMethod(channelId: string, method: EncryptionMethod): Promise<EncryptionMethod> {
        const res = await request<{method: EncryptionMethod}>('POST', `/channel/encryption_method?chanID=${encodeURIComponent(channelId)}&method=${method}`);
        return res.method;
    },
    getChannelStatus(channelId: string): Promise<ChannelStatus> {
        return request<ChannelStatus>('GET', `/channel/status?chanID=${encodeURIComponent(channelId)}`);
    },
    async getGPGKeyServer(): Promise<string> {
        const res = await request<{url: string}>('GET', '/gpg/key_server');
        return res.url || '';
    },
};
