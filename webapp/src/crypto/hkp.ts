// Minimal HKP client (draft-gallagher-openpgp-hkp): key search in machine-readable form and key fetch.
import {KeyServerError} from './errors';

export type FetchLike = (url: string, init?: {method?: string; headers?: Record<string, string>}) => Promise<{
    ok: boolean;
    status: number;
    text(): Promise<string>;
}>;

export interface HKPKey {
    keyId: string; // upper-case hex as the server sent it (key ID or fingerprint)
    algorithm: number | null;
    bits: number | null;
    created: Date | null;
    expires: Date | null;
    userIDs: string[];
}

/** hkp:// is HTTP on port 11371 unless a port is given, hkps:// is HTTPS; http(s):// pass as is. */
export function hkpBaseURL(serverURL: string): string {
    let u: URL;
    try {
        u = new URL(serverURL.trim());
    } catch (e) {
        throw new KeyServerError(`not a key server URL: ${serverURL}`, {cause: e});
    }
    const path = u.pathname.replace(/\/+$/, '');
    switch (u.protocol) {
    case 'hkp:':
        return `http://${u.hostname}:${u.port || '11371'}${path}`;
    case 'hkps:':
        return `https://${u.hostname}${u.port ? ':' + u.port : ''}${path}`;
    case 'http:':
    case 'https:':
        return `${u.protocol}//${u.host}${path}`;
    default:
        throw new KeyServerError(`unsupported key server scheme ${u.protocol} (use hkp, hkps, http or https)`);
    }
}

function defaultFetch(): FetchLike {
    if (typeof globalThis.fetch !== 'function') {
        throw new KeyServerError('no fetch available');
    }
    return globalThis.fetch.bind(globalThis) as unknown as FetchLike;
}

async function lookup(serverURL: string, params: string, fetchFn: FetchLike): Promise<{status: number; body: string}> {
    const url = `${hkpBaseURL(serverURL)}/pks/lookup?${params}`;
    try {
        const res = await fetchFn(url, {method: 'GET'});
        return {status: res.status, body: res.ok ? await res.text() : ''};
    } catch (e) {
        throw new KeyServerError('key server unreachable', {cause: e});
    }
}

// A number or time too large to hold exactly is unknown (null), as a missing one.
function num(s: string | undefined): number | null {
    if (!s || !/^\d+$/.test(s) || !Number.isSafeInteger(Number(s))) {
        return null;
    }
    return Number(s);
}

function date(s: string | undefined): Date | null {
    const n = num(s);
    const d = n === null ? null : new Date(n * 1000);
    return d && Number.isFinite(d.getTime()) ? d : null;
}

function unescapeUid(s: string): string {
    try {
        return decodeURIComponent(s);
    } catch {
        return s;
    }
}

/** Parses an `options=mr` index answer; drops revoked, disabled and expired keys and user IDs. */
export function parseHKPIndex(body: string, now: Date = new Date()): HKPKey[] {
    const keys: HKPKey[] = [];
    let current: HKPKey | null = null;
    const live = (flags: string | undefined, expires: Date | null) =>
        !/[rde]/.test(flags ?? '') && (expires === null || expires.getTime() > now.getTime());
    for (const raw of body.split(/\r?\n/)) {
        const line = raw.trim();
        const f = line.split(':');
        if (f[0] === 'pub' && f.length >= 2 && /^[0-9A-Fa-f]{8,64}$/.test(f[1])) {
            const expires = date(f[5]);
            current = live(f[6], expires) ? {
                keyId: f[1].toUpperCase(),
                algorithm: num(f[2]),
                bits: num(f[3]),
                created: date(f[4]),
                expires,
                userIDs: [],
            } : null;
            if (current) {
                keys.push(current);
            }
        } else if (f[0] === 'uid' && current && f.length >= 2) {
            if (live(f[4], date(f[3]))) {
                current.userIDs.push(unescapeUid(f[1]));
            }
        } else if (f[0] === 'pub') {
            current = null; // unreadable key line: skip its uids too
        }
        // info: and anything else are ignored.
    }
    return keys;
}

export async function hkpIndex(serverURL: string, query: string, fetchFn: FetchLike = defaultFetch()): Promise<HKPKey[]> {
    if (typeof query !== 'string' || query.trim() === '') {
        throw new KeyServerError('empty key search');
    }
    const {status, body} = await lookup(serverURL, `op=index&options=mr&search=${encodeURIComponent(query.trim())}`, fetchFn);
    if (status === 404) {
        return [];
    }
    if (status < 200 || status >= 300) {
        throw new KeyServerError(`key server answered HTTP ${status}`);
    }
    return parseHKPIndex(body);
}

const ARMOR_RE = /-----BEGIN PGP PUBLIC KEY BLOCK-----[\s\S]*?-----END PGP PUBLIC KEY BLOCK-----/;

/** The armored key for a key ID or fingerprint (hex, optional 0x), or null when the server has none. */
export async function hkpGet(serverURL: string, fingerprintOrKeyId: string, fetchFn: FetchLike = defaultFetch()): Promise<string | null> {
    const hex = String(fingerprintOrKeyId).trim().replace(/^0x/i, '').replace(/\s+/g, '');
    if (!/^(?:[0-9A-Fa-f]{8}|[0-9A-Fa-f]{16}|[0-9A-Fa-f]{40}|[0-9A-Fa-f]{64})$/.test(hex)) {
        throw new KeyServerError('expected a hex key ID (8 or 16 digits) or fingerprint (40 or 64 digits)');
    }
    const {status, body} = await lookup(serverURL, `op=get&options=mr&search=0x${hex.toUpperCase()}`, fetchFn);
    if (status === 404) {
        return null;
    }
    if (status < 200 || status >= 300) {
        throw new KeyServerError(`key server answered HTTP ${status}`);
    }
    const m = ARMOR_RE.exec(body);
    if (!m) {
        throw new KeyServerError('key server answer holds no armored public key');
    }
    return m[0];
}
