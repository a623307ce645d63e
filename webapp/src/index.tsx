import type {Store} from 'redux';

import {setSiteURL} from './client';
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
        const state = store.getState();
        const configured = state?.entities?.general?.config?.SiteURL;
        setSiteURL(configured || `${window.location.origin}${(window as {basename?: string}).basename || ''}`);

        let myKeys = noKeys;
        let keyActions: {offerSetup?: () => void; replaceKey?: () => void} = {};
        try {
            const keys = registerKeyFeatures(registry, store);
            this.teardown.push(keys.dispose);
            myKeys = keys.myKeys;
            keyActions = {offerSetup: keys.offerSetup, replaceKey: keys.replaceKey};
        } catch (err) {
            console.error('E2EE: key features failed to start:', (err as Error)?.name);
        }
        const messages = registerMessageFeatures(registry, store, myKeys, keyActions);
        this.teardown.push(messages.dispose);
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
