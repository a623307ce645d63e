// The payload's "files" member (docs/design.md §15.4): accepted shapes, the file_ids order, and
// every broken rule refused.
import {MalformedError} from '../../src/crypto/errors';
import {fileEntryToJSON, parseFileEntries, serverFileIdsOf} from '../../src/crypto/file_entry';

const K = Buffer.alloc(32, 7).toString('base64');
const H = Buffer.alloc(32, 9).toString('base64');
const id = (c: string) => c.repeat(26);
const image = {id: id('a'), key: K, hash: H, name: 'photo.png', type: 'image/png', size: 10, width: 8, height: 6,
    thumb: {id: id('b'), key: K, hash: H, type: 'image/jpeg', width: 4, height: 3}};
const pdf = {id: id('c'), key: K, hash: H, name: 'report.pdf', type: 'application/pdf', size: 0};

test('no files member: no files; entries round-trip through JSON; file_ids order', () => {
    expect(parseFileEntries({text: 'hi'})).toEqual([]);
    const entries = parseFileEntries({text: '', files: [image, pdf]});
    expect(entries.map(fileEntryToJSON)).toEqual([image, pdf]);
    expect(serverFileIdsOf(entries)).toEqual([id('a'), id('b'), id('c')]);
    expect(entries[0].key.length).toBe(32);
});

test('broken entries are MalformedError', () => {
    const bad: unknown[] = [
        'x',
        [{...pdf, id: 'short'}],
        [{...pdf, key: Buffer.alloc(16).toString('base64')}],
        [{...pdf, hash: 'nope'}],
        [{...pdf, name: ''}],
        [{...pdf, name: 'a\nb'}],
        [{...pdf, type: 'pdf'}],
        [{...pdf, size: -1}],
        [{...pdf, size: 1.5}],
        [{...pdf, width: 3}],
        [{...pdf, extra: 1}],
        [{...image, thumb: {...image.thumb, type: 'image/svg+xml'}}],
        [{...image, thumb: {...image.thumb, id: id('a')}}],
        [pdf, pdf],
        Array.from({length: 6}, (_, i) => ({...image, id: id(String(i)), thumb: {...image.thumb, id: id(String.fromCharCode(103 + i))}})),
    ];
    for (const files of bad) {
        expect(() => parseFileEntries({text: '', files})).toThrow(MalformedError);
    }
});
