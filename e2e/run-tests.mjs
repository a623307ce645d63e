// Runs the compiled browser suite with Node's test runner (one file at a time, in order)
// and prints a one-line summary. `node run-tests.mjs smoke` runs only the server-less smoke test;
// `node run-tests.mjs crash` the plugin-crash test, which the full run leaves out.
import {spawnSync} from 'node:child_process';
import {existsSync, readFileSync} from 'node:fs';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const only = process.argv[2];
const envFile = process.env.MM_ENV_FILE || join(here, '..', '.mattermost', 'env');
if (only !== 'smoke' && !existsSync(envFile)) {
    console.error(`browser e2e: ${envFile} is missing. Start the server first: make mm-up (then make deploy).`);
    process.exit(2);
}
const order = ['smoke', 'scenarios', 'scenarios-react19', 'files', 'subpath', 'integrity', 'admin'];
// Run only when named: crash kills the plugin's process (make faults runs it on its own server).
const named = ['crash'];
const files = (only ? [...order, ...named].filter((n) => n === only) : order).map((n) => join(here, 'dist', 'tests', `${n}.test.js`)).filter(existsSync);
const tap = join(here, 'dist', 'report.tap');
const started = Date.now();
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=1',
    '--test-reporter=spec', '--test-reporter-destination=stdout',
    '--test-reporter=tap', `--test-reporter-destination=${tap}`, ...files], {stdio: 'inherit'});
let pass = 0, fail = 0, skip = 0;
if (existsSync(tap)) {
    const text = readFileSync(tap, 'utf8');
    pass = Number((text.match(/^# pass (\d+)/m) || [])[1] || 0);
    fail = Number((text.match(/^# fail (\d+)/m) || [])[1] || 0) + Number((text.match(/^# cancelled (\d+)/m) || [])[1] || 0);
    skip = Number((text.match(/^# skipped (\d+)/m) || [])[1] || 0);
}
const secs = ((Date.now() - started) / 1000).toFixed(1);
console.log(`browser e2e (${secs}s):`);
console.log(`${pass} passed, ${fail} failed${skip ? `, ${skip} skipped` : ''}`);
process.exit(r.status === 0 && fail === 0 && pass > 0 ? 0 : 1);
