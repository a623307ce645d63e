// Admin-side access to the real server for set-up and for checking what it stores:
// REST with the admin token, and SQL through psql with MM_DSN.
import {execFileSync} from 'node:child_process';

import type {MMEnv} from './env';

export class MMAdmin {
    readonly url: string;
    private token: string;

    constructor(readonly env: MMEnv) {
        this.url = (env.MM_SERVICESETTINGS_SITEURL || '').replace(/\/+$/, '');
        this.token = env.MM_ADMIN_TOKEN || '';
        if (!this.url || !this.token) {
            throw new Error('.mattermost/env lacks MM_SERVICESETTINGS_SITEURL or MM_ADMIN_TOKEN');
        }
    }

    async api<T = any>(method: string, path: string, body?: unknown): Promise<T> {
        return bearerJSON<T>(`${this.url}/api/v4${path}`, this.token, method, body);
    }

    /** Fails clearly when the plugin is not installed and running (make deploy). */
    async requirePluginActive(id: string): Promise<void> {
        const statuses = await this.api<Array<{plugin_id: string; state: number; error?: string}>>('GET', '/plugins/statuses');
        const st = statuses.find((s) => s.plugin_id === id);
        if (!st || st.state !== 2) {
            throw new Error(`plugin ${id} is not running on ${this.url} (${st ? `state ${st.state}: ${st.error || ''}` : 'not installed'}); install it with \`make deploy\``);
        }
    }

    user(username: string) {
        return this.api('GET', `/users/username/${encodeURIComponent(username)}`);
    }

    team(name: string) {
        return this.api('GET', `/teams/name/${encodeURIComponent(name)}`);
    }

    /** A new open channel in `teamName` with the given members (fresh per run: no leftover state). */
    async createChannel(teamName: string, prefix: string, usernames: string[]) {
        const team = await this.team(teamName);
        const name = `${prefix}-${Date.now().toString(36)}`;
        const channel = await this.api('POST', '/channels', {team_id: team.id, name, display_name: name, type: 'O'});
        for (const u of usernames) {
            const user = await this.user(u);
            await this.api('POST', `/channels/${channel.id}/members`, {user_id: user.id});
        }
        return channel;
    }

    channelPosts(channelId: string) {
        return this.api('GET', `/channels/${channelId}/posts?per_page=200`);
    }

    patchConfig(patch: unknown) {
        return this.api('PUT', '/config/patch', patch);
    }

    psql(sql: string): string {
        const dsn = this.env.MM_DSN;
        if (!dsn) {
            throw new Error('.mattermost/env lacks MM_DSN');
        }
        return execFileSync('psql', [dsn, '-At', '-F', '\t', '-c', sql], {encoding: 'utf8'});
    }
}

/** One JSON request with a bearer token (a session or personal access token); throws on an error status. */
export async function bearerJSON<T = any>(url: string, token: string, method: string, body?: unknown): Promise<T> {
    const res = await fetch(url, {
        method,
        headers: {Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', 'X-Requested-With': 'XMLHttpRequest'},
        body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) {
        throw new Error(`${method} ${new URL(url).pathname}: ${res.status} ${text}`);
    }
    return (text ? JSON.parse(text) : null) as T;
}
