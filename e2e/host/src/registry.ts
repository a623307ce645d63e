// PluginRegistry as the Mattermost web app builds one per plugin (plugins/registry.ts):
// positional or single-object arguments (reArg), components/hooks stored in the store.
import type {Reducer, Store} from 'redux';

import reducerRegistry from 'mattermost-redux/store/reducer_registry';

import {RECEIVED_ADMIN_CONSOLE_CUSTOM_COMPONENT, RECEIVED_PLUGIN_COMPONENT, RECEIVED_PLUGIN_POST_COMPONENT, REMOVED_PLUGIN_COMPONENT, REMOVED_PLUGIN_POST_COMPONENT} from './plugins_state';
import {wsHandlers, reconnectHandlers} from './ws_registry';

let counter = 0;
function generateId(): string {
    counter += 1;
    return `host${Date.now().toString(36)}${counter}`;
}

function reArg<T extends unknown[]>(keys: string[], fn: (...args: T) => unknown) {
    return (...args: unknown[]) => {
        const first = args[0];
        if (args.length === 1 && first && typeof first === 'object' && Object.getPrototypeOf(first) === Object.prototype &&
            Object.keys(first).length > 0 && Object.keys(first).every((k) => keys.includes(k))) {
            return fn(...(keys.map((k) => (first as Record<string, unknown>)[k]) as T));
        }
        return fn(...(args as T));
    };
}

export class Registry {
    supports = {globalAppBar: true, globalRhs: true};
    [method: string]: unknown;

    constructor(readonly pluginId: string, private store: Store) {
        const add = (name: string, data: Record<string, unknown>) => {
            const id = generateId();
            this.store.dispatch({type: RECEIVED_PLUGIN_COMPONENT, name, data: {id, pluginId, ...data}});
            return id;
        };
        this.registerRootComponent = reArg(['component'], (component) => add('Root', {component}));
        this.registerPostTypeComponent = reArg(['type', 'component'], (type, component) => {
            const id = generateId();
            this.store.dispatch({type: RECEIVED_PLUGIN_POST_COMPONENT, data: {id, pluginId, type, component}});
            return id;
        });
        this.unregisterPostTypeComponent = reArg(['componentId'], (id) => {
            this.store.dispatch({type: REMOVED_PLUGIN_POST_COMPONENT, id});
        });
        this.registerReducer = reArg(['reducer'], (reducer) => {
            reducerRegistry.register(`plugins-${pluginId}`, reducer as Reducer);
        });
        this.registerWebSocketEventHandler = reArg(['event', 'handler'], (event, handler) => {
            wsHandlers.set(`${pluginId}|${event as string}`, {event: event as string, handler: handler as (m: unknown) => void});
        });
        this.unregisterWebSocketEventHandler = reArg(['event'], (event) => {
            wsHandlers.delete(`${pluginId}|${event as string}`);
        });
        this.registerReconnectHandler = reArg(['handler'], (handler) => {
            reconnectHandlers.set(pluginId, handler as () => void);
        });
        this.unregisterReconnectHandler = () => {
            reconnectHandlers.delete(pluginId);
        };
        this.registerChannelHeaderButtonAction = reArg(['icon', 'action', 'dropdownText', 'tooltipText'],
            (icon, action, dropdownText, tooltipText) => add('ChannelHeaderButton', {icon, action, dropdownText, tooltipText}));
        this.registerPostDropdownMenuAction = reArg(['text', 'action', 'filter'],
            (text, action, filter) => add('PostDropdownMenu', {text, action, filter}));
        this.registerMessageWillBePostedHook = reArg(['hook'], (hook) => add('MessageWillBePosted', {hook}));
        this.registerMessageWillBeUpdatedHook = reArg(['hook'], (hook) => add('MessageWillBeUpdated', {hook}));
        this.registerSlashCommandWillBePostedHook = reArg(['hook'], (hook) => add('SlashCommandWillBePosted', {hook}));
        this.registerDesktopNotificationHook = reArg(['hook'], (hook) => add('DesktopNotificationHooks', {hook}));
        this.registerFilesWillUploadHook = reArg(['hook'], (hook) => add('FilesWillUploadHook', {hook}));
        this.registerFilePreviewComponent = reArg(['override', 'component'], (override, component) => add('FilePreview', {override, component}));
        this.registerAdminConsoleCustomSetting = reArg(['key', 'component', 'options'], (key, component, options) => {
            const {showTitle} = (options || {}) as {showTitle?: boolean};
            this.store.dispatch({type: RECEIVED_ADMIN_CONSOLE_CUSTOM_COMPONENT, data: {pluginId, key, component, options: {showTitle}}});
        });
        this.registerTranslations = reArg(['getTranslationsForLocale'], () => undefined);
        this.unregisterComponent = reArg(['componentId'], (id) => {
            this.store.dispatch({type: REMOVED_PLUGIN_COMPONENT, id});
        });
    }
}
