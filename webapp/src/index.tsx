import type {Store} from 'redux';

import {setSiteURL} from './client';
import manifest from './manifest';
import {registerKeyFeatures} from './keys';
import {registerMessageFeatures} from './messages';
import type {PluginRegistry} from './types/registry';

// Entry of the webapp part: wires the key and message features into the host.
class E2EEPlugin {
    private teardown: Array<() => void> = [];

    initialize(registry: PluginRegistry, store: Store): void {
        const state = store.getState();
        const configured = state?.entities?.general?.config?.SiteURL;
        setSiteURL(configured || `${window.location.origin}${(window as {basename?: string}).basename || ''}`);

        const keys = registerKeyFeatures(registry, store);
        this.teardown.push(keys.dispose);
        const messages = registerMessageFeatures(registry, store, keys.myKeys);
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
