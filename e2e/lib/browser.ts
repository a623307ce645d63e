// Headless Debian Chromium through playwright-core, one fresh context (profile) per user.
import {mkdirSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {chromium, type Browser, type BrowserContext, type Locator, type Page} from 'playwright-core';

import {e2eRoot} from './env';

export const artifactsDir = join(e2eRoot, 'artifacts');

/** What a host page offers plugins: React's major version, ReactDOM.createRoot, the JSX runtime. */
export interface HostReact {
    react: string;
    reactDOM: string;
    createRoot: boolean;
    jsxRuntime: boolean;
}

/** The two test hosts build.mjs makes: Mattermost 11.x (React 18) and 12.x (React 19). */
export const HOSTS = [
    {name: 'react18', label: 'React 18 host', dir: join(e2eRoot, 'dist', 'host'),
        expect: {react: '18', reactDOM: '18', createRoot: true, jsxRuntime: false} as HostReact},
    {name: 'react19', label: 'React 19 host', dir: join(e2eRoot, 'dist', 'host-react19'),
        expect: {react: '19', reactDOM: '19', createRoot: true, jsxRuntime: true} as HostReact},
];

export type Host = typeof HOSTS[number];

export function hostReact(page: Page): Promise<HostReact> {
    return page.evaluate(() => {
        const w = window as any;
        return {
            react: String(w.React?.version || '').split('.')[0],
            reactDOM: String(w.ReactDOM?.version || '').split('.')[0],
            createRoot: typeof w.ReactDOM?.createRoot === 'function',
            jsxRuntime: w.ReactJSXRuntime !== undefined,
        };
    });
}

export function launchBrowser(): Promise<Browser> {
    return chromium.launch({
        executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
        headless: true,
        args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
            '--disable-sync', '--no-first-run', '--disable-quic'],
    });
}

export interface UserPage {
    username: string;
    context: BrowserContext;
    page: Page;
    logs: string[];
}

/** A fresh profile for `username`, logged in through the host's login form, plugins loaded. */
export async function openAs(browser: Browser, siteURL: string, username: string, password: string, channelPath: string): Promise<UserPage> {
    const context = await browser.newContext({viewport: {width: 1280, height: 800}});
    const page = await context.newPage();
    const logs: string[] = [];
    page.on('console', (m) => logs.push(`[${m.type()}] ${m.text()}`));
    page.on('pageerror', (e) => logs.push(`[pageerror] ${e.message}`));
    await page.goto(`${siteURL}/#/${channelPath}`);
    await page.getByTestId('login-username').fill(username);
    await page.getByTestId('login-password').fill(password);
    await page.getByTestId('login-submit').click();
    await waitReady(page);
    return {username, context, page, logs};
}

export async function waitReady(page: Page): Promise<void> {
    await page.waitForSelector('body[data-host-ready="1"], [data-testid="host-error"]', {timeout: 30000});
    const err = await page.getByTestId('host-error').count();
    if (err) {
        throw new Error(`host failed: ${await page.getByTestId('host-error').innerText()}`);
    }
    // The server greets a registered WebSocket with `hello`: from then on this page gets every event.
    await waitWsEvent(page, 'hello', {});
}

export async function reload(u: UserPage): Promise<void> {
    await u.page.reload();
    await waitReady(u.page);
}

/** How many WebSocket events the page has handled so far (for waitWsEvent's `from`). */
export function wsMark(page: Page): Promise<number> {
    return page.evaluate(() => ((window as any).hostWsEvents || []).length);
}

/**
 * Waits until the page has handled (core and plugin handlers run) a WebSocket event named `event`
 * (a plugin event by its short name, e.g. newPubkey) whose data has `match`, after `from`.
 */
export async function waitWsEvent(page: Page, event: string, match: Record<string, string>, from = 0): Promise<void> {
    await page.waitForFunction(({event, match, from}) => ((window as any).hostWsEvents || []).slice(from).some(
        (e: {event: string; data: Record<string, unknown>}) => (e.event === event || e.event.endsWith(`_${event}`)) &&
            Object.entries(match).every(([k, v]) => e.data && e.data[k] === v)), {event, match, from}, {timeout: 30000});
}

/** Types into the composer and presses Enter (posts, or runs a slash command through the hooks). */
export async function send(page: Page, text: string, prefix = ''): Promise<void> {
    // The previous submit (hooks, then the request) must be done, or Enter is ignored.
    await page.locator(`[data-testid="${prefix}composer-send"]:not([disabled])`).waitFor({timeout: 30000});
    const input = page.getByTestId(`${prefix}composer-input`);
    await input.fill(text);
    await input.press('Enter');
}

export async function screenshot(page: Page, name: string): Promise<void> {
    mkdirSync(artifactsDir, {recursive: true});
    await page.screenshot({path: join(artifactsDir, `${name}.png`), fullPage: false});
}

export function postByText(page: Page, text: string) {
    return page.locator('[data-testid="post"]', {hasText: text});
}

/** On failure: a screenshot and the visible text of each open page, into artifacts/. */
export async function dumpPages(label: string, users: UserPage[]): Promise<void> {
    mkdirSync(artifactsDir, {recursive: true});
    let i = 0;
    for (const u of users) {
        i += 1;
        if (u.page.isClosed()) {
            continue;
        }
        const name = `fail-${label}-${i}-${u.username}`;
        try {
            await screenshot(u.page, name);
            const text = await u.page.locator('body').innerText({timeout: 2000});
            writeFileSync(join(artifactsDir, `${name}.txt`), `${text}\n\n--- console\n${u.logs.join('\n')}\n`);
        } catch {
            // the page may be gone
        }
    }
}

export function postIn(scope: Page | Locator, text: string): Locator {
    return scope.locator('[data-testid="post"]', {hasText: text}).first();
}
