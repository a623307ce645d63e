// `make demo` front: serves the test host in front of the running server (from .mattermost/env)
// and keeps running until Ctrl-C. Prints where to go and how to log in.
import {join} from 'node:path';

import {e2eRoot, loadMMEnv} from './lib/env';
import {MMAdmin} from './lib/mm';
import {startHostProxy} from './lib/proxy';

async function main() {
    const env = loadMMEnv();
    const admin = new MMAdmin(env);
    const team = env.MM_TEAM_NAME || 'e2ee';
    const t = await admin.team(team);
    let channel;
    try {
        channel = await admin.api('GET', `/teams/${t.id}/channels/name/e2ee-demo`);
    } catch {
        channel = await admin.api('POST', '/channels', {team_id: t.id, name: 'e2ee-demo', display_name: 'E2EE demo', type: 'O'});
    }
    for (const u of ['alice', 'bob']) {
        const user = await admin.user(u);
        await admin.api('POST', `/channels/${channel.id}/members`, {user_id: user.id});
    }
    const port = Number(process.env.E2E_DEMO_PORT || 8070);
    const proxy = await startHostProxy({upstream: admin.url, hostDir: join(e2eRoot, 'dist', 'host'), port}).catch((e: Error) => {
        throw new Error(`${e.message} (another demo running? choose a port with E2E_DEMO_PORT=8071 make demo)`);
    });
    const url = `${proxy.url}/#/${team}/channels/${channel.name}`;
    console.log(`
E2EE plugin demo (Mattermost at ${admin.url}, test host in front of it)

  Open:      ${url}
  Users:     alice, bob   password: ${env.MM_TEST_PASSWORD}
             (use two browser profiles or a private window for the second user)

  Try: /e2ee init (both users), then /e2ee start (one of them), then post.
  Ctrl-C stops the host; \`make mm-down\` stops the server.
`);
    const stop = async () => {
        await proxy.close();
        process.exit(0);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
}

main().catch((e) => {
    console.error(`demo: ${e instanceof Error ? e.message : e}`);
    process.exit(1);
});
