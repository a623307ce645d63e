// The files of a decrypted post (docs/design.md §15): real names and sizes, a preview for
// png/jpeg/gif/webp decrypted in the browser (blob: URL, revoked on unmount), and a download of
// the verified plaintext for every file. Nothing is opened inline but those four image types: a
// blob: URL runs with Mattermost's origin, so SVG, HTML or PDF must never be navigated to.
import React, {useEffect, useState} from 'react';

import type {Post} from '@mattermost/types/posts';

import {getSiteURL} from '../client';
import {decryptFile} from '../crypto/file';
import {PREVIEWABLE_TYPES, parseFileEntries, type FileEntry} from '../crypto/file_entry';

export const FILE_FAILED = 'file failed verification';
// Images up to this size are decrypted for a preview without a click.
const AUTO_PREVIEW_BYTES = 20 * 1024 * 1024;

/** GET /api/v4/files/{id}: the ciphertext, with the host's session cookie. */
export async function fetchFileCiphertext(fileId: string): Promise<Blob> {
    // no-store: always what the server holds now (verified on each read), and no copy kept.
    const res = await fetch(`${getSiteURL()}/api/v4/files/${encodeURIComponent(fileId)}`, {
        credentials: 'include', headers: {'X-Requested-With': 'XMLHttpRequest'}, cache: 'no-store',
    });
    if (!res.ok) {
        throw new Error(`download failed with status ${res.status}`);
    }
    return res.blob();
}

/** Fetches and decrypts one file; throws on any failure (network, tag, hash). */
export async function openEncryptedFile(entry: FileEntry, fetchFile = fetchFileCiphertext, type = 'application/octet-stream'): Promise<Blob> {
    return decryptFile(await fetchFile(entry.id), entry.key, entry.hash, type);
}

function formatSize(n: number): string {
    if (n < 1024) {
        return `${n} B`;
    }
    if (n < 1024 * 1024) {
        return `${(n / 1024).toFixed(1)} KB`;
    }
    return `${(n / (1024 * 1024)).toFixed(1)} MB`;
}

function saveBlob(blob: Blob, name: string): void {
    // octet-stream: the browser saves it and never renders it.
    const url = URL.createObjectURL(new Blob([blob], {type: 'application/octet-stream'}));
    const a = document.createElement('a');
    a.href = url;
    a.download = name;
    a.rel = 'noopener';
    a.style.display = 'none';
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
}

function FileRow({entry, fetchFile}: {entry: FileEntry; fetchFile: (id: string) => Promise<Blob>}): React.ReactElement {
    const previewable = PREVIEWABLE_TYPES.includes(entry.type);
    const [preview, setPreview] = useState<string | null>(null);
    const [error, setError] = useState('');
    const [busy, setBusy] = useState(false);

    useEffect(() => {
        // The encrypted thumbnail when there is one, else the image itself if not too large.
        const thumb = entry.thumb;
        if (!previewable || (!thumb && entry.size > AUTO_PREVIEW_BYTES)) {
            return undefined;
        }
        let live = true;
        let url: string | null = null;
        const source = thumb ? {...entry, id: thumb.id, key: thumb.key, hash: thumb.hash} : entry;
        openEncryptedFile(source, fetchFile, thumb ? thumb.type : entry.type).then((blob) => {
            if (live) {
                url = URL.createObjectURL(blob);
                setPreview(url);
            }
        }, () => live && setError(FILE_FAILED));
        return () => {
            live = false;
            if (url) {
                URL.revokeObjectURL(url);
            }
        };
    // One decryption per file: the entry and fetcher of a file ID do not change.
    // eslint-disable-next-line react-hooks/exhaustive-deps
    }, [entry.id]);

    const download = async () => {
        setBusy(true);
        setError('');
        try {
            saveBlob(await openEncryptedFile(entry, fetchFile), entry.name);
        } catch {
            setError(FILE_FAILED);
        } finally {
            setBusy(false);
        }
    };

    return (
        <div className='e2ee-file' data-testid='e2ee-file' data-file-id={entry.id} style={{margin: '4px 0'}}>
            {preview && (
                <img
                    data-testid='e2ee-file-preview'
                    data-thumbnail={entry.thumb ? 'true' : undefined}
                    src={preview}
                    alt={entry.name}
                    style={{display: 'block', maxWidth: 320, maxHeight: 240, borderRadius: 4, marginBottom: 2}}
                />
            )}
            <span data-testid='e2ee-file-name' style={{fontWeight: 600}}>{entry.name}</span>
            <span style={{opacity: 0.7, marginLeft: 6}}>{formatSize(entry.size)}</span>
            <button
                type='button'
                className='btn btn-sm btn-tertiary'
                data-testid='e2ee-file-download'
                disabled={busy}
                style={{marginLeft: 6}}
                onClick={download}
            >
                {busy ? 'Decrypting…' : 'Download'}
            </button>
            {error && <div data-testid='e2ee-file-error' className='e2ee-state' style={{fontStyle: 'italic', color: '#d24b4e'}}>{error}</div>}
        </div>
    );
}

/** The decrypted payload's `files` member; a broken member shows that the files are unreadable. */
export function EncryptedFiles({files, fetchFile = fetchFileCiphertext}: {files: unknown; fetchFile?: (id: string) => Promise<Blob>}): React.ReactElement | null {
    let entries: FileEntry[];
    try {
        entries = parseFileEntries({files});
    } catch {
        return <div data-testid='e2ee-files-malformed' className='e2ee-state' style={{fontStyle: 'italic'}}>{'The attachments of this message are unreadable.'}</div>;
    }
    if (!entries.length) {
        return null;
    }
    return (
        <div className='e2ee-files' data-testid='e2ee-files'>
            {entries.map((e) => <FileRow key={e.id} entry={e} fetchFile={fetchFile}/>)}
        </div>
    );
}

/** The host's file preview (registerFilePreviewComponent) for an encrypted post's `.bin` file:
 * the decrypted file's name, preview and download instead of the ciphertext. */
export function makeEncryptedFilePreview(decrypt: {decrypt(post: Post): Promise<{status: string; files?: unknown}>}) {
    return function EncryptedFilePreview({fileInfo, post}: {fileInfo: {id?: string; name?: string}; post?: Post}): React.ReactElement {
        const [files, setFiles] = useState<unknown>(undefined);
        const [failed, setFailed] = useState(false);
        useEffect(() => {
            let live = true;
            if (post) {
                decrypt.decrypt(post).then((r) => {
                    if (live) {
                        if ((r.status === 'ok' || r.status === 'earlier-key') && Array.isArray(r.files)) {
                            setFiles((r.files as Array<{id?: unknown}>).filter((f) => f && f.id === fileInfo?.id));
                        } else {
                            setFailed(true);
                        }
                    }
                }, () => live && setFailed(true));
            }
            return () => {
                live = false;
            };
        // eslint-disable-next-line react-hooks/exhaustive-deps
        }, [post?.id, fileInfo?.id]);
        return (
            <div className='e2ee-file-preview-modal' data-testid='e2ee-file-preview-modal' style={{padding: 16, background: 'var(--center-channel-bg, #fff)'}}>
                {failed && <div className='e2ee-state'>{'This encrypted file cannot be read in this browser.'}</div>}
                {files !== undefined && <EncryptedFiles files={files}/>}
            </div>
        );
    };
}
