// Service worker: keeps the content script registered on the sites the user granted, collects
// what it observes per tab, sets the icon, and keeps a record of every mismatch.
import {checkRelease, evaluate} from './verify.js';

const SCRIPT_ID = 'mme2ee-watch';
const MAX_RECORDS = 200;

// ---- sites: the content script runs on exactly the origins the user granted ----

async function syncContentScript() {
    const {origins = []} = await chrome.permissions.getAll();
    const existing = await chrome.scripting.getRegisteredContentScripts({ids: [SCRIPT_ID]});
    if (existing.length) {
        await chrome.scripting.unregisterContentScripts({ids: [SCRIPT_ID]});
    }
    if (origins.length) {
        await chrome.scripting.registerContentScripts([{
            id: SCRIPT_ID, js: ['content.js'], matches: origins, runAt: 'document_start', allFrames: false, persistAcrossSessions: true,
        }]);
    }
}

chrome.runtime.onInstalled.addListener(() => syncContentScript());
chrome.runtime.onStartup.addListener(() => syncContentScript());
chrome.permissions.onAdded.addListener(() => syncContentScript());
chrome.permissions.onRemoved.addListener(() => syncContentScript());

// ---- releases: shipped (releases/index.json) and loaded by the user (storage.local) ----

let shipped = null;
async function shippedReleases() {
    if (!shipped) {
        const list = [];
        try {
            const index = await (await fetch(chrome.runtime.getURL('releases/index.json'))).json();
            for (const name of index.files || []) {
                list.push({...checkRelease(await (await fetch(chrome.runtime.getURL(`releases/${name}`))).json()), source: 'shipped'});
            }
        } catch (e) {
            console.warn('E2EE check: shipped release hashes unreadable:', e && e.message);
        }
        shipped = list;
    }
    return shipped;
}

async function allReleases() {
    const {userReleases = []} = await chrome.storage.local.get('userReleases');
    return [...await shippedReleases(), ...userReleases.map((r) => ({...r, source: 'loaded from a file'}))];
}

// ---- per-tab state, in storage.session (the worker may be stopped between events) ----

const queues = new Map(); // tabId -> promise chain: one update at a time per tab

function update(tabId, fn) {
    const next = (queues.get(tabId) || Promise.resolve()).then(async () => {
        const key = `tab:${tabId}`;
        const cur = (await chrome.storage.session.get(key))[key] || null;
        const res = await fn(cur);
        if (res) {
            await chrome.storage.session.set({[key]: res});
            await show(tabId, res);
        }
    }).catch((e) => console.warn('E2EE check: update failed:', e && e.message));
    queues.set(tabId, next);
    return next;
}

async function sha256Hex(base64) {
    const bin = atob(base64);
    const u8 = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) {
        u8[i] = bin.charCodeAt(i);
    }
    const d = await crypto.subtle.digest('SHA-256', u8);
    return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, '0')).join('');
}

chrome.runtime.onMessage.addListener((msg, sender, reply) => {
    if (msg && msg.type === 'getState') {
        getState(msg.tabId).then(reply);
        return true;
    }
    if (msg && msg.type === 'releasesChanged') {
        reevaluateAll().then(() => reply(true));
        return true;
    }
    const tabId = sender.tab && sender.tab.id;
    if (tabId === undefined || sender.frameId !== 0 || !msg || !msg.loadId) {
        return false;
    }
    update(tabId, async (cur) => {
        let tab = cur;
        if (!tab || tab.loadId !== msg.loadId) {
            if (msg.type !== 'start') {
                return null; // a late message from a page that is gone
            }
            tab = {loadId: msg.loadId, pageURL: msg.pageURL, started: new Date().toISOString(), files: [], scripts: [], inline: 0, pluginList: null};
        }
        switch (msg.type) {
        case 'file': {
            const f = {url: msg.url, how: msg.how, pluginId: msg.pluginId, file: msg.file, status: msg.status, bytes: msg.bytes,
                pageBytes: msg.pageBytes, sha256: msg.sha256, error: msg.error, at: new Date().toISOString()};
            if (!f.sha256 && msg.base64) {
                f.sha256 = await sha256Hex(msg.base64);
            }
            tab.files = [...tab.files.filter((x) => x.url !== f.url), f];
            break;
        }
        case 'script':
            tab.scripts = [...tab.scripts, msg.url].slice(-500);
            break;
        case 'inline':
            tab.inline++;
            break;
        case 'pluginList':
            tab.pluginList = Array.isArray(msg.list) ? msg.list : null;
            tab.pluginListStatus = msg.status;
            break;
        }
        tab.verdict = evaluate(await allReleases(), tab);
        if (tab.verdict.state === 'mismatch') {
            await record(tab);
        }
        return tab;
    });
    return false;
});

async function getState(tabId) {
    const key = `tab:${tabId}`;
    const tab = (await chrome.storage.session.get(key))[key] || null;
    const {records = []} = await chrome.storage.local.get('records');
    return {tab, records: records.length, releases: (await allReleases()).map((r) => ({version: r.version, commit: r.commit, source: r.source}))};
}

async function reevaluateAll() {
    const all = await chrome.storage.session.get(null);
    const releases = await allReleases();
    for (const [key, tab] of Object.entries(all)) {
        if (key.startsWith('tab:') && tab) {
            await update(Number(key.slice(4)), async (cur) => (cur ? {...cur, verdict: evaluate(releases, cur)} : null));
        }
    }
}

// One record per page load that showed a mismatch, updated as more is observed; the popup exports them.
async function record(tab) {
    const {records = []} = await chrome.storage.local.get('records');
    const entry = {
        recorded: new Date().toISOString(), page: tab.pageURL, pageLoaded: tab.started, loadId: tab.loadId,
        release: tab.verdict.release || null, problems: tab.verdict.problems, notes: tab.verdict.notes,
        files: tab.files, serverPluginList: tab.pluginList, otherPlugins: tab.verdict.others,
        otherScripts: tab.scripts, inlineScripts: tab.inline,
        userAgent: navigator.userAgent,
    };
    const rest = records.filter((r) => r.loadId !== tab.loadId);
    await chrome.storage.local.set({records: [...rest, entry].slice(-MAX_RECORDS)});
}

// ---- the toolbar icon ----

const LOOK = {
    verified: {text: 'OK', color: '#1b7f3b', title: 'E2EE code check: verified'},
    mismatch: {text: '!', color: '#c62828', title: 'E2EE code check: MISMATCH, the plugin code is not the release'},
    unknown: {text: '?', color: '#757575', title: 'E2EE code check: unknown version, not verified'},
    none: {text: '', color: '#757575', title: 'E2EE code check: no E2EE plugin code seen on this page'},
};

async function show(tabId, tab) {
    const state = tab.verdict ? tab.verdict.state : 'none';
    const look = LOOK[state];
    const title = look.title + (state === 'verified' && tab.verdict.release ? ` (release ${tab.verdict.release.version})` : '');
    const icon = state === 'none' ? 'unknown' : state;
    try {
        await Promise.all([
            chrome.action.setBadgeText({tabId, text: look.text}),
            chrome.action.setBadgeBackgroundColor({tabId, color: look.color}),
            chrome.action.setTitle({tabId, title}),
            chrome.action.setIcon({tabId, path: {16: `icons/${icon}-16.png`, 32: `icons/${icon}-32.png`}}),
        ]);
    } catch {
        // the tab was closed
    }
}

chrome.tabs.onRemoved.addListener((tabId) => chrome.storage.session.remove(`tab:${tabId}`));

// A navigation to another site leaves no stale verdict behind (pages of granted sites send 'start').
chrome.tabs.onUpdated.addListener((tabId, change) => {
    if (!change.url) {
        return;
    }
    update(tabId, async (cur) => {
        if (cur && new URL(cur.pageURL).origin !== new URL(change.url).origin) {
            await chrome.storage.session.remove(`tab:${tabId}`);
            await show(tabId, {verdict: null});
        }
        return null;
    });
});
