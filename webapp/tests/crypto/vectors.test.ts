// Every message of the original plugin's v1 vectors (testdata/) decrypts (or fails) exactly as `expect` says.
import {
    decryptMessage,
    importBackup,
    importPublicKey,
    IntegrityError,
    NotRecipientError,
    publicKeyOf,
    recipientsOf,
    verifyMessage,
} from '../../src/crypto';
import type {PrivateKeySet, PublicKey} from '../../src/crypto';
import {loadVectors} from './helpers';

const vectors = loadVectors();
const users = new Map<string, {keys: PrivateKeySet; pub: PublicKey}>();

beforeAll(async () => {
    for (const u of vectors.users) {
        const keys = await importBackup(u.backup);
        users.set(u.name, {keys, pub: await importPublicKey(u.pubkey)});
    }
});

test('vector backups import unchanged and match the published public keys and IDs', async () => {
    expect(vectors.users.length).toBeGreaterThanOrEqual(3);
    for (const u of vectors.users) {
        const {keys, pub} = users.get(u.name)!;
        const derived = await publicKeyOf(keys);
        expect(derived.json).toEqual(u.pubkey);
        expect(derived.idB64).toBe(u.pubkey_id);
        expect(pub.idB64).toBe(u.pubkey_id);
    }
});

describe.each(vectors.messages.map((m, i) => [i, m.expect, m.why ?? m.plaintext.slice(0, 20), m] as const))(
    'vector message %i (%s: %s)',
    (_i, _expect, _why, m) => {
        test('decrypts as expected', async () => {
            const as = users.get(m.decrypt_as ?? m.recipients[m.recipients.length - 1])!;
            const sender = users.get(m.sender)!;
            const run = decryptMessage(m.e2ee, as.keys, as.pub, sender.pub);
            if (m.expect === 'ok') {
                const res = await run;
                expect(res.version).toBe(1);
                expect(res.text).toBe(m.plaintext);
                expect(await verifyMessage(m.e2ee, sender.pub)).toBe(true);
                expect(recipientsOf(m.e2ee)).toEqual(m.recipients.map((r) => users.get(r)!.pub.idB64));
            } else if (m.expect === 'integrity') {
                await expect(run).rejects.toBeInstanceOf(IntegrityError);
            } else {
                await expect(run).rejects.toBeInstanceOf(NotRecipientError);
            }
        });
    },
);

test('every ok vector decrypts for each of its recipients', async () => {
    for (const m of vectors.messages.filter((x) => x.expect === 'ok')) {
        for (const r of m.recipients) {
            const u = users.get(r)!;
            const res = await decryptMessage(m.e2ee, u.keys, u.pub, users.get(m.sender)!.pub);
            expect(res.text).toBe(m.plaintext);
        }
    }
});
