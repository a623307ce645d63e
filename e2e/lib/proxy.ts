// Same-origin front for the test host: serves the host page at <basename>/ and forwards
// /api, /plugins and /static to the real Mattermost server (WebSocket upgrades included),
// as an nginx in front of Mattermost would. With a basename ("/mm") it is a subpath deployment.
import {readFileSync} from 'node:fs';
import http from 'node:http';
import type {AddressInfo, Socket} from 'node:net';
import {join} from 'node:path';

export interface HostProxy {
    url: string; // public site URL, basename included, no trailing slash
    origin: string;
    requests: string[]; // every forwarded path as the browser asked for it
    close(): Promise<void>;
}

const FORWARD = /^\/(api|plugins|static)\//;

export async function startHostProxy(opts: {upstream: string; hostDir: string; basename?: string; port?: number}): Promise<HostProxy> {
    const upstream = new URL(opts.upstream);
    const basename = (opts.basename || '').replace(/\/+$/, '');
    const requests: string[] = [];
    const tunnels = new Set<Socket>(); // upgraded (WebSocket) sockets, which close() must end itself
    let origin = '';

    const rewriteHeaders = (headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders => {
        const out: http.OutgoingHttpHeaders = {...headers, host: upstream.host};
        // The server checks WebSocket Origin against its Host: present both as the upstream's.
        if (headers.origin) {
            out.origin = upstream.origin;
        }
        delete out.referer;
        return out;
    };

    const stripBase = (url: string): string | null => {
        if (!basename) {
            return url;
        }
        if (url === basename) {
            return '/';
        }
        return url.startsWith(`${basename}/`) ? url.slice(basename.length) : null;
    };

    const server = http.createServer((req, res) => {
        const path = stripBase(req.url || '/');
        if (path === null) {
            res.writeHead(404).end('outside the site path');
            return;
        }
        if (FORWARD.test(path)) {
            requests.push(req.url || '');
            const headers = rewriteHeaders(req.headers);
            if (path.startsWith('/api/v4/config/client')) {
                delete headers['accept-encoding']; // rewritten below: take it uncompressed
            }
            const up = http.request({
                protocol: upstream.protocol, hostname: upstream.hostname, port: upstream.port,
                method: req.method, path, headers,
            }, (upRes) => {
                const headers = {...upRes.headers};
                if (path.startsWith('/api/v4/config/client')) {
                    // The public site URL is this front's, as an admin sets SiteURL behind a proxy.
                    const chunks: Buffer[] = [];
                    upRes.on('data', (c) => chunks.push(c));
                    upRes.on('end', () => {
                        let body = Buffer.concat(chunks).toString('utf8');
                        try {
                            const cfg = JSON.parse(body);
                            if (typeof cfg.SiteURL === 'string') {
                                cfg.SiteURL = origin + basename;
                            }
                            body = JSON.stringify(cfg);
                        } catch {
                            // not JSON: pass through
                        }
                        delete headers['content-length'];
                        delete headers.etag;
                        res.writeHead(upRes.statusCode || 502, headers);
                        res.end(body);
                    });
                    return;
                }
                res.writeHead(upRes.statusCode || 502, headers);
                upRes.pipe(res);
            });
            up.on('error', (e) => {
                if (!res.headersSent) {
                    res.writeHead(502);
                }
                res.end(`proxy error: ${e.message}`);
            });
            req.pipe(up);
            return;
        }
        if (path.startsWith('/e2e-host/')) {
            const name = path.slice('/e2e-host/'.length).split('?')[0];
            if (!/^[a-z0-9._-]+$/i.test(name)) {
                res.writeHead(404).end();
                return;
            }
            try {
                const body = readFileSync(join(opts.hostDir, name));
                const type = name.endsWith('.js') ? 'text/javascript' : name.endsWith('.css') ? 'text/css' : 'application/octet-stream';
                res.writeHead(200, {'content-type': type, 'cache-control': 'no-cache'}).end(body);
            } catch {
                res.writeHead(404).end();
            }
            return;
        }
        if (path === '/' || path.startsWith('/?') || path === '/index.html') {
            const html = readFileSync(join(opts.hostDir, 'index.html'), 'utf8').replace(/__BASENAME__/g, basename);
            res.writeHead(200, {'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache'}).end(html);
            return;
        }
        res.writeHead(404).end();
    });

    server.on('upgrade', (req, socket, head) => {
        const path = stripBase(req.url || '/');
        if (path === null || !path.startsWith('/api/v4/websocket')) {
            socket.destroy();
            return;
        }
        requests.push(req.url || '');
        tunnels.add(socket as Socket);
        socket.on('close', () => tunnels.delete(socket as Socket));
        const up = http.request({
            protocol: upstream.protocol, hostname: upstream.hostname, port: upstream.port,
            method: req.method, path, headers: rewriteHeaders(req.headers),
        });
        up.on('upgrade', (upRes, upSocket, upHead) => {
            tunnels.add(upSocket);
            upSocket.on('close', () => tunnels.delete(upSocket));
            let head2 = `HTTP/1.1 ${upRes.statusCode} ${upRes.statusMessage}\r\n`;
            for (let i = 0; i < upRes.rawHeaders.length; i += 2) {
                head2 += `${upRes.rawHeaders[i]}: ${upRes.rawHeaders[i + 1]}\r\n`;
            }
            socket.write(`${head2}\r\n`);
            if (upHead.length) {
                socket.write(upHead);
            }
            if (head.length) {
                upSocket.write(head);
            }
            upSocket.pipe(socket);
            socket.pipe(upSocket);
            upSocket.on('error', () => socket.destroy());
            socket.on('error', () => upSocket.destroy());
        });
        up.on('response', (upRes) => {
            socket.end(`HTTP/1.1 ${upRes.statusCode} ${upRes.statusMessage}\r\n\r\n`);
        });
        up.on('error', () => socket.destroy());
        up.end();
    });

    await new Promise<void>((resolve, reject) => {
        server.once('error', (e: NodeJS.ErrnoException) => reject(e.code === 'EADDRINUSE' ?
            new Error(`port ${opts.port} on 127.0.0.1 is already in use`) : e));
        server.listen(opts.port || 0, '127.0.0.1', resolve);
    });
    const port = (server.address() as AddressInfo).port;
    origin = `http://127.0.0.1:${port}`;
    return {
        url: origin + basename,
        origin,
        requests,
        close: () => new Promise((resolve) => {
            // An open page keeps its WebSocket: without this, close() would wait for it forever.
            tunnels.forEach((s) => s.destroy());
            server.closeAllConnections();
            server.close(() => resolve());
        }),
    };
}
