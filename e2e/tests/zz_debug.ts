import {join} from 'node:path';
import {launchBrowser, openAs, screenshot, send, postByText} from '../lib/browser';
import {e2eRoot, loadMMEnv} from '../lib/env';
import {MMAdmin} from '../lib/mm';
import {startHostProxy} from '../lib/proxy';
(async () => {
    const env = loadMMEnv();
    const admin = new MMAdmin(env);
    admin.psql(`delete from pluginkeyvaluestore where pluginid = 'org.mme2ee.e2ee' and (pkey like 'pubkey:%' or pkey like 'backup_gpg:%')`);
    const ch = await admin.createChannel('e2ee', 'dbg', ['alice', 'bob']);
    const proxy = await startHostProxy({upstream: admin.url, hostDir: join(e2eRoot, 'dist', 'host')});
    const b = await launchBrowser();
    const a = await openAs(b, proxy.url, 'alice', env.MM_TEST_PASSWORD, `e2ee/channels/${ch.name}`);
    const bo = await openAs(b, proxy.url, 'bob', env.MM_TEST_PASSWORD, `e2ee/channels/${ch.name}`);
    for (const u of [a, bo]) {
        await send(u.page, '/e2ee init');
        await u.page.getByTestId('e2ee-backup-text').waitFor();
        await u.page.getByTestId('e2ee-backup-close').click();
    }
    await send(a.page, '/e2ee start');
    await new Promise((r) => setTimeout(r, 2000));
    await send(a.page, 'hello world');
    const post = postByText(a.page, 'hello world');
    await post.getByTestId('e2ee-text').waitFor();
    await post.getByTestId('post-menu-button').click();
    await post.getByTestId('post-menu-action').filter({hasText: 'Edit encrypted message'}).click();
    await a.page.getByTestId('e2ee-edit-textarea').fill('edited world');
    await a.page.getByTestId('e2ee-edit-save').click();
    await new Promise((r) => setTimeout(r, 4000));
    await screenshot(a.page, 'debug-a');
    await screenshot(bo.page, 'debug-b');
    console.log(await a.page.locator('[data-testid="post"]').last().innerHTML());
    console.log(await bo.page.locator('[data-testid="post"]').last().innerHTML());
    console.log(admin.psql(`select id, type, message, editat, originalid, left(props::text, 80) from posts where channelid='${ch.id}' order by createat`));
    console.log(a.logs.join('\n'));
    console.log(bo.logs.join('\n'));
    await b.close(); await proxy.close();
})();
