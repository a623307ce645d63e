// Host smoke test (no server): the built webapp/dist/main.js, loaded the way Mattermost loads a
// plugin bundle into a page with the host's globals (React 18 as 11.x, React 19 as 12.x), calls
// window.registerPlugin with the manifest's id while it evaluates, and exposes initialize/uninitialize.
import assert from 'node:assert/strict';
import {existsSync, readdirSync, readFileSync} from 'node:fs';
import http from 'node:http';
import type {AddressInfo} from 'node:net';
import {join} from 'node:path';
import {after, before, test} from 'node:test';

import type {Browser} from 'playwright-core';

import {HOSTS, hostReact, launchBrowser, screenshot} from '../lib/browser';
import {repoRoot} from '../lib/env';

const manifest = JSON.parse(readFileSync(join(repoRoot, 'plugin.json'), 'utf8'));
const distDir = process.env.E2E_WEBAPP_DIST || join(repoRoot, 'webapp', 'dist');
let browser: Browser;
const servers: http.Server[] = [];

// A static front with no Mattermost behind it, serving one host variant and the bundle.
async function serveHost(hostDir: string): Promise<string> {
    const server = http.createServer((req, res) => {
        const url = (req.url || '/').split('?')[0];
        const send = (file: string, type: string) => {
            try {
                res.writeHead(200, {'content-type': type}).end(readFileSync(file));
            } catch {
                res.writeHead(404).end();
            }
        };
        if (url === '/') {
            res.writeHead(200, {'content-type': 'text/html'}).end(readFileSync(join(hostDir, 'index.html'), 'utf8').replace(/__BASENAME__/g, ''));
        } else if (url.startsWith('/e2e-host/')) {
            send(join(hostDir, url.slice(10).replace(/[^a-z0-9._-]/gi, '')), url.endsWith('.js') ? 'text/javascript' : 'text/css');
        } else if (url.startsWith(`/static/plugins/${manifest.id}/`)) {
            // Served as the server does after unpacking: main.js under its hashed bundle name.
            const name = url.split('/').pop()!.replace(/[^a-z0-9._-]/gi, '');
            send(join(distDir, name.endsWith('_bundle.js') ? 'main.js' : name), 'text/javascript');
        } else {
            res.writeHead(503, {'content-type': 'application/json'}).end('{"message":"no server in the smoke test"}');
        }
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

before(async () => {
    assert.ok(existsSync(join(distDir, 'main.js')), 'webapp/dist/main.js is missing: build it with `make webapp`');
    browser = await launchBrowser();
});

after(async () => {
    await browser?.close();
    servers.forEach((s) => s.close());
});

test('smoke: the bundle (main.js and its chunks) never needs the JSX runtime (absent on 11.x hosts)', () => {
    const files = readdirSync(distDir).filter((f) => f.endsWith('.js'));
    assert.ok(files.includes('main.js'));
    // The runtime as a global (12.x only) or a bundled copy of it or of React, whose internals
    // differ between 18 and 19 (element symbols, the *_INTERNALS_* objects).
    const banned = ['ReactJSXRuntime', 'ReactJSXDevRuntime', 'jsx-runtime', 'jsx-dev-runtime',
        'react.element', 'react.transitional.element', '__SECRET_INTERNALS_DO_NOT_USE', '__CLIENT_INTERNALS_DO_NOT_USE'];
    for (const f of files) {
        const text = readFileSync(join(distDir, f), 'utf8');
        for (const b of banned) {
            assert.ok(!text.includes(b), `${f} references ${b}`);
        }
    }
});

for (const host of HOSTS) {
    test(`smoke (${host.label}): main.js registers the plugin under the manifest id while it evaluates`, async () => {
        const base = await serveHost(host.dir);
        const page = await browser.newPage();
        const errors: string[] = [];
        page.on('pageerror', (e) => errors.push(e.message));
        await page.goto(`${base}/`);
        await page.waitForFunction(() => typeof (window as any).registerPlugin === 'function' && (window as any).React && (window as any).PostUtils);
        assert.deepEqual(await hostReact(page), host.expect);
        const result = await page.evaluate(async (id: string) => {
            const w = window as any;
            const calls: string[] = [];
            const original = w.registerPlugin;
            w.registerPlugin = (pid: string, plugin: unknown) => {
                calls.push(pid);
                original(pid, plugin);
            };
            const script = document.createElement('script');
            script.id = `plugin_${id}`;
            script.defer = true;
            script.src = `/static/plugins/${id}/${id}_0123456789abcdef_bundle.js`;
            const callsAtLoad = await new Promise<string[]>((resolve, reject) => {
                script.onload = () => resolve([...calls]); // registration must happen before onload
                script.onerror = () => reject(new Error('bundle failed to load'));
                document.head.appendChild(script);
            });
            const plugin = w.plugins[id];
            return {
                callsAtLoad,
                hasInitialize: typeof plugin?.initialize === 'function',
                hasUninitialize: typeof plugin?.uninitialize === 'function',
            };
        }, manifest.id);
        await screenshot(page, `smoke-${host.name}`);
        assert.deepEqual(result.callsAtLoad, [manifest.id]);
        assert.ok(result.hasInitialize, 'the registered plugin has initialize()');
        assert.ok(result.hasUninitialize, 'the registered plugin has uninitialize()');
        assert.deepEqual(errors.filter((e) => !/503|Failed to fetch|no server/i.test(e)), []);
        await page.close();
    });
}
