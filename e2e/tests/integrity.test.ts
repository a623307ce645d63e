// Served-code integrity (docs/design.md §12) against the real server: the release hashes name
// the bundle as the server does; the verifier CLI and the browser extension accept the genuine
// bundle, and both report a mismatch once the bundle file is altered on the server's disk.
import assert from 'node:assert/strict';
import {spawnSync} from 'node:child_process';
import {existsSync, readFileSync, readdirSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {after, before, test} from 'node:test';

import {screenshot} from '../lib/browser';
import {e2eRoot, loadMMEnv, repoRoot} from '../lib/env';
import {extensionDir, launchWithExtension, openHostPage, openPopup, tabIdOf, waitTabState, type ExtensionBrowser} from '../lib/extension';
import {MMAdmin} from '../lib/mm';
import {startHostProxy, type HostProxy} from '../lib/proxy';

const PLUGIN_ID = 'org.mme2ee.e2ee';
const env = loadMMEnv();
const admin = new MMAdmin(env);
const cli = join(repoRoot, 'dist', 'mm-e2ee.js');
const hashesFile = join(repoRoot, 'dist', readdirSync(join(repoRoot, 'dist')).find((f) => f.startsWith(`${PLUGIN_ID}-`) && f.endsWith('.hashes.json')) || 'missing.hashes.json');
let hashes: any;
let proxy: HostProxy;
let servedFile: string; // the bundle as the server serves it, on its disk

function runCLI(url: string): {code: number; out: string} {
    const r = spawnSync(process.execPath, [cli, 'verify-server', '--url', url, '--hashes', hashesFile], {encoding: 'utf8', timeout: 60000});
    return {code: r.status ?? -1, out: r.stdout + r.stderr};
}

before(async () => {
    await admin.requirePluginActive(PLUGIN_ID);
    assert.ok(existsSync(hashesFile), `${hashesFile}: run make dist`);
    assert.ok(existsSync(join(extensionDir, 'manifest.json')), `${extensionDir}: run make extension`);
    assert.ok(existsSync(cli), `${cli}: run make cli`);
    hashes = JSON.parse(readFileSync(hashesFile, 'utf8'));
    const config = JSON.parse(readFileSync(env.MM_CONFIG_FILE, 'utf8'));
    servedFile = join(config.PluginSettings.ClientDirectory, PLUGIN_ID, hashes.webapp.served_name);
    proxy = await startHostProxy({upstream: admin.url, hostDir: join(e2eRoot, 'dist', 'host')});
});

after(async () => {
    await proxy?.close();
});

test('hashes.json names the bundle as the server does (FNV-1a 64) and holds its SHA-256', async () => {
    const list = await (await fetch(`${admin.url}/api/v4/plugins/webapp`)).json() as Array<{id: string; webapp?: {bundle_path: string}}>;
    const ours = list.find((m) => m.id === PLUGIN_ID);
    assert.equal(ours?.webapp?.bundle_path, hashes.webapp.bundle_path, 'the server runs the bundle of dist/ (make e2e deploys it)');
    assert.ok(existsSync(servedFile), `the server holds ${servedFile}`);
    const served = await fetch(`${admin.url}/static/plugins/${PLUGIN_ID}/${hashes.webapp.served_name}`);
    const digest = Buffer.from(await crypto.subtle.digest('SHA-256', await served.arrayBuffer())).toString('hex');
    assert.equal(digest, hashes.webapp.files['main.js']);
});

test('the shipped extension asks for sites at run time only', () => {
    const m = JSON.parse(readFileSync(join(extensionDir, 'manifest.json'), 'utf8'));
    assert.equal(m.manifest_version, 3);
    assert.equal(m.host_permissions, undefined);
    assert.deepEqual(m.optional_host_permissions, ['https://*/*', 'http://*/*']);
    assert.equal(m.version_name, hashes.version);
    const index = JSON.parse(readFileSync(join(extensionDir, 'releases', 'index.json'), 'utf8'));
    assert.ok(index.files.includes(hashesFile.split('/').pop()), 'it ships this build\'s hashes');
});

test('genuine bundle: CLI exits 0, extension shows verified, also after a later script load', async () => {
    const c = runCLI(admin.url);
    assert.equal(c.code, 0, c.out);
    assert.match(c.out, /result: MATCH/);

    const eb = await launchWithExtension('http://127.0.0.1/*');
    try {
        const page = await openHostPage(eb, proxy.url, 'alice', env.MM_TEST_PASSWORD);
        const tabId = await tabIdOf(eb, proxy.url);
        let s = await waitTabState(eb, tabId, 'verified', (st) => st.verdict?.state === 'verified');
        assert.equal(s.verdict.release.version, hashes.version);
        const bundle = s.files.find((f: any) => f.file === hashes.webapp.served_name);
        assert.equal(bundle.sha256, hashes.webapp.files['main.js']);
        assert.equal(bundle.how, 'script element');

        // Scripts added later: our lazy chunk (as webpack adds it) and another plugin's code.
        const chunk = Object.keys(hashes.webapp.files).find((f) => f.startsWith('openpgp.') && f.endsWith('.js'));
        assert.ok(chunk, 'the release has the OpenPGP chunk');
        await page.evaluate(([base, id, name]) => {
            for (const src of [`${base}/static/plugins/${id}/${name}`, `${base}/static/plugins/com.example.other/other_bundle.js`]) {
                const el = document.createElement('script');
                el.src = src;
                document.head.appendChild(el);
            }
        }, [proxy.url, PLUGIN_ID, chunk]);
        s = await waitTabState(eb, tabId, 'the later scripts seen', (st) => st.files.some((f: any) => f.file === chunk && f.sha256) &&
            st.verdict.others.some((o: any) => o.id === 'com.example.other'));
        assert.equal(s.verdict.state, 'verified', JSON.stringify(s.verdict));

        const popup = await openPopup(eb, tabId);
        assert.equal(await popup.locator('#verdict').getAttribute('data-state'), 'verified');
        assert.match(await popup.locator('#verdict').innerText(), new RegExp(`Verified: release ${hashes.version.replace(/\./g, '\\.')}`));
        assert.match(await popup.locator('#others').innerText(), /com\.example\.other: other_bundle\.js HTTP 404/);
        assert.match(await popup.locator('#limit').innerText(), /cannot block code before it runs/);
        assert.match(await popup.locator('details').textContent() || '', /cannot block code before it runs\.[\s\S]*A mismatch means the\s+altered code has already run/);
        await screenshot(popup, 'integrity-popup-verified');
        const badge = await eb.worker.evaluate((id) => (globalThis as any).chrome.action.getBadgeText({tabId: id}), tabId);
        assert.equal(badge, 'OK');
    } finally {
        await eb.close();
    }
});

test('a release the extension has no hashes for shows unknown until the user loads its hashes file', async () => {
    const eb = await launchWithExtension('http://127.0.0.1/*', {withoutReleases: true});
    try {
        await openHostPage(eb, proxy.url, 'alice', env.MM_TEST_PASSWORD);
        const tabId = await tabIdOf(eb, proxy.url);
        await waitTabState(eb, tabId, 'unknown', (st) => st.verdict?.state === 'unknown' &&
            st.files.some((f: any) => f.file === hashes.webapp.served_name && f.sha256));
        const popup = await openPopup(eb, tabId);
        await popup.waitForFunction(() => document.getElementById('verdict')?.dataset.state === 'unknown');
        assert.match(await popup.locator('#verdict').innerText(), /^Unknown/);
        assert.match(await popup.locator('#detail').innerText(), /is in no release this extension knows \(the server says version /);
        assert.equal(await eb.worker.evaluate((id) => (globalThis as any).chrome.action.getBadgeText({tabId: id}), tabId), '?');

        await popup.locator('#load').setInputFiles(hashesFile);
        await popup.getByText(`Loaded release ${hashes.version}.`).waitFor();
        await waitTabState(eb, tabId, 'verified after loading the hashes', (st) => st.verdict?.state === 'verified');
        await popup.waitForFunction(() => document.getElementById('verdict')?.dataset.state === 'verified');
        assert.match(await popup.locator('#releases').innerText(), new RegExp(`${hashes.version.replace(/\./g, '\\.')} .*loaded from a file`));
    } finally {
        await eb.close();
    }
});

test('bundle altered on the server\'s disk: extension shows mismatch with a record, CLI exits 5', async () => {
    const original = readFileSync(servedFile);
    // Same file name (the server computed it at install), other bytes: as an attacker with disk access.
    writeFileSync(servedFile, Buffer.concat([original, Buffer.from('\n;window.__e2eeAltered = true;\n')]));
    try {
        const c = runCLI(admin.url);
        assert.equal(c.code, 5, c.out);
        assert.match(c.out, new RegExp(`main\\.js: ${admin.url.replace(/[.]/g, '\\.')}/static/plugins/${PLUGIN_ID}/${hashes.webapp.served_name} has SHA-256 [0-9a-f]{64}, the release's is ${hashes.webapp.files['main.js']}`));

        const eb = await launchWithExtension('http://127.0.0.1/*'); // a fresh profile: nothing cached
        try {
            const page = await openHostPage(eb, proxy.url, 'alice', env.MM_TEST_PASSWORD);
            assert.equal(await page.evaluate(() => (window as any).__e2eeAltered), true, 'the altered code ran (nothing can stop that)');
            const tabId = await tabIdOf(eb, proxy.url);
            const s = await waitTabState(eb, tabId, 'mismatch', (st) => st.verdict?.state === 'mismatch');
            assert.equal(s.verdict.release.version, hashes.version);
            assert.match(s.verdict.problems.join('\n'), new RegExp(`${hashes.webapp.served_name}: SHA-256 [0-9a-f]{64}, release ${hashes.version.replace(/\./g, '\\.')}'s bundle is ${hashes.webapp.files['main.js']}`));
            const popup = await openPopup(eb, tabId);
            assert.equal(await popup.locator('#verdict').getAttribute('data-state'), 'mismatch');
            assert.match(await popup.locator('#verdict').innerText(), /MISMATCH/);
            assert.match(await popup.locator('#record-count').innerText(), /^[1-9]/);
            await screenshot(popup, 'integrity-popup-mismatch');
            // The record the user can export.
            const records = await eb.worker.evaluate(async () => (await (globalThis as any).chrome.storage.local.get('records')).records);
            assert.equal(records.length, 1);
            assert.equal(records[0].page.startsWith(proxy.url), true);
            assert.ok(records[0].files.some((f: any) => f.file === hashes.webapp.served_name && f.sha256 !== hashes.webapp.files['main.js']));
            const [download] = await Promise.all([popup.waitForEvent('download'), popup.locator('#export').click()]);
            const exported = JSON.parse(readFileSync(await download.path(), 'utf8'));
            assert.equal(exported.records[0].problems[0], records[0].problems[0]);
            const badge = await eb.worker.evaluate((id) => (globalThis as any).chrome.action.getBadgeText({tabId: id}), tabId);
            assert.equal(badge, '!');
        } finally {
            await eb.close();
        }
    } finally {
        writeFileSync(servedFile, original);
    }
    assert.equal(runCLI(admin.url).code, 0, 'restored');
});
