// pluginAPI.getKeyHistory against a fake server at the fetch level (docs/api.md).
import {PluginAPIError, pluginAPI, setSiteURL} from '../../src/client';

const SITE = 'http://mm.test';

test('POST /pubkey/history in chunks of 200 IDs, merged; a server error is a PluginAPIError', async () => {
    setSiteURL(SITE);
    const bodies: string[][] = [];
    let status = 200;
    const realFetch = global.fetch;
    global.fetch = jest.fn(async (input: string | URL | Request, init?: RequestInit) => {
        expect(String(input)).toBe(`${SITE}/plugins/org.mme2ee.e2ee/api/v1/pubkey/history`);
        expect(init?.method).toBe('POST');
        const {userIds} = JSON.parse(String(init!.body)) as {userIds: string[]};
        bodies.push(userIds);
        const body = status === 200 ? {history: Object.fromEntries(userIds.map((id) => [id, [{pubkey: {sign: 's', encr: 'e'}, since: 1}]]))} : {error: 'userIds: at most 200'};
        return new Response(JSON.stringify(body), {status, headers: {'Content-Type': 'application/json'}});
    }) as unknown as typeof fetch;
    try {
        const ids = Array.from({length: 450}, (_, i) => `user${i}`.padEnd(26, 'x'));
        const out = await pluginAPI.getKeyHistory(ids);
        expect(bodies.map((b) => b.length)).toEqual([200, 200, 50]);
        expect(Object.keys(out)).toHaveLength(450);
        expect(out[ids[449]]).toEqual([{pubkey: {sign: 's', encr: 'e'}, since: 1}]);

        status = 400;
        await expect(pluginAPI.getKeyHistory(ids.slice(0, 1))).rejects.toEqual(new PluginAPIError('userIds: at most 200', 400));
    } finally {
        global.fetch = realFetch;
    }
});
