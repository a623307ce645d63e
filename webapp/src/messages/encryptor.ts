// Encrypts a text for everyone in a channel who can read it: lists the channel's active
// members, checks their keys against what this browser trusts (TOFU), and tells the sender
// who is new and who cannot read.
import type {UserProfile} from '@mattermost/types/users';

import type {EncryptedMessageJSON, MessageContext, PublicKey} from '../crypto/types';
import type {KeyDirectory, TrustStore, VerifiedStore} from '../directory';
import type {MyKeys} from '../types/my_keys';

import type {CryptoOps} from './crypto_ops';
import type {Notices} from './notices';

export type RefusalKind = 'no-key' | 'forged-members' | 'key-changed' | 'verified-key-changed' | 'files' | 'unavailable' | 'not-encrypted-edit' | 'key-backup';

/** The send (or edit) was refused; message is for the user and says what to do. */
export class SendRefusedError extends Error {
    constructor(readonly kind: RefusalKind, message: string) {
        super(message);
        this.name = 'SendRefusedError';
    }
}

export interface Member {
    id: string;
    username: string;
}

export interface ProfilesClient {
    getProfilesInChannel(channelId: string, page?: number, perPage?: number, sort?: string, options?: {active?: boolean}): Promise<UserProfile[]>;
}

const PER_PAGE = 200;
const MAX_PAGES = 100; // 20,000 members: beyond that we would rather refuse than loop

/** All active members of a channel, refusing a list that looks forged. */
export async function fetchChannelMembers(client: ProfilesClient, channelId: string): Promise<Member[]> {
    const profiles: UserProfile[] = [];
    for (let page = 0; ; page++) {
        if (page >= MAX_PAGES) {
            throw new SendRefusedError('unavailable', 'This channel has too many members to encrypt for. Your message was not sent.');
        }
        const batch = await client.getProfilesInChannel(channelId, page, PER_PAGE, '', {active: true});
        if (!Array.isArray(batch)) {
            throw new SendRefusedError('forged-members', 'The server answered an invalid member list. Your message was not sent.');
        }
        profiles.push(...batch);
        if (batch.length < PER_PAGE) {
            break;
        }
    }
    const ids = new Set<string>();
    const names = new Set<string>();
    const members: Member[] = [];
    for (const p of profiles) {
        const id = typeof p?.id === 'string' ? p.id : '';
        const username = typeof p?.username === 'string' ? p.username.trim() : '';
        // The server decides who gets a copy; a list with look-alike entries could hide an extra reader.
        if (!id || !username) {
            throw new SendRefusedError('forged-members', 'The channel member list from the server has a member without a user name: it may be forged. Your message was not sent.');
        }
        if (ids.has(id) || names.has(username.toLowerCase())) {
            throw new SendRefusedError('forged-members', `The channel member list from the server lists @${username} twice: it may be forged. Your message was not sent.`);
        }
        ids.add(id);
        names.add(username.toLowerCase());
        if (p.delete_at && p.delete_at > 0) {
            continue; // deactivated users cannot read anyway
        }
        members.push({id, username});
    }
    return members;
}

export interface EncryptorDeps {
    listMembers(channelId: string): Promise<Member[]>;
    directory: KeyDirectory;
    trust: TrustStore;
    myKeys: MyKeys;
    ops: CryptoOps;
    notices: Notices;
    /** Verified contacts: a verified member with another key blocks the send (design §11.2). */
    verified?: VerifiedStore;
}

export const NO_KEY_MESSAGE = 'You have no encryption key in this browser, so you cannot write in this encrypted channel. ' +
    'Run /e2ee init to create a key, or /e2ee import to restore your backup. Your message was not sent.';

export class ChannelEncryptor {
    private readonly noKeyNoticeShown = new Map<string, string>();

    constructor(private readonly deps: EncryptorDeps) {}

    /** `extra`: further payload members beside the text, e.g. `files` (design §15.4). */
    async encrypt(text: string, context: MessageContext, extra: Record<string, unknown> = {}): Promise<EncryptedMessageJSON> {
        const {directory, trust, myKeys, ops} = this.deps;
        const [mine, myPublic] = await Promise.all([myKeys.get(), myKeys.getPublic()]);
        if (!mine || !myPublic) {
            throw new SendRefusedError('no-key', NO_KEY_MESSAGE);
        }
        let members: Member[];
        let keys: Map<string, import('../directory').DirectoryEntry>;
        try {
            members = await this.deps.listMembers(context.channelId);
            keys = await directory.getMany(members.filter((m) => m.id !== context.userId).map((m) => m.id));
        } catch (err) {
            if (err instanceof SendRefusedError) {
                throw err;
            }
            throw new SendRefusedError('unavailable', 'Could not fetch the channel members or their keys, so the message could not be encrypted. Your message was not sent: try again.');
        }

        const recipients: PublicKey[] = [myPublic];
        const recipientNames = new Map<string, string>();
        const withoutKey: Member[] = [];
        const changed: Array<{member: Member; key: PublicKey}> = [];
        const firstSeen: Array<{member: Member; key: PublicKey}> = []; // trusted on first use, once sent
        const verifiedChanged: Member[] = [];
        for (const member of members) {
            if (member.id === context.userId) {
                continue;
            }
            const entry = keys.get(member.id);
            if (!entry || entry.status !== 'ok') {
                withoutKey.push(member);
                continue;
            }
            if (this.deps.verified && await this.deps.verified.state(member.id, entry.key.idB64) === 'changed') {
                verifiedChanged.push(member);
                continue;
            }
            const check = trust.check(member.id, entry.key.idB64);
            if (check === 'changed') {
                changed.push({member, key: entry.key});
                continue;
            }
            if (check === 'new') {
                firstSeen.push({member, key: entry.key});
            }
            recipients.push(entry.key);
            recipientNames.set(entry.key.idB64, member.username);
        }

        if (verifiedChanged.length) {
            // Not accepted by sending again: only re-verifying or an explicit accept ends it.
            const who = verifiedChanged.map((m) => `@${m.username}`).join(', ');
            const alarm = `Security alarm: the encryption key of ${who} changed after you verified it. ` +
                'Nothing is encrypted to the new key until you compare the new safety number (/e2ee verify ' +
                `${verifiedChanged.length === 1 ? who : '@user'}) or accept the new key there. Your message was not sent.`;
            this.deps.notices.show(context.channelId, context.rootId, alarm);
            throw new SendRefusedError('verified-key-changed', alarm);
        }

        if (changed.length) {
            // Nothing is encrypted to a changed key before the sender has seen this warning;
            // sending again means they accept it.
            for (const {member, key} of changed) {
                trust.accept(member.id, key.idB64, key.json);
            }
            const who = changed.map(({member}) => `@${member.username}`).join(', ');
            const warning = `Security warning: the encryption key of ${who} changed since this browser last saw it. ` +
                'If you did not expect this (e.g. they set up a new device), check with them by another means. ' +
                'Your message was not sent: send it again to encrypt it for the new key.';
            this.deps.notices.show(context.channelId, context.rootId, warning); // stays in the channel after the editor error goes
            throw new SendRefusedError('key-changed', warning);
        }

        const message = await ops.encryptV2({text, ...extra}, mine, recipients, context);
        for (const {member, key} of firstSeen) {
            trust.accept(member.id, key.idB64, key.json);
        }
        this.announce(context, myPublic.idB64, recipients.map((k) => k.idB64), recipientNames, withoutKey);
        return message;
    }

    private announce(context: MessageContext, myId: string, ids: string[], names: Map<string, string>, withoutKey: Member[]): void {
        const {trust, notices} = this.deps;
        const previous = trust.channelRecipients(context.channelId);
        if (previous !== null) {
            const before = new Set(previous);
            const added = ids.filter((id) => !before.has(id) && id !== myId);
            if (added.length) {
                notices.show(context.channelId, context.rootId,
                    `Encrypted for new recipients in this channel: ${added.map((id) => `@${names.get(id)}`).join(', ')}. They can read what you send from now on.`);
            }
        }
        trust.setChannelRecipients(context.channelId, ids);

        const signature = withoutKey.map((m) => m.id).sort().join(',');
        if (signature !== (this.noKeyNoticeShown.get(context.channelId) ?? '')) {
            this.noKeyNoticeShown.set(context.channelId, signature);
            if (withoutKey.length) {
                notices.show(context.channelId, context.rootId,
                    `These members have no encryption key and cannot read your encrypted messages: ${withoutKey.map((m) => `@${m.username}`).join(', ')}. ` +
                    'They need to run /e2ee init (or /e2ee import).');
            }
        }
    }
}
