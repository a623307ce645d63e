// The subset of the Mattermost web app's PluginRegistry this plugin uses
// (upstream webapp/channels/src/plugins/registry.ts; what the host does with each call: docs/host-contract.md).
import type React from 'react';

import type {Channel, ChannelMembership} from '@mattermost/types/channels';
import type {Post} from '@mattermost/types/posts';

export type HookResult<T> = T | {error: {message: string}} | null | undefined;

export interface SlashCommandArgs {
    channel_id: string;
    team_id: string;
    root_id?: string;
}

export interface DesktopNotificationArgs {
    title: string;
    body: string;
    silent: boolean;
    soundName: string;
    url: string;
    notify: boolean;
}

export interface WebSocketMessage<T = Record<string, unknown>> {
    event: string;
    data: T;
    broadcast: {channel_id?: string; user_id?: string; team_id?: string};
    seq: number;
}

export interface PostTypeComponentProps {
    post: Post;
    compactDisplay?: boolean;
    isRHS?: boolean;
    theme?: Record<string, string>;
}

export interface PluginRegistry {
    registerRootComponent(component: React.ComponentType<Record<string, unknown>>): string;
    registerPostTypeComponent(type: string, component: React.ComponentType<PostTypeComponentProps>): string;
    registerReducer(reducer: (state: unknown, action: {type: string; [k: string]: unknown}) => unknown): void;
    registerWebSocketEventHandler(event: string, handler: (msg: WebSocketMessage) => void): void;
    unregisterWebSocketEventHandler?(event: string): void;
    registerReconnectHandler(handler: () => void): void;
    unregisterReconnectHandler?(): void;
    registerChannelHeaderButtonAction(
        icon: React.ReactNode,
        action: (channel: Channel, member?: ChannelMembership) => void,
        dropdownText: React.ReactNode,
        tooltipText: React.ReactNode,
    ): string;
    registerPostDropdownMenuAction(
        text: React.ReactNode,
        action: (postId: string) => void,
        filter?: (postId: string) => boolean,
    ): string;
    registerMessageWillBePostedHook(hook: (post: Post) => Promise<HookResult<{post: Post}>> | HookResult<{post: Post}>): string;
    registerMessageWillBeUpdatedHook(hook: (newPost: Partial<Post>, oldPost: Post) => Promise<HookResult<{post: Partial<Post>}>> | HookResult<{post: Partial<Post>}>): string;
    registerSlashCommandWillBePostedHook(hook: (message: string, args: SlashCommandArgs) =>
        Promise<HookResult<{message?: string; args?: SlashCommandArgs}>> | HookResult<{message?: string; args?: SlashCommandArgs}>): string;
    registerDesktopNotificationHook(hook: (post: Post, msgProps: Record<string, unknown>, channel: Channel, teamId: string, args: DesktopNotificationArgs) =>
        Promise<{error?: string; args?: DesktopNotificationArgs}>): string;
    registerFilesWillUploadHook?(hook: (files: File[], upload: (files: File[]) => void) => {message?: string; files?: File[] | null}): string;
    registerFilePreviewComponent?(override: (fileInfo: {id?: string; name?: string}, post?: Post) => boolean,
        component: React.ComponentType<{fileInfo: {id?: string; name?: string}; post?: Post; onModalDismissed?: () => void}>): string;
    registerAdminConsoleCustomSetting?(key: string, component: React.ComponentType<{id: string}>, options?: {showTitle?: boolean}): void;
    unregisterComponent(id: string): void;
    unregisterPostTypeComponent?(id: string): void;
}
