// The verdict for one page, from what the content script observed and the release hashes the
// extension knows (shipped in releases/, or loaded by the user). Pure functions: the service
// worker and the popup use them; docs/design.md §12.4 describes the rules.

export const PLUGIN_ID = 'org.mme2ee.e2ee';
export const HASHES_FORMAT = 'org.mme2ee.release-hashes/1';

const HEX64 = /^[0-9a-f]{64}$/;
const FILE_NAME = /^[A-Za-z0-9._-]+$/;

/** Checks a parsed <id>-<version>.hashes.json; returns it or throws an Error saying what is wrong. */
export function checkRelease(j) {
    if (!j || typeof j !== 'object' || j.format !== HASHES_FORMAT) {
        throw new Error(`not a release hashes file (format ${HASHES_FORMAT})`);
    }
    if (typeof j.plugin_id !== 'string' || !FILE_NAME.test(j.plugin_id) || typeof j.version !== 'string' || !j.version) {
        throw new Error('plugin_id or version missing');
    }
    const w = j.webapp;
    if (!w || typeof w.bundle_file !== 'string' || typeof w.served_name !== 'string' || !w.files || typeof w.files !== 'object') {
        throw new Error('webapp section missing');
    }
    for (const [name, digest] of Object.entries(w.files)) {
        if (!FILE_NAME.test(name) || typeof digest !== 'string' || !HEX64.test(digest)) {
            throw new Error(`webapp file ${JSON.stringify(name)} has no SHA-256`);
        }
    }
    if (!HEX64.test(w.files[w.bundle_file] || '')) {
        throw new Error('webapp bundle has no SHA-256');
    }
    return {
        plugin_id: j.plugin_id, version: j.version, commit: typeof j.commit === 'string' ? j.commit : '',
        webapp: {bundle_file: w.bundle_file, served_name: w.served_name, files: {...w.files}},
    };
}

const BUNDLE_NAME = /_[0-9a-f]{16}_bundle\.js$/;

/**
 * tab: {pageURL, files: [{url, pluginId, file, status, sha256, bytes, pageBytes, error, how}],
 *       pluginList: [...] | null, scripts: [url], inline: n}
 * returns {state: 'verified'|'mismatch'|'unknown'|'none', release?, problems: [], ours: [], others: []}
 */
export function evaluate(releases, tab) {
    const ourIds = new Set([PLUGIN_ID, ...releases.map((r) => r.plugin_id)]);
    const files = tab.files || [];
    const ours = files.filter((f) => ourIds.has(f.pluginId));
    const others = otherPlugins(ourIds, files, tab.pluginList);
    const out = {state: 'none', problems: [], notes: [], ours, others};
    if (!ours.length) {
        out.notes.push('No code of the E2EE plugin seen on this page (yet).');
        return out;
    }
    const unreadable = ours.filter((f) => !f.sha256);
    for (const f of unreadable) {
        out.notes.push(`${f.file}: could not be re-read (${f.error || `HTTP ${f.status}`}), so it was not checked`);
    }
    for (const f of ours) {
        if (f.sha256 && f.pageBytes !== undefined && f.pageBytes !== f.bytes) {
            out.problems.push(`${f.file}: the page received ${f.pageBytes} bytes, the re-read copy has ${f.bytes} (${f.url})`);
        }
    }
    const bundles = ours.filter((f) => BUNDLE_NAME.test(f.file) && f.sha256);
    const claimed = claimedVersion(ourIds, tab.pluginList);
    let release = null;
    for (const b of bundles) {
        const byHash = releases.find((r) => ourIds.has(r.plugin_id) && r.webapp.files[r.webapp.bundle_file] === b.sha256);
        if (byHash) {
            release = release || byHash;
            continue;
        }
        // Not any release's bundle. Is it one that should have been? The server's claimed version,
        // or the served name (FNV of the release's bundle, kept when the file is changed later).
        const expected = releases.find((r) => ourIds.has(r.plugin_id) && (r.version === claimed || r.webapp.served_name === b.file));
        if (expected) {
            release = release || expected;
            out.problems.push(`${b.file}: SHA-256 ${b.sha256}, release ${expected.version}'s bundle is ${expected.webapp.files[expected.webapp.bundle_file]} (${b.url})`);
        } else {
            out.notes.push(`${b.file}: SHA-256 ${b.sha256} is in no release this extension knows` +
                (claimed ? ` (the server says version ${claimed})` : ''));
        }
    }
    if (release) {
        for (const f of ours) {
            if (!f.sha256 || BUNDLE_NAME.test(f.file)) {
                continue;
            }
            const expected = release.webapp.files[f.file];
            if (!expected) {
                out.problems.push(`${f.file}: not a file of release ${release.version} (${f.url})`);
            } else if (expected !== f.sha256) {
                out.problems.push(`${f.file}: SHA-256 ${f.sha256}, release ${release.version}'s is ${expected} (${f.url})`);
            }
        }
        out.release = {version: release.version, commit: release.commit};
    }
    if (out.problems.length) {
        out.state = 'mismatch';
    } else if (release && bundles.length && !unreadable.length && bundles.every((b) => releases.some((r) => r.webapp.files[r.webapp.bundle_file] === b.sha256))) {
        out.state = 'verified';
    } else {
        out.state = 'unknown';
        if (!bundles.length) {
            out.notes.push('The plugin bundle itself was not seen or could not be read.');
        }
    }
    return out;
}

function claimedVersion(ourIds, list) {
    if (!Array.isArray(list)) {
        return undefined;
    }
    const m = list.find((p) => p && ourIds.has(p.id));
    return m && typeof m.version === 'string' ? m.version : undefined;
}

/** Other plugins with web app code: what the page loaded from their folders, and what the server lists. */
function otherPlugins(ourIds, files, list) {
    const byId = new Map();
    const get = (id) => {
        if (!byId.has(id)) {
            byId.set(id, {id, version: '', listed: false, files: []});
        }
        return byId.get(id);
    };
    for (const f of files) {
        if (!ourIds.has(f.pluginId)) {
            get(f.pluginId).files.push({file: f.file, url: f.url, sha256: f.sha256 || '', status: f.status || 0});
        }
    }
    if (Array.isArray(list)) {
        for (const p of list) {
            if (p && typeof p.id === 'string' && !ourIds.has(p.id) && p.webapp && p.webapp.bundle_path) {
                const o = get(p.id);
                o.listed = true;
                o.version = typeof p.version === 'string' ? p.version : '';
            }
        }
    }
    return [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
}
