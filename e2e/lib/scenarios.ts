// Browser end-to-end scenarios: the real plugin bundle in headless Chromium (real IndexedDB and
// WebCrypto) through a test host (React 18 or 19), against the real Mattermost server and its
// PostgreSQL. The scenarios build on each other (keys made in 1 are used later), so they run in
// order; the key replacement (4) runs after 5-7 so that those do not depend on it. Each run starts
// from its own state: no published keys, default plugin settings, a new channel.
import assert from 'node:assert/strict';
import {randomBytes} from 'node:crypto';
import {readFileSync, readdirSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {crc32, deflateSync} from 'node:zlib';
import {after, before, describe, test} from 'node:test';

import * as openpgp from 'openpgp';
import type {Browser, Locator, Page} from 'playwright-core';

import {dumpPages, hostReact, launchBrowser, openAs, postByText, postIn, reload, screenshot, send, wsMark, waitWsEvent, type Host, type UserPage} from './browser';
import {loadMMEnv} from './env';
import {startHKP, type HKPServer} from './hkp';
import {MailSink} from './mail';
import {MMAdmin} from './mm';
import {startHostProxy, type HostProxy} from './proxy';

const PLUGIN_ID = 'org.mme2ee.e2ee';
const PLACEHOLDER = 'Encrypted message';
const T = 30000;
// plugin.json's defaults (Mattermost keeps plugin setting keys lower-cased).
const DEFAULT_SETTINGS = {gpgkeyserver: '', botcanalwayspost: true, alwaysallowmsgtypes: ''};

/** A valid RGB PNG of random pixels (so its bytes are distinctive plaintext). */
export function makePNG(width: number, height: number): Buffer {
    const chunk = (type: string, data: Buffer) => {
        const len = Buffer.alloc(4);
        len.writeUInt32BE(data.length);
        const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
        const crc = Buffer.alloc(4);
        crc.writeUInt32BE(crc32(body));
        return Buffer.concat([len, body, crc]);
    };
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(width, 0);
    ihdr.writeUInt32BE(height, 4);
    ihdr[8] = 8; // bit depth
    ihdr[9] = 2; // RGB
    const rows: Buffer[] = [];
    for (let y = 0; y < height; y++) {
        rows.push(Buffer.from([0]), randomBytes(width * 3));
    }
    return Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(Buffer.concat(rows))), chunk('IEND', Buffer.alloc(0))]);
}

/** Waits for the uploaded files in a composer: the server got only .bin names, and the page shows
 * the real ones (`shown`, in any order; an image's thumbnail as "<name> (preview)"). */
export async function expectChips(admin: MMAdmin, page: Page, prefix: string, shown: string[]): Promise<void> {
    await page.waitForFunction(({sel, count}) => document.querySelectorAll(sel).length === count &&
        document.querySelector(sel.replace('-file"]', '-files"]'))?.getAttribute('data-uploading') === '0',
    {sel: `[data-testid="${prefix}composer-file"]`, count: shown.length}, {timeout: T});
    const chips = page.getByTestId(`${prefix}composer-file`);
    for (const id of await chips.evaluateAll((els) => els.map((e) => e.getAttribute('data-file-id') ?? ''))) {
        assert.match((await admin.api<{name: string}>('GET', `/files/${id}/info`)).name, /^[0-9a-f]{32}\.bin$/, 'the host uploads only .bin names');
    }
    await page.waitForFunction(({sel, want}) => JSON.stringify(Array.from(document.querySelectorAll(sel), (e) => e.firstChild?.textContent ?? '').sort()) === want,
        {sel: `[data-testid="${prefix}composer-file"]`, want: JSON.stringify([...shown].sort())}, {timeout: T}).catch(async () => {
        assert.deepEqual((await chips.evaluateAll((els) => els.map((e) => e.firstChild?.textContent ?? ''))).sort(), [...shown].sort(), 'the composer shows the real names');
    });
}

export function listFiles(dir: string): string[] {
    return readdirSync(dir, {withFileTypes: true}).flatMap((e) => (e.isDirectory() ? listFiles(join(dir, e.name)) : [join(dir, e.name)]));
}

/** Defines the scenarios against `host` (one test file per host variant). */
export function defineScenarios(host: Host): void {
    const env = loadMMEnv();
    const admin = new MMAdmin(env);
    const password = env.MM_TEST_PASSWORD;
    const team = env.MM_TEAM_NAME || 'e2ee';

    let browser: Browser;
    let proxy: HostProxy;
    let channel: {id: string; name: string};
    let channelPath = '';
    const users: Record<string, {id: string; email: string}> = {};
    const pages: UserPage[] = [];
    const backups: Record<string, string> = {};
    const sent: Record<string, string> = {}; // label → plaintext sent in the channel

    function nonce(label: string): string {
        const text = `${label} ${randomBytes(6).toString('hex')}`;
        sent[label] = text;
        return text;
    }

    const shot = (page: Page, name: string) => screenshot(page, `${host.name}-${name}`);

    async function open(username: string): Promise<UserPage> {
        const u = await openAs(browser, proxy.url, username, password, channelPath);
        pages.push(u);
        return u;
    }

    /** Runs `/e2ee init` (optionally --force), returns the backup shown once, closes the dialog. */
    async function initKey(page: Page, force = false, gpg = false): Promise<string> {
        await send(page, force ? '/e2ee init --force' : '/e2ee init');
        if (!force) {
            // The setup dialog: create or restore.
            await page.getByTestId('e2ee-setup-create').click({timeout: T});
        }
        if (gpg) {
            await page.getByTestId('e2ee-gpg-confirm').click({timeout: T});
        }
        const box = page.getByTestId('e2ee-backup-text');
        await box.waitFor({timeout: T});
        const backup = await box.inputValue();
        assert.ok(backup.length > 100, 'the backup dialog shows the key backup');
        await shot(page, `init-${force ? 'force-' : ''}${gpg ? 'gpg-' : ''}backup`);
        await closeBackup(page);
        await box.waitFor({state: 'detached', timeout: T});
        return backup;
    }

    /** Closes the backup dialog: first without the acknowledgement (a warning stops it), then with. */
    async function closeBackup(page: Page): Promise<void> {
        await page.getByTestId('e2ee-backup-close').click();
        await page.getByTestId('e2ee-backup-unsaved-warning').waitFor({timeout: T});
        assert.equal(await page.getByTestId('e2ee-backup-dialog').count(), 1, 'not closed without the acknowledgement');
        await page.getByTestId('e2ee-backup-ack').check();
        await page.getByTestId('e2ee-backup-close').click();
    }

    async function importKey(page: Page, backup: string): Promise<void> {
        await send(page, '/e2ee import');
        await page.getByTestId('e2ee-import-textarea').fill(backup, {timeout: T});
        await page.getByTestId('e2ee-import-submit').click();
        await page.getByTestId('e2ee-import-textarea').waitFor({state: 'detached', timeout: T});
    }

    /** The decrypted post carrying `text` (in a page or a part of it, like the RHS), with its lock badge. */
    async function expectDecrypted(scope: Page | Locator, text: string): Promise<void> {
        const post = postIn(scope, text);
        await post.getByTestId('e2ee-text').waitFor({timeout: T});
        assert.equal(await post.getByTestId('e2ee-lock').count(), 1, 'a decrypted post shows the lock badge');
        assert.ok((await post.getByTestId('e2ee-text').innerText()).includes(text));
    }

    /** The window loses focus (views.browser.focused false), as when the user looks elsewhere. */
    async function unfocus(page: Page): Promise<void> {
        await page.evaluate(() => window.dispatchEvent(new Event('blur')));
        await page.waitForFunction(() => (window as any).store.getState().views.browser.focused === false, undefined, {timeout: T});
    }

    /** Every desktop notification the page has shown (the host's notifyMe records them). */
    function notifications(page: Page): Promise<Array<{title: string; body: string; channelId: string; url: string; postId?: string}>> {
        return page.evaluate(() => (window as any).__notifications);
    }

    /** A scenario: on failure, every open page is saved to artifacts/ for a look. */
    function scenario(name: string, fn: () => Promise<void>): void {
        test(name, async () => {
            try {
                await fn();
            } catch (e) {
                await dumpPages(`${host.name}-${name.split('.')[0].replace(/[^a-z0-9]/gi, '')}`, pages);
                throw e;
            }
        });
    }

    async function channelMethod(): Promise<string> {
        const res = await fetch(`${admin.url}/plugins/${PLUGIN_ID}/api/v1/channel/encryption_method?chanID=${channel.id}`, {
            headers: {Authorization: `Bearer ${env.MM_ADMIN_TOKEN}`},
        });
        return (await res.json()).method;
    }

    /** Neither the REST API nor the database holds any of the plaintexts sent so far. */
    async function assertServerHasNoPlaintext(extra: string[] = []): Promise<void> {
        const secrets = [...Object.values(sent), ...extra];
        const rest = JSON.stringify(await admin.channelPosts(channel.id));
        const db = admin.psql(`select message, props from posts where channelid = '${channel.id}'`);
        const history = admin.psql(`select p.message, p.props from posts p where p.originalid <> '' and p.channelid = '${channel.id}'`);
        for (const s of secrets) {
            assert.ok(!rest.includes(s), `REST API must not contain "${s}"`);
            assert.ok(!db.includes(s), `posts table must not contain "${s}"`);
            assert.ok(!history.includes(s), `edit history must not contain "${s}"`);
        }
    }

    /** Every request body a page sends from now on (to prove that some text never left the browser). */
    function recordRequests(page: Page): {bodies: string[]; stop(): void} {
        const bodies: string[] = [];
        const listener = (r: {url(): string; postData(): string | null}) => bodies.push(`${r.url()} ${r.postData() ?? ''}`);
        page.on('request', listener);
        return {bodies, stop: () => page.off('request', listener)};
    }

    async function serverAllowsSyncedDrafts(): Promise<boolean> {
        return (await admin.api('GET', '/config')).ServiceSettings.AllowSyncedDrafts;
    }

    /** The drafts the database holds for a user (channel, root, message). */
    function dbDrafts(userId: string): string {
        return admin.psql(`select channelid, rootid, message from drafts where userid = '${userId}' and deleteat = 0`);
    }

    /** Types without sending, then waits until the host would have saved the draft (it debounces). */
    async function typeDraft(page: Page, text: string): Promise<void> {
        await page.getByTestId('composer-input').pressSequentially(text, {delay: 5});
        await page.waitForTimeout(1500);
    }

    before(async () => {
        await admin.requirePluginActive(PLUGIN_ID);
        for (const name of ['alice', 'bob', 'carol']) {
            const u = await admin.user(name);
            users[name] = {id: u.id, email: u.email};
        }
        // A clean start whatever ran before (an earlier run, the Go integration suite): no published
        // keys, key histories, key owner records or GPG backups, and the plugin's settings at their defaults.
        admin.psql(`delete from pluginkeyvaluestore where pluginid = '${PLUGIN_ID}' and ` +
            `(pkey like 'pubkey:%' or pkey like 'pubkey\\_history:%' or pkey like 'pubkey\\_owner:%' or pkey like 'backup\\_gpg:%')`);
        await admin.patchConfig({PluginSettings: {Plugins: {[PLUGIN_ID]: DEFAULT_SETTINGS}}});
        // Mattermost's default for the users' draft syncing (an earlier run's plugin turned it off).
        for (const u of Object.values(users)) {
            await admin.api('PUT', `/users/${u.id}/preferences`, [{user_id: u.id, category: 'advanced_settings', name: 'sync_drafts', value: 'true'}]);
        }
        channel = await admin.createChannel(team, 'e2e', ['alice', 'bob', 'carol']);
        channelPath = `${team}/channels/${channel.name}`;
        proxy = await startHostProxy({upstream: admin.url, hostDir: host.dir});
        browser = await launchBrowser();
    });

    after(async () => {
        for (const u of pages) {
            if (process.env.E2E_VERBOSE) {
                console.log(`--- browser log of ${u.username}\n${u.logs.join('\n')}`);
            }
        }
        await browser?.close();
        await proxy?.close();
    });

    describe(`browser e2e (${host.label})`, () => {
        let alice: UserPage;
        let bob: UserPage;
        let carol: UserPage;

        scenario('1. init, start, post: bob reads it, the server stores only ciphertext', async () => {
            alice = await open('alice');
            bob = await open('bob');
            // The page offers what this host variant promises (React 18: no window.ReactJSXRuntime, as 11.x).
            assert.deepEqual(await hostReact(alice.page), host.expect);

            // Before encryption the host behaves as Mattermost: a plain post, once edited, shows "Edited".
            const plain = `plain before encryption ${randomBytes(4).toString('hex')}`;
            await send(alice.page, plain);
            await postIn(bob.page, plain).waitFor({timeout: T});
            assert.equal(await postIn(bob.page, plain).getByTestId('post-edited').count(), 0, 'not edited yet');
            const mine = postIn(alice.page, plain);
            await mine.getByTestId('post-menu-button').click();
            await mine.getByTestId('post-menu-host-edit').click();
            await alice.page.getByTestId('host-edit-textarea').fill(`${plain} v2`);
            await alice.page.getByTestId('host-edit-save').click();
            await postIn(bob.page, `${plain} v2`).getByTestId('post-edited').waitFor({timeout: T});

            backups.alice = await initKey(alice.page);
            backups.bob = await initKey(bob.page);
            // Both browsers have heard of both keys (newPubkey) before anything is encrypted.
            await waitWsEvent(bob.page, 'newPubkey', {userID: users.alice.id});
            await waitWsEvent(alice.page, 'newPubkey', {userID: users.bob.id});

            await send(alice.page, '/e2ee start');
            for (const u of [alice, bob]) {
                await u.page.locator('[data-testid="e2ee-header-icon"][data-e2ee-state="on"]').waitFor({timeout: T});
            }
            assert.equal(await channelMethod(), 'p2p', 'the server has the channel encrypted');

            const text = nonce('hello bob');
            await send(alice.page, text);
            await expectDecrypted(alice.page, text);
            await expectDecrypted(bob.page, text);
            await shot(bob.page, '1-bob-reads');

            const posts = (await admin.channelPosts(channel.id)).posts as Record<string, any>;
            const encrypted = Object.values(posts).filter((p) => p.user_id === users.alice.id && p.type === 'custom_e2ee');
            assert.equal(encrypted.length, 1, 'one encrypted post from alice');
            assert.equal(encrypted[0].message, PLACEHOLDER);
            assert.ok(encrypted[0].props && typeof encrypted[0].props.e2ee === 'object', 'props.e2ee holds the encrypted message');
            const db = admin.psql(`select message, props from posts where id = '${encrypted[0].id}'`);
            assert.ok(db.startsWith(`${PLACEHOLDER}\t`), 'the database row has the placeholder as message');
            assert.ok(db.includes('"e2ee"'));
            await assertServerHasNoPlaintext();
        });

        scenario('1b. a reply in the thread view (RHS) is encrypted and read by the other side', async () => {
            const root = postIn(bob.page, sent['hello bob']);
            await root.getByTestId('post-reply').click();
            const rhs = bob.page.getByTestId('rhs');
            await rhs.getByTestId('e2ee-text').first().waitFor({timeout: T});
            const reply = nonce('thread reply');
            await send(bob.page, reply, 'rhs-');
            await expectDecrypted(rhs, reply);
            await expectDecrypted(alice.page, reply);
            const stored = Object.values((await admin.channelPosts(channel.id)).posts as Record<string, any>).
                filter((p) => p.root_id && p.user_id === users.bob.id);
            assert.equal(stored.length, 1);
            assert.equal(stored[0].type, 'custom_e2ee');
            await shot(bob.page, '1b-thread');
            await rhs.getByTestId('rhs-close').click();
            await assertServerHasNoPlaintext();
        });

        scenario('1c. an image and a PDF are encrypted in the browser: bob previews and downloads them byte for byte; tampering is caught', async () => {
            const png = makePNG(640, 400); // > 256 KiB: gets an encrypted thumbnail
            const pdf = Buffer.concat([Buffer.from('%PDF-1.4\n% encrypted attachment test\n'), randomBytes(150000), Buffer.from('\n%%EOF\n')]);
            await alice.page.getByTestId('file-input').setInputFiles([
                {name: 'photo.png', mimeType: 'image/png', buffer: png},
                {name: 'report.pdf', mimeType: 'application/pdf', buffer: pdf},
            ]);
            // The hook hands the host only ciphertext named <random>.bin (the server's names); alice's
            // page shows the real names. Three uploads: the image, its thumbnail (made in a canvas,
            // encrypted the same way), the PDF.
            await expectChips(admin, alice.page, '', ['photo.png', 'photo.png (preview)', 'report.pdf']);
            const text = nonce('files for bob');
            await send(alice.page, text);
            await expectDecrypted(bob.page, text);
            const post = postIn(bob.page, text);
            await post.getByTestId('e2ee-file').nth(1).waitFor({timeout: T});
            assert.deepEqual((await post.getByTestId('e2ee-file-name').allInnerTexts()).sort(), ['photo.png', 'report.pdf']);
            const fileRow = (scope: Locator, name: string) => scope.getByTestId('e2ee-file').filter({hasText: name});
            // The image is previewed from its decrypted thumbnail (a blob: URL); the PDF is download-only.
            const img = post.getByTestId('e2ee-file-preview');
            await img.waitFor({timeout: T});
            assert.equal(await post.getByTestId('e2ee-file-preview').count(), 1, 'only the image has a preview');
            assert.match(await img.getAttribute('src') ?? '', /^blob:/);
            assert.equal(await img.getAttribute('data-thumbnail'), 'true');
            await bob.page.waitForFunction((el) => (el as HTMLImageElement).naturalWidth === 320, await img.elementHandle(), {timeout: T});
            await shot(bob.page, '1c-files');
            for (const [name, original] of [['photo.png', png], ['report.pdf', pdf]] as const) {
                const [download] = await Promise.all([
                    bob.page.waitForEvent('download', {timeout: T}),
                    fileRow(post, name).getByTestId('e2ee-file-download').click(),
                ]);
                assert.equal(download.suggestedFilename(), name);
                const got = readFileSync(await download.path());
                assert.ok(got.equals(original), `downloaded ${download.suggestedFilename()} is byte-identical`);
            }
            // The server's file store: only .bin ciphertext for this post, no thumbnail or preview, and
            // no 32-byte run of either plaintext anywhere in the channel's files.
            const stored = (await admin.channelPosts(channel.id)).posts as Record<string, any>;
            const withFiles = Object.values(stored).find((p) => p.user_id === users.alice.id && Array.isArray(p.file_ids) && p.file_ids.length === 3);
            assert.ok(withFiles, 'the post carries three file IDs (image, thumbnail, PDF)');
            const dataDir = env.MM_DATA_DIR;
            assert.ok(dataDir, 'MM_DATA_DIR is known');
            const files = listFiles(dataDir).filter((f) => f.includes(`/channels/${channel.id}/`));
            const ours = files.filter((f) => withFiles.file_ids.some((id: string) => f.includes(`/${id}/`)));
            assert.equal(ours.length, 3, `only the three ciphertexts are stored for the post: ${ours.join(', ')}`);
            for (const f of ours) {
                assert.match(f, /\/[0-9a-f]{32}\.bin$/);
            }
            for (const f of files) {
                const bytes = readFileSync(f);
                for (const original of [png, pdf]) {
                    for (let off = 0; off + 32 <= original.length; off += 997) {
                        assert.ok(!bytes.includes(original.subarray(off, off + 32)), `${f} holds plaintext bytes`);
                    }
                }
            }
            // An edit through the plugin keeps the files.
            const mine = postIn(alice.page, text);
            await mine.getByTestId('post-menu-button').click();
            await mine.getByTestId('post-menu-action').filter({hasText: 'Edit encrypted message'}).click();
            const editedText = nonce('files for bob, edited');
            await alice.page.getByTestId('e2ee-edit-textarea').fill(editedText, {timeout: T});
            await alice.page.getByTestId('e2ee-edit-save').click();
            await expectDecrypted(bob.page, editedText);
            const editedPost = postIn(bob.page, editedText);
            await editedPost.getByTestId('e2ee-file').nth(1).waitFor({timeout: T});
            assert.deepEqual((await editedPost.getByTestId('e2ee-file-name').allInnerTexts()).sort(), ['photo.png', 'report.pdf']);
            // A ciphertext changed on the server: "file failed verification", for the preview and the download.
            for (const f of ours) {
                const bytes = readFileSync(f);
                bytes[bytes.length - 40] ^= 0x01;
                writeFileSync(f, bytes);
            }
            await reload(bob);
            const again = postIn(bob.page, editedText);
            await fileRow(again, 'photo.png').getByTestId('e2ee-file-error').waitFor({timeout: T});
            assert.equal(await again.getByTestId('e2ee-file-preview').count(), 0, 'no preview of a tampered image');
            await fileRow(again, 'report.pdf').getByTestId('e2ee-file-download').click();
            await bob.page.waitForFunction(() => document.querySelectorAll('[data-testid="e2ee-file-error"]').length >= 2, undefined, {timeout: T});
            assert.match(await again.getByTestId('e2ee-file-error').first().innerText(), /file failed verification/);
            await shot(bob.page, '1c-tampered');
            await assertServerHasNoPlaintext();
        });

        scenario('2. carol without a key sees the set-up state and cannot post plaintext', async () => {
            carol = await open('carol');
            const post = postByText(carol.page, PLACEHOLDER).or(carol.page.locator('[data-testid="post"]', {has: carol.page.getByTestId('e2ee-state-no-key')}));
            await carol.page.getByTestId('e2ee-state-no-key').first().waitFor({timeout: T});
            assert.ok(await post.count() >= 1);
            const attempt = `carol plaintext ${randomBytes(6).toString('hex')}`;
            await send(carol.page, attempt);
            const err = carol.page.getByTestId('composer-error');
            await err.waitFor({timeout: T});
            const message = await err.innerText();
            assert.match(message, /key/i, `a clear refusal: "${message}"`);
            await shot(carol.page, '2-carol-no-key');
            await assertServerHasNoPlaintext([attempt]);
            assert.equal(await postByText(carol.page, attempt).count(), 0);
        });

        scenario('3. bob imports his backup in a fresh profile and reads the history', async () => {
            const bob2 = await open('bob');
            await importKey(bob2.page, backups.bob);
            await expectDecrypted(bob2.page, sent['hello bob']);
            await shot(bob2.page, '3-bob-imported');
            await bob2.context.close();
        });

        scenario('3b. carol cannot register alice\'s key, even with alice\'s backup', async () => {
            // The browser proves possession (it holds the private key), but the server binds a key
            // to the first user who registered it: carol cannot pass off alice's v1 posts as hers.
            await send(carol.page, '/e2ee import');
            await carol.page.getByTestId('e2ee-import-textarea').fill(backups.alice, {timeout: T});
            await carol.page.getByTestId('e2ee-import-submit').click();
            const err = carol.page.getByTestId('e2ee-import-error');
            await err.waitFor({timeout: T});
            assert.match(await err.innerText(), /registered to another user/);
            await shot(carol.page, '3b-carol-key-refused');
            await carol.page.getByTestId('e2ee-import-cancel').click();
            const keys = await (await fetch(`${admin.url}/plugins/${PLUGIN_ID}/api/v1/pubkey/get`, {
                method: 'POST', headers: {'Authorization': `Bearer ${env.MM_ADMIN_TOKEN}`, 'Content-Type': 'application/json'},
                body: JSON.stringify({userIds: [users.carol.id]}),
            })).json();
            assert.equal(keys.pubKeys[users.carol.id], null, 'carol still has no key on the server');
            await carol.page.getByTestId('e2ee-state-no-key').first().waitFor({timeout: T});
        });

        scenario('5. edit through the plugin: bob sees it; the host\'s plain edit is refused', async () => {
            const original = nonce('to be edited');
            await send(alice.page, original);
            await expectDecrypted(bob.page, original);
            await expectDecrypted(alice.page, original);
            const post = postIn(alice.page, original);
            const postId = await post.getAttribute('data-post-id');
            await post.getByTestId('post-menu-button').click();
            await post.getByTestId('post-menu-action').filter({hasText: 'Edit encrypted message'}).click();
            const edited = nonce('edited text');
            await alice.page.getByTestId('e2ee-edit-textarea').fill(edited, {timeout: T});
            await alice.page.getByTestId('e2ee-edit-save').click();
            await expectDecrypted(bob.page, edited);
            await expectDecrypted(alice.page, edited);
            // Marked edited for everyone, like any edited post, though the placeholder never changed.
            await postIn(bob.page, edited).getByTestId('post-edited').waitFor({timeout: T});
            await shot(bob.page, '5-bob-sees-edit');
            await assertServerHasNoPlaintext();

            // The host's own Edit (views.posts.editingPost, as Mattermost's): the plugin takes it over.
            const target = alice.page.locator(`[data-post-id="${postId}"]`);
            await target.getByTestId('post-menu-button').click();
            await target.getByTestId('post-menu-host-edit').click();
            await alice.page.getByTestId('e2ee-edit-textarea').waitFor({timeout: T});
            // The host editor is closed by the plugin (not left open beside its dialog).
            await alice.page.getByTestId('host-edit-textarea').waitFor({state: 'detached', timeout: T});
            await alice.page.getByTestId('e2ee-edit-cancel').click();

            // The host's plain path itself (editPost → PATCH, no hooks), with alice's session: refused.
            const plain = `plain edit ${randomBytes(6).toString('hex')}`;
            const res = await alice.page.evaluate(async ({url, id, message}) => {
                const csrf = (document.cookie.match(/(?:^|;\s*)MMCSRF=([^;]+)/) || [])[1] || '';
                const r = await fetch(`${url}/api/v4/posts/${id}/patch`, {
                    method: 'PUT', credentials: 'include',
                    headers: {'Content-Type': 'application/json', 'X-Requested-With': 'XMLHttpRequest', 'X-CSRF-Token': csrf},
                    body: JSON.stringify({message}),
                });
                return {status: r.status, body: await r.text()};
            }, {url: proxy.url, id: postId, message: plain});
            assert.ok(res.status >= 400 && res.status < 500, `the server refuses a plaintext edit (status ${res.status})`);
            assert.match(res.body, /encrypt/i, `a clear message: ${res.body}`);
            await assertServerHasNoPlaintext([plain]);
            await expectDecrypted(bob.page, edited);
        });

        scenario('6. after a reload the key is still there and not extractable', async () => {
            await reload(alice);
            await expectDecrypted(alice.page, sent['edited text']);
            const result = await alice.page.evaluate(async (userId: string) => {
                const db = await new Promise<IDBDatabase>((resolve, reject) => {
                    const r = indexedDB.open('mm-e2ee');
                    r.onsuccess = () => resolve(r.result);
                    r.onerror = () => reject(r.error);
                });
                const record = await new Promise<any>((resolve, reject) => {
                    const r = db.transaction('keys', 'readonly').objectStore('keys').get(`ecdh_${userId}`);
                    r.onsuccess = () => resolve(r.result);
                    r.onerror = () => reject(r.error);
                });
                const found: CryptoKey[] = [];
                const walk = (v: any, depth: number) => {
                    if (!v || depth > 4) {
                        return;
                    }
                    if (v instanceof CryptoKey) {
                        found.push(v);
                    } else if (typeof v === 'object') {
                        Object.values(v).forEach((x) => walk(x, depth + 1));
                    }
                };
                walk(record, 0);
                const priv = found.find((k) => k.type === 'private');
                if (!priv) {
                    return {found: false, extractable: null, exportError: null};
                }
                let exportError: string | null = null;
                for (const format of ['pkcs8', 'jwk'] as const) {
                    try {
                        await crypto.subtle.exportKey(format, priv);
                    } catch (e) {
                        exportError = (e as Error).name;
                        continue;
                    }
                    exportError = null;
                    break;
                }
                return {found: true, extractable: priv.extractable, exportError};
            }, users.alice.id);
            assert.ok(result.found, 'the private ECDH key is in IndexedDB mm-e2ee/keys');
            assert.equal(result.extractable, false);
            assert.equal(result.exportError, 'InvalidAccessError', 'exportKey fails in the page');
        });

        scenario('7. a desktop notification for a mention carries the decrypted text', async () => {
            // The server cannot see a mention inside ciphertext; alice's channel notifies on all.
            await admin.api('PUT', `/channels/${channel.id}/members/${users.alice.id}/notify_props`,
                {channel_id: channel.id, user_id: users.alice.id, desktop: 'all'});
            await reload(alice);
            await unfocus(alice.page); // the host skips a post in the channel on screen while focused
            const text = nonce('@alice ping');
            await send(bob.page, text);
            const n = alice.page.getByTestId('host-notification').filter({hasText: text});
            await n.waitFor({timeout: T});
            const posts = Object.values((await admin.channelPosts(channel.id)).posts as Record<string, any>);
            assert.ok(posts.some((p) => p.id === (n as any) || (p.user_id === users.bob.id && p.type === 'custom_e2ee' && p.message === PLACEHOLDER)),
                'bob\'s post went to the server encrypted');
            const postId = await n.getAttribute('data-post-id');
            const stored = posts.find((p) => p.id === postId);
            assert.ok(stored && stored.type === 'custom_e2ee' && stored.message === PLACEHOLDER, 'the notified post is an encrypted one');
            assert.equal(await n.getAttribute('data-error'), '');
            assert.ok(!(await n.innerText()).includes(PLACEHOLDER));
            // Through the hook only ("all" level): the plugin's own `posted` handler stays out.
            assert.equal((await notifications(alice.page)).filter((x) => x.body.includes(text)).length, 1, 'exactly one notification');
            await shot(alice.page, '7-notification');
        });

        scenario('7b. on the default "mention" level, an encrypted @mention notifies once, with the decrypted text', async () => {
            // The server saw only the placeholder, so its mention list lacks bob and the host drops
            // the post before any plugin hook: the plugin's own `posted` handler must notify.
            await admin.api('PUT', `/channels/${channel.id}/members/${users.bob.id}/notify_props`,
                {channel_id: channel.id, user_id: users.bob.id, desktop: 'default', mark_unread: 'all'});
            const props = (await admin.user('bob')).notify_props;
            assert.equal(props.desktop, 'mention', 'bob\'s account is on Mattermost\'s default desktop level');
            await reload(bob);
            await unfocus(bob.page);
            const before = (await notifications(bob.page)).length;

            const quiet = nonce('no mention here');
            await send(alice.page, quiet);
            const text = nonce('hey @bob, the **plan**');
            await send(alice.page, text);
            await expectDecrypted(bob.page, quiet);
            const plain = text.replace(/\*\*/g, '');
            await bob.page.waitForFunction(({from, plain}) => (window as any).__notifications.slice(from).some((n: {body: string}) => n.body.includes(plain)),
                {from: before, plain}, {timeout: T});
            await expectDecrypted(bob.page, plain);
            // Both posts are decrypted on the page (one shared decryption): let the handler's last steps run.
            await bob.page.evaluate(() => new Promise((r) => setTimeout(r, 50)));
            const got = (await notifications(bob.page)).slice(before);
            assert.equal(got.length, 1, `exactly one notification: ${JSON.stringify(got.map((n) => n.body))}`);
            assert.equal(got[0].body, `@alice: ${plain}`, 'the decrypted text, markup stripped, after the sender');
            assert.equal(got[0].title, channel.name, 'titled with the channel, as the host does');
            assert.equal(got[0].channelId, channel.id);
            assert.ok(got[0].url.endsWith(`/channels/${channel.name}`), got[0].url);
            assert.equal(got[0].postId, undefined, 'sent through WebappUtils.sendDesktopNotificationToMe, not the host\'s path');
            assert.ok(!got.some((n) => n.body.includes(quiet) || n.body.includes(PLACEHOLDER)));
            assert.equal(await bob.page.getByTestId('host-notification').filter({hasText: plain}).count(), 1);
            await shot(bob.page, '7b-mention-notification');
            await assertServerHasNoPlaintext();
        });

        scenario('4. alice replaces her key: bob is warned before encrypting to it', async () => {
            const mark = await wsMark(bob.page);
            backups.alice = await initKey(alice.page, true);
            // bob's browser has been told of the new key (no race with its key cache).
            await waitWsEvent(bob.page, 'newPubkey', {userID: users.alice.id}, mark);
            const bobPosts = async () => Object.values((await admin.channelPosts(channel.id)).posts as Record<string, any>).
                filter((p) => p.user_id === users.bob.id).length;
            const before = await bobPosts();
            const text = nonce('bob after key change');
            await send(bob.page, text);
            const err = bob.page.getByTestId('composer-error');
            await err.waitFor({timeout: T});
            const warning = await err.innerText();
            assert.match(warning, /alice/i, `the warning names alice: "${warning}"`);
            assert.match(warning, /key/i);
            await shot(bob.page, '4-bob-key-change-warning');
            assert.equal(await bobPosts(), before, 'nothing was sent before the warning');
            // Sending again accepts the new key: alice reads it with her new key.
            await bob.page.getByTestId('composer-send').click();
            await expectDecrypted(alice.page, text);
            await expectDecrypted(bob.page, text);
            // alice's own posts under her new key read normally in her browser.
            const own = nonce('alice with new key');
            await send(alice.page, own);
            await expectDecrypted(bob.page, own);
            await expectDecrypted(alice.page, own);
            await assertServerHasNoPlaintext();
        });

        scenario('8. GPG backup: mailed encrypted to alice\'s OpenPGP key, decrypted, imported', async () => {
            const {privateKey, publicKey} = await openpgp.generateKey({
                type: 'ecc', curve: 'curve25519Legacy', userIDs: [{name: 'Alice', email: users.alice.email}], format: 'object',
            });
            const fingerprint = publicKey.getFingerprint().toUpperCase();
            let hkp: HKPServer | null = null;
            const mail = new MailSink(env);
            try {
                hkp = await startHKP([{
                    fingerprint, armored: publicKey.armor(), userIDs: [`Alice <${users.alice.email}>`],
                    algorithm: 22, bits: 255, created: Math.floor(publicKey.getCreationTime().getTime() / 1000),
                }]);
                await admin.patchConfig({PluginSettings: {Plugins: {[PLUGIN_ID]: {gpgkeyserver: hkp.url}}}});
                const mailbox = users.alice.email.split('@')[0];
                await mail.clear(mailbox);

                await send(alice.page, '/e2ee init --force');
                const confirm = alice.page.getByTestId('e2ee-gpg-confirm');
                await confirm.waitFor({timeout: T});
                assert.equal((await alice.page.getByTestId('e2ee-gpg-server').innerText()).trim(), hkp.url);
                const shownFp = (await alice.page.getByTestId('e2ee-gpg-fingerprint').innerText()).replace(/\s+/g, '').toUpperCase();
                assert.ok(shownFp.includes(fingerprint) || fingerprint.includes(shownFp), `fingerprint shown: ${shownFp}`);
                await shot(alice.page, '8-gpg-confirm');
                await confirm.click();
                await alice.page.getByTestId('e2ee-backup-gpg-note').waitFor({timeout: T});
                await closeBackup(alice.page);

                const text = nonce('after gpg backup');
                await send(alice.page, text);
                // bob's browser hides it behind the key-change warning until he accepts alice's new key.
                const last = bob.page.getByTestId('post-list').locator('[data-testid="post"][data-post-type="custom_e2ee"]').last();
                await last.getByTestId('e2ee-state-key-changed').waitFor({timeout: T});
                await shot(bob.page, '8-bob-key-changed');
                await last.getByTestId('e2ee-accept-key').click();
                await expectDecrypted(bob.page, text);

                const source = await mail.waitFor(mailbox, /-----BEGIN PGP MESSAGE-----/);
                const armored = source.match(/-----BEGIN PGP MESSAGE-----[\s\S]*?-----END PGP MESSAGE-----/)![0].replace(/\r/g, '');
                const {data: backup} = await openpgp.decrypt({message: await openpgp.readMessage({armoredMessage: armored}), decryptionKeys: privateKey});
                assert.ok(typeof backup === 'string' && backup.length > 100);

                const alice2 = await open('alice');
                await importKey(alice2.page, backup as string);
                await expectDecrypted(alice2.page, text);
                await shot(alice2.page, '8-gpg-imported');
                await assertServerHasNoPlaintext([backup as string]);
            } finally {
                await admin.patchConfig({PluginSettings: {Plugins: {[PLUGIN_ID]: {gpgkeyserver: ''}}}});
                await hkp?.close();
            }
        });

        /** `/e2ee verify @user` in `page`: the safety number shown (digits only); leaves the dialog open. */
        async function safetyNumberWith(page: Page, username: string): Promise<string> {
            await send(page, `/e2ee verify @${username}`);
            const number = page.getByTestId('e2ee-safety-number');
            await number.waitFor({timeout: T});
            await page.getByTestId('e2ee-safety-qr').waitFor({timeout: T}); // the lazily loaded QR chunk drew it
            const text = (await number.innerText()).trim();
            assert.match(text, /^(\d{5} ){11}\d{5}$/, `12 groups of 5 digits: "${text}"`);
            return text.replace(/ /g, '');
        }

        scenario('9. alice and bob verify each other; bob replaces his key: alice is blocked and alarmed until she re-verifies', async () => {
            // Fresh pages: earlier scenarios left dialogs and notices around.
            await reload(alice);
            await reload(bob);
            const a = await safetyNumberWith(alice.page, 'bob');
            const b = await safetyNumberWith(bob.page, 'alice');
            assert.equal(a, b, 'both sides see the same safety number');
            await shot(alice.page, '9-safety-number');
            for (const u of [alice, bob]) {
                await u.page.getByTestId('e2ee-verify-mark').click();
                await u.page.locator('[data-testid="e2ee-verify-state"][data-state="verified"]').waitFor({timeout: T});
                await u.page.getByTestId('e2ee-verify-close').click();
            }
            // The badge tells a verified sender from one trusted on first use.
            const verifiedText = nonce('verified hello');
            await send(alice.page, verifiedText);
            await expectDecrypted(bob.page, verifiedText);
            await postIn(bob.page, verifiedText).locator('[data-testid="e2ee-lock"][data-trust="verified"]').waitFor({timeout: T});
            // The lock's tooltip has a "Verify" entry that opens the dialog.
            await postIn(bob.page, verifiedText).getByTestId('e2ee-lock').click();
            await bob.page.getByTestId('e2ee-lock-verify').click();
            await bob.page.getByTestId('e2ee-safety-number').waitFor({timeout: T});
            assert.equal((await bob.page.getByTestId('e2ee-safety-number').innerText()).replace(/ /g, ''), a);
            await bob.page.getByTestId('e2ee-verify-close').click();
            // /e2ee verify alone lists the channel's members by state.
            await send(alice.page, '/e2ee verify');
            await alice.page.locator('[data-testid="e2ee-verify-row"][data-username="bob"][data-state="verified"]').waitFor({timeout: T});
            await alice.page.locator('[data-testid="e2ee-verify-row"][data-username="carol"][data-state="no-key"]').waitFor({timeout: T});
            await shot(alice.page, '9-verify-list');
            await alice.page.getByTestId('e2ee-verify-list-close').click();

            // bob: "Replace my key" from the list.
            const mark = await wsMark(alice.page);
            await send(bob.page, '/e2ee verify');
            await bob.page.getByTestId('e2ee-replace-key').click();
            await bob.page.getByTestId('e2ee-replace-key-warning').waitFor({timeout: T});
            await bob.page.getByTestId('e2ee-replace-key-confirm').click();
            const box = bob.page.getByTestId('e2ee-backup-text');
            await box.waitFor({timeout: T});
            backups.bob2 = await box.inputValue();
            await closeBackup(bob.page);
            await waitWsEvent(alice.page, 'newPubkey', {userID: users.bob.id}, mark);

            // bob's new posts are hidden from alice behind the alarm.
            const fromNewKey = nonce('bob with replaced key');
            await send(bob.page, fromNewKey);
            await expectDecrypted(bob.page, fromNewKey);
            const hidden = alice.page.getByTestId('post-list').locator('[data-testid="post"][data-post-type="custom_e2ee"]').last();
            await hidden.getByTestId('e2ee-state-verified-changed').waitFor({timeout: T});
            assert.equal(await postByText(alice.page, fromNewKey).count(), 0, 'the text is not shown');
            await shot(alice.page, '9-alarm');
            // Her posts are refused, and sending again does not accept the new key.
            const alicePosts = async () => Object.values((await admin.channelPosts(channel.id)).posts as Record<string, any>).filter((p) => p.user_id === users.alice.id).length;
            const before = await alicePosts();
            const blocked = nonce('alice blocked');
            for (let i = 0; i < 2; i++) {
                await send(alice.page, blocked);
                const err = alice.page.getByTestId('composer-error');
                await err.waitFor({timeout: T});
                assert.match(await err.innerText(), /alarm.*@bob.*verified/i);
                if (i === 0) {
                    await alice.page.getByTestId('composer-send').click();
                    await alice.page.getByTestId('composer-error').filter({hasText: /alarm/i}).waitFor({timeout: T});
                }
            }
            assert.equal(await alicePosts(), before, 'nothing was encrypted to the new key or sent');

            // alice compares the new number with bob and verifies again.
            const a2 = await safetyNumberWith(alice.page, 'bob');
            await alice.page.getByTestId('e2ee-verify-changed-warning').waitFor({timeout: T});
            assert.notEqual(a2, a, 'a new key gives a new number');
            const b2 = await safetyNumberWith(bob.page, 'alice');
            assert.equal(a2, b2);
            await bob.page.getByTestId('e2ee-verify-close').click();
            await alice.page.getByTestId('e2ee-verify-mark').click();
            await alice.page.locator('[data-testid="e2ee-verify-state"][data-state="verified"]').waitFor({timeout: T});
            await alice.page.getByTestId('e2ee-verify-close').click();
            await expectDecrypted(alice.page, fromNewKey);
            const after = nonce('alice after re-verify');
            await send(alice.page, after);
            await expectDecrypted(bob.page, after);
            await assertServerHasNoPlaintext();
        });

        scenario('10. bob rotates and still reads his old posts; a fresh profile restores the all-keys backup and reads old and new', async () => {
            const oldOwn = nonce('bob before rotation');
            await send(bob.page, oldOwn);
            await expectDecrypted(bob.page, oldOwn);
            const oldFromAlice = nonce('alice to bob before rotation');
            await send(alice.page, oldFromAlice);
            await expectDecrypted(bob.page, oldFromAlice);

            // /e2ee init --force keeps the earlier keys; the backup dialog offers all keys.
            await send(bob.page, '/e2ee init --force');
            const box = bob.page.getByTestId('e2ee-backup-text');
            await box.waitFor({timeout: T});
            const single = await box.inputValue();
            assert.match(single, /^-----BEGIN MM E2EE PRIVATE KEY-----\n/, 'the original\'s single-key armor first');
            await bob.page.getByTestId('e2ee-backup-all-earlier').fill(`${backups.bob2}\n\n${backups.bob}`);
            await bob.page.getByTestId('e2ee-backup-all-make').click();
            const all = await bob.page.getByTestId('e2ee-backup-all-text').inputValue();
            assert.match(all, /^-----BEGIN MM E2EE PRIVATE KEY SET-----\n[\s\S]+\n-----END MM E2EE PRIVATE KEY SET-----$/);
            await shot(bob.page, '10-all-keys-backup');
            await closeBackup(bob.page);

            // Still readable here, though encrypted to the replaced key.
            await reload(bob);
            await expectDecrypted(bob.page, oldOwn);
            await expectDecrypted(bob.page, oldFromAlice);
            const newOwn = nonce('bob after rotation');
            await send(bob.page, newOwn);
            await expectDecrypted(bob.page, newOwn);

            // A fresh profile: the setup dialog opens by itself in the encrypted channel; restore all keys.
            const bob3 = await open('bob');
            await bob3.page.getByTestId('e2ee-setup-dialog').waitFor({timeout: T});
            await shot(bob3.page, '10-setup-dialog');
            await bob3.page.getByTestId('e2ee-setup-restore').click();
            await bob3.page.getByTestId('e2ee-import-textarea').fill(all);
            await bob3.page.getByTestId('e2ee-import-submit').click();
            await bob3.page.getByTestId('e2ee-import-textarea').waitFor({state: 'detached', timeout: T});
            for (const text of [sent['hello bob'], oldOwn, oldFromAlice, newOwn]) {
                await expectDecrypted(bob3.page, text);
            }
            await shot(bob3.page, '10-restored-all-keys');
            await bob3.context.close();
            await assertServerHasNoPlaintext([all, single]);
        });

        scenario('11. slash commands in an encrypted channel: text never leaves without a confirmation', async () => {
            assert.equal(await channelMethod(), 'p2p');
            const requests = recordRequests(alice.page);
            const headerBefore = (await admin.api('GET', `/channels/${channel.id}`)).header;
            try {
                // /code posts its text here: refused outright.
                const code = `code secret ${randomBytes(6).toString('hex')}`;
                await send(alice.page, `/code ${code}`);
                const err = alice.page.getByTestId('composer-error');
                await err.waitFor({timeout: T});
                assert.match(await err.innerText(), /encrypted.*Nothing was sent/);

                // Other commands with text ask first; declined, nothing is sent.
                for (const cmd of ['/header', '/away', '/somepluginscommand']) {
                    const secret = `${cmd.slice(1)} secret ${randomBytes(6).toString('hex')}`;
                    await send(alice.page, `${cmd} ${secret}`);
                    const dialog = alice.page.getByTestId('e2ee-confirm-dialog');
                    await dialog.waitFor({timeout: T});
                    assert.ok((await dialog.innerText()).includes(cmd), 'the question names the command');
                    if (cmd === '/header') {
                        await shot(alice.page, '11-slash-confirm');
                    }
                    await alice.page.getByTestId('e2ee-confirm-cancel').click();
                    await dialog.waitFor({state: 'detached', timeout: T});
                    await alice.page.getByTestId('composer-error').filter({hasText: 'was not sent'}).waitFor({timeout: T});
                    assert.ok(!requests.bodies.some((b) => b.includes(secret)), `"${secret}" never left the browser`);
                }
                assert.ok(!requests.bodies.some((b) => b.includes(code)), 'the /code text never left the browser');
                assert.equal((await admin.api('GET', `/channels/${channel.id}`)).header, headerBefore, 'the header is unchanged');

                // No text: passes without a question (and does what it does).
                await send(alice.page, '/online');
                await alice.page.locator('[data-testid="composer-send"]:not([disabled])').waitFor({timeout: T});
                assert.equal(await alice.page.getByTestId('e2ee-confirm-dialog').count(), 0);

                // Confirmed: sent as typed.
                const header = `header ${randomBytes(4).toString('hex')}`;
                await send(alice.page, `/header ${header}`);
                await alice.page.getByTestId('e2ee-confirm-ok').click({timeout: T});
                for (let i = 0; i < 50 && (await admin.api('GET', `/channels/${channel.id}`)).header !== header; i++) {
                    await alice.page.waitForTimeout(100);
                }
                assert.equal((await admin.api('GET', `/channels/${channel.id}`)).header, header, 'the confirmed command ran');
            } finally {
                requests.stop();
            }
            await assertServerHasNoPlaintext();
        });

        scenario('12. encryption turned off by bob: alice is asked before each plaintext post, naming bob', async () => {
            const requests = recordRequests(alice.page);
            try {
                await send(bob.page, '/e2ee stop');
                await alice.page.locator('[data-testid="e2ee-header-icon"][data-e2ee-state="off"]').waitFor({timeout: T});
                const status = await (await fetch(`${admin.url}/plugins/${PLUGIN_ID}/api/v1/channel/status?chanID=${channel.id}`, {
                    headers: {Authorization: `Bearer ${env.MM_ADMIN_TOKEN}`},
                })).json();
                assert.equal(status.turned_off?.user_id, users.bob.id, 'the server recorded who turned it off');

                const declined = `declined plaintext ${randomBytes(6).toString('hex')}`;
                await send(alice.page, declined);
                const dialog = alice.page.getByTestId('e2ee-confirm-dialog');
                await dialog.waitFor({timeout: T});
                assert.match(await dialog.innerText(), /@bob turned off end-to-end encryption/);
                await shot(alice.page, '12-turned-off-warning');
                await alice.page.getByTestId('e2ee-confirm-cancel').click();
                await alice.page.getByTestId('composer-error').filter({hasText: 'not sent'}).waitFor({timeout: T});
                assert.ok(!requests.bodies.some((b) => b.includes(declined)), 'the declined text never left the browser');

                // Each plaintext post asks, not only the first.
                for (const label of ['plaintext one', 'plaintext two']) {
                    const text = `${label} ${randomBytes(4).toString('hex')}`;
                    await send(alice.page, text);
                    await alice.page.getByTestId('e2ee-confirm-ok').click({timeout: T});
                    await postIn(bob.page, text).waitFor({timeout: T});
                }
                // carol's browser never sent anything encrypted here: asked as well.
                const fromCarol = `carol plaintext ${randomBytes(4).toString('hex')}`;
                await send(carol.page, fromCarol);
                assert.match(await carol.page.getByTestId('e2ee-confirm-dialog').innerText({timeout: T}), /@bob/);
                await carol.page.getByTestId('e2ee-confirm-cancel').click();
            } finally {
                requests.stop();
            }
            await send(alice.page, '/e2ee start');
            await alice.page.locator('[data-testid="e2ee-header-icon"][data-e2ee-state="on"]').waitFor({timeout: T});
            assert.equal(await channelMethod(), 'p2p');
        });

        scenario('13. drafts: text typed in an encrypted channel never reaches the server as a draft', async () => {
            const team1 = await admin.team(team);
            // Mattermost's default: the server keeps drafts (the plugin cannot change that, docs/admin-guide.md).
            assert.equal(await serverAllowsSyncedDrafts(), true);
            const setSyncDrafts = (userId: string, value: string) => admin.api('PUT', `/users/${userId}/preferences`,
                [{user_id: userId, category: 'advanced_settings', name: 'sync_drafts', value}]);

            // Control: the host syncs the drafts of a user the plugin leaves alone (carol: no key, in a plain channel).
            await carol.context.close();
            await setSyncDrafts(users.carol.id, 'true');
            const carolPlain = await openAs(browser, proxy.url, 'carol', password, `${team}/channels/town-square`);
            pages.push(carolPlain);
            const carolDraft = `carol draft ${randomBytes(6).toString('hex')}`;
            await typeDraft(carolPlain.page, carolDraft);
            assert.ok(dbDrafts(users.carol.id).includes(carolDraft), 'the host syncs drafts while typing');
            await carolPlain.context.close();

            // alice has a key: what she types in the encrypted channel is not synced.
            const first = `draft first ${randomBytes(6).toString('hex')}`;
            await typeDraft(alice.page, first);
            assert.ok(!dbDrafts(users.alice.id).includes(first), 'not in the drafts table');
            await alice.page.getByTestId('composer-input').fill('');
            await alice.page.waitForTimeout(1000);

            // She turns draft syncing back on, with a draft of hers on the server here.
            const old = `old server draft ${randomBytes(6).toString('hex')}`;
            const seeded = await alice.page.evaluate(async ({url, channelId, userId, message}) => {
                const csrf = (document.cookie.match(/(?:^|;\s*)MMCSRF=([^;]+)/) || [])[1] || '';
                const r = await fetch(`${url}/api/v4/drafts`, {
                    method: 'POST', credentials: 'include',
                    headers: {'Content-Type': 'application/json', 'X-Requested-With': 'XMLHttpRequest', 'X-CSRF-Token': csrf},
                    body: JSON.stringify({user_id: userId, channel_id: channelId, root_id: '', message}),
                });
                return r.status;
            }, {url: proxy.url, channelId: channel.id, userId: users.alice.id, message: old});
            assert.equal(seeded, 201);
            assert.ok(dbDrafts(users.alice.id).includes(old));
            await setSyncDrafts(users.alice.id, 'true');

            // Her browser turns it off again, tells her why, and deletes that draft.
            await postByText(alice.page, 'Allow message drafts to sync with the server').last().waitFor({timeout: T});
            await shot(alice.page, '13-drafts-notice');
            for (let i = 0; i < 50 && (dbDrafts(users.alice.id).includes(old) ||
                (await admin.api('GET', `/users/${users.alice.id}/preferences/advanced_settings/name/sync_drafts`)).value !== 'false'); i++) {
                await alice.page.waitForTimeout(100);
            }
            assert.ok(!dbDrafts(users.alice.id).includes(old), 'her old draft in the encrypted channel was deleted');
            assert.equal((await admin.api('GET', `/users/${users.alice.id}/preferences/advanced_settings/name/sync_drafts`)).value, 'false');

            const typed = `draft typed ${randomBytes(6).toString('hex')}`;
            await typeDraft(alice.page, typed);
            assert.ok(!dbDrafts(users.alice.id).includes(typed), 'not in the drafts table');
            const listed = JSON.stringify(await alice.page.evaluate(async ({url, teamId}) => {
                const r = await fetch(`${url}/api/v4/users/me/teams/${teamId}/drafts`, {credentials: 'include', headers: {'X-Requested-With': 'XMLHttpRequest'}});
                return {status: r.status, body: await r.text()};
            }, {url: proxy.url, teamId: team1.id}));
            assert.match(listed, /"status":200/);
            assert.ok(!listed.includes(typed) && !listed.includes(old), 'not in GET /users/me/teams/{team_id}/drafts');
            await alice.page.getByTestId('composer-input').fill('');
        });

        scenario('14. a system admin cannot rewrite the bot\'s announcement in clear: the host\'s editor is closed, the server refuses', async () => {
            // Last: the admin joins the channel (a member without a key) for this scenario only.
            const adminUser = await admin.user(env.MM_ADMIN_USERNAME);
            await admin.api('POST', `/channels/${channel.id}/members`, {user_id: adminUser.id});
            const sys = await openAs(browser, proxy.url, env.MM_ADMIN_USERNAME, env.MM_ADMIN_PASSWORD, channelPath);
            pages.push(sys);
            // No key in an encrypted channel: the setup dialog offers itself; not now.
            await sys.page.getByTestId('e2ee-setup-later').click({timeout: T});
            const announcement = postIn(sys.page, 'turned on end-to-end encryption');
            await announcement.waitFor({timeout: T});
            const postId = await announcement.getAttribute('data-post-id');
            const before = admin.psql(`select message from posts where id = '${postId}'`);
            // The host offers Edit on others' posts to an admin, as Mattermost does; the plugin closes it.
            await announcement.getByTestId('post-menu-button').click();
            await announcement.getByTestId('post-menu-host-edit').click();
            await postIn(sys.page, 'an unencrypted message cannot be edited here').waitFor({timeout: T});
            await sys.page.getByTestId('host-edit-textarea').waitFor({state: 'detached', timeout: T});
            assert.equal(await sys.page.evaluate(() => (window as any).store.getState().views.posts.editingPost.show), false);
            await shot(sys.page, '14-admin-edit-refused');

            // The host's save path itself (PATCH, no hooks in the browser), with the admin's session: refused.
            const plain = `admin rewrite ${randomBytes(6).toString('hex')}`;
            const res = await sys.page.evaluate(async ({url, id, message}) => {
                const csrf = (document.cookie.match(/(?:^|;\s*)MMCSRF=([^;]+)/) || [])[1] || '';
                const r = await fetch(`${url}/api/v4/posts/${id}/patch`, {
                    method: 'PUT', credentials: 'include',
                    headers: {'Content-Type': 'application/json', 'X-Requested-With': 'XMLHttpRequest', 'X-CSRF-Token': csrf},
                    body: JSON.stringify({message}),
                });
                return {status: r.status, body: await r.text()};
            }, {url: proxy.url, id: postId, message: plain});
            assert.equal(res.status, 400, `the server refuses the admin's plaintext edit: ${res.body}`);
            assert.match(res.body, /only its author/);
            assert.equal(admin.psql(`select message from posts where id = '${postId}'`), before, 'the announcement is unchanged');
            await assertServerHasNoPlaintext([plain]);
            await sys.context.close();
        });

        // Last: it gives alice, bob and carol new keys in fresh profiles.
        scenario('15. channel-key mode: carol, removed, cannot read what follows; dave joins and reads the current epoch, then all with history sharing', async () => {
            // A channel of its own, and fresh browser profiles with new keys (the earlier scenarios' keys stay where they are).
            const ch = await admin.createChannel(team, 'e2e-ck', ['alice', 'bob', 'carol']);
            const path = `${team}/channels/${ch.name}`;
            const openIn = async (name: string) => {
                const u = await openAs(browser, proxy.url, name, password, path);
                pages.push(u);
                return u;
            };
            const a = await openIn('alice');
            const b = await openIn('bob');
            const c = await openIn('carol');
            // Fresh profiles: the setup dialog (it may open by itself in an encrypted channel), "create".
            const createKey = async (page: Page) => {
                const dialog = page.getByTestId('e2ee-setup-dialog');
                if (!await dialog.isVisible()) {
                    await send(page, '/e2ee init');
                }
                await page.getByTestId('e2ee-setup-create').click({timeout: T});
                const box = page.getByTestId('e2ee-backup-text');
                await box.waitFor({timeout: T});
                await closeBackup(page);
                await box.waitFor({state: 'detached', timeout: T});
            };
            for (const u of [a, b, c]) {
                await createKey(u.page);
            }
            await waitWsEvent(a.page, 'newPubkey', {userID: users.bob.id});
            await waitWsEvent(a.page, 'newPubkey', {userID: users.carol.id});

            await send(a.page, '/e2ee start --mode channel');
            for (const u of [a, b]) {
                await u.page.locator('[data-testid="e2ee-header-icon"][data-e2ee-state="on"]').waitFor({timeout: T});
            }
            assert.equal(await a.page.getByTestId('e2ee-header-icon').getAttribute('title'), 'Encryption on (channel-key mode)');
            const ckSecrets: string[] = [];
            const say = (label: string) => {
                const text = nonce(label);
                ckSecrets.push(text);
                return text;
            };

            const t1 = say('channel key epoch 1');
            await send(a.page, t1);
            await expectDecrypted(b.page, t1);
            await expectDecrypted(c.page, t1);
            assert.equal(await postIn(b.page, t1).getByTestId('e2ee-lock').getAttribute('data-version'), '3');

            // carol is removed; alice's next post starts epoch 2 without her.
            await admin.api('DELETE', `/channels/${ch.id}/members/${users.carol.id}`);
            const t2 = say('channel key after the removal');
            await send(a.page, t2);
            await expectDecrypted(b.page, t2);
            const kv = (like: string) => admin.psql(`select pkey, convert_from(pvalue, 'UTF8') from pluginkeyvaluestore where pluginid = '${PLUGIN_ID}' and pkey like '${like}'`);
            const epoch2 = kv(`e3part:${ch.id}:2:%`);
            assert.ok(epoch2.includes(users.bob.id) && epoch2.includes(users.alice.id), 'epoch 2 wraps the key for alice and bob');
            assert.ok(!epoch2.includes(users.carol.id), 'epoch 2 has no copy for carol');
            // carol's browser (holding epoch 1's key) can neither fetch the record nor the post.
            const status = await c.page.evaluate(async (url) => (await fetch(url, {credentials: 'include', headers: {'X-Requested-With': 'XMLHttpRequest'}})).status,
                `${proxy.url}/plugins/${PLUGIN_ID}/api/v1/channel/epoch?chanID=${ch.id}&epoch=2`);
            assert.equal(status, 403);
            await shot(b.page, '15-bob-reads-epoch-2');

            // dave joins with a key; alice's browser adds his copy of the current epoch when she posts.
            const daveName = `dave${randomBytes(4).toString('hex')}`;
            const dave = await admin.api('POST', '/users', {username: daveName, email: `${daveName}@example.com`, password});
            const teamObj = await admin.team(team);
            await admin.api('POST', `/teams/${teamObj.id}/members`, {team_id: teamObj.id, user_id: dave.id});
            await admin.api('POST', `/channels/${ch.id}/members`, {user_id: dave.id});
            const d = await openIn(daveName);
            await d.page.getByTestId('e2ee-setup-dialog').waitFor({timeout: T}); // offered in an encrypted channel
            await createKey(d.page);
            await waitWsEvent(a.page, 'newPubkey', {userID: dave.id});
            const t3 = say('channel key dave joined');
            await send(a.page, t3);
            const deadline = Date.now() + T;
            while (!kv(`e3join:${ch.id}:2:${dave.id}`).includes(dave.id)) {
                assert.ok(Date.now() < deadline, 'alice\'s browser added dave\'s copy of epoch 2');
                await new Promise((r) => setTimeout(r, 250));
            }
            await reload(d);
            await expectDecrypted(d.page, t3);
            await expectDecrypted(d.page, t2);
            // epoch 1 is from before dave: a clear state, not an error
            await d.page.getByTestId('e2ee-state-not-member').first().waitFor({timeout: T});
            await shot(d.page, '15-dave-reads-current-epoch');

            // With history sharing on, alice's next post also gives dave epoch 1: he reads everything.
            await send(a.page, '/e2ee history on');
            const t4 = say('channel key history shared');
            await send(a.page, t4);
            const deadline1 = Date.now() + T;
            while (!kv(`e3join:${ch.id}:1:${dave.id}`).includes(dave.id)) {
                assert.ok(Date.now() < deadline1, 'alice\'s browser added dave\'s copy of epoch 1');
                await new Promise((r) => setTimeout(r, 250));
            }
            await reload(d);
            for (const text of [t1, t2, t3, t4]) {
                await expectDecrypted(d.page, text);
            }
            assert.equal(await d.page.getByTestId('e2ee-state-not-member').count(), 0);

            // The header lock turns encryption on with method=auto: past ChannelKeyThreshold members the
            // server chooses channel-key mode, and the lock's tooltip names it. Edits there are v3, an
            // older P2P post's edit too (design §13.6).
            const ch2 = await admin.createChannel(team, 'e2e-ck-auto', ['alice', 'bob']);
            const goTo = async (u: typeof a, channelName: string) => {
                await u.page.goto(`${proxy.url}/#/${team}/channels/${channelName}`);
                await reload(u);
            };
            for (const u of [a, b]) {
                await goTo(u, ch2.name);
            }
            await send(a.page, '/e2ee start --mode p2p');
            await b.page.locator('[data-testid="e2ee-header-icon"][data-e2ee-state="on"]').waitFor({timeout: T});
            const old = say('sent in P2P before the switch');
            await send(a.page, old);
            await expectDecrypted(b.page, old);
            assert.equal(await postIn(b.page, old).getByTestId('e2ee-lock').getAttribute('data-version'), '2');
            const lock = a.page.locator('[data-testid="channel-header-button"]', {has: a.page.getByTestId('e2ee-header-icon')});
            await lock.click(); // off
            await a.page.locator('[data-testid="e2ee-header-icon"][data-e2ee-state="off"]').waitFor({timeout: T});
            await admin.patchConfig({PluginSettings: {Plugins: {[PLUGIN_ID]: {channelkeythreshold: 2}}}});
            try {
                // The setting reaches the plugin through its configuration hook: retry until it chose channel-key mode.
                const deadline2 = Date.now() + T;
                for (;;) {
                    await lock.click(); // on: method=auto
                    await a.page.locator('[data-testid="e2ee-header-icon"][data-e2ee-state="on"]').waitFor({timeout: T});
                    if (await a.page.getByTestId('e2ee-header-icon').getAttribute('title') === 'Encryption on (channel-key mode)') {
                        break;
                    }
                    assert.ok(Date.now() < deadline2, 'the header lock turned channel-key mode on with ChannelKeyThreshold 2');
                    await lock.click(); // off again
                    await a.page.locator('[data-testid="e2ee-header-icon"][data-e2ee-state="off"]').waitFor({timeout: T});
                    await new Promise((r) => setTimeout(r, 500));
                }
            } finally {
                await admin.patchConfig({PluginSettings: {Plugins: {[PLUGIN_ID]: {channelkeythreshold: 50}}}});
            }
            await lock.hover();
            assert.equal((await a.page.getByTestId('channel-header-button-tooltip').innerText({timeout: T})).trim(), 'Encryption on (channel-key mode)');
            const bLock = b.page.locator('[data-testid="channel-header-button"]', {has: b.page.getByTestId('e2ee-header-icon')});
            await b.page.locator('[data-testid="e2ee-header-icon"][title="Encryption on (channel-key mode)"]').waitFor({timeout: T});
            await bLock.hover();
            assert.equal((await b.page.getByTestId('channel-header-button-tooltip').innerText({timeout: T})).trim(), 'Encryption on (channel-key mode)');
            await shot(b.page, '15-header-lock-channel-key-mode');

            const fresh = say('channel key via the header lock');
            await send(a.page, fresh);
            await expectDecrypted(b.page, fresh);
            assert.equal(await postIn(b.page, fresh).getByTestId('e2ee-lock').getAttribute('data-version'), '3');
            // Edits in the browser: the v3 post stays v3, the older v2 post becomes v3.
            const editIn = async (text: string, next: string) => {
                const post = postIn(a.page, text);
                await post.getByTestId('post-menu-button').click();
                await post.getByTestId('post-menu-action').filter({hasText: 'Edit encrypted message'}).click();
                await a.page.getByTestId('e2ee-edit-textarea').fill(next, {timeout: T});
                await a.page.getByTestId('e2ee-edit-save').click();
                await a.page.getByTestId('e2ee-edit-textarea').waitFor({state: 'detached', timeout: T});
            };
            const freshEdited = say('channel key post, edited');
            await editIn(fresh, freshEdited);
            await expectDecrypted(b.page, freshEdited);
            await postIn(b.page, freshEdited).getByTestId('post-edited').waitFor({timeout: T});
            assert.equal(await postIn(b.page, freshEdited).getByTestId('e2ee-lock').getAttribute('data-version'), '3');
            const oldEdited = say('P2P post, edited in channel-key mode');
            await editIn(old, oldEdited);
            await expectDecrypted(b.page, oldEdited);
            assert.equal(await postIn(b.page, oldEdited).getByTestId('e2ee-lock').getAttribute('data-version'), '3');
            assert.equal(admin.psql(`select count(*) from posts where channelid = '${ch2.id}' and deleteat = 0 and editat > 0 and props->'e2ee'->>'version' = '3'`).trim(), '2',
                'the server stores both edits as v3');
            await shot(b.page, '15-edits-in-channel-key-mode');

            const db = admin.psql(`select message, props from posts where channelid in ('${ch.id}', '${ch2.id}')`);
            for (const secret of ckSecrets) {
                assert.ok(!db.includes(secret), `posts table must not contain "${secret}"`);
            }
        });
    });
}
