// Attachments in encrypted channels (docs/design.md §15): the FilesWillUpload hook encrypts each
// file in the browser and hands the host only `<random>.bin` ciphertext to upload; the send hook
// turns the post's file IDs back into the entries (key, name, type…) of the encrypted payload.
import {getSiteURL} from '../client';
import {toHex} from '../crypto/encoding';
import type {EncryptedFile} from '../crypto/file';
import {encryptedFileSize} from '../crypto/file_format';
import {MAX_POST_FILE_IDS, fileEntryToJSON, type FileEntry, type FileEntryJSON, type FileThumbEntry} from '../crypto/file_entry';
import {randomBytes} from '../crypto/subtle';

import {SendRefusedError} from './encryptor';

export type UploadHookResult = {message?: string; files?: File[] | null};

/** What we know of a file we encrypted, until a post carries it. Keyed by its upload name; an
 * image's thumbnail is its own upload, named in `thumbName`. */
export type PendingEntry = Omit<FileEntry, 'id' | 'thumb'> & {thumbName?: string};
export type PendingThumb = Omit<FileThumbEntry, 'id'>;

// Images larger than this get an encrypted thumbnail (smaller ones are previewed themselves).
export const THUMB_MIN_BYTES = 256 * 1024;
export const THUMB_MAX_SIDE = 320;

export const ENCRYPTED_FILE_TYPE = 'application/octet-stream';

/** The file encryption code, a chunk of its own (main.js stays small). */
export function loadFileCrypto(): Promise<typeof import('../crypto/file')> {
    return import(/* webpackChunkName: "files" */ '../crypto/file');
}

/** GET /api/v4/files/{id}/info: the upload name of a file (to find its key before sending). */
export async function fetchFileName(fileId: string): Promise<string | undefined> {
    const res = await fetch(`${getSiteURL()}/api/v4/files/${encodeURIComponent(fileId)}/info`, {
        credentials: 'include', headers: {'X-Requested-With': 'XMLHttpRequest'},
    });
    if (!res.ok) {
        return undefined;
    }
    const info = await res.json() as {name?: unknown};
    return typeof info?.name === 'string' ? info.name : undefined;
}

export function encryptedFileName(): string {
    return `${toHex(randomBytes(16))}.bin`;
}

export function isEncryptedFileName(name: unknown): boolean {
    return typeof name === 'string' && /^[0-9a-f]{32}\.bin$/.test(name);
}

/** Files this browser encrypted and is uploading or has uploaded, and encryptions in progress. */
export class PendingFiles {
    private readonly byName = new Map<string, PendingEntry>();
    private readonly thumbs = new Map<string, PendingThumb>();
    private busy = 0;
    private failed: string[] = [];

    /** `onAdd` runs whenever a file is added. */
    constructor(private readonly onAdd: () => void = () => undefined) {}

    add(uploadName: string, entry: PendingEntry): void {
        this.byName.set(uploadName, entry);
        this.onAdd();
    }

    get(uploadName: string): PendingEntry | undefined {
        return this.byName.get(uploadName);
    }

    addThumb(uploadName: string, thumb: PendingThumb): void {
        this.thumbs.set(uploadName, thumb);
    }

    getThumb(uploadName: string): PendingThumb | undefined {
        return this.thumbs.get(uploadName);
    }

    /** What this tab shows for one of its uploads: the real name, or the real name of the image a
     * thumbnail belongs to; undefined for uploads it did not encrypt. */
    displayName(uploadName: string): string | undefined {
        const entry = this.byName.get(uploadName);
        if (entry) {
            return entry.name;
        }
        if (this.thumbs.has(uploadName)) {
            for (const e of this.byName.values()) {
                if (e.thumbName === uploadName) {
                    return `${e.name} (preview)`;
                }
            }
        }
        return undefined;
    }

    begin(): void {
        this.busy++;
    }

    end(failedNames: string[] = []): void {
        this.busy = Math.max(0, this.busy - 1);
        this.failed.push(...failedNames);
    }

    inProgress(): boolean {
        return this.busy > 0;
    }

    /** Names of files whose encryption failed since the last call (reported once). */
    takeFailed(): string[] {
        const out = this.failed;
        this.failed = [];
        return out;
    }
}

export interface UploadHookDeps {
    pending: PendingFiles;
    /** Where the files may go: the centre channel and the channel of the thread on the right. */
    candidateChannels(): string[];
    methodOf(channelId: string): 'none' | 'p2p' | undefined;
    refresh(channelId: string): void;
    /** Tells the user, in the channel, that a file could not be encrypted. */
    report(channelIds: string[], message: string): void;
    /** The server's FileSettings.MaxFileSize (client config), if known. */
    maxFileSize?(): number | undefined;
    encrypt?: (file: Blob) => Promise<EncryptedFile>;
    /** Makes an image's thumbnail (a canvas in the browser); null when it cannot. */
    thumbnail?: (file: File) => Promise<{blob: Blob; width: number; height: number} | null>;
}

const MIXED = 'A thread of another channel is open on the right, and only one of the two channels is encrypted: ' +
    'close the thread, or open it in its own channel, to attach files.';

/** The FilesWillUpload hook. The host calls it synchronously and ignores a Promise, so for an
 * encrypted channel it returns no files at once, encrypts, then calls `upload` with ciphertext. */
export function createFilesWillUploadHook(deps: UploadHookDeps) {
    const encrypt = deps.encrypt ?? (async (f: Blob) => (await loadFileCrypto()).encryptFile(f));
    const thumbnail = deps.thumbnail ?? makeThumbnail;
    return (files: File[], upload?: (files: File[]) => void): UploadHookResult => {
        const channelIds = deps.candidateChannels().filter((id, i, all) => id && all.indexOf(id) === i);
        if (!channelIds.length) {
            return {message: 'Checking whether this channel is encrypted: try the upload again in a moment.', files: null};
        }
        const methods = channelIds.map((id) => deps.methodOf(id));
        if (methods.includes(undefined)) {
            channelIds.forEach((id, i) => methods[i] === undefined && deps.refresh(id));
            return {message: 'Checking whether this channel is encrypted: try the upload again in a moment.', files: null};
        }
        if (methods.every((m) => m === 'none')) {
            return {files};
        }
        if (!methods.every((m) => m === 'p2p')) {
            return {message: MIXED, files: null};
        }
        if (typeof upload !== 'function') {
            return {message: 'Files cannot be encrypted in this version of Mattermost: they were not uploaded.', files: null};
        }
        if (files.length > MAX_POST_FILE_IDS) {
            return {message: `At most ${MAX_POST_FILE_IDS} files can be attached to an encrypted message.`, files: null};
        }
        // The ciphertext is 16 bytes per 64 KiB (plus 20) larger: refuse what the server would refuse.
        const max = deps.maxFileSize?.();
        const tooLarge = max ? files.filter((f) => encryptedFileSize(f.size) > max) : [];
        if (tooLarge.length) {
            return {message: `Too large once encrypted (the server takes at most ${max} bytes a file): ${tooLarge.map((f) => f.name).join(', ')}.`, files: null};
        }
        deps.pending.begin();
        const failed: string[] = [];
        Promise.all(files.map(async (file): Promise<File[]> => {
            try {
                return await encryptForUpload(file, deps.pending, encrypt, thumbnail);
            } catch (err) {
                console.error('e2ee: a file could not be encrypted', err instanceof Error ? err.name : '');
                failed.push(file.name);
                return [];
            }
        })).then((out) => {
            const ready = out.flat();
            if (failed.length) {
                deps.report(channelIds, `These files could not be encrypted and were not attached: ${failed.join(', ')}.`);
            }
            if (ready.length) {
                upload(ready);
            }
        }).finally(() => deps.pending.end(failed));
        return {files: []};
    };
}

/** Encrypts one file (§15.2) for upload: its ciphertext `File` named `<random>.bin`, then, for a
 * large image, its encrypted thumbnail; their entries (§15.4, without server IDs) go into `pending`. */
export async function encryptForUpload(file: File, pending: PendingFiles, encrypt: (f: Blob) => Promise<EncryptedFile>,
    thumbnail: (f: File) => Promise<{blob: Blob; width: number; height: number} | null> = makeThumbnail): Promise<File[]> {
    const enc = await encrypt(file);
    const uploadName = encryptedFileName();
    const dims = await imageSize(file);
    const out = [new File([enc.ciphertext], uploadName, {type: ENCRYPTED_FILE_TYPE})];
    let thumbName: string | undefined;
    const thumb = dims.width && file.size > THUMB_MIN_BYTES ? await thumbnail(file).catch(() => null) : null;
    if (thumb) {
        const t = await encrypt(thumb.blob);
        thumbName = encryptedFileName();
        pending.addThumb(thumbName, {key: t.key, hash: t.hash, type: thumb.blob.type, width: thumb.width, height: thumb.height});
        out.push(new File([t.ciphertext], thumbName, {type: ENCRYPTED_FILE_TYPE}));
    }
    pending.add(uploadName, {
        key: enc.key, hash: enc.hash, name: file.name || 'file', type: mimeOf(file), size: enc.size, ...dims, thumbName,
    });
    return out;
}

function mimeOf(file: File): string {
    const t = (file.type || '').toLowerCase();
    return /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/.test(t) ? t : 'application/octet-stream';
}

/** A JPEG of at most 320 px on its longer side, drawn in a canvas from the decoded image. */
export async function makeThumbnail(file: File): Promise<{blob: Blob; width: number; height: number} | null> {
    if (typeof createImageBitmap !== 'function' || typeof OffscreenCanvas !== 'function') {
        return null;
    }
    const bmp = await createImageBitmap(file);
    try {
        const scale = Math.min(1, THUMB_MAX_SIDE / Math.max(bmp.width, bmp.height));
        const width = Math.max(1, Math.round(bmp.width * scale));
        const height = Math.max(1, Math.round(bmp.height * scale));
        const canvas = new OffscreenCanvas(width, height);
        const ctx = canvas.getContext('2d');
        if (!ctx) {
            return null;
        }
        ctx.fillStyle = '#fff'; // JPEG has no transparency
        ctx.fillRect(0, 0, width, height);
        ctx.drawImage(bmp, 0, 0, width, height);
        const blob = await canvas.convertToBlob({type: 'image/jpeg', quality: 0.8});
        return blob.type === 'image/jpeg' ? {blob, width, height} : null;
    } finally {
        bmp.close();
    }
}

/** Pixel size of an image the browser can decode; nothing for other files. */
async function imageSize(file: File): Promise<{width?: number; height?: number}> {
    if (!/^image\/(png|jpeg|gif|webp)$/.test(file.type) || typeof createImageBitmap !== 'function') {
        return {};
    }
    try {
        const bmp = await createImageBitmap(file);
        const out = {width: bmp.width, height: bmp.height};
        bmp.close();
        return out.width > 0 && out.height > 0 ? out : {};
    } catch {
        return {};
    }
}

/** The file entries of a post about to be sent: every file ID must be one this browser encrypted.
 * `nameOf` gives the upload name of a file ID (from the host's state, or the server). */
export async function entriesForPost(fileIds: string[], pending: PendingFiles, nameOf: (id: string) => Promise<string | undefined>): Promise<FileEntry[]> {
    if (pending.inProgress()) {
        throw new SendRefusedError('files', 'Files are still being encrypted and uploaded. Your message was not sent: send it again when they are attached.');
    }
    if (fileIds.length > MAX_POST_FILE_IDS) {
        throw new SendRefusedError('files', `At most ${MAX_POST_FILE_IDS} files can be attached to an encrypted message. Your message was not sent.`);
    }
    const names = new Map<string, string>(); // file ID -> upload name
    for (const id of fileIds) {
        let name: string | undefined;
        try {
            name = await nameOf(id);
        } catch {
            name = undefined;
        }
        if (!name || (!pending.get(name) && !pending.getThumb(name))) {
            throw new SendRefusedError('files', 'An attached file was not encrypted in this browser, so it cannot be sent in this encrypted channel. ' +
                'Remove it and attach it again. Your message was not sent.');
        }
        names.set(id, name);
    }
    const idOfName = new Map([...names].map(([id, name]) => [name, id]));
    const entries: FileEntry[] = [];
    for (const id of fileIds) {
        const {thumbName, ...entry} = pending.get(names.get(id) as string) ?? {};
        if (!('key' in entry)) {
            continue; // a thumbnail: attached below to its image (alone, it is dropped)
        }
        const full: FileEntry = {id, ...(entry as Omit<FileEntry, 'id'>)};
        const thumbId = thumbName ? idOfName.get(thumbName) : undefined;
        if (thumbName && thumbId) {
            full.thumb = {id: thumbId, ...(pending.getThumb(thumbName) as PendingThumb)};
        }
        entries.push(full);
    }
    return entries;
}

export interface AttachDeps {
    /** POST /api/v4/files: uploads one ciphertext into the channel; its server file ID. */
    upload(channelId: string, file: File): Promise<string>;
    maxFileSize?(): number | undefined;
    encrypt?: (file: Blob) => Promise<EncryptedFile>;
    thumbnail?: (file: File) => Promise<{blob: Blob; width: number; height: number} | null>;
}

/** Files added to an encrypted post in our editor: each encrypted here (as the upload hook does)
 * and uploaded into the post's channel; returns their entries (§15.4). A failure names the file. */
export async function attachEncryptedFiles(deps: AttachDeps, channelId: string, files: File[]): Promise<FileEntryJSON[]> {
    const encrypt = deps.encrypt ?? (async (f: Blob) => (await loadFileCrypto()).encryptFile(f));
    const max = deps.maxFileSize?.();
    const tooLarge = max ? files.filter((f) => encryptedFileSize(f.size) > max) : [];
    if (tooLarge.length) {
        throw new SendRefusedError('files', `Too large once encrypted (the server takes at most ${max} bytes a file): ${tooLarge.map((f) => f.name).join(', ')}. Nothing was attached.`);
    }
    const pending = new PendingFiles();
    const idOf = new Map<string, string>(); // upload name -> server file ID
    const out: FileEntryJSON[] = [];
    for (const file of files) {
        let encrypted: File[];
        try {
            encrypted = await encryptForUpload(file, pending, encrypt, deps.thumbnail);
        } catch {
            throw new SendRefusedError('files', `${file.name} could not be encrypted, so it was not attached.`);
        }
        const ids: string[] = [];
        for (const f of encrypted) {
            try {
                ids.push(await deps.upload(channelId, f));
            } catch (err) {
                const reason = err instanceof Error && err.message ? `: ${err.message}` : '';
                throw new SendRefusedError('files', `${file.name} could not be uploaded${reason}. It was not attached.`);
            }
            idOf.set(f.name, ids[ids.length - 1]);
        }
        const names = new Map([...idOf].map(([name, id]) => [id, name]));
        const entries = await entriesForPost(ids, pending, async (id) => names.get(id));
        out.push(...entries.map(fileEntryToJSON));
    }
    return out;
}
