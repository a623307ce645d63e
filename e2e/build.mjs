// Builds the test host page (dist/host/) and compiles the tests (dist/tests/) with esbuild.
import {build} from 'esbuild';
import {cpSync, mkdirSync, readdirSync, rmSync} from 'node:fs';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, 'dist');
rmSync(out, {recursive: true, force: true});
mkdirSync(join(out, 'host'), {recursive: true});

await build({
    entryPoints: [join(here, 'host/src/main.tsx')],
    bundle: true,
    outfile: join(out, 'host/host.js'),
    format: 'iife',
    platform: 'browser',
    target: 'chrome120',
    jsx: 'transform',
    define: {'process.env.NODE_ENV': '"production"'},
    minify: false,
    sourcemap: 'inline',
    logLevel: 'warning',
});
cpSync(join(here, 'host/index.html'), join(out, 'host/index.html'));
cpSync(join(here, 'host/host.css'), join(out, 'host/host.css'));

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
console.log('e2e build: dist/host and dist/tests ready');
