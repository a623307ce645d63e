// HKP client against a fake fetch: URL mapping, machine-readable index parsing, key fetch.
import {hkpBaseURL, hkpGet, hkpIndex, KeyServerError, parseHKPIndex} from '../../src/crypto';
import type {FetchLike} from '../../src/crypto';

function fakeFetch(status: number, body: string) {
    const calls: string[] = [];
    const fn: FetchLike = async (url) => {
        calls.push(url);
        return {ok: status >= 200 && status < 300, status, text: async () => body};
    };
    return {fn, calls};
}

const NOW_S = Math.floor(Date.now() / 1000);
const INDEX = [
    'info:1:5',
    'pub:0123456789ABCDEF0123456789ABCDEF01234567:1:4096:1500000000::',
    'uid:Alice%20Example%20%3Calice@example.org%3E:1500000000::',
    'uid:Old%20Alice:1500000000:1500000001:',
    'uid:Revoked%20uid:1500000000::r',
    'pub:89abcdef89abcdef:22:256:1600000000::r',
    'uid:Revoked%20Key:1600000000::',
    'pub:AAAAAAAAAAAAAAAA:22:256:1600000000:1600000001:',
    'uid:Expired%20Key:1600000000::',
    'pub:BBBBBBBBBBBBBBBB:22:256:1600000000::d',
    'uid:Disabled:1600000000::',
    `pub:CCCCCCCCCCCCCCCC:22::1600000000:${NOW_S + 86400}:`,
    'uid:Carol%20%E2%9C%93:::',
    'uid:bad%escape:::',
    'this is an odd line',
    'pub:nothex:1:1:1::',
    'uid:belongs to the unreadable key:::',
    '',
].join('\r\n');

test('hkp:// maps to http on 11371, hkps:// to https; http(s) pass through', () => {
    expect(hkpBaseURL('hkp://keys.example.org')).toBe('http://keys.example.org:11371');
    expect(hkpBaseURL('hkp://keys.example.org:8080/')).toBe('http://keys.example.org:8080');
    expect(hkpBaseURL('hkps://keys.openpgp.org')).toBe('https://keys.openpgp.org');
    expect(hkpBaseURL('hkps://keys.openpgp.org:8443')).toBe('https://keys.openpgp.org:8443');
    expect(hkpBaseURL('https://keys.example.org/sub/')).toBe('https://keys.example.org/sub');
    expect(hkpBaseURL('http://127.0.0.1:11371')).toBe('http://127.0.0.1:11371');
    expect(() => hkpBaseURL('ftp://x')).toThrow(KeyServerError);
    expect(() => hkpBaseURL('not a url')).toThrow(KeyServerError);
});

test('index: machine-readable query, live keys and user IDs only, odd lines tolerated', async () => {
    const {fn, calls} = fakeFetch(200, INDEX);
    const keys = await hkpIndex('hkps://keys.example.org', 'alice@example.org', fn);
    expect(calls).toEqual(['https://keys.example.org/pks/lookup?op=index&options=mr&search=alice%40example.org']);
    expect(keys.map((k) => k.keyId)).toEqual(['0123456789ABCDEF0123456789ABCDEF01234567', 'CCCCCCCCCCCCCCCC']);
    expect(keys[0].userIDs).toEqual(['Alice Example <alice@example.org>']);
    expect(keys[0]).toMatchObject({algorithm: 1, bits: 4096, expires: null});
    expect(keys[0].created?.getTime()).toBe(1500000000 * 1000);
    expect(keys[1].userIDs).toEqual(['Carol ✓', 'bad%escape']);
    expect(keys[1].bits).toBeNull();
});

test('index: 404 means no keys; other statuses and network errors are KeyServerError', async () => {
    expect(await hkpIndex('hkp://k', 'x', fakeFetch(404, '').fn)).toEqual([]);
    await expect(hkpIndex('hkp://k', 'x', fakeFetch(500, '').fn)).rejects.toBeInstanceOf(KeyServerError);
    await expect(hkpIndex('hkp://k', 'x', async () => {
        throw new TypeError('fetch failed');
    })).rejects.toBeInstanceOf(KeyServerError);
    await expect(hkpIndex('hkp://k', '  ', fakeFetch(200, '').fn)).rejects.toBeInstanceOf(KeyServerError);
    expect(parseHKPIndex('garbage\n\n:::\npub:')).toEqual([]);
});

test('get: fetches by fingerprint with op=get&options=mr and extracts the armor', async () => {
    const armor = '-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nxjMEZ...\n-----END PGP PUBLIC KEY BLOCK-----';
    const {fn, calls} = fakeFetch(200, `junk before\n${armor}\njunk after`);
    expect(await hkpGet('hkp://keys.example.org', '0x0123456789abcdef0123456789abcdef01234567', fn)).toBe(armor);
    expect(calls).toEqual(['http://keys.example.org:11371/pks/lookup?op=get&options=mr&search=0x0123456789ABCDEF0123456789ABCDEF01234567']);
    expect(await hkpGet('hkp://k', 'DEADBEEFDEADBEEF', fakeFetch(404, '').fn)).toBeNull();
    await expect(hkpGet('hkp://k', 'DEADBEEF', fakeFetch(200, 'no key here').fn)).rejects.toBeInstanceOf(KeyServerError);
    await expect(hkpGet('hkp://k', 'xyz', fn)).rejects.toBeInstanceOf(KeyServerError);
    await expect(hkpGet('hkp://k', 'DEADBEEF', fakeFetch(503, '').fn)).rejects.toBeInstanceOf(KeyServerError);
});
