// Reads mail from the Inbucket sink that `make mm-up` runs (MAILSINK_URL). Plain node:http, not
// fetch: the sink's default port 10080 is on the fetch standard's list of blocked ports.
import http from 'node:http';

import type {MMEnv} from './env';

function request(method: string, url: string): Promise<{status: number; body: string}> {
    return new Promise((resolve, reject) => {
        const req = http.request(url, {method}, (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c) => chunks.push(c));
            res.on('end', () => resolve({status: res.statusCode || 0, body: Buffer.concat(chunks).toString('utf8')}));
        });
        req.on('error', reject);
        req.end();
    });
}

export interface MailSummary {id: string; subject: string; date: string}

export class MailSink {
    readonly url: string;
    constructor(env: MMEnv) {
        this.url = (env.MAILSINK_URL || '').replace(/\/+$/, '');
        if (!this.url) {
            throw new Error('.mattermost/env lacks MAILSINK_URL');
        }
    }

    async list(mailbox: string): Promise<MailSummary[]> {
        const res = await request('GET', `${this.url}/api/v1/mailbox/${encodeURIComponent(mailbox)}`);
        if (res.status !== 200) {
            throw new Error(`mail sink: ${res.status}`);
        }
        return JSON.parse(res.body) as MailSummary[];
    }

    async source(mailbox: string, id: string): Promise<string> {
        const res = await request('GET', `${this.url}/api/v1/mailbox/${encodeURIComponent(mailbox)}/${encodeURIComponent(id)}/source`);
        if (res.status !== 200) {
            throw new Error(`mail sink: ${res.status}`);
        }
        return res.body;
    }

    async clear(mailbox: string): Promise<void> {
        await request('DELETE', `${this.url}/api/v1/mailbox/${encodeURIComponent(mailbox)}`);
    }

    /** Waits for a message in `mailbox` whose raw source matches `pattern`; returns that source. */
    async waitFor(mailbox: string, pattern: RegExp, timeoutMs = 30000): Promise<string> {
        const until = Date.now() + timeoutMs;
        while (Date.now() < until) {
            for (const m of await this.list(mailbox)) {
                const src = await this.source(mailbox, m.id);
                if (pattern.test(decodeMail(src))) {
                    return decodeMail(src);
                }
            }
            await new Promise((r) => setTimeout(r, 500));
        }
        throw new Error(`no mail matching ${pattern} for ${mailbox} within ${timeoutMs} ms`);
    }
}

/** The raw message with base64 and quoted-printable parts decoded, enough to find an armored block. */
export function decodeMail(source: string): string {
    const out: string[] = [source];
    const partRe = /Content-Transfer-Encoding:\s*(base64|quoted-printable)[^\n]*\r?\n(?:[^\r\n]+\r?\n)*\r?\n([\s\S]*?)(?=\r?\n--|$)/gi;
    let m: RegExpExecArray | null;
    while ((m = partRe.exec(source)) !== null) {
        const body = m[2];
        if (m[1].toLowerCase() === 'base64') {
            out.push(Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8'));
        } else {
            out.push(body.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/gi, (_, h) => String.fromCharCode(parseInt(h, 16))));
        }
    }
    return out.join('\n');
}
