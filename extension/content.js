// Runs at document_start in every page of a site the user granted (isolated world: the page's
// scripts cannot see or change it). It watches every script the page loads, now and later, and
// every resource under /static/plugins/, re-reads each plugin file from the browser's cache and
// hashes it, and tells the service worker. It cannot stop anything from running.
(() => {
    const loadId = `${Date.now()}-${Math.random().toString(36).slice(2)}`;
    const seen = new Set();
    let listAsked = false;
    const send = (msg) => chrome.runtime.sendMessage({...msg, loadId}).catch(() => undefined);

    send({type: 'start', pageURL: location.href});

    const hex = (buf) => Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('');

    // Bytes the page itself received, from Resource Timing (same-origin files report it).
    function pageBytes(url) {
        const entries = performance.getEntriesByName(url, 'resource');
        const e = entries[entries.length - 1];
        return e && e.decodedBodySize > 0 ? e.decodedBodySize : undefined;
    }

    async function examine(url, how) {
        const m = /^(.*)\/static\/plugins\/([^/]+)\/([^/?#]+)$/.exec(url.split(/[?#]/)[0]);
        if (!m) {
            send({type: 'script', url, how});
            return;
        }
        const [, base, pluginId, file] = m;
        if (!listAsked && new URL(url).origin === location.origin) {
            listAsked = true;
            askPluginList(base);
        }
        const obs = {type: 'file', url, how, pluginId, file};
        try {
            // force-cache: the copy the page just got, when the server allowed caching it
            // (Mattermost sends max-age of a year for /static/plugins/).
            const r = await fetch(url, {cache: 'force-cache', credentials: 'same-origin'});
            obs.status = r.status;
            if (r.ok) {
                const body = await r.arrayBuffer();
                obs.bytes = body.byteLength;
                if (globalThis.crypto && crypto.subtle) {
                    obs.sha256 = hex(await crypto.subtle.digest('SHA-256', body));
                } else {
                    // Not a secure context (plain http to a remote host): the service worker hashes.
                    let bin = '';
                    const u8 = new Uint8Array(body);
                    for (let i = 0; i < u8.length; i += 0x8000) {
                        bin += String.fromCharCode.apply(null, u8.subarray(i, i + 0x8000));
                    }
                    obs.base64 = btoa(bin);
                }
            }
        } catch (e) {
            obs.error = String(e && e.message ? e.message : e);
        }
        obs.pageBytes = pageBytes(url);
        send(obs);
    }

    async function askPluginList(base) {
        try {
            const r = await fetch(`${base}/api/v4/plugins/webapp`, {credentials: 'same-origin', cache: 'no-store'});
            send({type: 'pluginList', status: r.status, list: r.ok ? await r.json() : null});
        } catch (e) {
            send({type: 'pluginList', status: 0, list: null});
        }
    }

    function consider(url, how) {
        if (!url || seen.has(url)) {
            return;
        }
        let abs;
        try {
            abs = new URL(url, location.href).href;
        } catch {
            return;
        }
        if (seen.has(abs)) {
            return;
        }
        seen.add(url);
        seen.add(abs);
        examine(abs, how);
    }

    function scanNode(node) {
        if (node.nodeType !== 1) {
            return;
        }
        if (node.tagName === 'SCRIPT') {
            if (node.src) {
                consider(node.src, 'script element');
            } else if (node.textContent) {
                send({type: 'inline', length: node.textContent.length});
            }
        }
        if (node.querySelectorAll) {
            node.querySelectorAll('script[src]').forEach((s) => consider(s.src, 'script element'));
        }
    }

    // Script elements, including those added later (Mattermost adds plugin bundles this way,
    // webpack adds lazy chunks this way).
    new MutationObserver((muts) => {
        for (const m of muts) {
            m.addedNodes.forEach(scanNode);
        }
    }).observe(document, {childList: true, subtree: true});
    if (document.documentElement) {
        scanNode(document.documentElement);
    }

    // Every resource the page fetched (scripts, fetch/XHR, workers' imports seen by this page),
    // from the start of the page (buffered) on.
    new PerformanceObserver((list) => {
        for (const e of list.getEntries()) {
            if (e.name.includes('/static/plugins/') || e.initiatorType === 'script') {
                consider(e.name, `resource (${e.initiatorType})`);
            }
        }
    }).observe({type: 'resource', buffered: true});
})();
