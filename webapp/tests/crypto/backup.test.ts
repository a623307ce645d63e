// Clear-text backup: round trip, vector compatibility, refusals, non-extractable result.
import {BackupFormatError, generateKeys, importBackup, publicKeyOf} from '../../src/crypto';
import {loadVectors} from './helpers';

const BEGIN = '-----BEGIN MM E2EE PRIVATE KEY-----';
const END = '-----END MM E2EE PRIVATE KEY-----';
const vec = loadVectors().users[0];

function armor(obj: unknown): string {
    const body = Buffer.from(JSON.stringify(obj)).toString('base64');
    return `${BEGIN}\n${body.match(/.{1,60}/g)!.join('\n')}\n${END}`;
}

function decoded(backup: string): {sign: Record<string, unknown>; encr: Record<string, unknown>; version: unknown} {
    const body = backup.slice(backup.indexOf(BEGIN) + BEGIN.length, backup.indexOf(END)).replace(/\s/g, '');
    return JSON.parse(Buffer.from(body, 'base64').toString('utf8'));
}

async function expectRefused(text: string, msg: RegExp) {
    const p = importBackup(text);
    await expect(p).rejects.toBeInstanceOf(BackupFormatError);
    await expect(p).rejects.toThrow(msg);
}

test('a generated backup has the original layout and imports to the same public key', async () => {
    const {keys, backup} = await generateKeys();
    const lines = backup.split('\n');
    expect(lines[0]).toBe(BEGIN);
    expect(lines[lines.length - 1]).toBe(END);
    for (const l of lines.slice(1, -2)) {
        expect(l.length).toBe(60);
    }
    const json = decoded(backup);
    expect(json.version).toBe(1);
    expect(json.sign).toMatchObject({kty: 'EC', crv: 'P-256', key_ops: ['sign']});
    expect(json.encr).toMatchObject({kty: 'EC', crv: 'P-256', key_ops: ['deriveBits']});
    const imported = await importBackup(backup);
    expect((await publicKeyOf(imported)).idB64).toBe((await publicKeyOf(keys)).idB64);
});

test('imported private keys are non-extractable', async () => {
    const keys = await importBackup(vec.backup);
    for (const k of [keys.ecdh.privateKey, keys.ecdsa.privateKey]) {
        expect(k.extractable).toBe(false);
        await expect(crypto.subtle.exportKey('jwk', k)).rejects.toBeDefined();
    }
});

test('white space inside the armor and text around it are ignored', async () => {
    const messy = `Here is my key:\r\n\n  ${vec.backup.replace(/\n/g, '\r\n   \t').replace(BEGIN + '\r\n', BEGIN + '\n\n')}\n\nthanks!`;
    const keys = await importBackup(messy);
    expect((await publicKeyOf(keys)).idB64).toBe(vec.pubkey_id);
    const oneLine = BEGIN + vec.backup.slice(BEGIN.length, -END.length).replace(/\s/g, '') + END;
    expect((await publicKeyOf(await importBackup(oneLine))).idB64).toBe(vec.pubkey_id);
});

test('refuses missing armor, bad base64 and non-JSON', async () => {
    await expectRefused('hello', /BEGIN/);
    await expectRefused(`${BEGIN}\nabc`, /END/);
    await expectRefused(`${BEGIN}\n!!!!\n${END}`, /base64/);
    await expectRefused(`${BEGIN}\n${Buffer.from('not json').toString('base64')}\n${END}`, /JSON/);
    await expectRefused(armor([1, 2]), /object/);
});

test('refuses wrong version, kty, crv, key_ops and bad coordinates with clear messages', async () => {
    const good = decoded(vec.backup);
    await expectRefused(armor({...good, version: 2}), /version 2/);
    await expectRefused(armor({sign: good.sign, encr: good.encr}), /version/);
    await expectRefused(armor({...good, sign: {...good.sign, kty: 'RSA'}}), /"sign" key type must be "EC"/);
    await expectRefused(armor({...good, encr: {...good.encr, crv: 'P-384'}}), /"encr" curve must be "P-256"/);
    await expectRefused(armor({...good, sign: {...good.sign, key_ops: ['sign', 'verify']}}), /"sign" key_ops must be \["sign"\]/);
    await expectRefused(armor({...good, encr: {...good.encr, key_ops: ['deriveKey']}}), /"encr" key_ops must be \["deriveBits"\]/);
    await expectRefused(armor({...good, encr: {...good.encr, key_ops: undefined}}), /key_ops/);
    await expectRefused(armor({...good, sign: {...good.sign, d: 'abc'}}), /"sign".d must be 32 bytes/);
    await expectRefused(armor({...good, sign: 'x'}), /not a JWK/);
    // The two keys swapped: each key_ops check names the culprit.
    await expectRefused(armor({...good, sign: good.encr, encr: good.sign}), /key_ops/);
});

test('refuses a private key that does not match its public point', async () => {
    const good = decoded(vec.backup);
    const other = decoded(loadVectors().users[1].backup);
    await expectRefused(armor({...good, sign: {...good.sign, d: other.sign.d}}), /BackupFormat|match|refused/i);
    await expectRefused(armor({...good, encr: {...good.encr, d: other.encr.d}}), /match|refused/i);
});
