// One harness for the CLI tests: builds mm-e2ee with webpack into a private temporary folder (so a
// test never races `make cli`) and runs it with node. Call builtCli() at the top of a test file.
import {execFileSync, spawnSync} from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const WEBAPP = path.resolve(__dirname, '../..');

export interface CliRun {
    code: number;
    stdout: string;
    stderr: string;
}

export interface BuiltCli {
    /** Runs the built CLI with these arguments and standard input. */
    run(args: string[], input?: string): CliRun;
    /** A path in the test's temporary folder. */
    path(name: string): string;
    /** Writes a file in the temporary folder and returns its path. */
    file(name: string, content: string | Buffer): string;
}

export function builtCli(prefix: string): BuiltCli {
    let tmp = '';
    let cli = '';
    // Spawning node and webpack is slow on a loaded 2-core machine.
    jest.setTimeout(120000);
    beforeAll(() => {
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
        const out = path.join(tmp, 'dist');
        execFileSync(process.execPath, [require.resolve('webpack-cli/bin/cli.js'), '--config', 'webpack.cli.config.js', '--mode=production',
            '--output-path', out], {cwd: WEBAPP, stdio: 'pipe'});
        cli = path.join(out, 'mm-e2ee.js');
    }, 120000);
    afterAll(() => {
        fs.rmSync(tmp, {recursive: true, force: true});
    });
    const at = (name: string) => path.join(tmp, name);
    return {
        run(args, input = '') {
            const r = spawnSync(process.execPath, [cli, ...args], {input, encoding: 'utf8', timeout: 60000});
            return {code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr};
        },
        path: at,
        file(name, content) {
            fs.writeFileSync(at(name), content);
            return at(name);
        },
    };
}
