// The hook runners of Mattermost's actions/hooks.ts, with their exact result semantics
// (mattermost-host.md §4): falsy = unchanged, {error} aborts, anything else replaces.
import type {Store} from 'redux';

import type {Registered} from './plugins_state';

type Hook = (...args: unknown[]) => unknown;

function hooks(store: Store, name: string): Hook[] {
    const list: Registered[] = store.getState().plugins.components[name] || [];
    return list.map((c) => c.hook as Hook);
}

export async function runMessageWillBePostedHooks(store: Store, originalPost: unknown): Promise<{data?: unknown; error?: {message: string}}> {
    let post = originalPost;
    for (const hook of hooks(store, 'MessageWillBePosted')) {
        const result = await hook(post) as {post?: unknown; error?: {message: string}} | null | undefined;
        if (result) {
            if ('error' in result && result.error) {
                return {error: result.error};
            }
            post = result.post; // {} makes the post undefined, as upstream
        }
    }
    return {data: post};
}

export async function runMessageWillBeUpdatedHooks(store: Store, newPost: unknown, oldPost: unknown): Promise<{data?: unknown; error?: {message: string}}> {
    let post = newPost;
    for (const hook of hooks(store, 'MessageWillBeUpdated')) {
        const result = await hook(post, oldPost) as {post?: unknown; error?: {message: string}} | null | undefined;
        if (result) {
            if ('error' in result && result.error) {
                return {error: result.error};
            }
            post = result.post;
        }
    }
    return {data: post};
}

export async function runSlashCommandWillBePostedHooks(store: Store, originalMessage: string, originalArgs: unknown): Promise<{data?: {message?: string; args?: unknown}; error?: {message: string}}> {
    let message: string | undefined = originalMessage;
    let args: unknown = originalArgs;
    for (const hook of hooks(store, 'SlashCommandWillBePosted')) {
        const result = await hook(message, args) as {message?: string; args?: unknown; error?: {message: string}} | null | undefined;
        if (result) {
            if ('error' in result && result.error) {
                return {error: result.error};
            }
            if (!result.message && !result.args) {
                return {data: {}}; // {} swallows the command
            }
            message = result.message;
            args = result.args;
        }
    }
    return {data: {message, args}};
}

export interface DesktopNotificationArgs {
    title: string;
    body: string;
    silent: boolean;
    soundName: string;
    url: string;
    notify: boolean;
}

export async function runDesktopNotificationHooks(store: Store, post: unknown, msgProps: unknown, channel: unknown, teamId: string, args: DesktopNotificationArgs): Promise<{args?: DesktopNotificationArgs; error?: string}> {
    let current = args;
    for (const hook of hooks(store, 'DesktopNotificationHooks')) {
        const result = await hook(post, msgProps, channel, teamId, current) as {error?: string; args?: DesktopNotificationArgs} | null | undefined;
        if (!result) {
            continue;
        }
        if (result.error) {
            return {error: result.error};
        }
        if (!result.args) {
            return {error: 'returned empty args'};
        }
        current = result.args;
    }
    return {args: current};
}
