/// <reference types="node" />
// Input maker of `make load` and `make faults` (build/load): keys and v2 posts made by the crypto
// core, as the web app makes them, for users and channels that already exist on the server.
//
//   node dist-cli/loadgen.js SPEC.json > OUT.json
// SPEC: {"users": [{"id", "nonce"}], "posts": [{"channelId", "rootId", "userId", "recipients": [userId], "text"}],
//        "epochs": [{"channelId", "creatorId", "members": [userId], "count"}]}   (epochs optional)
// OUT:  {"keys": {userId: {"pubkey": {sign, encr}, "proof"}}, "posts": [props.e2ee, ...],
//        "epochs": [[record of epoch 1, ..., record of epoch count], ...]}     (in SPEC order)
// The proof of possession signs each user's nonce (docs/design.md §4.1); a nonce lives 5 minutes.
import {readFileSync} from 'node:fs';
import {generateKeys, publicKeyOf, publicKeyToJSON} from '../src/crypto/keys';
import {createEpochRecord} from '../src/crypto/epoch';
import {encryptV2} from '../src/crypto/v2';
import {signPushProof} from '../src/crypto/push_proof';
import type {PrivateKeySet, PublicKey, PublicKeyJSON} from '../src/crypto/types';

interface Spec {
    users: Array<{id: string; nonce: string}>;
    posts: Array<{channelId: string; rootId: string; userId: string; recipients: string[]; text: string}>;
    epochs?: Array<{channelId: string; creatorId: string; members: string[]; count: number}>;
}

async function main(): Promise<void> {
    const path = process.argv[2];
    if (!path) {
        throw new Error('usage: loadgen.js SPEC.json');
    }
    const spec = JSON.parse(readFileSync(path, 'utf8')) as Spec;
    const priv = new Map<string, PrivateKeySet>();
    const pub = new Map<string, PublicKey>();
    const keys: Record<string, {pubkey: PublicKeyJSON; proof: string}> = {};
    for (const u of spec.users) {
        const {keys: k} = await generateKeys();
        const p = await publicKeyOf(k);
        priv.set(u.id, k);
        pub.set(u.id, p);
        keys[u.id] = {pubkey: publicKeyToJSON(p), proof: await signPushProof(k, u.id, u.nonce)};
    }
    const createdAt = Date.now();
    const posts = [];
    for (const p of spec.posts) {
        const sender = priv.get(p.userId);
        if (!sender) {
            throw new Error(`no key for sender ${p.userId}`);
        }
        const recipients = p.recipients.map((id) => {
            const k = pub.get(id);
            if (!k) {
                throw new Error(`no key for recipient ${id}`);
            }
            return k;
        });
        posts.push(await encryptV2({text: p.text}, sender, recipients, {channelId: p.channelId, rootId: p.rootId, userId: p.userId}, createdAt));
    }
    const epochs = [];
    for (const e of spec.epochs ?? []) {
        const creator = priv.get(e.creatorId);
        if (!creator) {
            throw new Error(`no key for creator ${e.creatorId}`);
        }
        const recipients = e.members.map((userId) => {
            const key = pub.get(userId);
            if (!key) {
                throw new Error(`no key for member ${userId}`);
            }
            return {userId, key};
        });
        const records = [];
        for (let epoch = 1; epoch <= e.count; epoch++) {
            records.push((await createEpochRecord({channelId: e.channelId, epoch, creatorId: e.creatorId, creator, recipients})).record);
        }
        epochs.push(records);
    }
    process.stdout.write(JSON.stringify({keys, posts, epochs}));
}

main().catch((e: unknown) => {
    process.stderr.write(`loadgen: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
});
