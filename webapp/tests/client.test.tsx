// The plugin's HTTP client sends what Mattermost's own web client sends: the session cookie,
// X-Requested-With, and on writes the CSRF token from the MMCSRF cookie.
import {PluginAPIError, pluginAPI, restAPI, setSiteURL} from '../src/client';

type Call = {url: string; init: RequestInit};

function fakeFetch(status: number, body: unknown): {calls: Call[]} {
    const calls: Call[] = [];
    (globalThis as {fetch: unknown}).fetch = jest.fn(async (url: string, init: RequestInit) => {
        calls.push({url, init});
        return {ok: status < 400, status, text: async () => JSON.stringify(body)};
    });
    return {calls};
}

beforeEach(() => {
    setSiteURL('http://mm.test/sub/');
    document.cookie = 'MMCSRF=csrf-token-1; path=/';
});

test('a read carries the cookie but no CSRF token; a write carries the CSRF token', async () => {
    const {calls} = fakeFetch(200, {method: 'p2p'});
    expect(await pluginAPI.getChannelMethod('chan1')).toBe('p2p');
    await pluginAPI.setChannelMethod('chan1', 'none');
    const [read, write] = calls;
    expect(read.url).toBe('http://mm.test/sub/plugins/org.mme2ee.e2ee/api/v1/channel/encryption_method?chanID=chan1');
    expect(read.init).toMatchObject({method: 'GET', credentials: 'include'});
    expect(read.init.headers).toEqual({'X-Requested-With': 'XMLHttpRequest'});
    expect(write.init.method).toBe('POST');
    expect(write.init.headers).toMatchObject({'X-CSRF-Token': 'csrf-token-1', 'X-Requested-With': 'XMLHttpRequest'});
});

test('REST calls: the URLs Mattermost serves, JSON bodies, and its error messages', async () => {
    let {calls} = fakeFetch(200, []);
    await restAPI.getProfilesInChannel('chan1', 2, 200, '', {active: true});
    expect(calls[0].url).toBe('http://mm.test/sub/api/v4/users?in_channel=chan1&page=2&per_page=200&active=true');

    ({calls} = fakeFetch(200, {id: 'post1'}));
    await restAPI.patchPost({id: 'post1', message: 'Encrypted message', props: {e2ee: {version: 2}}});
    expect(calls[0].url).toBe('http://mm.test/sub/api/v4/posts/post1/patch');
    expect(calls[0].init).toMatchObject({method: 'PUT', headers: {'Content-Type': 'application/json', 'X-CSRF-Token': 'csrf-token-1'}});
    expect(JSON.parse(String(calls[0].init.body))).toEqual({id: 'post1', message: 'Encrypted message', props: {e2ee: {version: 2}}});

    fakeFetch(403, {id: 'api.post.update_post.permissions', message: 'You do not have the appropriate permissions.'});
    await expect(restAPI.patchPost({id: 'post1', message: 'x', props: {}})).rejects.toEqual(new PluginAPIError('You do not have the appropriate permissions.', 403));
    fakeFetch(400, {error: 'unknown method'});
    await expect(pluginAPI.setChannelMethod('chan1', 'none')).rejects.toThrow('unknown method');
    fakeFetch(502, 'not json');
    await expect(pluginAPI.getChannelMethod('chan1')).rejects.toThrow('request failed with status 502');
});

test('a key push fetches a fresh nonce, then posts the key with the proof signed over it', async () => {
    const calls: Call[] = [];
    let nonces = 0;
    (globalThis as {fetch: unknown}).fetch = jest.fn(async (url: string, init: RequestInit) => {
        calls.push({url, init});
        const body = url.endsWith('/pubkey/nonce') ? {nonce: `n${++nonces}`} : {};
        return {ok: true, status: 200, text: async () => JSON.stringify(body)};
    });
    const pubkey = {sign: 'S', encr: 'E'};
    const sign = jest.fn(async (nonce: string) => `proof-of-${nonce}`);
    await pluginAPI.pushPublicKey(pubkey, sign, 'ARMORED');
    await pluginAPI.pushPublicKey(pubkey, sign);
    expect(calls.map((c) => [c.init.method, c.url.replace('http://mm.test/sub/plugins/org.mme2ee.e2ee/api/v1', '')])).toEqual([
        ['GET', '/pubkey/nonce'], ['POST', '/pubkey/push'], ['GET', '/pubkey/nonce'], ['POST', '/pubkey/push'],
    ]);
    expect(JSON.parse(String(calls[1].init.body))).toEqual({pubkey, backupGPG: 'ARMORED', proof: 'proof-of-n1'});
    expect(JSON.parse(String(calls[3].init.body))).toEqual({pubkey, proof: 'proof-of-n2'});

    fakeFetch(200, {});
    await expect(pluginAPI.pushPublicKey(pubkey, sign)).rejects.toThrow('the server answered no nonce');
});
