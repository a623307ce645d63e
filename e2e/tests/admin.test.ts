// The admin view: the plugin's System Console section (a custom setting) renders, in the test
// host's System Console page, the figures GET /admin/stats answers on the real server, on
// React 18 and React 19 hosts; a recount from the page shows the recounted figures.
import assert from 'node:assert/strict';
import {after, before, test} from 'node:test';

import type {Browser, Page} from 'playwright-core';

import {HOSTS, launchBrowser, openAs, screenshot, type UserPage} from '../lib/browser';
import {loadMMEnv} from '../lib/env';
import {bearerJSON, MMAdmin} from '../lib/mm';
import {startHostProxy, type HostProxy} from '../lib/proxy';

const PLUGIN_ID = 'org.mme2ee.e2ee';
const T = 30000;
const env = loadMMEnv();
const admin = new MMAdmin(env);
let browser: Browser;
const proxies: HostProxy[] = [];
const pages: UserPage[] = [];

interface Stats {
    active_users: number;
    active_users_with_key: number;
    key_share: number;
    encrypted_channels: Record<string, number>;
    encrypted_direct: number;
    keys_last_30_days: number;
    synced_drafts: boolean;
}

const stats = (recount = false) => bearerJSON<Stats>(`${admin.url}/plugins/${PLUGIN_ID}/api/v1/admin/stats${recount ? '/recount' : ''}`,
    env.MM_ADMIN_TOKEN, recount ? 'POST' : 'GET');

async function text(page: Page, testId: string): Promise<string> {
    return (await page.getByTestId(testId).innerText()).trim();
}

async function expectFigures(page: Page, s: Stats): Promise<void> {
    const share = `${Math.round(s.key_share * 1000) / 10}%`;
    assert.equal(await text(page, 'e2ee-admin-users'), `${s.active_users_with_key} of ${s.active_users} (${share})`);
    for (const [mode, n] of Object.entries(s.encrypted_channels)) {
        assert.equal(await text(page, `e2ee-admin-channels-${mode}`), String(n));
    }
    assert.equal(await text(page, 'e2ee-admin-direct'), String(s.encrypted_direct));
    assert.equal(await text(page, 'e2ee-admin-keys-30d'), String(s.keys_last_30_days));
    const drafts = await text(page, 'e2ee-admin-drafts');
    assert.ok(s.synced_drafts ? drafts.includes('Turn off') : drafts === 'off', drafts);
}

before(async () => {
    await admin.requirePluginActive(PLUGIN_ID);
    browser = await launchBrowser();
});

after(async () => {
    for (const u of pages) {
        await u.context.close();
    }
    await browser?.close();
    proxies.forEach((p) => p.close());
});

for (const host of HOSTS) {
    test(`admin view (${host.label}): the System Console section shows the endpoint's figures`, async () => {
        const proxy = await startHostProxy({upstream: admin.url, hostDir: host.dir});
        proxies.push(proxy);
        const expected = await stats(true); // a known state: counted from the server's data
        const u = await openAs(browser, proxy.url, env.MM_ADMIN_USERNAME, env.MM_ADMIN_PASSWORD, `admin_console/plugins/plugin_${PLUGIN_ID}`);
        pages.push(u);
        const page = u.page;
        await page.getByTestId('admin-setting-adoptionstats').waitFor({timeout: T});
        await page.getByTestId('e2ee-admin-users').waitFor({timeout: T});
        // The host shows the setting's display name (showTitle) and its help text.
        assert.ok((await page.getByTestId('admin-setting-adoptionstats').innerText()).includes('Encryption adoption'));
        assert.deepEqual(await stats(), expected, 'nothing changed meanwhile');
        await expectFigures(page, expected);
        await screenshot(page, `${host.name}-admin-view`);

        // A new active user on the server; the page's recount shows the new figures.
        const name = `adminview${Date.now().toString(36)}`;
        await admin.api('POST', '/users', {username: name, email: `${name}@example.com`, password: env.MM_TEST_PASSWORD});
        await page.getByTestId('e2ee-admin-recount').click();
        await page.waitForFunction((n) => (document.querySelector('[data-testid="e2ee-admin-users"]') as HTMLElement)?.innerText.includes(` of ${n} `),
            expected.active_users + 1, {timeout: T});
        const after = await stats();
        assert.equal(after.active_users, expected.active_users + 1);
        await expectFigures(page, after);
        assert.equal(await page.getByTestId('admin-console-plugin').getAttribute('data-save-needed'), '0', 'a read-only section never asks to save');
    });
}
