/// <reference types="node" />
// mm-e2ee export-bundle: saves, while the server is up and with the user's own session, what a
// Mattermost bulk export leaves out and decrypt-export needs to verify posts: the IDs behind the
// export's names, thread roots, public key histories and epoch records (docs/design.md §15.8).
import * as fs from 'fs';

import manifest from '../manifest';

export const BUNDLE_FORMAT = 'org.mme2ee.export-bundle/1';

export const BUNDLE_USAGE = `  mm-e2ee export-bundle --url SITE_URL --token-file FILE --out BUNDLE.json
                                                   save the IDs, keys and epoch records decrypt-export needs
                                                   (FILE holds your session or personal access token)`;

export class BundleUsageError extends Error {}

/** A failure talking to the server (exit 1). */
export class BundleFetchError extends Error {}

export interface BundleKey {
    pubkey: {sign: string; encr: string};
    since: number;
}

export interface BundleChannel {
    type: string; // O, P, D, G
    team: string; // team name; "" for D and G
    name: string;
    members?: string[]; // D and G: the members' usernames, sorted, each once
}

export interface BundleEpoch {
    header: unknown;
    part: number;
    wraps?: unknown;
    joiner?: unknown;
}

export interface Bundle {
    format: string;
    site: string;
    createdAt: number;
    userId: string;
    users: Record<string, {username: string; keys: BundleKey[]}>;
    channels: Record<string, BundleChannel>;
    roots: Record<string, Array<[string, number, string]>>;
    epochs: Record<string, Record<string, BundleEpoch>>;
}

interface Post {
    id: string;
    user_id: string;
    root_id: string;
    create_at: number;
    props?: {e2ee?: {version?: unknown; epoch?: unknown}};
}

type Fetch = typeof fetch;

class Api {
    constructor(private site: string, private token: string, private doFetch: Fetch) {}

    async get<T>(path: string, body?: unknown): Promise<{status: number; json: T}> {
        const url = this.site + path;
        let resp: Response;
        try {
            resp = await this.doFetch(url, {
                method: body === undefined ? 'GET' : 'POST',
                headers: {Authorization: `Bearer ${this.token}`, 'Content-Type': 'application/json', 'X-Requested-With': 'XMLHttpRequest'},
                body: body === undefined ? undefined : JSON.stringify(body),
            });
        } catch (e) {
            throw new BundleFetchError(`cannot reach ${this.site}: ${(e as Error).message}`);
        }
        const text = await resp.text();
        let json: T;
        try {
            json = JSON.parse(text) as T;
        } catch {
            throw new BundleFetchError(`${path.split('?')[0]}: HTTP ${resp.status}, not JSON`);
        }
        return {status: resp.status, json};
    }

    async ok<T>(path: string, body?: unknown): Promise<T> {
        const r = await this.get<T>(path, body);
        if (r.status !== 200) {
            throw new BundleFetchError(`${path.split('?')[0]}: HTTP ${r.status}`);
        }
        return r.json;
    }
}

const PLUGIN = `/plugins/${manifest.id}/api/v1`;

/** Fetches the bundle for the token's user; only reads, never writes to the server. */
export async function fetchBundle(site: string, token: string, doFetch: Fetch = fetch, now = Date.now()): Promise<Bundle> {
    site = site.replace(/\/+$/, '');
    const api = new Api(site, token, doFetch);
    const me = await api.ok<{id: string}>('/api/v4/users/me');
    const teams = await api.ok<Array<{id: string; name: string}>>('/api/v4/users/me/teams');
    const teamName = new Map(teams.map((t) => [t.id, t.name]));
    const chans = await api.ok<Array<{id: string; type: string; team_id: string; name: string}>>('/api/v4/users/me/channels?include_deleted=true');

    const bundle: Bundle = {format: BUNDLE_FORMAT, site, createdAt: now, userId: me.id, users: {}, channels: {}, roots: {}, epochs: {}};
    const userIds = new Set<string>([me.id]);
    const groupMembers = new Map<string, string[]>();
    for (const c of chans) {
        bundle.channels[c.id] = {type: c.type, team: teamName.get(c.team_id) ?? '', name: c.name};
        if (c.type === 'D' || c.type === 'G') {
            const ids: string[] = [];
            for (let page = 0; ; page++) {
                const members = await api.ok<Array<{user_id: string}>>(`/api/v4/channels/${c.id}/members?page=${page}&per_page=200`);
                ids.push(...members.map((m) => m.user_id));
                if (members.length < 200) {
                    break;
                }
            }
            ids.forEach((id) => userIds.add(id));
            groupMembers.set(c.id, ids);
        }

        // Every post of the channel: the encrypted ones name their senders and epochs; the roots
        // give replies their thread root ID.
        const posts = new Map<string, Post>();
        for (let page = 0; ; page++) {
            const list = await api.ok<{order: string[]; posts: Record<string, Post>}>(`/api/v4/channels/${c.id}/posts?page=${page}&per_page=200`);
            for (const id of list.order) {
                posts.set(id, list.posts[id]);
            }
            if (list.order.length < 200) {
                break;
            }
        }
        const encrypted = [...posts.values()].filter((p) => p.props?.e2ee && typeof p.props.e2ee === 'object');
        if (encrypted.length === 0) {
            continue;
        }
        const roots: Array<[string, number, string]> = [];
        for (const p of posts.values()) {
            if (!p.root_id) {
                roots.push([p.id, p.create_at, p.user_id]);
                userIds.add(p.user_id);
            }
        }
        roots.sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1));
        bundle.roots[c.id] = roots;
        const epochs = new Set<number>();
        for (const p of encrypted) {
            userIds.add(p.user_id);
            const e = p.props?.e2ee;
            if (e?.version === 3 && Number.isSafeInteger(e.epoch)) {
                epochs.add(e.epoch as number);
            }
        }
        for (const n of [...epochs].sort((a, b) => a - b)) {
            const r = await api.get<{header: {creatorId?: string}; part: number; wraps?: unknown; joiner?: {adderId?: string}}>(
                `${PLUGIN}/channel/epoch?chanID=${c.id}&epoch=${n}`);
            if (r.status !== 200) {
                continue; // no such record: its posts are reported as "no copy of the channel key"
            }
            const rec: BundleEpoch = {header: r.json.header, part: r.json.part};
            if (r.json.part >= 0) {
                rec.wraps = r.json.wraps;
            } else if (r.json.joiner) {
                rec.joiner = r.json.joiner;
                if (typeof r.json.joiner.adderId === 'string') {
                    userIds.add(r.json.joiner.adderId);
                }
            }
            if (typeof r.json.header?.creatorId === 'string') {
                userIds.add(r.json.header.creatorId);
            }
            (bundle.epochs[c.id] ??= {})[String(n)] = rec;
        }
    }

    const ids = [...userIds].sort();
    const names = new Map<string, string>();
    for (let i = 0; i < ids.length; i += 200) {
        const users = await api.ok<Array<{id: string; username: string}>>('/api/v4/users/ids', ids.slice(i, i + 200));
        users.forEach((u) => names.set(u.id, u.username));
        const h = await api.ok<{history: Record<string, BundleKey[]>}>(`${PLUGIN}/pubkey/history`, {userIds: ids.slice(i, i + 200)});
        for (const id of ids.slice(i, i + 200)) {
            const username = names.get(id);
            if (username !== undefined) {
                bundle.users[id] = {username, keys: h.history?.[id] ?? []};
            }
        }
    }
    for (const [id, members] of groupMembers) {
        bundle.channels[id].members = [...new Set(members.map((m) => names.get(m) ?? m))].sort();
    }
    return bundle;
}

function flagsOf(args: string[]): Map<string, string> {
    const out = new Map<string, string>();
    for (let i = 0; i < args.length; i++) {
        const a = args[i];
        const m = /^--(url|token-file|out)(?:=(.*))?$/.exec(a);
        if (!m) {
            throw new BundleUsageError(`unexpected argument ${a}`);
        }
        const value = m[2] ?? args[++i];
        if (!value) {
            throw new BundleUsageError(`--${m[1]} needs a value`);
        }
        if (out.has(m[1])) {
            throw new BundleUsageError(`--${m[1]} given twice`);
        }
        out.set(m[1], value);
    }
    for (const name of ['url', 'token-file', 'out']) {
        if (!out.has(name)) {
            throw new BundleUsageError(`--${name} is required`);
        }
    }
    return out;
}

export async function runExportBundle(args: string[]): Promise<void> {
    const f = flagsOf(args);
    let token: string;
    try {
        token = fs.readFileSync(f.get('token-file') as string, 'utf8').trim();
    } catch (e) {
        throw new BundleUsageError(`cannot read ${f.get('token-file')}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
    const url = f.get('url') as string;
    if (!/^https?:\/\/[^/]/.test(url)) {
        throw new BundleUsageError('--url must start with http:// or https://');
    }
    const bundle = await fetchBundle(url, token);
    const out = f.get('out') as string;
    const tmp = `${out}.partial-${process.pid}`;
    fs.writeFileSync(tmp, JSON.stringify(bundle) + '\n', {mode: 0o600});
    fs.renameSync(tmp, out);
    const nRoots = Object.values(bundle.roots).reduce((n, r) => n + r.length, 0);
    const nEpochs = Object.values(bundle.epochs).reduce((n, r) => n + Object.keys(r).length, 0);
    process.stderr.write(`mm-e2ee: saved ${Object.keys(bundle.channels).length} channels, ${Object.keys(bundle.users).length} users, ` +
        `${nRoots} thread roots and ${nEpochs} epoch records to ${out}\n`);
}
