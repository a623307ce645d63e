/// <reference types="node" />
// mm-e2ee: the crypto core on the command line (keys, P2P v1/v2 messages) for scripts and checks.
import * as fs from 'fs';

import {importBackup} from '../crypto/backup';
import {CliIO, decryptChannel, encryptChannel, epochNew} from './channel';
import {fromUtf8} from '../crypto/encoding';
import {CryptoError, EpochKeyError, IntegrityError, MalformedError, NotRecipientError} from '../crypto/errors';
import {generateKeys, importPublicKey, publicKeyOf} from '../crypto/keys';
import {decryptMessage, encryptV1, encryptV2} from '../crypto/p2p';
import {signPushProof} from '../crypto/push_proof';
import {formatSafetyNumber, safetyNumberOf} from '../crypto/safety';
import {FILE_COMMANDS, FILE_USAGE, FileUsageError, runFileCommand} from './files';
import {parseFileEntries} from '../crypto/file_entry';
import type {MessageContext, MessagePayload, PublicKey} from '../crypto/types';

import {verifyServer} from './verify_server';
import {EXPORT_USAGE, ExportUsageError, runDecryptExport} from './decrypt_export';
import {BUNDLE_USAGE, BundleUsageError, runExportBundle} from './export_bundle';

const USAGE = `usage:
  mm-e2ee keygen                                   print a new clear-text key backup
  mm-e2ee pubkey BACKUP_FILE                       print the public key JSON, then the key ID
  mm-e2ee encrypt --key BACKUP_FILE --to PUBKEY_FILE [--to PUBKEY_FILE ...]
                  [--format v1|v2] [--channel ID --root ID --user ID] [--files FILES_JSON]
                                                                        stdin text -> props.e2ee JSON
  mm-e2ee encrypt --format channel --epoch-record FILE --key BACKUP_FILE --channel ID --root ID --user ID
                  [--creator PUBKEY_FILE] [--files FILES_JSON]          stdin text -> v3 props.e2ee JSON
  mm-e2ee decrypt --key BACKUP_FILE --sender PUBKEY_FILE
                  [--channel ID --root ID --user ID] [--epoch-record FILE [--creator PUBKEY_FILE]]
                                                                        stdin props.e2ee JSON -> text
  mm-e2ee epoch new --key BACKUP_FILE --channel ID --epoch N --to [USERID=]PUBKEY_FILE [--to ...] [--user ID]
                                                                        print a channel-key epoch record
  mm-e2ee push-proof --key BACKUP_FILE --user ID --nonce NONCE
                  print the "proof" for POST /pubkey/push (nonce from GET /pubkey/nonce)
  mm-e2ee safety-number --user ID --pubkey PUBKEY_FILE --other-user ID --other-pubkey PUBKEY_FILE
                                                   print the two users' safety number (12 groups of 5 digits)
  mm-e2ee verify-server --url SITE_URL --hashes HASHES_FILE [--every 10m]   check the served plugin code
${FILE_USAGE}
${BUNDLE_USAGE}
${EXPORT_USAGE}
v2 (the default format) and channel need --channel, --root ("" for a top-level post) and --user (the sender's user ID).
A channel-key (v3) message needs the epoch record it names; --creator is the record's creator key
(default: the sender's key for decrypt, your own for encrypt). A --to without USERID= gets the user ID
"k" + the first 25 hex digits of its key ID.
--files: a JSON array of file entries (design §15.4) put into the v2 or channel-key payload as "files".
exit codes: 0 ok, 2 usage or malformed input, 3 integrity failure (a file: tampered, truncated, wrong key;
decrypt-export: a post or file failed or could not be verified), 4 not a recipient (decrypt-export: nothing for this key)
(verify-server: 5 when the served code differs from the release or is missing)`;

const EXIT = {ok: 0, failure: 1, usage: 2, integrity: 3, notRecipient: 4} as const;

class UsageError extends Error {}

interface Opts {
    positional: string[];
    flags: Map<string, string[]>;
}

const VALUE_FLAGS = new Set(['key', 'to', 'format', 'channel', 'root', 'user', 'sender', 'nonce', 'epoch', 'epoch-record', 'creator', 'pubkey', 'other-user', 'other-pubkey', 'files']);

function parseArgs(args: string[]): Opts {
    const positional: string[] = [];
    const flags = new Map<string, string[]>();
    for (let i = 0; i < args.length; i++) {
        const a = args[i];
        if (!a.startsWith('--')) {
            positional.push(a);
            continue;
        }
        const eq = a.indexOf('=');
        const name = a.slice(2, eq < 0 ? undefined : eq);
        if (!VALUE_FLAGS.has(name)) {
            throw new UsageError(`unknown option --${name}`);
        }
        let value: string;
        if (eq >= 0) {
            value = a.slice(eq + 1);
        } else {
            if (i + 1 >= args.length) {
                throw new UsageError(`--${name} needs a value`);
            }
            value = args[++i];
        }
        flags.set(name, [...(flags.get(name) ?? []), value]);
    }
    return {positional, flags};
}

function one(o: Opts, name: string, required: true): string;
function one(o: Opts, name: string, required: false): string | undefined;
function one(o: Opts, name: string, required: boolean): string | undefined {
    const v = o.flags.get(name);
    if (v && v.length > 1) {
        throw new UsageError(`--${name} given twice`);
    }
    if (!v && required) {
        throw new UsageError(`--${name} is required`);
    }
    return v?.[0];
}

function readFile(path: string): string {
    try {
        return fs.readFileSync(path, 'utf8');
    } catch (e) {
        throw new UsageError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? e}`);
    }
}

async function readStdin(): Promise<Uint8Array> {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) {
        chunks.push(c as Buffer);
    }
    return new Uint8Array(Buffer.concat(chunks));
}

/** A public key file: the JSON itself, or a file whose first line is the JSON (`pubkey` output). */
async function readPublicKey(path: string): Promise<PublicKey> {
    const text = readFile(path);
    let json: unknown;
    try {
        json = JSON.parse(text);
    } catch {
        json = text.split(/\r?\n/)[0];
    }
    return importPublicKey(json);
}

function context(o: Opts, required: boolean): MessageContext | undefined {
    const channelId = one(o, 'channel', false);
    const rootId = one(o, 'root', false);
    const userId = one(o, 'user', false);
    if (channelId === undefined && rootId === undefined && userId === undefined && !required) {
        return undefined;
    }
    if (!channelId || rootId === undefined || !userId) {
        throw new UsageError('--channel, --root and --user go together (--root "" for a top-level post)');
    }
    return {channelId, rootId, userId};
}

function noPositional(o: Opts, n: number): void {
    if (o.positional.length !== n) {
        throw new UsageError('unexpected arguments');
    }
}

function cliIO(o: Opts): CliIO {
    return {
        one: (name, required) => (required ? one(o, name, true) : one(o, name, false)),
        all: (name) => o.flags.get(name) ?? [],
        readFile,
        readStdin,
        readPublicKey,
        backup: async () => importBackup(readFile(one(o, 'key', true))),
        context: (required) => context(o, required),
        usage: (message) => new UsageError(message),
    };
}

async function run(argv: string[]): Promise<void> {
    const [cmd, ...rest] = argv;
    if (cmd && FILE_COMMANDS.has(cmd)) {
        return runFileCommand(cmd, rest);
    }
    if (cmd === 'export-bundle') {
        return runExportBundle(rest);
    }
    if (cmd === 'decrypt-export') {
        process.exitCode = await runDecryptExport(rest);
        return;
    }
    if (cmd === 'verify-server') {
        // Its own options and exit codes (verify_server.ts).
        process.exitCode = await verifyServer(rest, {out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s)});
        return;
    }
    const o = parseArgs(rest);
    switch (cmd) {
    case 'epoch': {
        if (o.positional[0] !== 'new' || o.positional.length !== 1) {
            throw new UsageError('epoch: the only subcommand is "epoch new"');
        }
        process.stdout.write(await epochNew(cliIO(o)));
        return;
    }
    case 'keygen': {
        noPositional(o, 0);
        process.stdout.write((await generateKeys()).backup + '\n');
        return;
    }
    case 'pubkey': {
        noPositional(o, 1);
        const pub = await publicKeyOf(await importBackup(readFile(o.positional[0])));
        process.stdout.write(`${JSON.stringify({sign: pub.json.sign, encr: pub.json.encr})}\n${pub.idB64}\n`);
        return;
    }
    case 'encrypt': {
        noPositional(o, 0);
        const format = one(o, 'format', false) ?? 'v2';
        const filesFile = one(o, 'files', false);
        if (format === 'channel') {
            const files = filesFile === undefined ? undefined : filesJSON(readFile(filesFile));
            process.stdout.write(await encryptChannel(cliIO(o), files));
            return;
        }
        if (format !== 'v1' && format !== 'v2') {
            throw new UsageError('--format is v1, v2 or channel');
        }
        const keys = await importBackup(readFile(one(o, 'key', true)));
        const to = o.flags.get('to');
        if (!to) {
            throw new UsageError('at least one --to is required');
        }
        const recipients = await Promise.all(to.map(readPublicKey));
        const ctx = context(o, format === 'v2');
        if (filesFile !== undefined && format !== 'v2') {
            throw new UsageError('--files needs --format v2 or channel');
        }
        const payload: MessagePayload = {text: ''};
        if (filesFile !== undefined) {
            payload.files = filesJSON(readFile(filesFile));
        }
        // A byte order mark opens the file, not the message (the decoder keeps it since plaintexts must round-trip).
        payload.text = fromUtf8(await readStdin(), 'stdin').replace(/^\uFEFF/, '');
        const msg = format === 'v1'
            ? await encryptV1(payload.text, keys, recipients)
            : await encryptV2(payload, keys, recipients, ctx as MessageContext);
        process.stdout.write(JSON.stringify(msg) + '\n');
        return;
    }
    case 'decrypt': {
        noPositional(o, 0);
        const keys = await importBackup(readFile(one(o, 'key', true)));
        const sender = await readPublicKey(one(o, 'sender', true));
        const input = fromUtf8(await readStdin(), 'stdin').trim();
        if (versionOf(input) === 3) {
            if (!o.flags.has('epoch-record')) {
                throw new UsageError('a channel-key (v3) message needs --epoch-record FILE');
            }
            process.stdout.write(await decryptChannel(cliIO(o), input, keys, sender));
            return;
        }
        const ctx = context(o, false);
        const res = await decryptMessage(input, keys, await publicKeyOf(keys), sender, ctx);
        process.stdout.write(res.text);
        return;
    }
    case 'push-proof': {
        noPositional(o, 0);
        const keys = await importBackup(readFile(one(o, 'key', true)));
        process.stdout.write(await signPushProof(keys, one(o, 'user', true), one(o, 'nonce', true)) + '\n');
        return;
    }
    case 'safety-number': {
        noPositional(o, 0);
        const userId = one(o, 'user', true);
        const otherId = one(o, 'other-user', true);
        if (!userId.trim() || !otherId.trim()) {
            throw new UsageError('--user and --other-user must not be empty');
        }
        const [mine, theirs] = await Promise.all([readPublicKey(one(o, 'pubkey', true)), readPublicKey(one(o, 'other-pubkey', true))]);
        const number = await safetyNumberOf({userId, key: mine}, {userId: otherId, key: theirs});
        process.stdout.write(formatSafetyNumber(number) + '\n');
        return;
    }
    case 'help':
    case '--help':
    case '-h':
        process.stdout.write(USAGE + '\n');
        return;
    case undefined:
        throw new UsageError('no command');
    default:
        throw new UsageError(`unknown command ${cmd}`);
    }
}

/** --files: file entries checked by the readers' own rules (§15.4) before they are signed. */
function filesJSON(text: string): unknown[] {
    let files: unknown;
    try {
        files = JSON.parse(text);
    } catch {
        throw new MalformedError('--files: not JSON');
    }
    if (!Array.isArray(files)) {
        throw new MalformedError('--files: expected a JSON array of file entries');
    }
    parseFileEntries({text: '', files});
    return files;
}

function versionOf(input: string): unknown {
    try {
        return (JSON.parse(input) as {version?: unknown})?.version;
    } catch (e) {
        throw new MalformedError('message: not JSON', {cause: e});
    }
}

function exitCodeOf(e: unknown): number {
    if (e instanceof UsageError || e instanceof FileUsageError || e instanceof ExportUsageError || e instanceof BundleUsageError) {
        return EXIT.usage;
    }
    if (e instanceof IntegrityError) {
        return EXIT.integrity;
    }
    if (e instanceof NotRecipientError || e instanceof EpochKeyError) {
        return EXIT.notRecipient;
    }
    if (e instanceof CryptoError) {
        return e.code === 'crypto' ? EXIT.failure : EXIT.usage; // malformed, version, key, backup, context
    }
    return EXIT.failure;
}

run(process.argv.slice(2)).then(
    () => {
        process.exitCode ??= EXIT.ok;
    },
    (e: unknown) => {
        process.stderr.write(`mm-e2ee: ${e instanceof Error ? e.message : String(e)}\n`);
        if (e instanceof UsageError || e instanceof FileUsageError || e instanceof ExportUsageError || e instanceof BundleUsageError) {
            process.stderr.write(USAGE + '\n');
        }
        process.exitCode = exitCodeOf(e);
    },
);
