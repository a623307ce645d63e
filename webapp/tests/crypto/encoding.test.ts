// Base64 helpers agree with Node's Buffer and refuse every non-canonical or invalid form.
import {randomBytes} from 'crypto';

import {fromBase64, toBase64} from '../../src/crypto/encoding';
import {MalformedError} from '../../src/crypto';

test('toBase64/fromBase64 match Buffer for every length 0..300 and random content', () => {
    for (let n = 0; n <= 300; n++) {
        const b = randomBytes(n);
        const s = b.toString('base64');
        expect(toBase64(new Uint8Array(b))).toBe(s);
        expect(Buffer.from(fromBase64(s, 'f', n)).equals(b)).toBe(true);
    }
    const big = randomBytes(100000);
    expect(toBase64(new Uint8Array(big))).toBe(big.toString('base64'));
});

test('refuses non-strings, bad characters, missing padding, non-canonical pad bits, wrong lengths', () => {
    for (const bad of [1, null, 'A', 'AA', 'AAA', 'AA=A', 'A===', '====', 'AA==AA==', 'AB==', 'AAB=', 'AA-_', ' AAA', 'AAA\n',
        'ÀAAA', 'AA=', 'AAAA=']) {
        expect(() => fromBase64(bad, 'f')).toThrow(MalformedError);
    }
    expect(() => fromBase64('AAAA', 'f', 4)).toThrow(/expected 4 bytes, got 3/);
    expect(fromBase64('', 'f', 0).length).toBe(0);
    expect(Array.from(fromBase64('AA==', 'f'))).toEqual([0]);
    expect(Array.from(fromBase64('AAE=', 'f'))).toEqual([0, 1]);
});
