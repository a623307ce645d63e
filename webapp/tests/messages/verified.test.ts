// Verified contacts (design §11.2): states, the storage format, the send block that resending
// does not lift, hidden posts from a changed verified key, and the two ways out.
import type {Post} from '@mattermost/types/posts';

import {importPublicKey} from '../../src/crypto';

import {basePost, rekey} from './helpers';
import {CHANNEL, makeWorld, type World} from './world';

function draft(w: World, message: string) {
    return basePost({id: '', user_id: w.alice.id, channel_id: CHANNEL, message, pending_post_id: `${w.alice.id}:1`, props: {}, file_ids: []});
}

async function bobPost(w: World, bob: typeof w.bob, text: string) {
    const out = await w.ops.encryptV2({text}, bob.keys, [bob.pub, w.alice.pub], {channelId: CHANNEL, rootId: '', userId: bob.id});
    return basePost({id: `p${Math.random().toString(36).slice(2, 10)}`, user_id: bob.id, channel_id: CHANNEL, type: 'custom_e2ee' as Post['type'], message: 'Encrypted message', props: {e2ee: out}});
}

describe('verified contacts', () => {
    test('states and the storage record', async () => {
        const w = await makeWorld();
        const v = w.features.verified;
        expect(await v.state(w.bob.id, w.bob.pub.idB64)).toBe('tofu');
        v.mark(w.bob.id, w.bob.pub, 1764160000000);
        expect(JSON.parse(w.storage.getItem(`e2eeVerified:${w.alice.id}:${w.bob.id}`)!)).toEqual(
            {keyId: w.bob.pub.idB64, pubkey: {sign: w.bob.json.sign, encr: w.bob.json.encr}, verifiedAt: 1764160000000});
        expect(w.storage.getItem(`e2eeVerified:${w.alice.id}:${w.bob.id}`)).toBe(
            `{"keyId":"${w.bob.pub.idB64}","pubkey":{"sign":"${w.bob.json.sign}","encr":"${w.bob.json.encr}"},"verifiedAt":1764160000000}`);
        expect(await v.state(w.bob.id, w.bob.pub.idB64)).toBe('verified');
        expect(await v.state(w.bob.id, w.carol.pub.idB64)).toBe('changed');
        // A record whose key JSON does not hash to its key ID does not count.
        w.storage.setItem(`e2eeVerified:${w.alice.id}:${w.carol.id}`, JSON.stringify({keyId: w.carol.pub.idB64, pubkey: w.bob.json, verifiedAt: 1}));
        expect(await v.state(w.carol.id, w.carol.pub.idB64)).toBe('tofu');
        v.unmark(w.bob.id);
        expect(await v.state(w.bob.id, w.bob.pub.idB64)).toBe('tofu');
    });

    test('a verified contact\'s key change blocks sending, also the second time, until re-verified', async () => {
        const w = await makeWorld();
        w.features.verified.mark(w.bob.id, w.bob.pub);
        expect((await w.willPost(draft(w, 'first'))).post).toBeTruthy(); // bob trusted (TOFU too)
        const bob2 = await rekey(w.bob);
        w.publish(bob2);
        w.features.directory.invalidate(w.bob.id);
        for (let i = 0; i < 2; i++) {
            const out = await w.willPost(draft(w, 'secret'));
            expect(out.post).toBeUndefined();
            expect(out.error?.message).toMatch(/alarm.*@bob.*verified/i);
        }
        // Re-verified (the dialog marks the new key and trusts it): sending works again.
        const newKey = await importPublicKey(bob2.json);
        w.features.trust.accept(w.bob.id, newKey.idB64, newKey.json);
        w.features.verified.mark(w.bob.id, newKey);
        expect((await w.willPost(draft(w, 'again'))).post).toBeTruthy();
    });

    test('without verification a key change keeps the TOFU behaviour (accepted by sending again)', async () => {
        const w = await makeWorld();
        expect((await w.willPost(draft(w, 'first'))).post).toBeTruthy();
        w.publish(await rekey(w.bob));
        w.features.directory.invalidate(w.bob.id);
        expect((await w.willPost(draft(w, 'second'))).error?.message).toMatch(/Security warning/);
        expect((await w.willPost(draft(w, 'second'))).post).toBeTruthy();
    });

    test('posts: verified badge; after the change, old posts shown, new ones hidden until accepted', async () => {
        const w = await makeWorld();
        const before = await bobPost(w, w.bob, 'from the verified key');
        expect((await w.features.decrypt.decrypt(before)).status).toBe('ok');
        w.features.verified.mark(w.bob.id, w.bob.pub);
        const r = await w.features.decrypt.decrypt(before);
        expect(r.status === 'ok' && r.verified).toBe(true);

        const bob2 = await rekey(w.bob);
        w.publish(bob2);
        w.features.directory.invalidate(w.bob.id);
        const after = await bobPost(w, bob2, 'from the new key');
        expect((await w.features.decrypt.decrypt(after)).status).toBe('verified-changed');
        expect((await w.features.decrypt.decrypt(before)).status).toBe('earlier-key');

        // Explicit accept after the warning: the mark goes, the new key is trusted on first use.
        w.features.verified.unmark(w.bob.id);
        w.features.trust.accept(w.bob.id, bob2.pub.idB64, bob2.json);
        const shown = await w.features.decrypt.decrypt(after);
        expect(shown.status).toBe('ok');
        expect(shown.status === 'ok' && shown.verified).toBeFalsy();
    });
});
