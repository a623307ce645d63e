// An independent F1 writer and reader on Node's crypto module (not our core), following
// docs/design.md §15 only: the vectors printed there, and both directions of interoperation.
import * as nodeCrypto from 'crypto';

import {decryptFile, encryptFile, hashEncryptedFile} from '../../src/crypto/file';

const KEY = Buffer.from([...Array(32).keys()]); // 00 01 … 1f
const PREFIX = Buffer.from('a0a1a2a3a4a5a6', 'hex');
const CHUNK = 65536;
const sha256 = (b: Buffer) => nodeCrypto.createHash('sha256').update(b).digest();

function header(prefix: Buffer): Buffer {
    return Buffer.concat([Buffer.from('MME2EEF', 'ascii'), Buffer.from([1]), Buffer.from('00010000', 'hex'), prefix, Buffer.from([0])]);
}

function nonce(prefix: Buffer, i: number, last: boolean): Buffer {
    const n = Buffer.concat([prefix, Buffer.alloc(5)]);
    n.writeUInt32BE(i, 7);
    n[11] = last ? 1 : 0;
    return n;
}

function independentEncrypt(plain: Buffer, key: Buffer, prefix: Buffer): {ct: Buffer; hash: Buffer} {
    const h = header(prefix);
    const n = Math.max(1, Math.ceil(plain.length / CHUNK));
    const segments = [h];
    for (let i = 0; i < n; i++) {
        const c = nodeCrypto.createCipheriv('aes-256-gcm', key, nonce(prefix, i, i === n - 1));
        c.setAAD(h);
        segments.push(Buffer.concat([c.update(plain.subarray(i * CHUNK, (i + 1) * CHUNK)), c.final(), c.getAuthTag()]));
    }
    return {ct: Buffer.concat(segments), hash: hashOf(Buffer.concat(segments))};
}

/** §15.3: SHA-256 over SHA-256(header) and SHA-256 of each run of 16 sealed chunks. */
function hashOf(ct: Buffer): Buffer {
    const parts = [sha256(ct.subarray(0, 20))];
    const group = 16 * (CHUNK + 16);
    for (let off = 20; off < ct.length; off += group) {
        parts.push(sha256(ct.subarray(off, off + group)));
    }
    return sha256(Buffer.concat(parts));
}

function independentDecrypt(ct: Buffer, key: Buffer): Buffer {
    const h = ct.subarray(0, 20);
    if (!h.subarray(0, 12).equals(header(Buffer.alloc(7)).subarray(0, 12)) || h[19] !== 0) {
        throw new Error('bad header');
    }
    const prefix = h.subarray(12, 19);
    const body = ct.subarray(20);
    const n = Math.ceil(body.length / (CHUNK + 16));
    const out: Buffer[] = [];
    for (let i = 0; i < n; i++) {
        const seg = body.subarray(i * (CHUNK + 16), (i + 1) * (CHUNK + 16));
        const d = nodeCrypto.createDecipheriv('aes-256-gcm', key, nonce(prefix, i, i === n - 1));
        d.setAAD(h);
        d.setAuthTag(seg.subarray(seg.length - 16));
        out.push(Buffer.concat([d.update(seg.subarray(0, seg.length - 16)), d.final()]));
    }
    return Buffer.concat(out);
}

const big = Buffer.from(Array.from({length: (16 * CHUNK) + 100}, (_, i) => i % 251)); // 17 chunks, two hash groups
// Vectors of docs/design.md §15.5.
const VECTORS = [
    {
        name: 'hello',
        plain: Buffer.from('hello, file', 'utf8'),
        ct: '4d4d45324545460100010000a0a1a2a3a4a5a6001f042572d72ac0a66a09bd01a91aa4814596d2ff916ed1a5eceb99',
        hash: 'TnMIyzdO/MPxhLHTl8GQeydAfSuNOOxKdKOpYZsvHxM=',
        sha256: '6c4da0ee8e7043b4c69ad90a6b826404bd71f501904938b6f4fec75d833f5967',
    },
    {
        name: 'empty',
        plain: Buffer.alloc(0),
        ct: '4d4d45324545460100010000a0a1a2a3a4a5a600396bc9b47215bef31e6df383fc6add6e',
        hash: 'p5JV7ilHDCKtXwvJE2YfZ6+LZwBzSkOLCqDje5tmCsU=',
        sha256: '032d36170cd3334fc25afa5ea3b6ab22efc6a08dfea560b3dcb54b12009a5037',
    },
    {
        name: 'seventeen chunks',
        plain: big,
        ct: undefined,
        hash: 'y1xqo8QSTWCBl1eWrTPOse5+rNxgM3/wAnZaTGsLUV0=',
        sha256: '210bc87dd0b0637124a5a5d1e31380999611ed8121fb700544ed95606f60015e',
        tags: ['6c5ca54a92ed88a936c75b14f80d3a7d', 'b3997f9bdcf610e1fc85fd85c0accb31', '0b195095c308b96cff7be5ef8b47cf3f'] // chunks 0, 1, 16,
    },
];

const bytesOf = async (b: Blob) => Buffer.from(await b.arrayBuffer());

describe('F1 against an independent implementation', () => {
    for (const v of VECTORS) {
        test(`vector "${v.name}": both writers give the documented bytes`, async () => {
            const ind = independentEncrypt(v.plain, KEY, PREFIX);
            const ours = await encryptFile(new Blob([v.plain as BlobPart]), {key: KEY, prefix: PREFIX});
            const oursCt = await bytesOf(ours.ciphertext);
            expect(oursCt.equals(ind.ct)).toBe(true);
            if (v.ct) {
                expect(ind.ct.toString('hex')).toBe(v.ct);
            }
            expect(sha256(ind.ct).toString('hex')).toBe(v.sha256);
            expect(ind.hash.toString('base64')).toBe(v.hash);
            expect(Buffer.from(ours.hash).toString('base64')).toBe(v.hash);
            expect(Buffer.from(await hashEncryptedFile(new Blob([ind.ct as BlobPart]))).toString('base64')).toBe(v.hash);
            expect(ind.ct.length).toBe(20 + v.plain.length + (16 * Math.max(1, Math.ceil(v.plain.length / CHUNK))));
            if (v.tags) {
                const segs = [0, 1, 16].map((i) => ind.ct.subarray(20 + (i * (CHUNK + 16)), 20 + ((i + 1) * (CHUNK + 16))));
                expect(segs.map((s) => s.subarray(s.length - 16).toString('hex'))).toEqual(v.tags);
            }
        });
    }

    test('our reader opens the independent writer, and the other way round', async () => {
        const plain = nodeCrypto.randomBytes((20 * CHUNK) + 5);
        const key = nodeCrypto.randomBytes(32);
        const ind = independentEncrypt(plain, key, nodeCrypto.randomBytes(7));
        const back = await bytesOf(await decryptFile(new Blob([ind.ct as BlobPart]), key, ind.hash));
        expect(back.equals(plain)).toBe(true);

        const ours = await encryptFile(new Blob([plain as BlobPart]));
        const ct = await bytesOf(ours.ciphertext);
        expect(independentDecrypt(ct, Buffer.from(ours.key)).equals(plain)).toBe(true);
        expect(hashOf(ct)).toEqual(Buffer.from(ours.hash));
    });
});
