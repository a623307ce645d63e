// Reads .mattermost/env (written by `make mm-up`): the running server's URL, admin token, users.
import {existsSync, readFileSync} from 'node:fs';
import {dirname, join} from 'node:path';

// The repository: the nearest folder above this compiled file that holds plugin.json.
function findRepoRoot(): string {
    let dir = __dirname;
    while (!existsSync(join(dir, 'plugin.json'))) {
        const up = dirname(dir);
        if (up === dir) {
            throw new Error(`no plugin.json above ${__dirname}`);
        }
        dir = up;
    }
    return dir;
}

export const repoRoot = findRepoRoot();
export const e2eRoot = join(repoRoot, 'e2e');

export type MMEnv = Record<string, string>;

export function parseEnvFile(text: string): MMEnv {
    const out: MMEnv = {};
    for (const raw of text.split('\n')) {
        const line = raw.trim().replace(/^export\s+/, '');
        const m = line.match(/^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/);
        if (!m) {
            continue;
        }
        let value = m[2];
        if ((value.startsWith("'") && value.endsWith("'")) || (value.startsWith('"') && value.endsWith('"'))) {
            value = value.slice(1, -1);
        }
        out[m[1]] = value;
    }
    return out;
}

export function loadMMEnv(): MMEnv {
    const file = process.env.MM_ENV_FILE || join(repoRoot, '.mattermost', 'env');
    if (!existsSync(file)) {
        throw new Error(`${file} is missing: start the server first with \`make mm-up\` (the browser suite needs a running Mattermost)`);
    }
    return {...pick(process.env), ...parseEnvFile(readFileSync(file, "utf8"))};
}

function pick(env: NodeJS.ProcessEnv): MMEnv {
    const out: MMEnv = {};
    for (const [k, v] of Object.entries(env)) {
        if (v !== undefined && /^(MM_|MAILSINK_)/.test(k)) {
            out[k] = v;
        }
    }
    return out;
}
