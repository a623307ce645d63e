/// <reference types="node" />
// mm-e2ee verify-server: checks, from outside the server, that the plugin web app code a
// Mattermost server serves is the release's (docs/design.md §12.3).
import {createHash} from 'crypto';
import * as fs from 'fs';

export const VERIFY_USAGE = `usage:
  mm-e2ee verify-server --url SITE_URL --hashes HASHES_FILE [--every DURATION]
Compares the plugin web app code SITE_URL serves with a release's <id>-<version>.hashes.json.
--every 10m (s, m, h) keeps checking and reports each change.
exit codes: 0 everything matches, 5 something of ours differs or is missing, 2 usage or bad
hashes file, 1 the server could not be asked`;

export const VERIFY_EXIT = {match: 0, failure: 1, usage: 2, mismatch: 5} as const;

export class VerifyUsageError extends Error {}

/** dist/<id>-<version>.hashes.json, the parts the check needs (docs/design.md §12.2). */
export interface ReleaseHashes {
    format: string;
    plugin_id: string;
    version: string;
    commit: string;
    webapp: {
        bundle_file: string;
        served_name: string;
        bundle_path: string;
        files: Record<string, string>;
    };
}

const HEX64 = /^[0-9a-f]{64}$/;
// A served file name: no folders, nothing a URL would read as something else.
const FILE_NAME = /^[A-Za-z0-9._-]+$/;

type Loose = {[key: string]: Loose} | undefined;

export function parseHashes(text: string): ReleaseHashes {
    let j: Loose;
    try {
        j = JSON.parse(text);
    } catch {
        throw new VerifyUsageError('hashes file is not JSON');
    }
    const bad = (what: string) => new VerifyUsageError(`hashes file: ${what}`);
    if (!j || typeof j !== 'object' || (j.format as unknown) !== 'org.mme2ee.release-hashes/1') {
        throw bad('format is not org.mme2ee.release-hashes/1');
    }
    const id = j.plugin_id as unknown;
    const version = j.version as unknown;
    if (typeof id !== 'string' || !FILE_NAME.test(id) || typeof version !== 'string' || !version) {
        throw bad('plugin_id or version missing');
    }
    const w = j.webapp as unknown as {bundle_file?: unknown; served_name?: unknown; bundle_path?: unknown; files?: Record<string, unknown>} | undefined;
    if (!w || typeof w !== 'object' || typeof w.bundle_file !== 'string' || typeof w.served_name !== 'string' ||
        typeof w.bundle_path !== 'string' || !w.files || typeof w.files !== 'object') {
        throw bad('webapp section missing');
    }
    for (const [name, digest] of Object.entries(w.files)) {
        if (!FILE_NAME.test(name) || typeof digest !== 'string' || !HEX64.test(digest)) {
            throw bad(`webapp file entry ${JSON.stringify(name)} is not a file name with a SHA-256`);
        }
    }
    const bundleDigest = w.files[w.bundle_file];
    if (typeof bundleDigest !== 'string' || !HEX64.test(bundleDigest) || !FILE_NAME.test(w.served_name) ||
        w.bundle_path !== `/static/${id}/${w.served_name}`) {
        throw bad('webapp bundle entry is inconsistent');
    }
    return j as unknown as ReleaseHashes;
}

/** The URL the Mattermost web app loads a bundle_path from (its /static/ → /static/plugins/ rewrite). */
export function bundleURL(siteURL: string, bundlePath: string): string {
    let p = bundlePath;
    if (p.includes('/static/') && !p.includes('/static/plugins/')) {
        p = p.replace('/static/', '/static/plugins/');
    }
    return siteURL.replace(/\/+$/, '') + p;
}

export type FileStatus = 'ok' | 'mismatch' | 'missing';

export interface FileCheck {
    name: string;
    url: string;
    status: FileStatus;
    expected: string;
    got?: string; // SHA-256 of what was served, or the HTTP status when missing
}

export interface OtherPlugin {
    id: string;
    version: string;
    url: string;
    sha256?: string;
}

export interface CheckResult {
    site: string;
    ok: boolean;
    problems: string[]; // one line each: what and where
    files: FileCheck[];
    servedVersion?: string;
    servedBundlePath?: string;
    others: OtherPlugin[];
}

type Fetch = (url: string) => Promise<{status: number; ok: boolean; arrayBuffer(): Promise<ArrayBuffer>; text(): Promise<string>}>;

// Node's fetch keeps no HTTP cache: every check reads what the server sends now.
const defaultFetch: Fetch = (url) => fetch(url, {redirect: 'follow'});

function sha256Hex(b: ArrayBuffer): string {
    return createHash('sha256').update(new Uint8Array(b)).digest('hex');
}

async function fetchHash(fetchFn: Fetch, url: string): Promise<{status: number; sha256?: string}> {
    const r = await fetchFn(url);
    if (!r.ok) {
        return {status: r.status};
    }
    return {status: r.status, sha256: sha256Hex(await r.arrayBuffer())};
}

/** Network failures throw (the server could not be asked); everything else is in the result. */
export async function checkServer(siteURL: string, h: ReleaseHashes, fetchFn: Fetch = defaultFetch): Promise<CheckResult> {
    const site = siteURL.replace(/\/+$/, '');
    const listURL = `${site}/api/v4/plugins/webapp`;
    const res = await fetchFn(listURL);
    if (!res.ok) {
        throw new Error(`${listURL} answered HTTP ${res.status}`);
    }
    let parsed: unknown;
    try {
        parsed = JSON.parse(await res.text());
    } catch {
        throw new Error(`${listURL} did not return JSON`);
    }
    if (!Array.isArray(parsed)) {
        throw new Error(`${listURL} did not return a list`);
    }
    const list = parsed as Array<{id?: unknown; version?: unknown; webapp?: {bundle_path?: unknown}} | null>;
    const result: CheckResult = {site, ok: false, problems: [], files: [], others: []};
    const ours = list.filter((m) => m?.id === h.plugin_id);
    for (const m of list) {
        const path = m?.webapp?.bundle_path;
        if (m?.id === h.plugin_id || typeof path !== 'string' || !path) {
            continue;
        }
        const url = bundleURL(site, path);
        const other: OtherPlugin = {id: String(m.id), version: String(m.version ?? ''), url};
        const got = await fetchHash(fetchFn, url);
        other.sha256 = got.sha256;
        result.others.push(other);
    }
    if (ours.length !== 1) {
        result.problems.push(ours.length ?
            `${listURL} lists ${h.plugin_id} ${ours.length} times` :
            `${h.plugin_id} is not in ${listURL} (not installed, disabled, or hidden)`);
        return result;
    }
    const m = ours[0] ?? {};
    result.servedVersion = String(m.version ?? '');
    result.servedBundlePath = String(m.webapp?.bundle_path ?? '');
    if (result.servedVersion !== h.version) {
        result.problems.push(`version: ${listURL} says ${JSON.stringify(result.servedVersion)}, the hashes are for ${h.version}`);
    }
    if (result.servedBundlePath !== h.webapp.bundle_path) {
        result.problems.push(`bundle_path: ${listURL} says ${JSON.stringify(result.servedBundlePath)}, the release's is ${h.webapp.bundle_path}`);
    }
    const dir = `${site}/static/plugins/${h.plugin_id}/`;
    const names = Object.keys(h.webapp.files).sort();
    for (const name of names) {
        const expected = h.webapp.files[name];
        // The bundle exists only under its served name; check the one the web app would load.
        const url = name === h.webapp.bundle_file ?
            (result.servedBundlePath ? bundleURL(site, result.servedBundlePath) : dir + h.webapp.served_name) :
            dir + name;
        const got = await fetchHash(fetchFn, url);
        const check: FileCheck = {name, url, expected, status: 'ok', got: got.sha256};
        if (!got.sha256) {
            check.status = 'missing';
            check.got = `HTTP ${got.status}`;
            result.problems.push(`${name}: missing at ${url} (HTTP ${got.status})`);
        } else if (got.sha256 !== expected) {
            check.status = 'mismatch';
            result.problems.push(`${name}: ${url} has SHA-256 ${got.sha256}, the release's is ${expected}`);
        }
        result.files.push(check);
    }
    result.ok = result.problems.length === 0;
    return result;
}

export function formatResult(r: CheckResult, h: ReleaseHashes): string {
    const lines = [`${r.site}: ${h.plugin_id} ${r.servedVersion ?? '(not listed)'}, release hashes ${h.version}${h.commit ? ` (commit ${h.commit.slice(0, 12)})` : ''}`];
    for (const f of r.files) {
        lines.push(`  ${f.status === 'ok' ? 'ok      ' : f.status.toUpperCase().padEnd(8)}  ${f.name}  ${f.url}  ${f.got ?? ''}`);
    }
    for (const p of r.problems) {
        lines.push(`  problem: ${p}`);
    }
    if (r.others.length) {
        lines.push('other plugins with web app code (they run in the same page and can read or change what ours shows):');
        for (const o of r.others) {
            lines.push(`  ${o.id} ${o.version}  ${o.url}  ${o.sha256 ?? '(not served)'}`);
        }
    } else {
        lines.push('no other plugin ships web app code');
    }
    lines.push(r.ok ? 'result: MATCH' : `result: MISMATCH (${r.problems.length} problem${r.problems.length === 1 ? '' : 's'})`);
    return lines.join('\n');
}

/** "10m", "30s", "1h", "500ms" → milliseconds. */
export function parseDuration(s: string): number {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(s);
    if (!m) {
        throw new VerifyUsageError(`--every: ${JSON.stringify(s)} is not a duration like 30s, 10m or 1h`);
    }
    const ms = Number(m[1]) * {ms: 1, s: 1000, m: 60000, h: 3600000}[m[2] as 'ms' | 's' | 'm' | 'h'];
    if (ms < 100) {
        throw new VerifyUsageError('--every must be at least 100ms');
    }
    return ms;
}

interface VerifyArgs {
    url: string;
    hashes: string;
    everyMs?: number;
}

export function parseVerifyArgs(args: string[]): VerifyArgs {
    const got: Record<string, string> = {};
    for (let i = 0; i < args.length; i++) {
        const m = /^--(url|hashes|every)(?:=(.*))?$/.exec(args[i]);
        if (!m) {
            throw new VerifyUsageError(`unexpected argument ${args[i]}`);
        }
        if (m[1] in got) {
            throw new VerifyUsageError(`--${m[1]} given twice`);
        }
        const value = m[2] ?? args[++i];
        if (value === undefined) {
            throw new VerifyUsageError(`--${m[1]} needs a value`);
        }
        got[m[1]] = value;
    }
    if (!got.url || !got.hashes) {
        throw new VerifyUsageError('--url and --hashes are required');
    }
    let u: URL;
    try {
        u = new URL(got.url);
    } catch {
        throw new VerifyUsageError('--url is not a URL');
    }
    if (u.protocol !== 'https:' && u.protocol !== 'http:') {
        throw new VerifyUsageError('--url must be http(s)');
    }
    return {url: got.url, hashes: got.hashes, everyMs: got.every === undefined ? undefined : parseDuration(got.every)};
}

/** Summary of what changed between two checks, for --every. */
function fingerprint(r: CheckResult | Error): string {
    if (r instanceof Error) {
        return `error: ${r.message}`;
    }
    return JSON.stringify([r.problems, r.files.map((f) => [f.name, f.got]), r.others.map((o) => [o.id, o.version, o.sha256])]);
}

export interface VerifyIO {
    out: (s: string) => void;
    err: (s: string) => void;
    fetch?: Fetch;
    sleep?: (ms: number) => Promise<void>;
    /** For tests: stop --every after this many checks. */
    maxRounds?: number;
}

/** Runs the subcommand; resolves with the exit code (never, with --every, unless maxRounds). */
export async function verifyServer(args: string[], io: VerifyIO): Promise<number> {
    let a: VerifyArgs;
    let h: ReleaseHashes;
    try {
        a = parseVerifyArgs(args);
        let text: string;
        try {
            text = fs.readFileSync(a.hashes, 'utf8');
        } catch (e) {
            throw new VerifyUsageError(`cannot read ${a.hashes}: ${(e as NodeJS.ErrnoException).code ?? e}`);
        }
        h = parseHashes(text);
    } catch (e) {
        if (e instanceof VerifyUsageError) {
            io.err(`mm-e2ee verify-server: ${e.message}\n${VERIFY_USAGE}\n`);
            return VERIFY_EXIT.usage;
        }
        throw e;
    }
    const once = async (): Promise<CheckResult | Error> => {
        try {
            return await checkServer(a.url, h, io.fetch);
        } catch (e) {
            return e instanceof Error ? e : new Error(String(e));
        }
    };
    const codeOf = (r: CheckResult | Error) => (r instanceof Error ? VERIFY_EXIT.failure : r.ok ? VERIFY_EXIT.match : VERIFY_EXIT.mismatch);
    const report = (r: CheckResult | Error) => {
        if (r instanceof Error) {
            io.err(`mm-e2ee verify-server: cannot check ${a.url}: ${r.message}\n`);
        } else {
            io.out(formatResult(r, h) + '\n');
        }
    };
    if (a.everyMs === undefined) {
        const r = await once();
        report(r);
        return codeOf(r);
    }
    const sleep = io.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
    let last = '';
    let code: number = VERIFY_EXIT.match;
    for (let round = 1; ; round++) {
        const r = await once();
        code = codeOf(r);
        const fp = fingerprint(r);
        const now = new Date().toISOString();
        if (round === 1) {
            io.out(`${now} first check\n`);
            report(r);
        } else if (fp !== last) {
            io.out(`${now} CHANGED since the last check\n`);
            report(r);
        } else {
            io.out(`${now} unchanged: ${code === VERIFY_EXIT.match ? 'MATCH' : code === VERIFY_EXIT.mismatch ? 'MISMATCH' : 'cannot check'}\n`);
        }
        last = fp;
        if (io.maxRounds !== undefined && round >= io.maxRounds) {
            return code;
        }
        await sleep(a.everyMs);
    }
}
