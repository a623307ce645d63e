// Channel-key mode on the command line (docs/design.md §9, §13): `epoch new`, and the v3 paths of
// `encrypt --format channel` and `decrypt`. mm-e2ee.ts parses the options and dispatches here.
import {fromUtf8, toHex} from '../crypto/encoding';
import {createEpochRecord, openEpochKeyFromRecord, type EpochRecipient} from '../crypto/epoch';
import {MalformedError} from '../crypto/errors';
import {publicKeyOf} from '../crypto/keys';
import type {MessageContext, PrivateKeySet, PublicKey} from '../crypto/types';
import {decryptV3, encryptV3} from '../crypto/v3';

/** What mm-e2ee.ts hands us: its option accessors and file/stdin readers. */
export interface CliIO {
    one(name: string, required: boolean): string | undefined;
    all(name: string): string[];
    readFile(path: string): string;
    readStdin(): Promise<Uint8Array>;
    readPublicKey(path: string): Promise<PublicKey>;
    backup(): Promise<PrivateKeySet>;
    context(required: boolean): MessageContext | undefined;
    usage(message: string): Error;
}

/** A user ID for a key given without one: "k" and the first 25 hex digits of its key ID. */
export function defaultUserId(pub: PublicKey): string {
    return 'k' + toHex(pub.id).slice(0, 25);
}

function readRecord(io: CliIO): unknown {
    const path = io.one('epoch-record', true) as string;
    try {
        return JSON.parse(io.readFile(path));
    } catch (e) {
        if (e instanceof SyntaxError) {
            throw new MalformedError(`${path}: the epoch record is not JSON`);
        }
        throw e;
    }
}

/** `epoch new --key BACKUP --channel ID --epoch N --to [USERID=]PUBKEY_FILE ... [--user ID]`. */
export async function epochNew(io: CliIO): Promise<string> {
    const keys = await io.backup();
    const channelId = io.one('channel', true) as string;
    const epochText = io.one('epoch', true) as string;
    if (!/^[1-9][0-9]{0,15}$/.test(epochText) || !Number.isSafeInteger(Number(epochText))) {
        throw io.usage('--epoch is an integer >= 1');
    }
    const to = io.all('to');
    if (to.length === 0) {
        throw io.usage('at least one --to is required');
    }
    const recipients: EpochRecipient[] = await Promise.all(to.map(async (spec) => {
        const m = /^([A-Za-z0-9_-]{1,64})=(.+)$/.exec(spec);
        const key = await io.readPublicKey(m ? m[2] : spec);
        return {userId: m ? m[1] : defaultUserId(key), key};
    }));
    const creatorId = io.one('user', false) ?? defaultUserId(await publicKeyOf(keys));
    const {record} = await createEpochRecord({channelId, epoch: Number(epochText), creatorId, creator: keys, recipients});
    return JSON.stringify(record) + '\n';
}

/** `encrypt --format channel --epoch-record FILE --key BACKUP --channel --root --user [--creator PUB] [--files F]`;
 * files: the checked entries of --files. */
export async function encryptChannel(io: CliIO, files?: unknown[]): Promise<string> {
    const keys = await io.backup();
    const me = await publicKeyOf(keys);
    const record = readRecord(io);
    const creatorFile = io.one('creator', false);
    const creator = creatorFile ? await io.readPublicKey(creatorFile) : me;
    const ctx = io.context(true) as MessageContext;
    const key = await openEpochKeyFromRecord(record, keys, me, creator);
    const text = fromUtf8(await io.readStdin(), 'stdin').replace(/^\uFEFF/, ''); // a byte order mark opens the file, not the message
    return JSON.stringify(await encryptV3(files === undefined ? {text} : {text, files}, keys, key, ctx)) + '\n';
}

/** decrypt of a v3 message: `--epoch-record FILE --sender PUB [--creator PUB]` and the context. */
export async function decryptChannel(io: CliIO, message: unknown, keys: PrivateKeySet, sender: PublicKey): Promise<string> {
    const record = readRecord(io);
    const creatorFile = io.one('creator', false);
    const creator = creatorFile ? await io.readPublicKey(creatorFile) : sender;
    const ctx = io.context(true) as MessageContext;
    const key = await openEpochKeyFromRecord(record, keys, await publicKeyOf(keys), creator);
    return (await decryptV3(message, sender, key, ctx)).text;
}
