// `/e2ee init` and `/e2ee import` run in the browser (the private key must never reach
// the server); every other command goes on to the server unchanged.
import {containsBackup} from '../crypto/backup';
import type {SlashCommandArgs} from '../types/registry';

const IMPORT_USAGE = 'Usage: /e2ee import (then paste your backup into the dialog that opens). Nothing was sent.';

export type KeyCommand = {kind: 'init'; force: boolean} | {kind: 'import'};

/** null: not ours; {error}: ours but malformed. */
export function parseKeyCommand(message: string): KeyCommand | {error: string} | null {
    // Whatever the command (or a typo in it), a pasted backup must not travel as command text.
    if (containsBackup(message)) {
        return {error: IMPORT_USAGE};
    }
    const words = message.trim().split(/\s+/);
    if (words[0]?.toLowerCase() !== '/e2ee') {
        return null;
    }
    const sub = words[1]?.toLowerCase();
    const rest = words.slice(2);
    if (sub && sub !== 'import' && sub.startsWith('import')) {
        return {error: IMPORT_USAGE}; // e.g. the backup pasted right after "import"
    }
    if (sub === 'init') {
        if (rest.every((w) => w === '--force')) {
            return {kind: 'init', force: rest.length > 0};
        }
        return {error: 'Usage: /e2ee init [--force]'};
    }
    if (sub === 'import') {
        if (rest.length === 0) {
            return {kind: 'import'};
        }
        // Never let a pasted key travel as command text: it would go to the server if sent.
        return {error: IMPORT_USAGE};
    }
    return null;
}

type HookResult = {message?: string; args?: SlashCommandArgs; error?: {message: string}};

export function makeSlashCommandHook(run: (cmd: KeyCommand) => void): (message: string, args: SlashCommandArgs) => HookResult {
    return (message, args) => {
        const cmd = parseKeyCommand(message);
        if (cmd === null) {
            return {message, args};
        }
        if ('error' in cmd) {
            return {error: {message: cmd.error}};
        }
        run(cmd);
        return {}; // swallowed: handled here, nothing is sent to the server
    };
}
