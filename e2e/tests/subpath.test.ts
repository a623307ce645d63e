// Subpath deployment (site URL http://host/mm): the host page, the API, the WebSocket and the
// plugin bundle all live under /mm, and the lazily loaded OpenPGP chunk must load from
// /mm/static/plugins/<id>/ too (webpack's publicPath 'auto' follows the bundle's script URL).
import assert from 'node:assert/strict';
import {join} from 'node:path';
import {after, before, test} from 'node:test';

import type {Browser} from 'playwright-core';

import {launchBrowser, openAs, screenshot, send} from '../lib/browser';
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
    proxy = await startHostProxy({upstream: admin.url, hostDir: join(e2eRoot, 'dist', 'host'), basename: '/mm'});
    hkp = await startHKP([]); // no key for anyone: the lookup still needs the lazy chunks
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
    const carol = await openAs(browser, proxy.url, 'carol', env.MM_TEST_PASSWORD, `${team}/channels/${channel.name}`);
    const scripts = await carol.page.evaluate((id) => (document.getElementById(`plugin_${id}`) as HTMLScriptElement | null)?.src || '', PLUGIN_ID);
    assert.match(scripts, new RegExp(`^${proxy.url}/static/plugins/${PLUGIN_ID}/${PLUGIN_ID}_[0-9a-f]+_bundle\\.js$`));

    const chunkResponses: string[] = [];
    carol.page.on('response', (r) => {
        if (r.url().includes(`/static/plugins/${PLUGIN_ID}/`) && !r.url().endsWith('_bundle.js')) {
            chunkResponses.push(`${r.status()} ${r.url()}`);
        }
    });
    await send(carol.page, '/e2ee init --force');
    await carol.page.getByTestId('e2ee-backup-text').waitFor({timeout: 30000});
    await screenshot(carol.page, 'subpath-init');
    assert.ok(hkp.lookups.some((l) => l.includes('op=index')), 'the key server was asked (so the HKP/OpenPGP code ran)');
    assert.ok(chunkResponses.length > 0, 'a lazy chunk was fetched');
    for (const r of chunkResponses) {
        assert.match(r, new RegExp(`^200 ${proxy.url}/static/plugins/${PLUGIN_ID}/[^/]+\\.js$`));
    }
    assert.ok(proxy.requests.some((p) => p.startsWith('/mm/api/v4/websocket')), 'the WebSocket went through /mm too');
    await carol.page.getByTestId('e2ee-backup-close').click();
    await carol.context.close();
});
