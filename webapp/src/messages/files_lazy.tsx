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
