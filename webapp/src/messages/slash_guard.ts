// SlashCommandWillBePosted: a command's text goes to the server in clear (and into its logs),
// so in an encrypted channel only commands that carry no text pass without a question.
import {isEncryptingMethod, type EncryptionMethod} from '../client';
import type {HookResult, SlashCommandArgs} from '../types/registry';

import type {Question} from './confirm';
import type {ChannelMethods} from './state';

const USER = /^@?[a-z0-9._-]+$/i;
const CHANNEL = /^~[a-z0-9._-]+$/i;
const none = (args: string[]) => args.length === 0;
const oneChannel = (args: string[]) => args.length <= 1 && args.every((a) => CHANNEL.test(a));
const mentions = (args: string[]) => args.length > 0 && args.every((a) => USER.test(a) && a.startsWith('@'));
const usersAndChannels = (args: string[]) => args.length > 0 && args.every((a) => (USER.test(a) && a.startsWith('@')) || CHANNEL.test(a));
const E2EE_SUBCOMMANDS = new Set(['help', 'start', 'stop', 'status', 'show_backup', 'migrate', 'import', 'verify', 'history']);

/** Built-in commands of the server (11.4) whose arguments are no message text, with the argument
 * shapes they take; given anything more (e.g. "/away back soon") they count as carrying text. */
export const NO_TEXT_COMMANDS: Record<string, (args: string[]) => boolean> = {
    '/away': none,
    '/online': none,
    '/offline': none,
    '/dnd': none,
    '/leave': none,
    '/collapse': none,
    '/expand': none,
    '/settings': none,
    '/logout': none,
    '/shortcuts': none,
    '/help': none,
    '/marketplace': none,
    '/join': oneChannel,
    '/open': oneChannel,
    '/mute': oneChannel,
    '/kick': mentions,
    '/remove': mentions,
    '/invite': usersAndChannels,
    '/e2ee': (args) => args.length === 0 || (args.length === 1 && E2EE_SUBCOMMANDS.has(args[0].toLowerCase())) ||
        (args[0]?.toLowerCase() === 'init' && args.slice(1).every((a) => a === '--force')) ||
        (args[0]?.toLowerCase() === 'verify' && args.length === 2 && USER.test(args[1])) ||
        // channel-key mode: /e2ee start --mode p2p|channel, /e2ee history on|off
        (args[0]?.toLowerCase() === 'start' && args.length === 3 && args[1] === '--mode' && (args[2] === 'p2p' || args[2] === 'channel')) ||
        (args[0]?.toLowerCase() === 'history' && args.length === 2 && (args[1] === 'on' || args[1] === 'off')),
};

// Commands that post their text into this very channel: the server refuses that post in an
// encrypted channel anyway, so there is nothing to confirm.
const TEXT_POSTING_COMMANDS = new Set(['/me', '/shrug', '/echo', '/code']);

/** `/msg @bob text` and `/groupmsg @a,@b text`, split as the server splits them. */
export function directTarget(command: string, rest: string): {usernames: string[]; text: string} | null {
    if (command === '/msg') {
        const [first, ...more] = rest.split(' ');
        const name = first.replace(/^@/, '');
        return name ? {usernames: [name], text: more.join(' ').trim()} : null;
    }
    if (command === '/groupmsg') {
        const usernames: string[] = [];
        let text = '';
        const parts = rest.split(',');
        for (let i = 0; i < parts.length; i++) {
            const fields = parts[i].trim().replace(/^@/, '').split(/\s+/).filter(Boolean);
            if (fields.length > 0) {
                usernames.push(fields[0]);
            }
            if (fields.length > 1) {
                text = parts.slice(i).join(',').trim().replace(/^@/, '').slice(fields[0].length).trim();
                break;
            }
        }
        return usernames.length ? {usernames, text} : null;
    }
    return null;
}

export interface SlashGuardDeps {
    methods: ChannelMethods;
    confirm(question: Question): Promise<boolean>;
    /** The DM or group message with these users (the current user added), or null if there is none yet. */
    directChannelId(usernames: string[]): Promise<string | null>;
}

export const COMMAND_NOT_SENT = 'Nothing was sent.';

export function createSlashCommandGuard(deps: SlashGuardDeps) {
    async function methodOf(channelId: string): Promise<EncryptionMethod | undefined> {
        try {
            return await deps.methods.refresh(channelId, true);
        } catch {
            const known = deps.methods.get(channelId);
            return known && isEncryptingMethod(known) ? known : undefined; // undefined: unknown
        }
    }

    return async (message: string, args: SlashCommandArgs): Promise<HookResult<{message?: string; args?: SlashCommandArgs}>> => {
        const pass = {message, args};
        if (typeof message !== 'string') {
            return pass;
        }
        const trimmed = message.trim();
        const command = (trimmed.split(/\s+/)[0] ?? '').toLowerCase();
        const rest = trimmed.slice(command.length).trim();
        const words = rest ? rest.split(/\s+/) : [];
        if (!rest || NO_TEXT_COMMANDS[command]?.(words)) {
            return pass;
        }

        const direct = directTarget(command, rest);
        if (direct && !direct.text) {
            return pass; // only opens the conversation
        }
        if (direct) {
            let target: string | null;
            let targetMethod: EncryptionMethod | undefined = 'none';
            try {
                target = await deps.directChannelId(direct.usernames);
                targetMethod = target ? await methodOf(target) : 'none';
            } catch {
                targetMethod = undefined;
            }
            if (isEncryptingMethod(targetMethod)) {
                return {error: {message: `Your conversation with ${direct.usernames.map((u) => '@' + u).join(', ')} is encrypted, and ${command} would send your text to the server unencrypted. ${COMMAND_NOT_SENT} Open the conversation and write there.`}};
            }
            if (targetMethod === undefined) {
                return {error: {message: `Could not check whether your conversation with ${direct.usernames.map((u) => '@' + u).join(', ')} is encrypted, so ${command} was not sent: try again.`}};
            }
        }

        const here = args?.channel_id ? await methodOf(args.channel_id) : 'none';
        if (here === 'none') {
            return pass;
        }
        if (here === undefined) {
            return {error: {message: `Could not check whether this channel is encrypted, so ${command} was not sent: try again.`}};
        }
        if (TEXT_POSTING_COMMANDS.has(command)) {
            return {error: {message: `This channel is encrypted, and ${command} would send its text to the server unencrypted. ${COMMAND_NOT_SENT} Write your message without ${command}.`}};
        }
        const yes = await deps.confirm({
            title: 'Send this command unencrypted?',
            text: `This channel is encrypted, but slash commands are not: the text of ${command} goes to the server as you typed it, and the server may keep it in its logs.\n\n${trimmed}`,
            confirmLabel: 'Send unencrypted',
        });
        return yes ? pass : {error: {message: `${command} was not sent. ${COMMAND_NOT_SENT}`}};
    };
}
