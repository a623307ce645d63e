// The browser extension (dist/extension, built by `make extension`) in headless Chromium:
// a persistent profile with the unpacked extension, its service worker, and its state per tab.
import {cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';

import {chromium, type BrowserContext, type Page, type Worker} from 'playwright-core';

import {waitReady} from './browser';
import {repoRoot} from './env';

export const extensionDir = join(repoRoot, 'dist', 'extension');

export interface ExtensionBrowser {
    context: BrowserContext;
    worker: Worker;
    extensionId: string;
    close(): Promise<void>;
}

/**
 * A fresh profile (empty cache) with the extension loaded. The shipped manifest only asks for
 * sites at run time (optional_host_permissions, granted from the popup in a user gesture, which
 * headless Chromium cannot click through); the test copy is granted `grantOrigin` up front, so
 * everything from "the site is granted" on is the shipped code. `withoutReleases`: ships no
 * release hashes (as an extension older than the server's plugin).
 */
export async function launchWithExtension(grantOrigin: string, opts: {withoutReleases?: boolean} = {}): Promise<ExtensionBrowser> {
    const tmp = mkdtempSync(join(tmpdir(), 'mme2ee-ext-'));
    const ext = join(tmp, 'extension');
    cpSync(extensionDir, ext, {recursive: true});
    const manifest = JSON.parse(readFileSync(join(ext, 'manifest.json'), 'utf8'));
    manifest.host_permissions = [grantOrigin];
    writeFileSync(join(ext, 'manifest.json'), JSON.stringify(manifest));
    if (opts.withoutReleases) {
        writeFileSync(join(ext, 'releases', 'index.json'), JSON.stringify({files: []}));
    }
    const context = await chromium.launchPersistentContext(join(tmp, 'profile'), {
        executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
        headless: false, // the new headless mode, which runs extensions, is asked for below
        viewport: {width: 1280, height: 800},
        args: ['--headless=new', `--disable-extensions-except=${ext}`, `--load-extension=${ext}`,
            '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
            '--disable-sync', '--no-first-run', '--disable-quic'],
    });
    const worker = context.serviceWorkers()[0] || await context.waitForEvent('serviceworker', {timeout: 30000});
    const extensionId = new URL(worker.url()).host;
    // The worker registers the content script on install; pages opened before that are not watched.
    const deadline = Date.now() + 30000;
    while (!(await worker.evaluate(async () => (await chrome.scripting.getRegisteredContentScripts()).length))) {
        if (Date.now() > deadline) {
            throw new Error('the extension registered no content script for the granted site');
        }
        await new Promise((r) => setTimeout(r, 200));
    }
    return {
        context, worker, extensionId,
        close: async () => {
            await context.close();
            rmSync(tmp, {recursive: true, force: true});
        },
    };
}

/** Logs `username` in through the host's form in a new tab of the extension's profile. */
export async function openHostPage(eb: ExtensionBrowser, siteURL: string, username: string, password: string): Promise<Page> {
    const page = await eb.context.newPage();
    await page.goto(`${siteURL}/`);
    await page.getByTestId('login-username').fill(username);
    await page.getByTestId('login-password').fill(password);
    await page.getByTestId('login-submit').click();
    await waitReady(page);
    return page;
}

export async function tabIdOf(eb: ExtensionBrowser, urlPrefix: string): Promise<number> {
    const id = await eb.worker.evaluate(async (prefix) => (await chrome.tabs.query({})).find((t) => (t.url || '').startsWith(prefix))?.id, urlPrefix);
    if (id === undefined) {
        throw new Error(`no tab at ${urlPrefix}`);
    }
    return id;
}

/** The service worker's state for a tab: what it observed and its verdict. */
export function tabState(eb: ExtensionBrowser, tabId: number): Promise<any> {
    return eb.worker.evaluate(async (id) => (await chrome.storage.session.get(`tab:${id}`))[`tab:${id}`] || null, tabId);
}

/** Waits until `pred(state)` holds; fails with the last state seen. */
export async function waitTabState(eb: ExtensionBrowser, tabId: number, what: string, pred: (s: any) => boolean, timeoutMs = 30000): Promise<any> {
    const deadline = Date.now() + timeoutMs;
    let s: any = null;
    for (;;) {
        s = await tabState(eb, tabId);
        if (s && pred(s)) {
            return s;
        }
        if (Date.now() > deadline) {
            throw new Error(`extension: ${what} did not happen; last state ${JSON.stringify(s?.verdict ?? s)}`);
        }
        await new Promise((r) => setTimeout(r, 200));
    }
}

/** The popup page for a tab, as the toolbar button shows it. */
export async function openPopup(eb: ExtensionBrowser, tabId: number): Promise<Page> {
    const popup = await eb.context.newPage();
    await popup.goto(`chrome-extension://${eb.extensionId}/popup.html?tab=${tabId}`);
    await popup.waitForFunction(() => document.getElementById('verdict')?.dataset.state !== 'loading');
    return popup;
}

declare const chrome: any;
