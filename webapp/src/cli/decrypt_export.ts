/// <reference types="node" />
// mm-e2ee decrypt-export: reads a Mattermost bulk export (import.jsonl, or the zip with its
// attachments) offline and writes every encrypted post and file this key can read, each verified
// against the IDs, keys and epoch records of an export bundle (docs/design.md §15.8).
import * as fs from 'fs';
import * as path from 'path';

import {importBackupSet} from '../crypto/backup';
import {CryptoError, IntegrityError, NotRecipientError} from '../crypto/errors';
import {openEpochKey, parseEpochHeader, parseJoinerWraps, parsePart, verifyEpochHeader, type EpochKey, type ParsedEpochHeader, type WrapSource} from '../crypto/epoch';
import {decryptFile} from '../crypto/file';
import {parseFileEntries, type FileEntry} from '../crypto/file_entry';
import {fingerprintOf, importPublicKey, publicKeyOf} from '../crypto/keys';
import {decryptMessage, parseMessage, verifyMessage} from '../crypto/p2p';
import type {MessageContext, MessagePayload, PrivateKeySet, PublicKey} from '../crypto/types';
import {decryptV3, parseV3, verifyV3} from '../crypto/v3';

import {BUNDLE_FORMAT, type Bundle, type BundleChannel} from './export_bundle';
import {ZipError, ZipReader} from './zip';

export const EXPORT_USAGE = `  mm-e2ee decrypt-export --key BACKUP_FILE --bundle BUNDLE.json [--bundle OLDER.json ...] --out DIR EXPORT
                                                   decrypt a bulk export (import.jsonl or the .zip) into DIR`;

export class ExportUsageError extends Error {}

export const EXPORT_EXIT = {ok: 0, integrity: 3, nothingForThisKey: 4} as const;

/** Where the export's JSONL and attachments come from. */
interface Source {
    jsonl: string;
    /** The bytes of an attachment by its file store path, or null when the export does not hold it. */
    file(storePath: string): Uint8Array<ArrayBuffer> | null;
    close(): void;
}

function openSource(exportPath: string): Source {
    let head: Buffer;
    try {
        const fd = fs.openSync(exportPath, 'r');
        head = Buffer.alloc(4);
        fs.readSync(fd, head, 0, 4, 0);
        fs.closeSync(fd);
    } catch (e) {
        throw new ExportUsageError(`cannot read ${exportPath}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
    if (head.readUInt32LE(0) === 0x04034b50) {
        let z: ZipReader;
        try {
            z = ZipReader.open(exportPath);
        } catch (e) {
            throw new ExportUsageError(`${exportPath}: ${(e as Error).message}`);
        }
        const jsonlName = [...z.entries.keys()].find((n) => n === 'import.jsonl') ?? [...z.entries.keys()].find((n) => !n.includes('/') && n.endsWith('.jsonl'));
        if (!jsonlName) {
            z.close();
            throw new ExportUsageError(`${exportPath}: the archive holds no .jsonl file`);
        }
        return {
            jsonl: (z.read(jsonlName) as Buffer).toString('utf8'),
            file: (p) => {
                const b = z.read(`data/${p}`);
                return b && new Uint8Array(b);
            },
            close: () => z.close(),
        };
    }
    // A bare JSONL: attachments, if any, are under data/ next to it (as the server writes them).
    const dataDir = path.join(path.dirname(exportPath), 'data');
    return {
        jsonl: fs.readFileSync(exportPath, 'utf8'),
        file: (p) => {
            const full = path.resolve(dataDir, p);
            if (!full.startsWith(path.resolve(dataDir) + path.sep)) {
                return null;
            }
            try {
                return new Uint8Array(fs.readFileSync(full));
            } catch {
                return null;
            }
        },
        close: () => undefined,
    };
}

/** Several bundles of one user (saved at different times) read as one: the newest names win,
 * keys, channels, roots and epoch records are united. */
export function mergeBundles(list: Bundle[]): Bundle {
    const sorted = [...list].sort((a, b) => a.createdAt - b.createdAt);
    const out: Bundle = {...sorted[sorted.length - 1], users: {}, channels: {}, roots: {}, epochs: {}};
    for (const b of sorted) {
        if (b.userId !== out.userId) {
            throw new ExportUsageError('the bundles belong to different users');
        }
        for (const [id, u] of Object.entries(b.users)) {
            const keys = [...(out.users[id]?.keys ?? [])];
            for (const k of u.keys) {
                if (!keys.some((x) => x.pubkey.sign === k.pubkey.sign && x.pubkey.encr === k.pubkey.encr)) {
                    keys.push(k);
                }
            }
            out.users[id] = {username: u.username, keys};
        }
        Object.assign(out.channels, b.channels);
        for (const [id, roots] of Object.entries(b.roots)) {
            const have = new Map((out.roots[id] ?? []).map((r) => [r[0], r]));
            roots.forEach((r) => have.set(r[0], r));
            out.roots[id] = [...have.values()].sort((x, y) => x[1] - y[1]);
        }
        for (const [id, epochs] of Object.entries(b.epochs)) {
            out.epochs[id] = {...out.epochs[id], ...epochs};
        }
    }
    return out;
}

function parseBundle(text: string): Bundle {
    let b: Bundle;
    try {
        b = JSON.parse(text) as Bundle;
    } catch {
        throw new ExportUsageError('bundle: not JSON');
    }
    if (!b || typeof b !== 'object' || b.format !== BUNDLE_FORMAT || typeof b.userId !== 'string' ||
        !b.users || !b.channels || !b.roots || !b.epochs || typeof b.users !== 'object' || typeof b.channels !== 'object') {
        throw new ExportUsageError(`bundle: not an ${BUNDLE_FORMAT} file (made by mm-e2ee export-bundle)`);
    }
    return b;
}

/** A file or folder name from untrusted text: no separators, controls or leading dots; bounded. */
export function safeName(name: string, fallback = 'file'): string {
    let s = [...name.normalize('NFC')]
        .map((ch) => (ch.charCodeAt(0) < 0x20 || ch === '\u007f' || '/\\:*?"<>|'.includes(ch) ? '_' : ch))
        .join('')
        .replace(/^[.\s]+/, '')
        .replace(/[.\s]+$/, '');
    s = [...s].slice(0, 120).join('');
    return s || fallback;
}

interface RawPost {
    user: string;
    createAt: number;
    editAt: number;
    props: Record<string, unknown> | null;
    attachments: string[];
}

interface Item {
    line: number;
    channelId: string;
    post: RawPost;
    root?: RawPost; // set for a reply
}

function rawPost(o: Record<string, unknown>): RawPost | null {
    if (typeof o.user !== 'string' || typeof o.create_at !== 'number') {
        return null;
    }
    const atts = Array.isArray(o.attachments) ? o.attachments : [];
    return {
        user: o.user,
        createAt: o.create_at,
        editAt: typeof o.edit_at === 'number' ? o.edit_at : 0,
        props: o.props && typeof o.props === 'object' && !Array.isArray(o.props) ? o.props as Record<string, unknown> : null,
        attachments: atts.map((a) => (a && typeof a === 'object' ? (a as {path?: unknown}).path : null)).filter((p): p is string => typeof p === 'string'),
    };
}

interface Counts {
    lines: number;
    written: number;
    files: number;
    plain: number;
    otherChannels: number;
    notForThisKey: number;
    failed: number;
    unverifiable: number;
    missingFiles: number;
}

interface Problem {
    channel: string;
    user: string;
    createAt: number;
    line: number;
    kind: 'failed' | 'unverifiable' | 'not_for_this_key' | 'file_failed' | 'file_missing';
    reason: string;
}

/** Trial of keys: the first that verifies. */
async function firstThat<T>(items: T[], ok: (t: T) => Promise<boolean>): Promise<T | undefined> {
    for (const t of items) {
        try {
            if (await ok(t)) {
                return t;
            }
        } catch (e) {
            if (!(e instanceof IntegrityError)) {
                throw e;
            }
        }
    }
    return undefined;
}

class Unverifiable extends Error {}
class NotForThisKey extends Error {}

interface Mine {
    keys: PrivateKeySet;
    pub: PublicKey;
}

class Reader {
    private keyCache = new Map<string, PublicKey[]>();
    private epochCache = new Map<string, Promise<EpochKey>>();
    private headerCache = new Map<string, Promise<{header: ParsedEpochHeader; creator: PublicKey}>>();
    private byUsername = new Map<string, string>();

    constructor(private bundle: Bundle, private mine: Mine[]) {
        for (const [id, u] of Object.entries(bundle.users)) {
            this.byUsername.set(u.username, id);
        }
    }

    userIdOf(username: string): string {
        const id = this.byUsername.get(username);
        if (!id) {
            throw new Unverifiable(`user ${username} is not in the bundle`);
        }
        return id;
    }

    /** The user's keys as the bundle lists them (the server's key history when it was made). */
    async keysOf(userId: string): Promise<PublicKey[]> {
        let keys = this.keyCache.get(userId);
        if (!keys) {
            keys = [];
            for (const k of this.bundle.users[userId]?.keys ?? []) {
                try {
                    keys.push(await importPublicKey(k.pubkey));
                } catch {
                    // a key the server listed that is not valid verifies nothing
                }
            }
            this.keyCache.set(userId, keys);
        }
        return keys;
    }

    rootIdsOf(channelId: string, root: RawPost): string[] {
        const rootUser = this.userIdOf(root.user);
        const ids = (this.bundle.roots[channelId] ?? []).filter((r) => r[1] === root.createAt && r[2] === rootUser).map((r) => r[0]);
        if (ids.length === 0) {
            throw new Unverifiable('its thread root is not in the bundle');
        }
        return ids;
    }

    /** The epoch's record header, verified with one of its creator's keys (cached). */
    private epochHeader(channelId: string, epoch: number): Promise<{header: ParsedEpochHeader; creator: PublicKey}> {
        const k = `${channelId}:${epoch}`;
        let p = this.headerCache.get(k);
        if (!p) {
            p = this.verifyHeader(channelId, epoch);
            this.headerCache.set(k, p);
        }
        return p;
    }

    private async verifyHeader(channelId: string, epoch: number): Promise<{header: ParsedEpochHeader; creator: PublicKey}> {
        const rec = this.bundle.epochs[channelId]?.[String(epoch)];
        if (!rec) {
            throw new NotForThisKey(`no copy of the channel key of epoch ${epoch} in the bundle`);
        }
        const header = parseEpochHeader(rec.header);
        if (header.channelId !== channelId || header.epoch !== epoch) {
            throw new IntegrityError('the bundle\'s epoch record belongs to another channel or epoch');
        }
        const creator = await firstThat(await this.keysOf(header.creatorId), (c) => verifyEpochHeader(header, c));
        if (!creator) {
            throw new IntegrityError('the epoch record signature does not verify with any key of its creator');
        }
        return {header, creator};
    }

    private epochKey(channelId: string, epoch: number): Promise<EpochKey> {
        const k = `${channelId}:${epoch}`;
        let p = this.epochCache.get(k);
        if (!p) {
            p = this.openEpoch(channelId, epoch);
            this.epochCache.set(k, p);
        }
        return p;
    }

    /** Our copy of the epoch key: from our part of the record, or a joiner set (adder's keys tried). */
    private async openEpoch(channelId: string, epoch: number): Promise<EpochKey> {
        const {header, creator} = await this.epochHeader(channelId, epoch);
        const rec = this.bundle.epochs[channelId][String(epoch)];
        const sources: WrapSource[] = [];
        if (rec.part >= 0 && rec.wraps !== undefined) {
            sources.push({kind: 'part', index: rec.part, wraps: parsePart(rec.wraps)});
        } else if (rec.joiner !== undefined) {
            const set = parseJoinerWraps(rec.joiner);
            for (const adderPublic of await this.keysOf(set.adderId)) {
                sources.push({kind: 'joiner', set, adderPublic});
            }
        }
        let last: Error = new NotForThisKey(`no copy of the channel key of epoch ${epoch} for this key`);
        for (const src of sources) {
            for (const m of this.mine) {
                try {
                    return await openEpochKey(header, src, m.keys, m.pub, creator);
                } catch (e) {
                    if (e instanceof IntegrityError) {
                        last = e;
                    } else if (!(e instanceof NotRecipientError)) {
                        throw e;
                    }
                }
            }
        }
        throw last;
    }

    /** Verifies and decrypts one post under each candidate context; the sender's key that verified. */
    async read(e2ee: unknown, contexts: MessageContext[]): Promise<{payload: MessagePayload; sentAt?: number; sender: PublicKey; ctx: MessageContext; version: number}> {
        const version = (e2ee as {version?: unknown})?.version;
        const senders = await this.keysOf(contexts[0].userId);
        if (senders.length === 0) {
            throw new Unverifiable('the bundle has no key of its sender');
        }
        if (version === 3) {
            // As §13.5: the record's signature, the message's over its commitment, then our copy of the key.
            const m = parseV3(e2ee);
            const {header} = await this.epochHeader(contexts[0].channelId, m.epoch);
            for (const ctx of contexts) {
                const sender = await firstThat(senders, (k) => verifyV3(m, k, ctx, header.commitment));
                if (sender) {
                    const key = await this.epochKey(ctx.channelId, m.epoch);
                    return {payload: await decryptV3(e2ee, sender, key, ctx), sentAt: m.createdAt, sender, ctx, version: 3};
                }
            }
            throw new IntegrityError('the signature does not verify with any key of its sender for this channel, thread and epoch');
        }
        // As §7: the signature first, then whether it is for us.
        const parsed = parseMessage(e2ee);
        for (const ctx of contexts) {
            const sender = await firstThat(senders, (k) => verifyMessage(e2ee, k, ctx));
            if (sender) {
                const me = this.mine.find((k) => parsed.keys.some((r) => r.idB64 === k.pub.idB64));
                if (!me) {
                    throw new NotForThisKey('not encrypted for this key');
                }
                const d = await decryptMessage(e2ee, me.keys, me.pub, sender, ctx);
                return {payload: d.payload, sentAt: d.createdAt, sender, ctx, version: d.version};
            }
        }
        throw new IntegrityError('the signature does not verify with any key of its sender for this channel and thread');
    }
}

function channelOf(bundle: Bundle, line: Record<string, unknown>): string | null | undefined {
    if (line.type === 'post' && line.post && typeof line.post === 'object') {
        const p = line.post as {team?: unknown; channel?: unknown};
        const hit = Object.entries(bundle.channels).find(([, c]) => (c.type === 'O' || c.type === 'P') && c.team === p.team && c.name === p.channel);
        return hit ? hit[0] : null;
    }
    if (line.type === 'direct_post' && line.direct_post && typeof line.direct_post === 'object') {
        const members = (line.direct_post as {channel_members?: unknown}).channel_members;
        if (!Array.isArray(members)) {
            return null;
        }
        const key = [...new Set(members.map(String))].sort().join('\n');
        const hit = Object.entries(bundle.channels).find(([, c]) => (c.type === 'D' || c.type === 'G') && (c.members ?? []).join('\n') === key);
        return hit ? hit[0] : null;
    }
    return undefined; // not a post line
}

function folderOf(c: BundleChannel, id: string, used: Set<string>): string {
    const base = c.type === 'D' || c.type === 'G' ?
        `${c.type === 'D' ? 'dm' : 'gm'}__${(c.members ?? []).join('__')}` :
        `${c.team}__${c.name}`;
    let name = safeName(base, id);
    if (used.has(name)) {
        name = `${name}__${id}`;
    }
    used.add(name);
    return name;
}

const FILE_ID = /\/([a-z0-9]{26})\/[^/]*$/;

interface OutFile {
    name: string;
    type: string;
    size: number;
    path?: string;
    error?: string;
}

interface Written {
    createAt: number;
    editAt: number;
    sentAt: number | null;
    user: string;
    userId: string;
    rootId: string;
    thread: {rootCreateAt: number; rootUser: string} | null;
    version: number;
    senderKey: string;
    contextBound: boolean;
    text: string;
    files: OutFile[];
    filesError?: string;
}

function iso(ms: number): string {
    return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

function markdownOf(title: string, posts: Written[]): string {
    const out = [`# ${title}`, ''];
    for (const p of posts) {
        const indent = p.thread ? '> ' : '';
        out.push(`${indent}**${p.user}** · ${iso(p.createAt)}${p.editAt ? ' (edited)' : ''} · v${p.version}, key ${p.senderKey}`);
        for (const l of p.text.split('\n')) {
            out.push(`${indent}${l}`);
        }
        for (const f of p.files) {
            out.push(f.path ? `${indent}- [${f.name}](${encodeURI(f.path)}) (${f.size} bytes)` : `${indent}- ${f.name}: ${f.error}`);
        }
        out.push('');
    }
    return out.join('\n');
}

export interface ExportResult {
    code: number;
    counts: Counts;
    problems: Problem[];
}

export async function decryptExport(o: {backup: string; bundle: string | string[]; exportPath: string; out: string}): Promise<ExportResult> {
    const keySets = await importBackupSet(o.backup);
    const mine: Mine[] = [];
    for (const keys of keySets) {
        mine.push({keys, pub: await publicKeyOf(keys)});
    }
    const bundle = mergeBundles((Array.isArray(o.bundle) ? o.bundle : [o.bundle]).map(parseBundle));
    if (fs.existsSync(o.out) && fs.readdirSync(o.out).length > 0) {
        throw new ExportUsageError(`${o.out} exists and is not empty`);
    }
    const src = openSource(o.exportPath);
    const reader = new Reader(bundle, mine);
    const counts: Counts = {lines: 0, written: 0, files: 0, plain: 0, otherChannels: 0, notForThisKey: 0, failed: 0, unverifiable: 0, missingFiles: 0};
    const problems: Problem[] = [];
    const byChannel = new Map<string, Written[]>();
    const folders = new Map<string, string>();
    const used = new Set<string>();
    const seenSignatures = new Set<string>();
    fs.mkdirSync(o.out, {recursive: true, mode: 0o700});

    try {
        const items: Item[] = [];
        src.jsonl.split('\n').forEach((text, i) => {
            if (!text.trim()) {
                return;
            }
            counts.lines++;
            let line: Record<string, unknown>;
            try {
                line = JSON.parse(text) as Record<string, unknown>;
            } catch {
                problems.push({channel: '', user: '', createAt: 0, line: i + 1, kind: 'failed', reason: 'export line is not JSON'});
                counts.failed++;
                return;
            }
            const channelId = channelOf(bundle, line);
            if (channelId === undefined) {
                return;
            }
            if (channelId === null) {
                counts.otherChannels++;
                return;
            }
            const body = (line.post ?? line.direct_post) as Record<string, unknown>;
            const root = rawPost(body);
            if (!root) {
                problems.push({channel: channelId, user: '', createAt: 0, line: i + 1, kind: 'failed', reason: 'post without user or create_at'});
                counts.failed++;
                return;
            }
            items.push({line: i + 1, channelId, post: root});
            for (const r of Array.isArray(body.replies) ? body.replies : []) {
                const reply = r && typeof r === 'object' ? rawPost(r as Record<string, unknown>) : null;
                if (reply) {
                    items.push({line: i + 1, channelId, post: reply, root});
                }
            }
        });

        for (const it of items) {
            const e2ee = it.post.props?.e2ee;
            if (e2ee === undefined) {
                counts.plain++;
                continue;
            }
            const ch = bundle.channels[it.channelId];
            let folder = folders.get(it.channelId);
            if (!folder) {
                folder = folderOf(ch, it.channelId, used);
                folders.set(it.channelId, folder);
            }
            const problem = (kind: Problem['kind'], reason: string) => problems.push({channel: folder as string, user: it.post.user, createAt: it.post.createAt, line: it.line, kind, reason});
            let res;
            try {
                const userId = reader.userIdOf(it.post.user);
                const rootIds = it.root ? reader.rootIdsOf(it.channelId, it.root) : [''];
                res = await reader.read(e2ee, rootIds.map((rootId) => ({channelId: it.channelId, rootId, userId})));
                const sig = String((e2ee as {signature?: unknown}).signature);
                if (seenSignatures.has(sig)) {
                    throw new IntegrityError('the same signed message appears twice in the export');
                }
                seenSignatures.add(sig);
            } catch (e) {
                if (e instanceof NotForThisKey) {
                    counts.notForThisKey++;
                    problem('not_for_this_key', e.message);
                } else if (e instanceof Unverifiable) {
                    counts.unverifiable++;
                    problem('unverifiable', e.message);
                } else if (e instanceof CryptoError) {
                    counts.failed++;
                    problem('failed', `${e.code}: ${e.message}`);
                } else {
                    throw e;
                }
                continue;
            }

            const w: Written = {
                createAt: it.post.createAt,
                editAt: it.post.editAt,
                sentAt: res.sentAt ?? null,
                user: it.post.user,
                userId: res.ctx.userId,
                rootId: res.ctx.rootId,
                thread: it.root ? {rootCreateAt: it.root.createAt, rootUser: it.root.user} : null,
                version: res.version,
                senderKey: fingerprintOf(res.sender),
                contextBound: res.version !== 1,
                text: res.payload.text,
                files: [],
            };
            let entries: FileEntry[] = [];
            try {
                entries = parseFileEntries(res.payload);
            } catch (e) {
                w.filesError = `attachments unreadable: ${(e as Error).message}`;
            }
            const paths = new Map<string, string>();
            for (const p of it.post.attachments) {
                const m = FILE_ID.exec(p);
                if (m) {
                    paths.set(m[1], p);
                }
            }
            for (const f of entries) {
                const out: OutFile = {name: f.name, type: f.type, size: f.size};
                w.files.push(out);
                const storePath = paths.get(f.id);
                const bytes = storePath ? src.file(storePath) : null;
                if (!bytes) {
                    out.error = storePath ? 'not in the export (export with attachments)' : 'not attached to this post in the export';
                    counts.missingFiles++;
                    problem('file_missing', `${f.name}: ${out.error}`);
                    continue;
                }
                try {
                    const plain = await decryptFile(new Blob([bytes]), f.key, f.hash);
                    const dir = path.join(o.out, folder, 'files');
                    fs.mkdirSync(dir, {recursive: true, mode: 0o700});
                    const rel = `files/${String(++counts.files).padStart(4, '0')}-${safeName(f.name)}`;
                    fs.writeFileSync(path.join(o.out, folder, rel), new Uint8Array(await plain.arrayBuffer()), {mode: 0o600});
                    out.path = rel;
                } catch (e) {
                    if (!(e instanceof CryptoError)) {
                        throw e;
                    }
                    out.error = 'file failed verification';
                    counts.failed++;
                    problem('file_failed', `${f.name}: ${e.message}`);
                }
            }
            counts.written++;
            const list = byChannel.get(it.channelId) ?? [];
            list.push(w);
            byChannel.set(it.channelId, list);
        }
    } finally {
        src.close();
    }

    for (const [channelId, posts] of byChannel) {
        const folder = folders.get(channelId) as string;
        const c = bundle.channels[channelId];
        fs.mkdirSync(path.join(o.out, folder), {recursive: true, mode: 0o700});
        fs.writeFileSync(path.join(o.out, folder, 'posts.jsonl'), posts.map((p) => JSON.stringify(p)).join('\n') + '\n', {mode: 0o600});
        const title = c.type === 'D' || c.type === 'G' ? (c.members ?? []).join(', ') : `${c.team} / ${c.name}`;
        fs.writeFileSync(path.join(o.out, folder, 'posts.md'), markdownOf(title, posts), {mode: 0o600});
    }
    const report = {
        bundle: {site: bundle.site, createdAt: bundle.createdAt, userId: bundle.userId},
        keys: mine.map((m) => fingerprintOf(m.pub)),
        counts,
        channels: Object.fromEntries([...folders].map(([id, f]) => [f, id])),
        problems,
    };
    fs.writeFileSync(path.join(o.out, 'report.json'), JSON.stringify(report, null, 1) + '\n', {mode: 0o600});
    let code: number = EXPORT_EXIT.ok;
    if (counts.failed + counts.unverifiable > 0) {
        code = EXPORT_EXIT.integrity;
    } else if (counts.written === 0 && counts.notForThisKey > 0) {
        code = EXPORT_EXIT.nothingForThisKey;
    }
    return {code, counts, problems};
}

export async function runDecryptExport(args: string[]): Promise<number> {
    const flags = new Map<string, string>();
    const bundles: string[] = [];
    const positional: string[] = [];
    for (let i = 0; i < args.length; i++) {
        const m = /^--(key|bundle|out)(?:=(.*))?$/.exec(args[i]);
        if (!m) {
            if (args[i].startsWith('--')) {
                throw new ExportUsageError(`unknown option ${args[i]}`);
            }
            positional.push(args[i]);
            continue;
        }
        const value = m[2] ?? args[++i];
        if (!value) {
            throw new ExportUsageError(`--${m[1]} needs a value`);
        }
        if (m[1] === 'bundle') {
            bundles.push(value);
            flags.set('bundle', value);
            continue;
        }
        if (flags.has(m[1])) {
            throw new ExportUsageError(`--${m[1]} given twice`);
        }
        flags.set(m[1], value);
    }
    for (const name of ['key', 'bundle', 'out']) {
        if (!flags.has(name)) {
            throw new ExportUsageError(`--${name} is required`);
        }
    }
    if (positional.length !== 1) {
        throw new ExportUsageError('give exactly one EXPORT (import.jsonl or the export .zip)');
    }
    const read = (p: string) => {
        try {
            return fs.readFileSync(p, 'utf8');
        } catch (e) {
            throw new ExportUsageError(`cannot read ${p}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
        }
    };
    let res: ExportResult;
    try {
        res = await decryptExport({backup: read(flags.get('key') as string), bundle: bundles.map(read), exportPath: positional[0], out: flags.get('out') as string});
    } catch (e) {
        if (e instanceof ZipError) {
            throw new ExportUsageError(e.message);
        }
        throw e;
    }
    const c = res.counts;
    process.stderr.write(`mm-e2ee: wrote ${c.written} verified posts and ${c.files} files to ${flags.get('out')}; ` +
        `${c.failed} failed verification, ${c.unverifiable} could not be verified with this bundle, ` +
        `${c.notForThisKey} not for this key, ${c.missingFiles} files missing from the export (details: report.json)\n`);
    for (const p of res.problems.filter((q) => q.kind === 'failed' || q.kind === 'file_failed' || q.kind === 'unverifiable')) {
        process.stderr.write(`  line ${p.line} ${p.channel} ${p.user} ${p.createAt}: ${p.kind}: ${p.reason}\n`);
    }
    return res.code;
}

