// Builds the test host page (dist/host/, and dist/host-react19/ with React 19) and compiles the tests (dist/tests/) with esbuild.
import {build} from 'esbuild';
import {cpSync, mkdirSync, readdirSync, rmSync} from 'node:fs';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, 'dist');
rmSync(out, {recursive: true, force: true});

// Two hosts from one source: React 18 (as Mattermost 11.x) and React 19 (as 12.x, which also
// exposes window.ReactJSXRuntime). The alias swaps React for every import, react-redux's included.
const hosts = [
    {dir: 'host', react19: false, alias: {}},
    {dir: 'host-react19', react19: true, alias: {react: 'react-19', 'react-dom': 'react-dom-19'}},
];
for (const h of hosts) {
    mkdirSync(join(out, h.dir), {recursive: true});
    await build({
        entryPoints: [join(here, 'host/src/main.tsx')],
        bundle: true,
        outfile: join(out, h.dir, 'host.js'),
        format: 'iife',
        platform: 'browser',
        target: 'chrome120',
        jsx: 'transform',
        alias: h.alias,
        define: {'process.env.NODE_ENV': process.env.E2E_REACT_DEV ? '"development"' : '"production"', __HOST_REACT19__: String(h.react19)},
        minify: false,
        sourcemap: 'inline',
        logLevel: 'warning',
    });
    cpSync(join(here, 'host/index.html'), join(out, h.dir, 'index.html'));
    cpSync(join(here, 'host/host.css'), join(out, h.dir, 'host.css'));
}

const tests = readdirSync(join(here, 'tests')).filter((f) => f.endsWith('.ts')).map((f) => join(here, 'tests', f));
await build({
    entryPoints: tests,
    bundle: true,
    outdir: join(out, 'tests'),
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    sourcemap: 'inline',
    logLevel: 'warning',
});
await build({
    entryPoints: [join(here, 'serve.ts')],
    bundle: true,
    outfile: join(out, 'serve.js'),
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    logLevel: 'warning',
});
// Benchmarks (bench/, run by `npm run bench`): node scripts like the tests.
await build({
    entryPoints: readdirSync(join(here, 'bench')).filter((f) => f.endsWith('.ts')).map((f) => join(here, 'bench', f)),
    bundle: true,
    outdir: join(out, 'bench'),
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    logLevel: 'warning',
});
console.log('e2e build: dist/host (React 18), dist/host-react19 (React 19) and dist/tests ready');
