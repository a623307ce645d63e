// For the file benchmarks (bench/file_*.ts): a blank page in headless Chromium, served from
// loopback, with the crypto core's file.ts (format F1) bundled in as `window.F1`, and an upload
// sink at POST /upload. No Mattermost server.
import {createServer} from 'node:http';
import {join} from 'node:path';

import * as esbuild from 'esbuild';
import {chromium, type Browser, type Page} from 'playwright-core';

import {repoRoot} from './env';

export interface FileCorePage {
    browser: Browser;
    page: Page;
    close(): Promise<void>;
}

/** `isolated`: serve the page cross-origin isolated, so that performance.now() is fine-grained.
 * `args`: more Chromium arguments (e.g. a marker to find its processes). */
export async function openFileCorePage(opts: {isolated?: boolean; args?: string[]} = {}): Promise<FileCorePage> {
    const bundle = esbuild.buildSync({
        entryPoints: [join(repoRoot, 'webapp', 'src', 'crypto', 'file.ts')],
        bundle: true, format: 'iife', globalName: 'F1', write: false, target: 'es2020',
    }).outputFiles[0].text;
    const server = createServer((req, res) => {
        if (req.method === 'POST' && req.url === '/upload') {
            // An upload sink (as the server's POST /api/v4/files): counts the body's bytes, keeps none.
            let bytes = 0;
            req.on('data', (c: Buffer) => {
                bytes += c.length;
            });
            req.on('end', () => {
                res.setHeader('Content-Type', 'application/json');
                res.end(JSON.stringify({bytes}));
            });
            return;
        }
        res.setHeader('Content-Type', 'text/html');
        if (opts.isolated) {
            res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
            res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
        }
        res.end(`<!doctype html><script>${bundle}</script>`);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as {port: number}).port;
    const close = async () => {
        server.close();
    };
    let browser: Browser;
    try {
        browser = await chromium.launch({
            executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
            headless: true,
            args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', ...(opts.args ?? [])],
        });
    } catch (e) {
        await close();
        throw e;
    }
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${port}/`);
    return {browser, page, close: async () => {
        await browser.close();
        await close();
    }};
}

/** Runs a benchmark's main: an error goes to stderr and sets exit code 1. */
export function runBench(main: () => Promise<void>): void {
    main().catch((e: unknown) => {
        process.stderr.write(`bench: ${e instanceof Error ? e.stack : String(e)}\n`);
        process.exitCode = 1;
    });
}
