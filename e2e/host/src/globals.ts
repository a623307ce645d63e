// The window globals Mattermost's plugins/export.ts provides, set before any plugin loads
// (React 18 as 11.x, or React 19 as 12.x: see build.mjs).
import PropTypes from 'prop-types';
import React from 'react';
import ReactDOM from 'react-dom';
import * as ReactDOMClient from 'react-dom/client';
import * as ReactJSXRuntime from 'react/jsx-runtime';
import * as ReactRedux from 'react-redux';
import * as Redux from 'redux';

import {notifyMe} from './notifications';
import {PostUtils} from './post_utils';

// Set by build.mjs: true for the React 19 host (Mattermost 12.x), false for React 18 (11.x).
declare const __HOST_REACT19__: boolean;

export const hostOpenedModals: unknown[] = [];

export function installGlobals(): void {
    const w = window as unknown as Record<string, unknown>;
    w.React = React;
    w.ReactDOM = {...ReactDOM, createRoot: ReactDOMClient.createRoot, hydrateRoot: ReactDOMClient.hydrateRoot};
    if (__HOST_REACT19__) {
        // Only 12.x has it; a bundle for 11.x and 12.x must not need it (the 18 host leaves it unset).
        w.ReactJSXRuntime = {jsx: ReactJSXRuntime.jsx, jsxs: ReactJSXRuntime.jsxs, Fragment: ReactJSXRuntime.Fragment};
    }
    w.Redux = Redux;
    w.ReactRedux = ReactRedux;
    w.PropTypes = PropTypes;
    w.PostUtils = PostUtils;
    w.WebappUtils = {
        modals: {openModal: (m: unknown) => hostOpenedModals.push(m), ModalIdentifiers: {}},
        notificationSounds: {ring: () => undefined, stopRing: () => undefined},
        sendDesktopNotificationToMe: notifyMe,
        openUserSettings: () => undefined,
        get browserHistory() {
            return {push: (path: string) => {
                window.location.hash = `#${path}`;
            }};
        },
    };
    w.hostLog = [];
    w.hostWsEvents = [];
    w.__notifications = []; // every desktop notification shown (host path and plugins alike)
}
