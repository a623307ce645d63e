// The popup: the verdict for the current tab (or ?tab=ID), other plugins' code, the releases
// known, loading a hashes file, exporting the mismatch records, granting the current site.
import {checkRelease} from './verify.js';

const $ = (id) => document.getElementById(id);

function el(tag, text, cls) {
    const e = document.createElement(tag);
    e.textContent = text;
    if (cls) {
        e.className = cls;
    }
    return e;
}

async function currentTab() {
    const q = new URLSearchParams(location.search).get('tab');
    if (q) {
        return chrome.tabs.get(Number(q));
    }
    const [tab] = await chrome.tabs.query({active: true, currentWindow: true});
    return tab;
}

const HEADLINE = {
    verified: (v) => `Verified: release ${v.release.version}${v.release.commit ? ` (${v.release.commit.slice(0, 12)})` : ''}`,
    mismatch: (v) => `MISMATCH: the E2EE plugin code is not ${v.release ? `release ${v.release.version}` : 'a release'}`,
    unknown: () => 'Unknown: no hashes for this version, not verified',
    none: () => 'No E2EE plugin code seen on this page',
};

async function render() {
    const tab = await currentTab();
    const state = await chrome.runtime.sendMessage({type: 'getState', tabId: tab.id});
    const v = state.tab && state.tab.verdict;
    const s = v ? v.state : 'none';
    $('verdict').dataset.state = s;
    $('verdict').textContent = HEADLINE[s](v);

    const detail = $('detail');
    detail.replaceChildren();
    if (v) {
        const ul = document.createElement('ul');
        for (const p of v.problems) {
            ul.append(el('li', p));
        }
        for (const n of v.notes) {
            ul.append(el('li', n, 'small'));
        }
        for (const f of v.ours) {
            ul.append(el('li', `checked ${f.file}: ${f.sha256 ? f.sha256.slice(0, 16) + '…' : 'unread'} (${f.how})`, 'small'));
        }
        detail.append(ul);
    }

    const others = $('others');
    others.replaceChildren();
    for (const o of (v && v.others) || []) {
        const files = o.files.map((f) => `${f.file} ${f.sha256 ? f.sha256.slice(0, 16) + '…' : `HTTP ${f.status}`}`).join(', ');
        others.append(el('li', `${o.id}${o.version ? ' ' + o.version : ''}: ${files || 'listed by the server, not loaded yet'}`));
    }
    if (!others.children.length) {
        others.append(el('li', 'none seen', 'small'));
    }

    const rel = $('releases');
    rel.replaceChildren();
    for (const r of state.releases) {
        rel.append(el('li', `${r.version}${r.commit ? ' (' + r.commit.slice(0, 12) + ')' : ''}, ${r.source}`));
    }
    if (!rel.children.length) {
        rel.append(el('li', 'none', 'small'));
    }
    $('record-count').textContent = String(state.records);

    // The grant button only where the site is not granted yet.
    let origin = '';
    try {
        origin = new URL(tab.url).origin;
    } catch {
        // not a web page
    }
    const granted = origin.startsWith('http') && await chrome.permissions.contains({origins: [`${origin}/*`]});
    $('grant').hidden = granted || !origin.startsWith('http');
    $('grant-origin').textContent = origin;
    $('grant-button').onclick = async () => {
        // Must run in the click's user gesture; the service worker registers the content script.
        const ok = await chrome.permissions.request({origins: [`${origin}/*`]});
        $('grant').querySelector('p').textContent = ok ? 'Granted. Reload the page to check it.' : 'Not granted.';
    };
}

$('load').addEventListener('change', async (ev) => {
    const file = ev.target.files[0];
    if (!file) {
        return;
    }
    try {
        const r = checkRelease(JSON.parse(await file.text()));
        const {userReleases = []} = await chrome.storage.local.get('userReleases');
        const rest = userReleases.filter((x) => !(x.plugin_id === r.plugin_id && x.version === r.version && x.commit === r.commit));
        await chrome.storage.local.set({userReleases: [...rest, r]});
        await chrome.runtime.sendMessage({type: 'releasesChanged'});
        $('load-result').textContent = `Loaded release ${r.version}.`;
    } catch (e) {
        $('load-result').textContent = `Not loaded: ${e.message}`;
    }
    render();
});

$('export').addEventListener('click', async () => {
    const {records = []} = await chrome.storage.local.get('records');
    const blob = new Blob([JSON.stringify({exported: new Date().toISOString(), records}, null, 2)], {type: 'application/json'});
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = `e2ee-code-check-records-${Date.now()}.json`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
});

render();
chrome.storage.session.onChanged.addListener(() => render());
