import type {Store} from 'redux';

import {AdoptionSetting} from './admin/adoption_setting';
import {setSiteURL} from './client';
import type {DirectoryEntry} from './directory';
import {hostState} from './host_state';
import manifest from './manifest';
import {registerKeyFeatures} from './keys';
import {registerMessageFeatures} from './messages';
import type {MyKeys} from './types/my_keys';
import type {PluginRegistry} from './types/registry';

// Used when the key features fail to start (e.g. no IndexedDB): the message guards must still
// be registered, so encrypted channels refuse to send rather than send plaintext.
const noKeys: MyKeys = {
    get: async () => null,
    getPublic: async () => null,
    onChange: () => () => undefined,
};

// Entry of the webapp part: wires the key and message features into the host.
class E2EEPlugin {
    private teardown: Array<() => void> = [];

    initialize(registry: PluginRegistry, store: Store): void {
        const configured = hostState.config(store.getState()).SiteURL;
        setSiteURL(configured || `${window.location.origin}${(window as {basename?: string}).basename || ''}`);

        let myKeys = noKeys;
        let keyActions: {offerSetup?: () => void; replaceKey?: () => void} = {};
        let shareKeyLookups: ((get: (userId: string) => Promise<DirectoryEntry>) => void) | undefined;
        try {
            const keys = registerKeyFeatures(registry, store);
            this.teardown.push(keys.dispose);
            myKeys = keys.myKeys;
            keyActions = {offerSetup: keys.offerSetup, replaceKey: keys.replaceKey};
            shareKeyLookups = keys.shareKeyLookups;
        } catch (err) {
            console.error('E2EE: key features failed to start:', (err as Error)?.name);
        }
        const messages = registerMessageFeatures(registry, store, myKeys, keyActions);
        this.teardown.push(messages.dispose);
        // Set before the start-up check asks (it first reads this browser's key from storage).
        shareKeyLookups?.((userId) => messages.directory.get(userId));
        // The System Console section (setting key as in plugin.json).
        registry.registerAdminConsoleCustomSetting?.('AdoptionStats', AdoptionSetting, {showTitle: true});
    }

    uninitialize(): void {
        for (const dispose of this.teardown.splice(0)) {
            dispose();
        }
    }
}

declare global {
    interface Window {
        registerPlugin(id: string, plugin: unknown): void;
    }
}

// The host only initializes plugins that register while the script evaluates.
window.registerPlugin(manifest.id, new E2EEPlugin());
