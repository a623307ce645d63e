// Encrypted attachments beyond the file input (docs/design.md §15), on the React 19 host: files
// dropped or pasted into the centre composer, the thread on the right and the Threads view arrive
// encrypted; a refused file leaves the text and names the file; the plugin's editor keeps, removes
// and adds encrypted files; an image and a PDF in a channel-key (v3) channel are read by members.
import assert from 'node:assert/strict';
import {randomBytes} from 'node:crypto';
import {readFileSync} from 'node:fs';
import {after, before, describe, test} from 'node:test';

import type {Browser, Locator, Page} from 'playwright-core';

import {HOSTS, dumpPages, launchBrowser, openAs, postIn, send, waitWsEvent, type UserPage} from '../lib/browser';
import {loadMMEnv} from '../lib/env';
import {MMAdmin} from '../lib/mm';
import {startHostProxy, type HostProxy} from '../lib/proxy';
import {expectChips, listFiles, makePNG} from '../lib/scenarios';

const PLUGIN_ID = 'org.mme2ee.e2ee';
const T = 30000;
const host = HOSTS[1];
const BIN = /^[0-9a-f]{32}\.bin/;

type FileSpec = {name: string; type: string; bytes: Buffer};

/** Drops files on an element, as a drag from the desktop does (DataTransfer with Files). */
async function dropFiles(page: Page, testId: string, files: FileSpec[]): Promise<void> {
    await page.evaluate(({testId, files}) => {
        const dt = new DataTransfer();
        for (const f of files) {
            dt.items.add(new File([Uint8Array.from(atob(f.b64), (c) => c.charCodeAt(0))], f.name, {type: f.type}));
        }
        const el = document.querySelector(`[data-testid="${testId}"]`) as HTMLElement;
        el.dispatchEvent(new DragEvent('dragover', {dataTransfer: dt, bubbles: true, cancelable: true}));
        el.dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true}));
    }, {testId, files: files.map((f) => ({name: f.name, type: f.type, b64: f.bytes.toString('base64')}))});
}

/** Pastes files into a composer's text box, as pasting a screenshot does. */
async function pasteFiles(page: Page, testId: string, files: FileSpec[]): Promise<void> {
    await page.evaluate(({testId, files}) => {
        const dt = new DataTransfer();
        for (const f of files) {
            dt.items.add(new File([Uint8Array.from(atob(f.b64), (c) => c.charCodeAt(0))], f.name, {type: f.type}));
        }
        const el = document.querySelector(`[data-testid="${testId}"]`) as HTMLElement;
        el.focus();
        el.dispatchEvent(new ClipboardEvent('paste', {clipboardData: dt, bubbles: true, cancelable: true}));
    }, {testId, files: files.map((f) => ({name: f.name, type: f.type, b64: f.bytes.toString('base64')}))});
}

async function fileNames(post: Locator, count: number): Promise<string[]> {
    await post.getByTestId('e2ee-file').nth(count - 1).waitFor({timeout: T});
    return (await post.getByTestId('e2ee-file-name').allInnerTexts()).sort();
}

async function download(page: Page, post: Locator, name: string): Promise<Buffer> {
    const [d] = await Promise.all([
        page.waitForEvent('download', {timeout: T}),
        post.getByTestId('e2ee-file').filter({hasText: name}).getByTestId('e2ee-file-download').click(),
    ]);
    assert.equal(d.suggestedFilename(), name);
    return readFileSync(await d.path());
}

const env = loadMMEnv();
const admin = new MMAdmin(env);
const team = env.MM_TEAM_NAME || 'e2ee';
let browser: Browser;
let proxy: HostProxy;
const pages: UserPage[] = [];
const users: Record<string, {id: string}> = {};

async function open(name: string, path: string): Promise<UserPage> {
    const u = await openAs(browser, proxy.url, name, env.MM_TEST_PASSWORD, path);
    pages.push(u);
    return u;
}

/** A new key in this fresh profile (the setup dialog may already be open in an encrypted channel). */
async function createKey(page: Page): Promise<void> {
    const dialog = page.getByTestId('e2ee-setup-dialog');
    if (!await dialog.isVisible()) {
        await send(page, '/e2ee init');
    }
    await page.getByTestId('e2ee-setup-create').click({timeout: T});
    const box = page.getByTestId('e2ee-backup-text');
    await box.waitFor({timeout: T});
    await page.getByTestId('e2ee-backup-ack').check();
    await page.getByTestId('e2ee-backup-close').click();
    await box.waitFor({state: 'detached', timeout: T});
}

/** The channel's stored files: only .bin ciphertexts, none holding a 32-byte run of any plaintext. */
function assertStoreHasNoPlaintext(channelId: string, plaintexts: Buffer[]): void {
    assert.ok(env.MM_DATA_DIR, 'MM_DATA_DIR is known');
    const files = listFiles(env.MM_DATA_DIR).filter((f) => f.includes(`/channels/${channelId}/`));
    assert.ok(files.length > 0);
    for (const f of files) {
        assert.match(f, /\/[0-9a-f]{32}\.bin$/, `only encrypted uploads are stored: ${f}`);
        const bytes = readFileSync(f);
        for (const p of plaintexts) {
            for (let off = 0; off + 32 <= p.length; off += 997) {
                assert.ok(!bytes.includes(p.subarray(off, off + 32)), `${f} holds plaintext bytes`);
            }
        }
    }
}

function scenario(name: string, fn: () => Promise<void>): void {
    test(name, async () => {
        try {
            await fn();
        } catch (e) {
            await dumpPages(`${host.name}-files-${name.split('.')[0].replace(/[^a-z0-9]/gi, '')}`, pages);
            throw e;
        }
    });
}

before(async () => {
    await admin.requirePluginActive(PLUGIN_ID);
    for (const name of ['alice', 'bob']) {
        users[name] = await admin.user(name);
    }
    proxy = await startHostProxy({upstream: admin.url, hostDir: host.dir});
    browser = await launchBrowser();
});

after(async () => {
    await browser?.close();
    await proxy?.close();
});

describe(`encrypted files: drop, paste, threads, edits, channel-key mode (${host.label})`, () => {
    let alice: UserPage;
    let bob: UserPage;
    let channel: {id: string; name: string};
    const png = makePNG(640, 400); // > 256 KiB: gets an encrypted thumbnail
    const pdf = Buffer.concat([Buffer.from('%PDF-1.4\n% dropped\n'), randomBytes(120000), Buffer.from('\n%%EOF\n')]);
    const pasted = makePNG(40, 30);
    const plaintexts: Buffer[] = [png, pdf, pasted];
    let rootText = '';

    scenario('1. dropped and pasted files in the centre composer arrive encrypted; bob reads them', async () => {
        channel = await admin.createChannel(team, 'e2e-files', ['alice', 'bob']);
        const path = `${team}/channels/${channel.name}`;
        alice = await open('alice', path);
        bob = await open('bob', path);
        await createKey(alice.page);
        await createKey(bob.page);
        await waitWsEvent(alice.page, 'newPubkey', {userID: users.bob.id});
        await send(alice.page, '/e2ee start --mode p2p');
        for (const u of [alice, bob]) {
            await u.page.locator('[data-testid="e2ee-header-icon"][data-e2ee-state="on"]').waitFor({timeout: T});
        }
        await dropFiles(alice.page, 'post-list', [{name: 'photo.png', type: 'image/png', bytes: png}, {name: 'report.pdf', type: 'application/pdf', bytes: pdf}]);
        await expectChips(admin, alice.page, '', ['photo.png', 'photo.png (preview)', 'report.pdf']); // image, its thumbnail, PDF
        await pasteFiles(alice.page, 'composer-input', [{name: 'image.png', type: 'image/png', bytes: pasted}]);
        await expectChips(admin, alice.page, '', ['photo.png', 'photo.png (preview)', 'report.pdf', 'image.png']);
        rootText = `dropped and pasted ${randomBytes(4).toString('hex')}`;
        await send(alice.page, rootText);
        const post = postIn(bob.page, rootText);
        await post.getByTestId('e2ee-text').waitFor({timeout: T});
        assert.deepEqual(await fileNames(post, 3), ['image.png', 'photo.png', 'report.pdf']);
        // The host's own list of the post's files (their .bin names) is hidden beside ours.
        const hostList = post.getByTestId('fileAttachmentList');
        assert.equal(await hostList.count(), 1, 'the host renders its list');
        assert.equal(await hostList.isVisible(), false, 'but no .bin name is shown');
        assert.ok(!(await post.innerText()).includes('.bin'), 'no .bin name in the post as shown');
        assert.ok((await download(bob.page, post, 'report.pdf')).equals(pdf), 'the dropped PDF comes back byte for byte');
        assert.ok((await download(bob.page, post, 'image.png')).equals(pasted), 'the pasted image comes back byte for byte');
        assertStoreHasNoPlaintext(channel.id, plaintexts);
    });

    scenario('2. a file dropped on the thread on the right arrives encrypted with the reply', async () => {
        const root = postIn(bob.page, rootText);
        await root.getByTestId('post-reply').click();
        const rhs = bob.page.getByTestId('rhs');
        await rhs.waitFor({timeout: T});
        const notes = Buffer.from(`bob's notes ${randomBytes(40).toString('hex')}`);
        plaintexts.push(notes);
        await dropFiles(bob.page, 'rhs', [{name: 'notes.txt', type: 'text/plain', bytes: notes}]);
        await expectChips(admin, bob.page, 'rhs-', ['notes.txt']);
        assert.equal(await bob.page.getByTestId('composer-file').count(), 0, 'nothing went to the centre composer');
        const reply = `reply with a file ${randomBytes(4).toString('hex')}`;
        await send(bob.page, reply, 'rhs-');
        const seen = postIn(alice.page, reply);
        await seen.getByTestId('e2ee-text').waitFor({timeout: T});
        assert.deepEqual(await fileNames(seen, 1), ['notes.txt']);
        assert.ok((await download(alice.page, seen, 'notes.txt')).equals(notes));
        const stored = Object.values((await admin.channelPosts(channel.id)).posts as Record<string, any>).find((p) => p.root_id && p.user_id === users.bob.id);
        assert.equal(stored?.file_ids?.length, 1, 'the reply carries the file');
        await rhs.getByTestId('rhs-close').click();
        assertStoreHasNoPlaintext(channel.id, plaintexts);
    });

    scenario('3. the Threads view: a pasted file arrives encrypted; a refused file leaves the text and names the file', async () => {
        const rootId = await postIn(alice.page, rootText).getAttribute('data-post-id');
        // The current channel is an unencrypted one (Town Square), as when the Threads view is
        // opened from there: what counts is the channel of the thread it shows.
        const townSquare = await admin.api('GET', `/teams/name/${team}/channels/name/town-square`);
        await alice.page.evaluate((id) => (window as any).store.dispatch({type: 'SELECT_CHANNEL', data: id}), townSquare.id);
        await alice.page.locator('[data-testid="e2ee-header-icon"][data-e2ee-state="off"]').waitFor({timeout: T});
        await alice.page.evaluate(({team, rootId}) => {
            window.location.hash = `#/${team}/threads/${rootId}`;
        }, {team, rootId});
        await alice.page.getByTestId('threads-composer-input').waitFor({timeout: T});
        const shot = makePNG(64, 48);
        plaintexts.push(shot);
        await pasteFiles(alice.page, 'threads-composer-input', [{name: 'screenshot.png', type: 'image/png', bytes: shot}]);
        await expectChips(admin, alice.page, 'threads-', ['screenshot.png']);
        const reply = `threads view reply ${randomBytes(4).toString('hex')}`;
        await send(alice.page, reply, 'threads-');
        const seen = postIn(bob.page, reply);
        await seen.getByTestId('e2ee-text').waitFor({timeout: T});
        assert.deepEqual(await fileNames(seen, 1), ['screenshot.png']);
        assert.ok((await download(bob.page, seen, 'screenshot.png')).equals(shot));

        // Too large once encrypted (the server's MaxFileSize, lowered for the test): refused by name,
        // the typed text stays, nothing is uploaded.
        const config = await admin.api('GET', '/config');
        const max = config.FileSettings.MaxFileSize;
        await admin.patchConfig({FileSettings: {MaxFileSize: 100010}});
        try {
            await alice.page.waitForFunction(() => (window as any).store.getState().entities.general.config.MaxFileSize === '100010', undefined, {timeout: T});
            const typed = `not sent yet ${randomBytes(4).toString('hex')}`;
            await alice.page.getByTestId('threads-composer-input').fill(typed);
            await dropFiles(alice.page, 'threads-view', [{name: 'big-one.dat', type: 'application/octet-stream', bytes: randomBytes(100000)}]);
            const err = alice.page.getByTestId('threads-upload-error');
            await err.waitFor({timeout: T});
            assert.match(await err.innerText(), /big-one\.dat/, 'the error names the file');
            assert.equal(await alice.page.getByTestId('threads-composer-input').inputValue(), typed, 'the text stays in the composer');
            assert.equal(await alice.page.getByTestId('threads-composer-file').count(), 0, 'nothing was attached');
        } finally {
            await admin.patchConfig({FileSettings: {MaxFileSize: max}});
        }
        await alice.page.evaluate(({path, id}) => {
            window.location.hash = `#/${path}`;
            (window as any).store.dispatch({type: 'SELECT_CHANNEL', data: id});
        }, {path: `${team}/channels/${channel.name}`, id: channel.id});
        await alice.page.locator('[data-testid="e2ee-header-icon"][data-e2ee-state="on"]').waitFor({timeout: T});
        assertStoreHasNoPlaintext(channel.id, plaintexts);
    });

    scenario('4. editing keeps, removes and adds encrypted files; bob reads the new set', async () => {
        const mine = postIn(alice.page, rootText);
        const postId = await mine.getAttribute('data-post-id');
        const before = (await admin.api('GET', `/posts/${postId}`)).file_ids as string[];
        assert.equal(before.length, 4);
        await mine.getByTestId('post-menu-button').click();
        await mine.getByTestId('post-menu-action').filter({hasText: 'Edit encrypted message'}).click();
        const dialog = alice.page.getByTestId('e2ee-edit-dialog');
        await dialog.waitFor({timeout: T});
        assert.deepEqual((await dialog.getByTestId('e2ee-edit-file-name').allInnerTexts()).sort(), ['image.png', 'photo.png', 'report.pdf']);
        await dialog.getByTestId('e2ee-edit-file').filter({hasText: 'report.pdf'}).getByTestId('e2ee-edit-file-remove').click();
        const added = Buffer.concat([Buffer.from('%PDF-1.4\n% added in an edit\n'), randomBytes(90000)]);
        plaintexts.push(added);
        await dialog.getByTestId('e2ee-edit-file-input').setInputFiles([{name: 'added.pdf', mimeType: 'application/pdf', buffer: added}]);
        await dialog.getByTestId('e2ee-edit-file').filter({hasText: 'added.pdf'}).waitFor({timeout: T});
        const edited = `edited with files ${randomBytes(4).toString('hex')}`;
        await dialog.getByTestId('e2ee-edit-textarea').fill(edited);
        await dialog.getByTestId('e2ee-edit-save').click();
        await dialog.waitFor({state: 'detached', timeout: T});

        const post = postIn(bob.page, edited);
        await post.getByTestId('e2ee-text').waitFor({timeout: T});
        await bob.page.waitForFunction((el) => el!.querySelectorAll('[data-testid="e2ee-file-name"]').length === 3 &&
            Array.from(el!.querySelectorAll('[data-testid="e2ee-file-name"]')).some((n) => n.textContent === 'added.pdf'), await post.elementHandle(), {timeout: T});
        assert.deepEqual(await fileNames(post, 3), ['added.pdf', 'image.png', 'photo.png']);
        assert.ok((await download(bob.page, post, 'added.pdf')).equals(added), 'the added file comes back byte for byte');
        assert.ok((await download(bob.page, post, 'image.png')).equals(pasted), 'a kept file still opens');
        const after = (await admin.api('GET', `/posts/${postId}`)).file_ids as string[];
        assert.equal(after.length, 4, 'photo, its thumbnail, image, the added PDF');
        assert.equal(after.filter((id) => before.includes(id)).length, 3, 'the PDF is gone, the rest kept');
        const infos = await Promise.all(after.map((id) => admin.api('GET', `/files/${id}/info`)));
        for (const info of infos) {
            assert.match(info.name, BIN);
        }
        assertStoreHasNoPlaintext(channel.id, plaintexts);
    });

    scenario('5. channel-key mode (v3): an image and a PDF are read by members, byte for byte', async () => {
        const ck = await admin.createChannel(team, 'e2e-files-ck', ['alice', 'bob']);
        const path = `${team}/channels/${ck.name}`;
        const a = await open('alice', path);
        const b = await open('bob', path);
        // The keys made in scenario 1 live in the first profiles: the new ones are made here.
        await createKey(a.page);
        await createKey(b.page);
        await waitWsEvent(a.page, 'newPubkey', {userID: users.bob.id});
        await send(a.page, '/e2ee start --mode channel');
        for (const u of [a, b]) {
            await u.page.locator('[data-testid="e2ee-header-icon"][data-e2ee-state="on"]').waitFor({timeout: T});
        }
        const image = makePNG(600, 420);
        const doc = Buffer.concat([Buffer.from('%PDF-1.4\n% channel key\n'), randomBytes(130000), Buffer.from('\n%%EOF\n')]);
        await a.page.getByTestId('file-input').setInputFiles([
            {name: 'ck-photo.png', mimeType: 'image/png', buffer: image},
            {name: 'ck-report.pdf', mimeType: 'application/pdf', buffer: doc},
        ]);
        await expectChips(admin, a.page, '', ['ck-photo.png', 'ck-photo.png (preview)', 'ck-report.pdf']);
        const text = `channel key files ${randomBytes(4).toString('hex')}`;
        await send(a.page, text);
        const post = postIn(b.page, text);
        await post.getByTestId('e2ee-text').waitFor({timeout: T});
        assert.equal(await post.getByTestId('e2ee-lock').getAttribute('data-version'), '3', 'a channel-key (v3) post');
        assert.deepEqual(await fileNames(post, 2), ['ck-photo.png', 'ck-report.pdf']);
        const img = post.getByTestId('e2ee-file-preview');
        await img.waitFor({timeout: T});
        assert.match(await img.getAttribute('src') ?? '', /^blob:/);
        await b.page.waitForFunction((el) => (el as HTMLImageElement).naturalWidth > 0, await img.elementHandle(), {timeout: T});
        assert.ok((await download(b.page, post, 'ck-photo.png')).equals(image));
        assert.ok((await download(b.page, post, 'ck-report.pdf')).equals(doc));
        const stored = Object.values((await admin.channelPosts(ck.id)).posts as Record<string, any>).find((p) => p.user_id === users.alice.id && p.file_ids?.length);
        assert.equal(stored?.props?.e2ee?.version, 3);
        assert.equal(stored?.file_ids?.length, 3);
        assertStoreHasNoPlaintext(ck.id, [image, doc]);
    });
});
