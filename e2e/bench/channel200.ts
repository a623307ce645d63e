// Benchmark (prints figures, asserts only that the run is valid): how long the real plugin
// bundle takes to show a channel of 200 encrypted v2 posts in headless Chromium against the
// real server, and proof that each post is decrypted once (none again on a channel switch back).
// Setup is done without the browser where it can be: the sender's key and the 200 posts come from
// the CLI (dist/mm-e2ee.js) and REST; the reader's key is made by `/e2ee init` in the host.
// Own users (bench-alice, bench-bob) so that a parallel run of the e2e suite on the same server
// keeps its alice/bob keys.
import {execFile} from 'node:child_process';
import {createHash, randomBytes} from 'node:crypto';
import {existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {gzipSync} from 'node:zlib';

import type {Browser, Page} from 'playwright-core';

import {HOSTS, launchBrowser, openAs, send, type UserPage} from '../lib/browser';
import {loadMMEnv, repoRoot} from '../lib/env';
import {MMAdmin, bearerJSON} from '../lib/mm';
import {startHostProxy, type HostProxy} from '../lib/proxy';

const PLUGIN_ID = 'org.mme2ee.e2ee';
const API = `/plugins/${PLUGIN_ID}/api/v1`;
const POSTS = Number(process.env.BENCH_POSTS || 200); // Mattermost serves at most 200 posts a page
const RUNS = Number(process.env.BENCH_RUNS || 3);
const SENDER = 'bench-alice';
const READER = 'bench-bob';
const CLI = join(repoRoot, 'dist', 'mm-e2ee.js');
const T = 120000;
// BENCH_FORMAT=channel: the same channel in channel-key mode (v3 posts under one epoch record).
const FORMAT = process.env.BENCH_FORMAT === 'channel' ? 'channel' : 'v2';
const VERSION = FORMAT === 'channel' ? '3' : '2';

function log(msg: string): void {
    process.stderr.write(`bench: ${msg}\n`);
}

function cli(args: string[], stdin = ''): Promise<string> {
    return new Promise((resolve, reject) => {
        const child = execFile(process.execPath, [CLI, ...args], {maxBuffer: 1 << 20}, (err, stdout, stderr) => {
            if (err) {
                reject(new Error(`mm-e2ee ${args[0]}: ${stderr || err.message}`));
                return;
            }
            resolve(stdout);
        });
        child.stdin?.end(stdin);
    });
}

/** REST as one user (session token from a password login), for the server and the plugin API. */
class UserSession {
    private constructor(readonly url: string, readonly id: string, private token: string) {}

    static async login(url: string, username: string, password: string): Promise<UserSession> {
        const res = await fetch(`${url}/api/v4/users/login`, {
            method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify({login_id: username, password}),
        });
        if (!res.ok) {
            throw new Error(`login ${username}: ${res.status} ${await res.text()}`);
        }
        const me = await res.json();
        return new UserSession(url, me.id, res.headers.get('Token') || '');
    }

    call<T = any>(method: string, path: string, body?: unknown): Promise<T> {
        return bearerJSON<T>(`${this.url}${path}`, this.token, method, body);
    }
}

/** The user exists, with the test password, in the team (created once, reused by later runs). */
async function ensureUser(admin: MMAdmin, teamId: string, username: string, password: string, domain: string): Promise<string> {
    let user: any;
    try {
        user = await admin.user(username);
    } catch {
        user = await admin.api('POST', '/users', {username, password, email: `${username}@${domain}`, email_verified: true});
    }
    await admin.api('PUT', `/users/${user.id}/password`, {new_password: password});
    await admin.api('POST', `/teams/${teamId}/members`, {team_id: teamId, user_id: user.id});
    return user.id;
}

async function pool<T>(n: number, items: T[], fn: (item: T, i: number) => Promise<void>): Promise<void> {
    let next = 0;
    await Promise.all(Array.from({length: n}, async () => {
        while (next < items.length) {
            const i = next++;
            await fn(items[i], i);
        }
    }));
}

/** Sizes of the bundle the server serves (the one measured), and whether webapp/dist still
 * holds the same main.js (a rebuild without `make deploy` would make them differ). */
async function bundleSizes(url: string): Promise<Record<string, number | boolean>> {
    const get = async (path: string): Promise<Buffer> => {
        const res = await fetch(`${url}${path}`);
        if (!res.ok) {
            throw new Error(`GET ${path}: ${res.status}`);
        }
        return Buffer.from(await res.arrayBuffer());
    };
    const manifests = JSON.parse((await get('/api/v4/plugins/webapp')).toString()) as Array<{id: string; webapp?: {bundle_path: string}}>;
    const bundlePath = manifests.find((m) => m.id === PLUGIN_ID)?.webapp?.bundle_path;
    if (!bundlePath) {
        throw new Error(`the server serves no web app bundle for ${PLUGIN_ID}`);
    }
    const main = await get(bundlePath.replace('/static/', '/static/plugins/'));
    // webpack names one lazy chunk literally ("openpgp.<hash>.js"), several through an id map
    // ({932:"openpgp"}[e]+"."+{932:"<hash>"}[e]+".js").
    const text = main.toString('latin1');
    const id = /(\d+):"openpgp"/.exec(text)?.[1];
    const hash = id ? new RegExp(`[{,]${id}:"([0-9a-f]+)"`).exec(text.slice(text.indexOf(`${id}:"openpgp"`) + 1))?.[1] : undefined;
    const chunkName = text.match(/openpgp\.[0-9a-f]+\.js/)?.[0] ?? (hash ? `openpgp.${hash}.js` : undefined);
    if (!chunkName) {
        throw new Error('main.js names no openpgp chunk');
    }
    const chunk = await get(`/static/plugins/${PLUGIN_ID}/${chunkName}`);
    const local = join(repoRoot, 'webapp', 'dist', 'main.js');
    return {
        main_js_bytes: main.length,
        main_js_gzip_bytes: gzipSync(main).length,
        openpgp_chunk_bytes: chunk.length,
        main_js_is_webapp_dist: existsSync(local) && readFileSync(local).equals(main),
    };
}

/** Runs in every document of the measured profile before any script: counts WebCrypto decrypts
 * (AES-GCM = one per v2 message; distinct IVs show whether one was decrypted twice), signature
 * checks, and records (ms since navigation start) when the host has listed `target` posts, when the
 * plugin's first "Decrypting…" state and the first and `target`-th decrypted post are in the DOM. */
function benchProbe([target, profile]: [number, boolean]): void {
    const b: any = {target, gcm: 0, ivs: new Set<string>(), otherDecrypts: 0, verifies: 0, firstAt: null, allAt: null, readyAt: null, listedAt: null, loadingAt: null};
    (window as any).__bench = b;
    const proto = SubtleCrypto.prototype as any;
    const decrypt = proto.decrypt;
    proto.decrypt = function (alg: any, ...rest: unknown[]) {
        const name = String(typeof alg === 'string' ? alg : alg?.name).toUpperCase();
        if (name === 'AES-GCM') {
            b.gcm++;
            const iv = alg.iv instanceof ArrayBuffer ? new Uint8Array(alg.iv) : new Uint8Array(alg.iv.buffer, alg.iv.byteOffset, alg.iv.byteLength);
            b.ivs.add(Array.from(iv).join(','));
        } else {
            b.otherDecrypts++;
        }
        return decrypt.call(this, alg, ...rest);
    };
    b.requests = [] as Array<{url: string; start: number; end: number}>;
    const origFetch = window.fetch;
    window.fetch = function (input: any, init?: any) {
        const url = String(typeof input === 'string' ? input : input?.url);
        // The body of small POSTs too (e.g. which users' keys /pubkey/get asks for).
        const body = typeof init?.body === 'string' && init.body.length <= 200 ? ` ${init.body}` : '';
        const rec = {url: url.replace(/^.*\/api\/v[14]/, '') + body, start: performance.now(), end: 0};
        b.requests.push(rec);
        const p = origFetch.call(this, input, init);
        p.then(() => {
            rec.end = performance.now();
        }, () => undefined);
        return p;
    } as typeof fetch;
    const verify = proto.verify;
    proto.verify = function (...args: unknown[]) {
        b.verifies++;
        return verify.apply(this, args);
    };
    // Markers for a CPU profile (BENCH_PROFILE=1 only): 2 ms of plain JS under a findable name.
    const markers: Record<string, () => void> = {
        benchPhaseStart() {
            const until = performance.now() + 2;
            for (let x = 0; performance.now() < until; x++) {
                for (let i = 0; i < 1000; i++) {
                    x ^= i;
                }
            }
        },
        benchPhaseEnd() {
            const until = performance.now() + 2;
            for (let x = 0; performance.now() < until; x++) {
                for (let i = 0; i < 1000; i++) {
                    x ^= i;
                }
            }
        },
    };
    b.mark = (name: string) => {
        if (profile) {
            markers[name]();
        }
    };
    b.check = () => {
        const n = document.querySelectorAll('[data-testid="e2ee-text"]').length;
        const now = performance.now();
        if (n > 0 && b.firstAt === null) {
            b.firstAt = now;
        }
        if (n >= b.target && b.allAt === null) {
            b.allAt = now;
            b.mark('benchPhaseEnd');
        }
        if (b.listedAt === null && document.querySelectorAll('[data-testid="post"]').length >= b.target) {
            b.listedAt = now;
        }
        if (b.loadingAt === null && document.querySelector('[data-testid="e2ee-state-loading"]')) {
            b.loadingAt = now;
            b.mark('benchPhaseStart');
        }
        if (b.readyAt === null && document.body?.dataset.hostReady === '1') {
            b.readyAt = now;
        }
        b.count = n;
    };
    new MutationObserver(b.check).observe(document, {childList: true, subtree: true, attributes: true, attributeFilter: ['data-host-ready']});
}

type RunFigures = Record<string, number | string | boolean>;

async function measure(browser: Browser, proxy: HostProxy, ctx: {team: string; channel: any; other: any; password: string; backup: string; plaintexts: Set<string>}, run: number): Promise<RunFigures> {
    const otherPath = `${ctx.team}/channels/${ctx.other.name}`;
    // A new profile: log in on the other channel and import the reader's key there.
    const u: UserPage = await openAs(browser, proxy.url, READER, ctx.password, otherPath);
    try {
        await send(u.page, '/e2ee import');
        await u.page.getByTestId('e2ee-import-textarea').fill(ctx.backup, {timeout: T});
        await u.page.getByTestId('e2ee-import-submit').click();
        await u.page.getByTestId('e2ee-import-textarea').waitFor({state: 'detached', timeout: T});

        await u.context.addInitScript(benchProbe, [POSTS, process.env.BENCH_PROFILE === '1'] as [number, boolean]);
        // The host asks for the web app's first page (60 posts); ask for the whole channel instead.
        await u.context.route(/\/api\/v4\/channels\/[a-z0-9]+\/posts\?/, (route) =>
            route.continue({url: route.request().url().replace(/per_page=\d+/, `per_page=${POSTS}`)}));
        let openpgpLoaded = false;
        u.page.on('request', (r) => {
            if (/\/openpgp\.[^/]*\.js$/.test(r.url())) {
                openpgpLoaded = true;
            }
        });
        const cdp = await u.context.newCDPSession(u.page);
        await cdp.send('Network.clearBrowserCache');
        const profiling = process.env.BENCH_PROFILE === '1';
        if (profiling) {
            await cdp.send('Profiler.enable');
            await cdp.send('Profiler.setSamplingInterval', {interval: 200});
            await cdp.send('Profiler.start');
        }
        await u.page.goto('about:blank');

        // Cold: a page load into the channel (no decrypted results in memory, no HTTP cache).
        await u.page.goto(`${proxy.url}/#/${ctx.team}/channels/${ctx.channel.name}`);
        await u.page.waitForFunction(() => (window as any).__bench?.allAt !== null, undefined, {timeout: T, polling: 100});
        if (profiling) {
            await profileSummary(cdp, run);
        }
        const cold = await u.page.evaluate(() => {
            const b = (window as any).__bench;
            return {first: b.firstAt, all: b.allAt, ready: b.readyAt, listed: b.listedAt, loading: b.loadingAt, gcm: b.gcm, distinct: b.ivs.size, other: b.otherDecrypts, verifies: b.verifies,
                requests: b.requests.filter((r: any) => r.start >= b.loadingAt - 50 && r.start <= b.allAt).map((r: any) => `${r.url.slice(0, 100)} ${Math.round(r.start - b.loadingAt)}..${Math.round(r.end - b.loadingAt)}`)};
        });
        const texts = await u.page.locator('[data-testid="e2ee-text"]').allInnerTexts();
        const shown = new Set(texts.map((t) => t.trim()));
        const missing = [...ctx.plaintexts].filter((t) => !shown.has(t));
        const ofVersion = await u.page.locator(`[data-testid="e2ee-lock"][data-version="${VERSION}"]`).count();
        if (texts.length !== POSTS || missing.length || ofVersion !== POSTS) {
            throw new Error(`run ${run}: ${texts.length} decrypted posts shown (${ofVersion} v${VERSION}), ${missing.length} of the ${POSTS} plaintexts missing`);
        }
        // Late work (effects re-run by store updates) would still count: let the page settle.
        await u.page.waitForLoadState('networkidle');
        const coldSettled = await u.page.evaluate(() => (window as any).__bench.gcm);

        // Warm: switch to the other channel (the 200 posts unmount) and back, as a channel switch.
        await u.page.evaluate((other) => {
            const store = (window as any).store;
            store.dispatch({type: 'RECEIVED_CHANNEL', data: other});
            store.dispatch({type: 'SELECT_CHANNEL', data: other.id});
        }, ctx.other);
        await u.page.waitForFunction(() => document.querySelectorAll('[data-testid="e2ee-text"]').length === 0, undefined, {timeout: T});
        const warm = await u.page.evaluate((channelId) => new Promise<{ms: number; before: number}>((resolve) => {
            const b = (window as any).__bench;
            const before = b.gcm;
            const t0 = performance.now();
            const done = () => {
                if (document.querySelectorAll('[data-testid="e2ee-text"]').length >= b.target) {
                    obs.disconnect();
                    resolve({ms: performance.now() - t0, before});
                    return true;
                }
                return false;
            };
            const obs = new MutationObserver(done);
            obs.observe(document.body, {childList: true, subtree: true});
            (window as any).store.dispatch({type: 'SELECT_CHANNEL', data: channelId});
            done();
        }), ctx.channel.id);
        await u.page.waitForLoadState('networkidle');
        await u.page.waitForTimeout(1000); // a window for any decrypt the switch would start late
        const warmGcm = await u.page.evaluate(() => (window as any).__bench.gcm);

        log(`run ${run} requests in the decrypt phase (ms from the first "Decrypting…"): ${cold.requests.join(' | ')}`);
        const r = (x: number) => Math.round(x * 10) / 10;
        return {
            bench: FORMAT === 'channel' ? 'channel-200-channel-key' : 'channel-200',
            run,
            posts: POSTS,
            posts_listed_ms: r(cold.listed),
            host_ready_ms: r(cold.ready),
            first_decrypting_ms: r(cold.loading),
            first_post_ms: r(cold.first),
            all_posts_ms: r(cold.all),
            per_post_ms: r(cold.all / POSTS),
            decrypt_phase_ms: r(cold.all - cold.loading),
            warm_switch_ms: r(warm.ms),
            decrypts_cold: coldSettled,
            decrypts_cold_distinct: cold.distinct,
            decrypts_warm: warmGcm - warm.before,
            verifies_cold: cold.verifies,
            openpgp_loaded: openpgpLoaded,
        };
    } finally {
        await u.context.close();
    }
}

/** BENCH_PROFILE=1: the main thread's CPU time in the decrypt phase by function (self time,
 * top 15), from a sampling profile of the cold load. The phase is found in the profile by the
 * probe's two short marker functions (benchPhaseStart / benchPhaseEnd, 2 ms each). */
async function profileSummary(cdp: import('playwright-core').CDPSession, run: number): Promise<void> {
    type Node = {id: number; callFrame: {functionName: string; url: string; lineNumber: number}};
    const {profile} = await cdp.send('Profiler.stop') as unknown as {profile: {nodes: Node[]; samples: number[]; timeDeltas: number[]; startTime: number}};
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const samples: Array<{t: number; name: string}> = [];
    let t = profile.startTime;
    for (let i = 0; i < profile.samples.length; i++) {
        t += profile.timeDeltas[i];
        const f = byId.get(profile.samples[i])!.callFrame;
        samples.push({t, name: `${f.functionName || '(anon)'} ${f.url.replace(/^.*\//, '').slice(0, 40)}:${f.lineNumber}`});
    }
    const from = samples.find((x) => x.name.startsWith('benchPhaseStart'))?.t;
    const to = samples.find((x) => x.name.startsWith('benchPhaseEnd'))?.t;
    if (from === undefined || to === undefined) {
        log(`run ${run}: the profile holds no phase markers`);
        return;
    }
    const self = new Map<string, number>();
    let prev = from;
    for (const x of samples) {
        if (x.t > from && x.t < to && !x.name.startsWith('benchPhase')) {
            self.set(x.name, (self.get(x.name) ?? 0) + (x.t - prev) / 1000);
        }
        prev = x.t;
    }
    const top = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 15).map(([k, v]) => `${v.toFixed(1)} ${k}`);
    log(`run ${run} profile, ${((to - from) / 1000).toFixed(0)} ms phase, ms self: ${top.join(' | ')}`);
}

/** Uploads a full epoch record's parts, then its header form (part hashes per docs/design.md §13.3). */
async function commitRecord(session: UserSession, record: {channelId: string; epoch: number; commitment: string; parts: string[][][]} & Record<string, unknown>): Promise<void> {
    const u32 = (n: number) => {
        const b = Buffer.alloc(4);
        b.writeUInt32BE(n);
        return b;
    };
    const framed = (items: Buffer[]) => Buffer.concat(items.flatMap((it) => [u32(it.length), it]));
    const tag = Buffer.from(record.commitment, 'base64').subarray(0, 8).toString('hex');
    const partHashes = record.parts.map((part, i) => createHash('sha256').update(framed([Buffer.from('mm-e2ee/channel/v3/wraps-part'), u32(i), u32(part.length),
        ...part.flatMap((w) => [Buffer.from(w[0]), Buffer.from(w[1], 'base64'), Buffer.from(w[2], 'base64')])])).digest('base64'));
    for (let i = 0; i < record.parts.length; i++) {
        await session.call('POST', `${API}/channel/epoch/part?chanID=${record.channelId}&epoch=${record.epoch}&tag=${tag}&part=${i}`, record.parts[i]);
    }
    const header: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(record)) {
        header[k === 'parts' ? 'partHashes' : k] = k === 'parts' ? partHashes : v;
    }
    await session.call('POST', `${API}/channel/epoch?chanID=${record.channelId}`, header);
}

function median(values: number[]): number {
    const s = [...values].sort((a, b) => a - b);
    const m = Math.floor(s.length / 2);
    return s.length % 2 ? s[m] : Math.round(((s[m - 1] + s[m]) / 2) * 10) / 10;
}

async function main(): Promise<void> {
    if (!existsSync(CLI)) {
        throw new Error(`${CLI} is missing: build it with \`make cli\``);
    }
    const env = loadMMEnv();
    const admin = new MMAdmin(env);
    const password = env.MM_TEST_PASSWORD;
    const teamName = env.MM_TEAM_NAME || 'e2ee';
    const host = HOSTS.find((h) => h.name === (process.env.BENCH_HOST || 'react18'));
    if (!host) {
        throw new Error(`BENCH_HOST is one of ${HOSTS.map((h) => h.name).join(', ')}`);
    }
    await admin.requirePluginActive(PLUGIN_ID);
    const sizes = await bundleSizes(admin.url);

    const team = await admin.team(teamName);
    const domain = env.MM_TEST_EMAIL_DOMAIN || 'example.com';
    await ensureUser(admin, team.id, SENDER, password, domain);
    await ensureUser(admin, team.id, READER, password, domain);
    const channel = await admin.createChannel(teamName, 'bench200', [SENDER, READER]);
    const other = await admin.createChannel(teamName, 'benchother', [READER]);
    const alice = await UserSession.login(admin.url, SENDER, password);
    const bobREST = await UserSession.login(admin.url, READER, password);

    const proxy = await startHostProxy({upstream: admin.url, hostDir: host.dir});
    const browser = await launchBrowser();
    const tmp = mkdtempSync(join(tmpdir(), 'e2ee-bench-'));
    try {
        // The reader's key: made in the host by /e2ee init (--force replaces one from an earlier run).
        const had = (await bobREST.call('POST', `${API}/pubkey/get`, {userIds: [bobREST.id]})).pubKeys[bobREST.id];
        const setup = await openAs(browser, proxy.url, READER, password, `${teamName}/channels/${other.name}`);
        await send(setup.page, had ? '/e2ee init --force' : '/e2ee init');
        // A fresh profile holds no key: the setup dialog asks first (create or restore).
        await setup.page.getByTestId('e2ee-setup-create').click({timeout: T});
        const box = setup.page.getByTestId('e2ee-backup-text');
        await box.waitFor({timeout: T});
        const backup = await box.inputValue();
        await setup.page.getByTestId('e2ee-backup-ack').check();
        await setup.page.getByTestId('e2ee-backup-close').click();
        await setup.context.close();
        const bobPub = (await alice.call('POST', `${API}/pubkey/get`, {userIds: [bobREST.id]})).pubKeys[bobREST.id];
        if (!bobPub || (had && bobPub.encr === had.encr)) {
            throw new Error('the reader\'s new key is not on the server after /e2ee init');
        }

        // The sender's key: from the CLI, registered with the server (it checks every post's signature).
        writeFileSync(join(tmp, 'alice.key'), await cli(['keygen']));
        const alicePubText = await cli(['pubkey', join(tmp, 'alice.key')]);
        writeFileSync(join(tmp, 'alice.pub'), alicePubText);
        writeFileSync(join(tmp, 'bob.pub'), JSON.stringify({sign: bobPub.sign, encr: bobPub.encr}));
        // Registered with a proof of possession (docs/api.md), signed by the CLI over a fresh nonce.
        const {nonce} = await alice.call('GET', `${API}/pubkey/nonce`);
        const proof = (await cli(['push-proof', '--key', join(tmp, 'alice.key'), '--user', alice.id, '--nonce', nonce])).trim();
        await alice.call('POST', `${API}/pubkey/push`, {pubkey: JSON.parse(alicePubText.split('\n')[0]), proof});
        await alice.call('POST', `${API}/channel/encryption_method?chanID=${channel.id}&method=${FORMAT === 'channel' ? 'channel' : 'p2p'}`);
        const recordFile = join(tmp, 'record.json');
        if (FORMAT === 'channel') {
            // Epoch 1 for alice and bob, made by the CLI and committed as the web app does.
            const record = await cli(['epoch', 'new', '--key', join(tmp, 'alice.key'), '--channel', channel.id, '--epoch', '1', '--user', alice.id,
                '--to', `${alice.id}=${join(tmp, 'alice.pub')}`, '--to', `${bobREST.id}=${join(tmp, 'bob.pub')}`]);
            writeFileSync(recordFile, record);
            await commitRecord(alice, JSON.parse(record));
        }

        const started = Date.now();
        const plaintexts = Array.from({length: POSTS}, (_, i) => `bench message ${i + 1} ${randomBytes(6).toString('hex')}`);
        await pool(3, plaintexts, async (text) => {
            const e2ee = JSON.parse(await cli(FORMAT === 'channel' ?
                ['encrypt', '--format', 'channel', '--epoch-record', recordFile, '--key', join(tmp, 'alice.key'), '--channel', channel.id, '--root', '', '--user', alice.id] :
                ['encrypt', '--key', join(tmp, 'alice.key'), '--to', join(tmp, 'alice.pub'), '--to', join(tmp, 'bob.pub'),
                    '--channel', channel.id, '--root', '', '--user', alice.id], text));
            await alice.call('POST', '/api/v4/posts', {channel_id: channel.id, message: 'Encrypted message', type: 'custom_e2ee', props: {e2ee}});
        });
        log(`${POSTS} encrypted posts created in ${((Date.now() - started) / 1000).toFixed(1)}s in ~${channel.name}; ${RUNS} runs on the ${host.label}`);

        const results: RunFigures[] = [];
        for (let run = 1; run <= RUNS; run++) {
            const figures = {...await measure(browser, proxy, {team: teamName, channel, other, password, backup, plaintexts: new Set(plaintexts)}, run), ...sizes};
            results.push(figures);
            console.log(JSON.stringify(figures));
        }
        const summary: RunFigures = {bench: results[0].bench, stat: 'median', runs: RUNS};
        for (const [k, v] of Object.entries(results[0])) {
            if (k === 'run' || k === 'bench') {
                continue;
            }
            summary[k] = typeof v === 'number' ? median(results.map((r) => r[k] as number)) : results.every((r) => r[k] === v) ? v : 'mixed';
        }
        console.log(JSON.stringify(summary));
        if (JSON.stringify(await bundleSizes(admin.url)) !== JSON.stringify(sizes)) {
            log('the plugin bundle changed on the server during the runs (a deploy): run the bench again');
            process.exitCode = 1;
        }
        const bad = results.filter((r) => r.decrypts_cold !== POSTS || r.decrypts_cold_distinct !== POSTS || r.decrypts_warm !== 0);
        if (bad.length) {
            log(`decrypt counts differ from ${POSTS} cold / 0 warm in ${bad.length} run(s)`);
            process.exitCode = 1;
        }
    } finally {
        rmSync(tmp, {recursive: true, force: true});
        for (const c of [channel, other]) { // archived, so they do not pile up in the team
            await admin.api('DELETE', `/channels/${c.id}`).catch((e) => log(`cannot archive ${c.name}: ${e.message}`));
        }
        await browser.close();
        await proxy.close();
    }
}

main().catch((e) => {
    log(`failed: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
});
