// The web app while its server half is away (make faults runs this file alone, not npm test: it
// kills the plugin's process, and the server stops restarting a plugin after 3 crashes an hour).
// A page that has the plugin loaded keeps encrypting or refusing while the plugin's process is
// dead and until the server has restarted it: no request carries the plaintext, and neither the
// REST API nor the database ever holds it.
import assert from 'node:assert/strict';
import {randomBytes} from 'node:crypto';
import {readdirSync, readlinkSync} from 'node:fs';
import {join} from 'node:path';
import {after, before, describe, test} from 'node:test';

import type {Browser, Page} from 'playwright-core';

import {HOSTS, dumpPages, launchBrowser, openAs, postIn, send, waitWsEvent, type UserPage} from '../lib/browser';
import {loadMMEnv} from '../lib/env';
import {MMAdmin} from '../lib/mm';
import {startHostProxy, type HostProxy} from '../lib/proxy';

const PLUGIN_ID = 'org.mme2ee.e2ee';
const T = 30000;

/** The plugin's process, found by its executable under the server's plugin directory. */
function pluginPid(pluginDir: string): number | undefined {
    const prefix = join(pluginDir, PLUGIN_ID, 'server', 'dist') + '/';
    for (const name of readdirSync('/proc')) {
        if (!/^\d+$/.test(name)) {
            continue;
        }
        try {
            const exe = readlinkSync(`/proc/${name}/exe`);
            if (exe.startsWith(prefix) && !exe.endsWith(' (deleted)')) {
                return Number(name);
            }
        } catch {
            // gone, or not ours to read
        }
    }
    return undefined;
}

describe('the web app while the plugin process is dead', () => {
    const env = loadMMEnv();
    const admin = new MMAdmin(env);
    const host = HOSTS[0];
    let browser: Browser;
    let proxy: HostProxy;
    const pages: UserPage[] = [];
    const sent: string[] = [];

    before(async () => {
        await admin.requirePluginActive(PLUGIN_ID);
        assert.ok(env.MM_PLUGIN_DIR, 'MM_PLUGIN_DIR is not set in the server env file');
        admin.psql(`delete from pluginkeyvaluestore where pluginid = '${PLUGIN_ID}' and ` +
            `(pkey like 'pubkey:%' or pkey like 'pubkey\\_history:%' or pkey like 'pubkey\\_owner:%' or pkey like 'backup\\_gpg:%')`);
        proxy = await startHostProxy({upstream: admin.url, hostDir: host.dir});
        browser = await launchBrowser();
    });

    after(async () => {
        await browser?.close();
        await proxy?.close();
    });

    async function initKey(page: Page): Promise<void> {
        await send(page, '/e2ee init');
        await page.getByTestId('e2ee-setup-create').click({timeout: T});
        await page.getByTestId('e2ee-backup-text').waitFor({timeout: T});
        await page.getByTestId('e2ee-backup-ack').check();
        await page.getByTestId('e2ee-backup-close').click();
        await page.getByTestId('e2ee-backup-text').waitFor({state: 'detached', timeout: T});
    }

    test('keeps encrypting or refusing, never sends plaintext, until the server restarts the plugin', async () => {
        try {
            const channel = await admin.createChannel(env.MM_TEAM_NAME || 'e2ee', 'crash', ['alice', 'bob']);
            const path = `${env.MM_TEAM_NAME || 'e2ee'}/channels/${channel.name}`;
            const alice = await openAs(browser, proxy.url, 'alice', env.MM_TEST_PASSWORD, path);
            const bob = await openAs(browser, proxy.url, 'bob', env.MM_TEST_PASSWORD, path);
            pages.push(alice, bob);
            await initKey(alice.page);
            await initKey(bob.page);
            const bobUser = await admin.user('bob');
            await waitWsEvent(alice.page, 'newPubkey', {userID: bobUser.id});
            await send(alice.page, '/e2ee start');
            await alice.page.locator('[data-testid="e2ee-header-icon"][data-e2ee-state="on"]').waitFor({timeout: T});
            const before = `before the crash ${randomBytes(6).toString('hex')}`;
            sent.push(before);
            await send(alice.page, before);
            await postIn(bob.page, before).getByTestId('e2ee-text').waitFor({timeout: T});

            // Every request body alice's page sends from now on.
            const bodies: string[] = [];
            alice.page.on('request', (r) => bodies.push(`${r.url()} ${r.postData() ?? ''}`));

            const pid = pluginPid(env.MM_PLUGIN_DIR);
            assert.ok(pid, 'the plugin process is running');
            process.kill(pid, 'SIGKILL');
            const killedAt = Date.now();

            // Post once a second until the server has the plugin running again (and a few after).
            let backAt = 0;
            let afterBack = 0;
            for (let i = 0; afterBack < 3 && Date.now() - killedAt < 180000; i++) {
                const text = `while away ${i} ${randomBytes(6).toString('hex')}`;
                sent.push(text);
                await send(alice.page, text).catch(() => undefined);
                await alice.page.waitForTimeout(1000);
                const now = pluginPid(env.MM_PLUGIN_DIR);
                if (!backAt && now && now !== pid) {
                    backAt = Date.now();
                }
                if (backAt) {
                    afterBack++;
                }
            }
            assert.ok(backAt, 'the server restarted the plugin within 3 minutes');
            await admin.requirePluginActive(PLUGIN_ID).catch(() => undefined);

            // After the restart, posting works again end to end.
            const later = `after the restart ${randomBytes(6).toString('hex')}`;
            sent.push(later);
            for (let i = 0; i < 30; i++) {
                await send(alice.page, later);
                try {
                    await postIn(bob.page, later).getByTestId('e2ee-text').waitFor({timeout: 5000});
                    break;
                } catch {
                    // the plugin's API may need a moment after its process is back
                }
            }
            await postIn(bob.page, later).getByTestId('e2ee-text').waitFor({timeout: T});

            for (const s of sent) {
                assert.ok(!bodies.some((b) => b.includes(s)), `no request from the page carries "${s}"`);
            }
            const rest = JSON.stringify(await admin.channelPosts(channel.id));
            const db = admin.psql(`select message, props from posts where channelid = '${channel.id}'`);
            for (const s of sent) {
                assert.ok(!rest.includes(s), `the REST API does not hold "${s}"`);
                assert.ok(!db.includes(s), `the posts table does not hold "${s}"`);
            }
            const encrypted = Number(admin.psql(`select count(*) from posts where channelid = '${channel.id}' and type = 'custom_e2ee' and deleteat = 0`).trim());
            console.log(`plugin process dead for ${((backAt - killedAt) / 1000).toFixed(1)} s; ${sent.length} messages typed, ` +
                `${encrypted} stored encrypted, none in plaintext`);
        } catch (e) {
            await dumpPages('crash', pages);
            throw e;
        }
    });
});
