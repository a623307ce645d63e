// Test helpers: the original plugin's vectors (testdata/ at the repository root) and key fixtures.
import * as fs from 'fs';
import * as path from 'path';

import {generateKeys, publicKeyOf} from '../../src/crypto';
import type {PrivateKeySet, PublicKey} from '../../src/crypto';

// Repo root is webapp/..; the vectors live inside the repository so a bare clone runs every test.
export const REPO_ROOT = path.resolve(__dirname, '../../..');
export const VECTORS_PATH = path.resolve(REPO_ROOT, 'testdata/p2p-v1.json');

export interface VectorUser {
    name: string;
    backup: string;
    pubkey: {sign: string; encr: string};
    pubkey_id: string;
}

export interface VectorMessage {
    sender: string;
    recipients: string[];
    plaintext: string;
    expect: 'ok' | 'integrity' | 'not_recipient';
    why?: string;
    decrypt_as?: string;
    e2ee: Record<string, unknown>;
}

export function loadVectors(): {users: VectorUser[]; messages: VectorMessage[]} {
    return JSON.parse(fs.readFileSync(VECTORS_PATH, 'utf8'));
}

export interface User {
    keys: PrivateKeySet;
    pub: PublicKey;
    backup: string;
}

export async function newUser(): Promise<User> {
    const {keys, backup} = await generateKeys();
    return {keys, backup, pub: await publicKeyOf(keys)};
}

export async function newUsers(n: number): Promise<User[]> {
    const out: User[] = [];
    for (let i = 0; i < n; i++) {
        out.push(await newUser());
    }
    return out;
}
