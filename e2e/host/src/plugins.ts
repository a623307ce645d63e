// Plugin loading as in Mattermost's plugins/index.ts: fetch the webapp manifests, inject
// <script id="plugin_<id>" defer>, and on load call initialize(registry, store) unawaited.
import type {Store} from 'redux';

import {Client4} from 'mattermost-redux/client';

import {RECEIVED_WEBAPP_PLUGINS, REMOVED_WEBAPP_PLUGIN} from './plugins_state';
import {Registry} from './registry';
import {reconnectHandlers, wsHandlers} from './ws_registry';

interface Manifest {id: string; version: string; webapp?: {bundle_path: string}}
interface Plugin {initialize?(registry: unknown, store: Store): unknown; uninitialize?(): void; deinitialize?(): void}

declare global {
    interface Window {
        plugins: Record<string, Plugin>;
        registerPlugin(id: string, plugin: Plugin): void;
        basename: string;
        hostLog: string[];
    }
}

const loadedPlugins: Record<string, string> = {};

export function installRegisterPlugin(): void {
    window.plugins = {};
    window.registerPlugin = (id: string, plugin: Plugin) => {
        const previous = window.plugins[id];
        if (previous && previous.uninitialize) {
            previous.uninitialize();
        }
        window.plugins[id] = plugin; // initialize runs from the script's onload, not here
    };
}

function log(line: string) {
    window.hostLog.push(line);
    // eslint-disable-next-line no-console
    console.log(line);
}

export function siteURL(): string {
    return (window.location.origin + window.basename).replace(/\/+$/, '');
}

function initializePlugin(store: Store, manifest: Manifest) {
    const plugin = window.plugins[manifest.id];
    if (!plugin || !plugin.initialize) {
        log(`plugin ${manifest.id} did not register (window.registerPlugin not called while loading)`);
        return;
    }
    const registry = new Registry(manifest.id, store);
    try {
        // Not awaited, as upstream.
        const r = plugin.initialize(registry, store);
        if (r && typeof (r as Promise<unknown>).catch === 'function') {
            (r as Promise<unknown>).catch((e) => log(`plugin ${manifest.id} initialize rejected: ${e}`));
        }
    } catch (e) {
        log(`plugin ${manifest.id} initialize threw: ${e}`);
    }
}

export function loadPlugin(store: Store, manifest: Manifest): Promise<void> {
    return new Promise((resolve, reject) => {
        if (!manifest.webapp || !manifest.webapp.bundle_path) {
            resolve();
            return;
        }
        let bundlePath = manifest.webapp.bundle_path;
        if (loadedPlugins[manifest.id] === bundlePath) {
            resolve();
            return;
        }
        if (loadedPlugins[manifest.id]) {
            removePlugin(store, manifest);
        }
        if (bundlePath.includes('/static/') && !bundlePath.includes('/static/plugins/')) {
            bundlePath = bundlePath.replace('/static/', '/static/plugins/');
        }
        loadedPlugins[manifest.id] = manifest.webapp.bundle_path;
        const script = document.createElement('script');
        script.id = `plugin_${manifest.id}`;
        script.type = 'text/javascript';
        script.src = siteURL() + bundlePath;
        script.defer = true;
        script.dataset.pluginVersion = manifest.version;
        script.onload = () => {
            initializePlugin(store, manifest);
            log(`Loaded plugin ${manifest.id}, version ${manifest.version}`);
            resolve();
        };
        script.onerror = () => reject(new Error(`Unable to load bundle for plugin ${manifest.id}`));
        document.head.appendChild(script);
    });
}

export function removePlugin(store: Store, manifest: Manifest): void {
    delete loadedPlugins[manifest.id];
    store.dispatch({type: REMOVED_WEBAPP_PLUGIN, data: manifest});
    const plugin = window.plugins[manifest.id];
    if (plugin) {
        if (plugin.uninitialize) {
            plugin.uninitialize();
        } else if (plugin.deinitialize) {
            plugin.deinitialize();
        }
    }
    for (const key of Array.from(wsHandlers.keys())) {
        if (key.startsWith(`${manifest.id}|`)) {
            wsHandlers.delete(key);
        }
    }
    reconnectHandlers.delete(manifest.id);
    document.getElementById(`plugin_${manifest.id}`)?.remove();
}

export async function initializePlugins(store: Store): Promise<void> {
    if (store.getState().entities.general.config.PluginsEnabled !== 'true') {
        log('plugins are disabled on this server');
        return;
    }
    const manifests = await Client4.getWebappPlugins() as unknown as Manifest[];
    store.dispatch({type: RECEIVED_WEBAPP_PLUGINS, data: manifests});
    await Promise.all(manifests.map((m) => loadPlugin(store, m).catch((e) => log(String(e)))));
}
