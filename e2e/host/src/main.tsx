// Test host entry: globals, store and Client4 as the Mattermost web app's Root sets them up.
import React from 'react';
import {createRoot} from 'react-dom/client';
import {Provider} from 'react-redux';

import {Client4} from 'mattermost-redux/client';
import configureStore from 'mattermost-redux/store';

import {App} from './app';
import {installGlobals} from './globals';
import {installRegisterPlugin, siteURL} from './plugins';
import {BROWSER_CHANGE_FOCUS, pluginsReducer, viewsReducer} from './plugins_state';

installGlobals();
installRegisterPlugin();

const w = window as unknown as {__HOST_BASENAME__?: string; basename: string; publicPath: string; store: unknown};
w.basename = (w.__HOST_BASENAME__ || '').replace(/\/+$/, '');
w.publicPath = `${w.basename}/static/`;

Client4.setUrl(siteURL());
Client4.setAuthHeader = false; // cookies + CSRF, as the web app

const store = configureStore({appReducers: {plugins: pluginsReducer, views: viewsReducer}, getAppReducers: () => ({plugins: pluginsReducer, views: viewsReducer}), preloadedState: {}} as any);
w.store = store;

// views.browser.focused follows the window, as the web app's focus/blur listeners keep it.
const setFocus = (focus: boolean) => store.dispatch({type: BROWSER_CHANGE_FOCUS, focus});
setFocus(document.hasFocus());
window.addEventListener('focus', () => setFocus(true));
window.addEventListener('blur', () => setFocus(false));

createRoot(document.getElementById('root')!).render(
    <Provider store={store}>
        <App store={store}/>
    </Provider>,
);
