// A local HKP key server (the subset browsers use: /pks/lookup op=index|get, options=mr) with
// CORS headers, serving OpenPGP public keys made in the test.
import http from 'node:http';
import type {AddressInfo} from 'node:net';

export interface HKPKey {
    fingerprint: string; // upper-case hex
    armored: string;
    userIDs: string[];
    algorithm: number;
    bits: number;
    created: number; // unix seconds
}

export interface HKPServer {
    url: string;
    lookups: string[];
    close(): Promise<void>;
}

export async function startHKP(keys: HKPKey[]): Promise<HKPServer> {
    const lookups: string[] = [];
    const server = http.createServer((req, res) => {
        const cors = {'Access-Control-Allow-Origin': '*', 'Access-Control-Allow-Methods': 'GET, OPTIONS', 'Access-Control-Allow-Headers': '*'};
        if (req.method === 'OPTIONS') {
            res.writeHead(204, cors).end();
            return;
        }
        const url = new URL(req.url || '/', 'http://hkp');
        lookups.push(url.pathname + url.search);
        if (url.pathname !== '/pks/lookup') {
            res.writeHead(404, cors).end();
            return;
        }
        const op = url.searchParams.get('op');
        const search = (url.searchParams.get('search') || '').toLowerCase();
        const fp = search.replace(/^0x/, '').toUpperCase();
        const matches = keys.filter((k) => k.userIDs.some((u) => u.toLowerCase().includes(search)) ||
            (fp.length >= 16 && k.fingerprint.endsWith(fp)));
        if (!matches.length) {
            res.writeHead(404, {...cors, 'Content-Type': 'text/plain'}).end('No keys found');
            return;
        }
        if (op === 'index') {
            const lines = [`info:1:${matches.length}`];
            for (const k of matches) {
                lines.push(`pub:${k.fingerprint}:${k.algorithm}:${k.bits}:${k.created}::`);
                for (const u of k.userIDs) {
                    lines.push(`uid:${encodeURIComponent(u)}:${k.created}::`);
                }
            }
            res.writeHead(200, {...cors, 'Content-Type': 'text/plain; charset=utf-8'}).end(`${lines.join('\n')}\n`);
            return;
        }
        if (op === 'get') {
            res.writeHead(200, {...cors, 'Content-Type': 'application/pgp-keys; charset=utf-8'}).end(matches.map((k) => k.armored).join('\n'));
            return;
        }
        res.writeHead(501, cors).end('unsupported op');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        lookups,
        close: () => new Promise((resolve) => {
            server.closeAllConnections();
            server.close(() => resolve());
        }),
    };
}
