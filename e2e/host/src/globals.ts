// The window globals Mattermost's plugins/export.ts provides, set before any plugin loads.
import PropTypes from 'prop-types';
import React from 'react';
import ReactDOM from 'react-dom';
import * as ReactDOMClient from 'react-dom/client';
import * as ReactRedux from 'react-redux';
import * as Redux from 'redux';

import {PostUtils} from './post_utils';

export const hostOpenedModals: unknown[] = [];

export function installGlobals(): void {
    const w = window as unknown as Record<string, unknown>;
    w.React = React;
    w.ReactDOM = {...ReactDOM, createRoot: ReactDOMClient.createRoot, hydrateRoot: ReactDOMClient.hydrateRoot};
    w.Redux = Redux;
    w.ReactRedux = ReactRedux;
    w.PropTypes = PropTypes;
    w.PostUtils = PostUtils;
    w.WebappUtils = {
        modals: {openModal: (m: unknown) => hostOpenedModals.push(m), ModalIdentifiers: {}},
        notificationSounds: {ring: () => undefined, stopRing: () => undefined},
        sendDesktopNotificationToMe: () => undefined,
        openUserSettings: () => undefined,
        get browserHistory() {
            return {push: (path: string) => {
                window.location.hash = `#${path}`;
            }};
        },
    };
    w.hostLog = [];
}
