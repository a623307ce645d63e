// Subpath deployment (site URL http://host/mm): the host page, the API, the WebSocket and the
// plugin bundle all live under /mm, and the lazily loaded OpenPGP chunk must load from
// /mm/static/plugins/<id>/ too (webpack's publicPath 'auto' follows the bundle's script URL).
import assert from 'node:assert/strict';
import {join} from 'node:path';
import {after, before, test} from 'node:test';

import * as openpgp from 'openpgp';
import type {Browser} from 'playwright-core';

import {dumpPages, launchBrowser, openAs, screenshot, send, type UserPage} from '../lib/browser';
import {e2eRoot, loadMMEnv} from '../lib/env';
import {startHKP, type HKPServer} from '../lib/hkp';
import {MMAdmin} from '../lib/mm';
import {startHostProxy, type HostProxy} from '../lib/proxy';

const PLUGIN_ID = 'org.mme2ee.e2ee';
const env = loadMMEnv();
const admin = new MMAdmin(env);
const team = env.MM_TEAM_NAME || 'e2ee';
let browser: Browser;
let proxy: HostProxy;
let hkp: HKPServer;

before(async () => {
    await admin.requirePluginActive(PLUGIN_ID);
    proxy = await startHostProxy({upstream: admin.url, hostDir: join(e2eRoot, 'dist', 'host'), basename: '/mm'});
    // A key for carol: reading it needs OpenPGP, which the plugin loads as a lazy chunk.
    const carol = await admin.user('carol');
    const {publicKey} = await openpgp.generateKey({type: 'ecc', curve: 'curve25519Legacy', userIDs: [{name: 'Carol', email: carol.email}], format: 'object'});
    hkp = await startHKP([{
        fingerprint: publicKey.getFingerprint().toUpperCase(), armored: publicKey.armor(), userIDs: [`Carol <${carol.email}>`],
        algorithm: 22, bits: 255, created: Math.floor(publicKey.getCreationTime().getTime() / 1000),
    }]);
    await admin.patchConfig({PluginSettings: {Plugins: {[PLUGIN_ID]: {gpgkeyserver: hkp.url}}}});
    browser = await launchBrowser();
});

after(async () => {
    await admin.patchConfig({PluginSettings: {Plugins: {[PLUGIN_ID]: {gpgkeyserver: ''}}}}).catch(() => undefined);
    await browser?.close();
    await proxy?.close();
    await hkp?.close();
});

test('subpath /mm: the bundle and its lazy OpenPGP chunk load from /mm/static/plugins/<id>/', async () => {
    const channel = await admin.createChannel(team, 'e2e-sub', ['carol']);
    const carol: UserPage = await openAs(browser, proxy.url, 'carol', env.MM_TEST_PASSWORD, `${team}/channels/${channel.name}`);
    try {
        await checkChunks(carol);
    } catch (e) {
        await dumpPages('subpath', [carol]);
        throw e;
    }
    await carol.context.close();
});

async function checkChunks(carol: UserPage): Promise<void> {
    const scripts = await carol.page.evaluate((id) => (document.getElementById(`plugin_${id}`) as HTMLScriptElement | null)?.src || '', PLUGIN_ID);
    assert.match(scripts, new RegExp(`^${proxy.url}/static/plugins/${PLUGIN_ID}/${PLUGIN_ID}_[0-9a-f]+_bundle\\.js$`));

    await send(carol.page, '/e2ee init --force');
    // No key in this browser: the setup dialog comes first.
    await carol.page.getByTestId('e2ee-setup-create').click({timeout: 30000});
    await carol.page.getByTestId('e2ee-gpg-decline').click({timeout: 30000}); // found and shown, then declined
    await carol.page.getByTestId('e2ee-backup-text').waitFor({timeout: 30000});
    await screenshot(carol.page, 'subpath-init');
    assert.ok(hkp.lookups.some((l) => l.includes('op=index')), 'the key server was asked (so the lazily loaded GPG code ran)');
    // Every script the page fetched from the plugin's static folder, with the status it got.
    const loaded = await carol.page.evaluate((id) => performance.getEntriesByType('resource').
        map((e) => ({name: e.name, status: (e as PerformanceResourceTiming).responseStatus})).
        filter((e) => e.name.includes(`/static/plugins/${id}/`)), PLUGIN_ID);
    const chunks = loaded.filter((e) => !e.name.endsWith('_bundle.js'));
    assert.ok(chunks.length > 0, `a lazy chunk was fetched (plugin resources: ${JSON.stringify(loaded)})`);
    for (const c of chunks) {
        assert.match(c.name, new RegExp(`^${proxy.url}/static/plugins/${PLUGIN_ID}/[^/]+\\.js$`));
        assert.equal(c.status, 200, `${c.name} loaded`);
    }
    assert.ok(proxy.requests.some((p) => p.startsWith('/mm/api/v4/websocket')), 'the WebSocket went through /mm too');
    await carol.page.getByTestId('e2ee-backup-ack').check();
    await carol.page.getByTestId('e2ee-backup-close').click();
}
