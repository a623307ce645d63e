// The key push proof of docs/design.md §4.1, rebuilt and checked with Node's crypto module (not
// our core): the worked example's bytes, its signature, and proofs our core makes.
import * as nodeCrypto from 'crypto';

import {importBackup} from '../../src/crypto/backup';
import {toHex} from '../../src/crypto/encoding';
import {pushProofMessage, signPushProof} from '../../src/crypto/push_proof';

import {loadVectors} from './helpers';

// docs/design.md §4.1, worked example.
const USER_ID = 'w1o3a8qgf7y5bx9nkd8e4mujhr';
const NONCE = 'YfZ4_3wzCbppcUiSHYe5RAGEYF2bgB0z0Arpav8pyZs';
const MESSAGE_HEX = '6d6d2d653265652f7075626b65792d707573682f76310a77316f3361387167663779356278396e6b643865346d756a68720a' +
    '59665a345f33777a43627070635569534859653552414745594632626742307a3041727061763870795a73';
const MESSAGE_SHA256 = 'b75a8ccca742ad591b5e3174f8d81873ea1d86d4a1d9c4e72985993cc86a19e9';
const PROOF = 'rewvo6VjS4y0NdouCAcORJtwSRFxPyjJ05T9gu0mSZ4rN3UtSndRFEuaEKe1S4XEkRYMG7RcUmVWkj6+zuhOmg==';

const alice = loadVectors().users.find((u) => u.name === 'alice')!;

// alice's public sign key for Node, from the 65-byte point.
function nodeSignKey(pointB64: string): nodeCrypto.KeyObject {
    const raw = Buffer.from(pointB64, 'base64');
    return nodeCrypto.createPublicKey({key: {kty: 'EC', crv: 'P-256', x: raw.subarray(1, 33).toString('base64url'), y: raw.subarray(33).toString('base64url')}, format: 'jwk'});
}

function nodeVerify(message: Buffer, proofB64: string): boolean {
    return nodeCrypto.verify('sha256', message, {key: nodeSignKey(alice.pubkey.sign), dsaEncoding: 'ieee-p1363'}, Buffer.from(proofB64, 'base64'));
}

test('the worked example: message bytes, their hash, and a proof that verifies', () => {
    const independent = Buffer.from(`mm-e2ee/pubkey-push/v1\n${USER_ID}\n${NONCE}`, 'utf8');
    expect(independent.toString('hex')).toBe(MESSAGE_HEX);
    expect(nodeCrypto.createHash('sha256').update(independent).digest('hex')).toBe(MESSAGE_SHA256);
    expect(toHex(pushProofMessage(USER_ID, NONCE))).toBe(MESSAGE_HEX);
    expect(nodeVerify(independent, PROOF)).toBe(true);
    expect(nodeVerify(Buffer.from(`mm-e2ee/pubkey-push/v1\n${USER_ID}\nanother-nonce`), PROOF)).toBe(false);
});

test('our core signs with the non-extractable key; Node verifies the 64-byte r || s', async () => {
    const keys = await importBackup(alice.backup);
    expect(keys.ecdsa.privateKey.extractable).toBe(false);
    const proof = await signPushProof(keys, USER_ID, NONCE);
    expect(Buffer.from(proof, 'base64')).toHaveLength(64);
    expect(proof).toMatch(/^[A-Za-z0-9+/]{86}==$/);
    expect(nodeVerify(Buffer.from(MESSAGE_HEX, 'hex'), proof)).toBe(true);
    expect(nodeVerify(Buffer.from(`mm-e2ee/pubkey-push/v1\notheruser\n${NONCE}`), proof)).toBe(false);
    expect(() => pushProofMessage('', NONCE)).toThrow();
    expect(() => pushProofMessage(USER_ID, '')).toThrow();
});
