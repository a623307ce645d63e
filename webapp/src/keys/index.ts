// Key features of the webapp part: this browser's key storage, /e2ee init and
// /e2ee import, and the start-up check against the server's key.
import type React from 'react';
import type {Store} from 'redux';

import {hostState} from '../host_state';
import type {MyKeys} from '../types/my_keys';
import type {PluginRegistry} from '../types/registry';

import {makeKeysRoot} from './components/root';
import {MyKeysStore} from './my_keys';
import {KeyService, errorText, type KeyServiceOptions} from './service';
import {makeSlashCommandHook} from './slash';
import {KeysUI} from './ui';

export {onMyKeysChange} from './my_keys';
export {parseKeyCommand} from './slash';

export function registerKeyFeatures(
    registry: PluginRegistry,
    store: Store,
    options: Pick<KeyServiceOptions, 'fetchFn'> = {},
): {myKeys: MyKeys; offerSetup: () => void; replaceKey: () => void; shareKeyLookups: KeyService['shareKeyLookups']; dispose: () => void} {
    const currentUserId = () => hostState.currentUserId(store.getState());
    const myKeys = new MyKeysStore(currentUserId);
    const ui = new KeysUI();
    const service = new KeyService({store, myKeys, ui, ...options});

    const rootId = registry.registerRootComponent(makeKeysRoot(ui) as React.ComponentType<Record<string, unknown>>);
    const hookId = registry.registerSlashCommandWillBePostedHook(makeSlashCommandHook((cmd) => {
        void (cmd.kind === 'init' ? service.init(cmd.force) : service.import());
    }));

    const reconcile = () => service.reconcile().catch((err) => {
        console.warn('e2ee: could not check this browser\'s key against the server:', errorText(err));
    });

    // Another user logged in without a reload: drop the cached keys and re-check.
    let lastUser = currentUserId();
    const unsubscribe = store.subscribe(() => {
        const id = currentUserId();
        if (id !== lastUser) {
            lastUser = id;
            myKeys.checkUser();
            void reconcile();
        }
    });
    void reconcile();

    return {
        myKeys,
        offerSetup: () => {
            void service.offerSetup();
        },
        replaceKey: () => {
            void service.init(true);
        },
        shareKeyLookups: (get) => service.shareKeyLookups(get),
        dispose: () => {
            unsubscribe();
            ui.reset();
            registry.unregisterComponent(hookId); // hooks are components in the host's registry
            registry.unregisterComponent(rootId);
        },
    };
}
