// The composer's list of uploads shows the real names of files this tab encrypted, in the page
// only, including text React renders later and text it writes again; other text stays as it was.
import {act, render} from '@testing-library/react';
import React from 'react';

import {PendingFiles} from '../../src/messages/files';
import {showRealUploadNames} from '../../src/messages/upload_names';

const PHOTO = `${'a'.repeat(32)}.bin`;
const THUMB = `${'b'.repeat(32)}.bin`;
const OTHER = `${'c'.repeat(32)}.bin`; // an upload this tab did not encrypt

const flush = () => new Promise((r) => setTimeout(r, 0)); // MutationObserver callbacks run as microtasks

function pending(): PendingFiles {
    const p = new PendingFiles();
    const bytes = new Uint8Array(32);
    p.addThumb(THUMB, {key: bytes, hash: bytes, type: 'image/jpeg', width: 320, height: 200});
    p.add(PHOTO, {key: bytes, hash: bytes, name: 'holiday photo.png', type: 'image/png', size: 3, thumbName: THUMB});
    return p;
}

function Chips({names, error}: {names: string[]; error?: string}) {
    return (
        <div>
            {names.map((n) => <span key={n} className='chip'>{n}<button>{'×'}</button></span>)}
            {error && <div className='error'>{error}</div>}
            <textarea defaultValue={PHOTO}/>
        </div>
    );
}

describe('real names of our uploads in the page', () => {
    let undo: () => void = () => undefined;
    afterEach(() => {
        undo();
        document.body.innerHTML = '';
    });

    test('displayName: a file, its thumbnail, and an upload of someone else', () => {
        const p = pending();
        expect(p.displayName(PHOTO)).toBe('holiday photo.png');
        expect(p.displayName(THUMB)).toBe('holiday photo.png (preview)');
        expect(p.displayName(OTHER)).toBeUndefined();
    });

    test('chips rendered before and after, text rewritten by React, an error message; editable text and unknown names untouched', async () => {
        const p = pending();
        const {container, rerender, unmount} = render(<Chips names={[OTHER]}/>);
        undo = showRealUploadNames((n) => p.displayName(n));
        await act(async () => rerender(<Chips names={[OTHER, PHOTO, THUMB]} error={`Unable to upload file ${PHOTO}: too large.`}/>));
        await flush();
        const chips = () => Array.from(container.querySelectorAll('.chip')).map((c) => c.firstChild?.textContent);
        expect(chips()).toEqual([OTHER, 'holiday photo.png', 'holiday photo.png (preview)']);
        expect(container.querySelector('.error')?.textContent).toBe('Unable to upload file holiday photo.png: too large.');
        expect((container.querySelector('textarea') as HTMLTextAreaElement).value).toBe(PHOTO);
        // React writes the error again (a text change, same node): replaced again.
        await act(async () => rerender(<Chips names={[OTHER, PHOTO, THUMB]} error={`Still failing: ${PHOTO}`}/>));
        await flush();
        expect(container.querySelector('.error')?.textContent).toBe('Still failing: holiday photo.png');
        // React keeps working on the nodes it made: remove a chip, then all.
        await act(async () => rerender(<Chips names={[PHOTO]}/>));
        await flush();
        expect(chips()).toEqual(['holiday photo.png']);
        await act(async () => rerender(<Chips names={[]}/>));
        expect(container.querySelectorAll('.chip')).toHaveLength(0);
        unmount();
    });

    test('names already in the page when it starts, and nothing after the undo', async () => {
        const p = pending();
        document.body.innerHTML = `<p id="a">${PHOTO}</p>`;
        undo = showRealUploadNames((n) => p.displayName(n));
        expect(document.getElementById('a')?.textContent).toBe('holiday photo.png');
        undo();
        const b = document.createElement('p');
        b.textContent = PHOTO;
        document.body.appendChild(b);
        await flush();
        expect(b.textContent).toBe(PHOTO);
    });
});
