// The file list and preview of encrypted posts, loaded on first use as the "files" chunk (with the
// file decryption code), so that main.js stays small.
import React, {useEffect, useState} from 'react';

import type {Post} from '@mattermost/types/posts';

type FilesView = typeof import('./files_view');
let loaded: Promise<FilesView> | null = null;

function loadFilesView(): Promise<FilesView> {
    if (!loaded) {
        loaded = import(/* webpackChunkName: "files" */ './files_view');
        loaded.catch(() => {
            loaded = null; // try again next time
        });
    }
    return loaded;
}

function useFilesView(): FilesView | null {
    const [mod, setMod] = useState<FilesView | null>(null);
    useEffect(() => {
        let live = true;
        loadFilesView().then((m) => live && setMod(m), () => undefined);
        return () => {
            live = false;
        };
    }, []);
    return mod;
}

export function LazyEncryptedFiles({files}: {files: unknown}): React.ReactElement | null {
    const mod = useFilesView();
    return mod ? <mod.EncryptedFiles files={files}/> : null;
}

type Decrypt = {decrypt(post: Post): Promise<{status: string; files?: unknown}>};
type PreviewProps = {fileInfo: {id?: string; name?: string}; post?: Post};

export function makeLazyFilePreview(decrypt: Decrypt): React.FC<PreviewProps> {
    let Preview: React.FC<PreviewProps> | null = null;
    return function LazyFilePreview(props: PreviewProps): React.ReactElement | null {
        const mod = useFilesView();
        if (!mod) {
            return null;
        }
        Preview = Preview ?? mod.makeEncryptedFilePreview(decrypt);
        return <Preview {...props}/>;
    };
}

/** The host lists a post's files under it by their upload names (random `.bin`), and the plugin
 * API cannot replace that list (docs/host-contract.md §3). Where our list of the real names is
 * shown (`.e2ee-files`, only once the post decrypted), a style hides the host's list of the same
 * post: `.post__body` holds both the message and `[data-testid="fileAttachmentList"]`. Returns the undo. */
export const HIDE_HOST_FILE_LIST_CSS = '.post__body:has(.e2ee-files) > [data-testid="fileAttachmentList"] { display: none !important; }';

export function hideHostFileList(doc: Document | undefined = typeof document === 'undefined' ? undefined : document): () => void {
    if (!doc?.head) {
        return () => undefined;
    }
    const style = doc.createElement('style');
    style.id = 'e2ee-hide-host-file-list';
    style.textContent = HIDE_HOST_FILE_LIST_CSS;
    doc.head.appendChild(style);
    return () => style.remove();
}
