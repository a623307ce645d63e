// Attachments in an encrypted channel, through the registered hooks (design §15): the upload hook
// hands only ciphertext to the host, the send hook lists the files in the encrypted payload, and a
// reader gets back the bytes; files this browser did not encrypt, or still encrypting, are refused.
import {decryptMessage} from '../../src/crypto';
import {decryptFile} from '../../src/crypto/file';
import {parseFileEntries} from '../../src/crypto/file_entry';

import {basePost} from './helpers';
import {CHANNEL, makeWorld, type World} from './world';

type UploadHook = (files: File[], upload: (f: File[]) => void) => {message?: string; files?: File[] | null};

function uploadHook(w: World): UploadHook {
    return (w.registry.registered.files[0] as unknown[])[0] as UploadHook;
}

/** Runs the upload hook and "uploads" the ciphertext as the host would: a file ID per file. */
async function attach(w: World, files: File[]): Promise<Array<{id: string; file: File}>> {
    const uploaded = await new Promise<File[]>((resolve) => {
        expect(uploadHook(w)(files, resolve)).toEqual({files: []});
    });
    const out = uploaded.map((file, i) => ({id: `file${i}${'x'.repeat(26)}`.slice(0, 26), file}));
    w.store.setEntities((e) => ({...e, files: {files: Object.fromEntries(out.map(({id, file}) => [id, {id, name: file.name}]))}}));
    return out;
}

function draft(w: World, fileIds: string[]) {
    return basePost({id: '', user_id: w.alice.id, channel_id: CHANNEL, message: 'see attached', pending_post_id: `${w.alice.id}:1`, file_ids: fileIds});
}

describe('encrypted attachments', () => {
    let w: World;
    beforeEach(async () => {
        w = await makeWorld();
    });

    test('the payload lists each file; a reader decrypts the uploaded bytes to the original', async () => {
        const pdf = new File([new Uint8Array(70000).fill(37)], 'report.pdf', {type: 'application/pdf'});
        const notes = new File(['meeting notes'], 'notes.txt', {type: 'text/plain'});
        const up = await attach(w, [pdf, notes]);
        const result = await w.willPost(draft(w, up.map((u) => u.id)));
        expect(result.error).toBeUndefined();
        expect(result.post.file_ids).toEqual(up.map((u) => u.id));
        expect(JSON.stringify(result.post)).not.toContain('report.pdf');
        const out = await decryptMessage(result.post.props.e2ee, w.bob.keys, w.bob.pub, w.alice.pub, {channelId: CHANNEL, rootId: '', userId: w.alice.id});
        expect(out.text).toBe('see attached');
        const entries = parseFileEntries(out.payload);
        expect(entries.map((e) => [e.id, e.name, e.type, e.size])).toEqual([
            [up[0].id, 'report.pdf', 'application/pdf', 70000], [up[1].id, 'notes.txt', 'text/plain', 13],
        ]);
        for (const [i, original] of [pdf, notes].entries()) {
            const plain = await decryptFile(up[i].file, entries[i].key, entries[i].hash);
            expect(Buffer.from(await plain.arrayBuffer()).equals(Buffer.from(await original.arrayBuffer()))).toBe(true);
        }
    });

    test('refused while files are still being encrypted; the text stays for a second try', async () => {
        const big = new File([new Uint8Array(3 << 20)], 'big.bin.iso', {type: ''});
        let done: (f: File[]) => void = () => undefined;
        const uploaded = new Promise<File[]>((resolve) => {
            done = resolve;
        });
        uploadHook(w)([big], (f) => done(f));
        const early = await w.willPost(draft(w, []));
        expect(early.error.message).toMatch(/still being encrypted/);
        await uploaded;
        await new Promise((r) => setTimeout(r, 0));
        const later = await w.willPost(draft(w, []));
        expect(later.error).toBeUndefined();
    });

    test('a file ID this browser did not encrypt is refused, and nothing is encrypted', async () => {
        const up = await attach(w, [new File(['a'], 'a.txt')]);
        const result = await w.willPost(draft(w, [up[0].id, 'someoneelsesfile0000000000']));
        expect(result.error.message).toMatch(/not encrypted in this browser/);
        expect(result.post).toBeUndefined();
    });
});

describe('image thumbnails', () => {
    test('a large image gets an encrypted thumbnail upload; the entry names it, file_ids carry both', async () => {
        const {PendingFiles, createFilesWillUploadHook, entriesForPost, THUMB_MIN_BYTES} = await import('../../src/messages/files');
        const pending = new PendingFiles();
        const thumbBytes = new Uint8Array([0xff, 0xd8, 0xff, 1, 2, 3]);
        const hook = createFilesWillUploadHook({
            pending,
            candidateChannels: () => ['c1'],
            methodOf: () => 'p2p',
            refresh: () => undefined,
            report: () => undefined,
            thumbnail: async () => ({blob: new Blob([thumbBytes], {type: 'image/jpeg'}), width: 320, height: 200}),
        });
        const image = new File([new Uint8Array(THUMB_MIN_BYTES + 1)], 'big.png', {type: 'image/png'});
        const small = new File([new Uint8Array(10)], 'small.png', {type: 'image/png'});
        const uploaded = await new Promise<File[]>((resolve) => hook([image, small], resolve));
        // Node has no image decoder: no pixel size, so no thumbnail is made here ...
        expect(uploaded).toHaveLength(2);
        // ... with one (as a browser has), the large image brings its thumbnail along.
        const withSize = createFilesWillUploadHook({
            pending, candidateChannels: () => ['c1'], methodOf: () => 'p2p', refresh: () => undefined, report: () => undefined,
            thumbnail: async () => ({blob: new Blob([thumbBytes], {type: 'image/jpeg'}), width: 320, height: 200}),
        });
        const OriginalBitmap = (globalThis as {createImageBitmap?: unknown}).createImageBitmap;
        (globalThis as {createImageBitmap?: unknown}).createImageBitmap = async () => ({width: 1600, height: 1000, close: () => undefined});
        try {
            const up = await new Promise<File[]>((resolve) => withSize([image], resolve));
            expect(up).toHaveLength(2);
            await new Promise((r) => setTimeout(r, 0)); // the hook's bookkeeping ends after upload is called
            const ids = ['imageid0000000000000000000', 'thumbid0000000000000000000'];
            const byId = new Map(ids.map((id, i) => [id, up[i].name]));
            const entries = await entriesForPost(ids, pending, async (id) => byId.get(id));
            expect(entries).toHaveLength(1);
            expect(entries[0]).toMatchObject({id: ids[0], name: 'big.png', width: 1600, height: 1000});
            expect(entries[0].thumb).toMatchObject({id: ids[1], type: 'image/jpeg', width: 320, height: 200});
            const plain = await decryptFile(up[1], entries[0].thumb!.key, entries[0].thumb!.hash);
            expect(Buffer.from(await plain.arrayBuffer()).equals(Buffer.from(thumbBytes))).toBe(true);
            // The thumbnail alone (its image removed from the draft) is dropped.
            expect(await entriesForPost([ids[1]], pending, async (id) => byId.get(id))).toEqual([]);
        } finally {
            (globalThis as {createImageBitmap?: unknown}).createImageBitmap = OriginalBitmap;
        }
    });
});

test('a file too large once encrypted is refused before anything is encrypted', async () => {
    const {PendingFiles, createFilesWillUploadHook} = await import('../../src/messages/files');
    const pending = new PendingFiles();
    const hook = createFilesWillUploadHook({
        pending, candidateChannels: () => ['c1'], methodOf: () => 'p2p', refresh: () => undefined, report: () => undefined,
        maxFileSize: () => 65536 + 20 + 15,
    });
    const upload = jest.fn();
    const res = hook([new File([new Uint8Array(65536)], 'exact.bin')], upload);
    expect(res).toEqual({message: expect.stringMatching(/Too large once encrypted.*exact\.bin/), files: null});
    expect(pending.inProgress()).toBe(false);
    expect(hook([new File([new Uint8Array(65535)], 'fits.bin')], upload)).toEqual({files: []});
});

describe('files added in our editor', () => {
    test('attachEncryptedFiles encrypts, uploads the ciphertext only, and returns entries that open to the original', async () => {
        const {attachEncryptedFiles} = await import('../../src/messages/files');
        const uploads = new Map<string, File>();
        let n = 0;
        const upload = async (channelId: string, f: File) => {
            expect(channelId).toBe(CHANNEL);
            const id = `up${n++}${'y'.repeat(26)}`.slice(0, 26);
            uploads.set(id, f);
            return id;
        };
        const original = new Uint8Array(90000).map((_, i) => i % 251);
        const entries = await attachEncryptedFiles({upload}, CHANNEL, [new File([original], 'added.pdf', {type: 'application/pdf'})]);
        expect(entries).toHaveLength(1);
        expect(entries[0]).toMatchObject({name: 'added.pdf', type: 'application/pdf', size: 90000});
        const ct = uploads.get(entries[0].id)!;
        expect(ct.name).toMatch(/^[0-9a-f]{32}\.bin$/);
        expect(ct.type).toBe('application/octet-stream');
        const [parsed] = parseFileEntries({files: entries});
        const back = new Uint8Array(await (await decryptFile(ct, parsed.key, parsed.hash)).arrayBuffer());
        expect(back).toEqual(original);
    });

    test('a failed upload, or a file too large once encrypted, names the file', async () => {
        const {attachEncryptedFiles} = await import('../../src/messages/files');
        const failing = async () => {
            throw new Error('server said no');
        };
        await expect(attachEncryptedFiles({upload: failing}, CHANNEL, [new File(['x'], 'one.txt')])).rejects.toThrow(/one\.txt could not be uploaded: server said no/);
        const never = jest.fn();
        await expect(attachEncryptedFiles({upload: never, maxFileSize: () => 100}, CHANNEL, [new File([new Uint8Array(90)], 'big.bin')])).
            rejects.toThrow(/Too large once encrypted.*big\.bin/);
        expect(never).not.toHaveBeenCalled();
    });
});

describe('where files go', () => {
    test('in the Threads view, to the thread shown there; elsewhere not', async () => {
        const {threadsViewChannelId} = await import('../../src/messages/state');
        const state = (page: string, thread?: string) => ({
            views: {lhs: {currentStaticPageId: page}, threads: {selectedThreadIdInTeam: {team1: thread}}},
            entities: {teams: {currentTeamId: 'team1'}, posts: {posts: {root1: {id: 'root1', channel_id: 'chanT'}}}},
        });
        expect(threadsViewChannelId(state('threads', 'root1'))).toBe('chanT');
        expect(threadsViewChannelId(state('threads', 'unloaded'))).toBe(''); // not known yet: uploads wait
        expect(threadsViewChannelId(state('', 'root1'))).toBeNull();
        expect(threadsViewChannelId({})).toBeNull();
    });

    test('the style that hides the host\'s .bin list applies only beside our list, and is removed again', async () => {
        const {HIDE_HOST_FILE_LIST_CSS, hideHostFileList} = await import('../../src/messages/files_lazy');
        expect(HIDE_HOST_FILE_LIST_CSS).toContain('.post__body:has(.e2ee-files) > [data-testid="fileAttachmentList"]');
        const head = {children: [] as unknown[], appendChild(el: unknown) {
            this.children.push(el);
        }};
        const el = {id: '', textContent: '', remove: jest.fn()};
        const undo = hideHostFileList({head, createElement: () => el} as unknown as Document);
        expect(head.children).toEqual([el]);
        expect(el.textContent).toBe(HIDE_HOST_FILE_LIST_CSS);
        undo();
        expect(el.remove).toHaveBeenCalled();
    });
});
