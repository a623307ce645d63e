// The "files" member of an encrypted post's payload (docs/design.md §15.4): per attached F1 file
// its server file ID, key, hash and the real name, type and size that only readers learn.
import {fromBase64, toBase64, type Bytes} from './encoding';
import {MalformedError} from './errors';
import {F1_KEY_BYTES} from './file_format';

/** Mattermost IDs: 26 characters of [a-z0-9]. */
const ID_RE = /^[a-z0-9]{26}$/;
export const MAX_POST_FILE_IDS = 10;
const MAX_NAME_CHARS = 255;
const MAX_TYPE_CHARS = 255;
const MAX_DIMENSION = 1 << 20;
export const THUMB_TYPES = ['image/jpeg', 'image/png', 'image/webp'];

export interface FileThumbEntry {
    id: string;
    key: Bytes;
    hash: Bytes;
    type: string;
    width: number;
    height: number;
}

export interface FileEntry {
    id: string;
    key: Bytes;
    hash: Bytes;
    name: string;
    type: string;
    size: number;
    width?: number;
    height?: number;
    thumb?: FileThumbEntry;
}

export interface FileThumbEntryJSON {id: string; key: string; hash: string; type: string; width: number; height: number}

export interface FileEntryJSON {
    id: string;
    key: string;
    hash: string;
    name: string;
    type: string;
    size: number;
    width?: number;
    height?: number;
    thumb?: FileThumbEntryJSON;
}

function obj(v: unknown, field: string): Record<string, unknown> {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
        throw new MalformedError(`${field}: expected an object`);
    }
    return v as Record<string, unknown>;
}

function only(o: Record<string, unknown>, allowed: string[], field: string): void {
    for (const k of Object.keys(o)) {
        if (!allowed.includes(k)) {
            throw new MalformedError(`${field}: unknown member ${k}`);
        }
    }
}

function id(v: unknown, field: string): string {
    if (typeof v !== 'string' || !ID_RE.test(v)) {
        throw new MalformedError(`${field}: expected a 26-character Mattermost file ID`);
    }
    return v;
}

function hasControl(s: string): boolean {
    for (let i = 0; i < s.length; i++) {
        const c = s.charCodeAt(i);
        if (c < 0x20 || c === 0x7f) {
            return true;
        }
    }
    return false;
}

function str(v: unknown, field: string, max: number): string {
    if (typeof v !== 'string' || v.length === 0 || v.length > max || hasControl(v)) {
        throw new MalformedError(`${field}: expected 1 to ${max} characters without control characters`);
    }
    return v;
}

function int(v: unknown, field: string, min: number, max: number): number {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
        throw new MalformedError(`${field}: expected an integer from ${min} to ${max}`);
    }
    return v;
}

function mime(v: unknown, field: string): string {
    const s = str(v, field, MAX_TYPE_CHARS);
    if (!/^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/i.test(s)) {
        throw new MalformedError(`${field}: expected a MIME type type/subtype`);
    }
    return s.toLowerCase();
}

function parseThumb(v: unknown, field: string): FileThumbEntry {
    const o = obj(v, field);
    only(o, ['id', 'key', 'hash', 'type', 'width', 'height'], field);
    const type = mime(o.type, `${field}.type`);
    if (!THUMB_TYPES.includes(type)) {
        throw new MalformedError(`${field}.type: expected one of ${THUMB_TYPES.join(', ')}`);
    }
    return {
        id: id(o.id, `${field}.id`),
        key: fromBase64(o.key, `${field}.key`, F1_KEY_BYTES),
        hash: fromBase64(o.hash, `${field}.hash`, 32),
        type,
        width: int(o.width, `${field}.width`, 1, MAX_DIMENSION),
        height: int(o.height, `${field}.height`, 1, MAX_DIMENSION),
    };
}

function parseEntry(v: unknown, field: string): FileEntry {
    const o = obj(v, field);
    only(o, ['id', 'key', 'hash', 'name', 'type', 'size', 'width', 'height', 'thumb'], field);
    const e: FileEntry = {
        id: id(o.id, `${field}.id`),
        key: fromBase64(o.key, `${field}.key`, F1_KEY_BYTES),
        hash: fromBase64(o.hash, `${field}.hash`, 32),
        name: str(o.name, `${field}.name`, MAX_NAME_CHARS),
        type: mime(o.type, `${field}.type`),
        size: int(o.size, `${field}.size`, 0, Number.MAX_SAFE_INTEGER),
    };
    if ((o.width === undefined) !== (o.height === undefined)) {
        throw new MalformedError(`${field}: width and height go together`);
    }
    if (o.width !== undefined) {
        e.width = int(o.width, `${field}.width`, 1, MAX_DIMENSION);
        e.height = int(o.height, `${field}.height`, 1, MAX_DIMENSION);
    }
    if (o.thumb !== undefined) {
        e.thumb = parseThumb(o.thumb, `${field}.thumb`);
    }
    return e;
}

/** The file entries of a decrypted payload ([] when it has no "files"); MalformedError when the
 * member breaks §15.4 (then none of the files is shown). */
export function parseFileEntries(payload: Record<string, unknown>): FileEntry[] {
    obj(payload, 'payload'); // decryption hands an object; anything else is a MalformedError, not a TypeError
    if (!('files' in payload) || payload.files === undefined) {
        return [];
    }
    if (!Array.isArray(payload.files)) {
        throw new MalformedError('files: expected an array');
    }
    const entries = payload.files.map((f, i) => parseEntry(f, `files[${i}]`));
    const ids = serverFileIdsOf(entries);
    if (new Set(ids).size !== ids.length) {
        throw new MalformedError('files: a file ID is listed twice');
    }
    if (ids.length > MAX_POST_FILE_IDS) {
        throw new MalformedError(`files: more than ${MAX_POST_FILE_IDS} server files (thumbnails included)`);
    }
    return entries;
}

/** Every server file the entries name, each file followed by its thumbnail: the post's file_ids. */
export function serverFileIdsOf(entries: FileEntry[]): string[] {
    const out: string[] = [];
    for (const e of entries) {
        out.push(e.id);
        if (e.thumb) {
            out.push(e.thumb.id);
        }
    }
    return out;
}

export function fileEntryToJSON(e: FileEntry): FileEntryJSON {
    const j: FileEntryJSON = {id: e.id, key: toBase64(e.key), hash: toBase64(e.hash), name: e.name, type: e.type, size: e.size};
    if (e.width !== undefined && e.height !== undefined) {
        j.width = e.width;
        j.height = e.height;
    }
    if (e.thumb) {
        const t = e.thumb;
        j.thumb = {id: t.id, key: toBase64(t.key), hash: toBase64(t.hash), type: t.type, width: t.width, height: t.height};
    }
    return j;
}

/** Types a reader may show inline (as an <img> from a blob: URL); everything else is download-only. */
export const PREVIEWABLE_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'];
