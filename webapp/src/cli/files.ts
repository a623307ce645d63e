/// <reference types="node" />
// mm-e2ee encrypt-file / decrypt-file: the F1 format of docs/design.md §15 on the command line,
// byte for byte what the web app uploads.
import * as fs from 'fs';
import {Readable} from 'stream';

import {fromBase64, toBase64} from '../crypto/encoding';
import {MalformedError} from '../crypto/errors';
import {decryptFile, encryptFile} from '../crypto/file';

export const FILE_USAGE = `  mm-e2ee encrypt-file --in FILE --out FILE.bin   encrypt a file (format F1), print its key JSON
  mm-e2ee decrypt-file --in FILE.bin --key-json KEYFILE --out FILE
                                                   decrypt and verify (KEYFILE: the JSON encrypt-file printed,
                                                   or a file entry of a post's payload)`;

export const FILE_COMMANDS = new Set(['encrypt-file', 'decrypt-file']);

/** Bad arguments or unreadable input files: exit 2. */
export class FileUsageError extends Error {}

function flags(args: string[], allowed: string[]): Map<string, string> {
    const out = new Map<string, string>();
    for (let i = 0; i < args.length; i++) {
        const a = args[i];
        if (!a.startsWith('--')) {
            throw new FileUsageError(`unexpected argument ${a}`);
        }
        const eq = a.indexOf('=');
        const name = a.slice(2, eq < 0 ? undefined : eq);
        if (!allowed.includes(name)) {
            throw new FileUsageError(`unknown option --${name}`);
        }
        if (out.has(name)) {
            throw new FileUsageError(`--${name} given twice`);
        }
        let value: string;
        if (eq >= 0) {
            value = a.slice(eq + 1);
        } else {
            if (i + 1 >= args.length) {
                throw new FileUsageError(`--${name} needs a value`);
            }
            value = args[++i];
        }
        if (!value) {
            throw new FileUsageError(`--${name} must not be empty`);
        }
        out.set(name, value);
    }
    for (const name of allowed) {
        if (!out.has(name)) {
            throw new FileUsageError(`--${name} is required`);
        }
    }
    return out;
}

async function openBlob(path: string): Promise<Blob> {
    try {
        return await fs.openAsBlob(path);
    } catch (e) {
        throw new FileUsageError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
}

/** Writes the blob to `path` through a temporary file, so a failure leaves no partial output. */
async function writeBlob(path: string, blob: Blob): Promise<void> {
    const tmp = `${path}.partial-${process.pid}`;
    try {
        await fs.promises.writeFile(tmp, Readable.fromWeb(blob.stream() as Parameters<typeof Readable.fromWeb>[0]));
        await fs.promises.rename(tmp, path);
    } catch (e) {
        await fs.promises.rm(tmp, {force: true});
        throw new FileUsageError(`cannot write ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
}

interface KeyJSON {
    key: Uint8Array;
    hash?: Uint8Array;
}

function readKeyJSON(path: string): KeyJSON {
    let text: string;
    try {
        text = fs.readFileSync(path, 'utf8');
    } catch (e) {
        throw new FileUsageError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
    let j: unknown;
    try {
        j = JSON.parse(text);
    } catch {
        throw new MalformedError('key JSON: not JSON');
    }
    if (typeof j !== 'object' || j === null || Array.isArray(j)) {
        throw new MalformedError('key JSON: expected an object');
    }
    const o = j as Record<string, unknown>;
    return {
        key: fromBase64(o.key, 'key JSON: key', 32),
        hash: o.hash === undefined ? undefined : fromBase64(o.hash, 'key JSON: hash', 32),
    };
}

export async function runFileCommand(cmd: string, args: string[]): Promise<void> {
    switch (cmd) {
    case 'encrypt-file': {
        const f = flags(args, ['in', 'out']);
        const enc = await encryptFile(await openBlob(f.get('in') as string));
        await writeBlob(f.get('out') as string, enc.ciphertext);
        process.stdout.write(JSON.stringify({format: 'F1', key: toBase64(enc.key), hash: toBase64(enc.hash), size: enc.size}) + '\n');
        return;
    }
    case 'decrypt-file': {
        const f = flags(args, ['in', 'key-json', 'out']);
        const k = readKeyJSON(f.get('key-json') as string);
        const plain = await decryptFile(await openBlob(f.get('in') as string), k.key, k.hash);
        await writeBlob(f.get('out') as string, plain);
        return;
    }
    default:
        throw new FileUsageError(`unknown command ${cmd}`);
    }
}
