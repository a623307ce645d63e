// Unit tests of the extension's verdict rules (node --test extension/; run by make unit-test).
// The extension itself runs against the real server in e2e/tests/integrity.test.ts.
import assert from 'node:assert/strict';
import {test} from 'node:test';

import {checkRelease, evaluate} from './verify.js';

const H = (c) => c.repeat(64);
const release = checkRelease({
    format: 'org.mme2ee.release-hashes/1', plugin_id: 'org.mme2ee.e2ee', version: '1.0.0', commit: 'abc',
    webapp: {bundle_file: 'main.js', served_name: 'org.mme2ee.e2ee_00112233445566ff_bundle.js', bundle_path: '/static/x',
        files: {'main.js': H('a'), 'openpgp.1.js': H('b')}},
});
const bundle = (sha256, extra = {}) => ({url: 'https://chat/static/plugins/org.mme2ee.e2ee/org.mme2ee.e2ee_00112233445566ff_bundle.js',
    pluginId: 'org.mme2ee.e2ee', file: 'org.mme2ee.e2ee_00112233445566ff_bundle.js', status: 200, sha256, bytes: 10, ...extra});
const chunk = (sha256) => ({url: 'https://chat/static/plugins/org.mme2ee.e2ee/openpgp.1.js', pluginId: 'org.mme2ee.e2ee', file: 'openpgp.1.js', status: 200, sha256, bytes: 5});

test('the release bundle and chunk: verified, with the release named', () => {
    const v = evaluate([release], {files: [bundle(H('a')), chunk(H('b'))]});
    assert.equal(v.state, 'verified');
    assert.deepEqual(v.release, {version: '1.0.0', commit: 'abc'});
});

test('a changed bundle under the release name, or of the claimed version: mismatch', () => {
    assert.equal(evaluate([release], {files: [bundle(H('c'))]}).state, 'mismatch');
    const renamed = {...bundle(H('c')), file: 'org.mme2ee.e2ee_ffffffffffffffff_bundle.js'};
    assert.equal(evaluate([release], {files: [renamed], pluginList: [{id: 'org.mme2ee.e2ee', version: '1.0.0', webapp: {bundle_path: '/x'}}]}).state, 'mismatch');
});

test('a changed chunk, a file not in the release, or a re-read that differs in size: mismatch', () => {
    assert.equal(evaluate([release], {files: [bundle(H('a')), chunk(H('c'))]}).state, 'mismatch');
    const extra = {...chunk(H('b')), file: 'evil.js'};
    assert.match(evaluate([release], {files: [bundle(H('a')), extra]}).problems[0], /evil\.js: not a file of release 1\.0\.0/);
    assert.match(evaluate([release], {files: [bundle(H('a'), {pageBytes: 11})]}).problems[0], /the page received 11 bytes/);
});

test('a version it has no hashes for: unknown, not verified; nothing of ours: none', () => {
    const other = {...bundle(H('c')), file: 'org.mme2ee.e2ee_ffffffffffffffff_bundle.js'};
    const v = evaluate([release], {files: [other], pluginList: [{id: 'org.mme2ee.e2ee', version: '2.0.0', webapp: {bundle_path: '/x'}}]});
    assert.equal(v.state, 'unknown');
    assert.match(v.notes.join(), /the server says version 2\.0\.0/);
    assert.equal(evaluate([], {files: [bundle(H('a'))]}).state, 'unknown');
    assert.equal(evaluate([release], {files: [bundle(undefined, {status: 500})]}).state, 'unknown');
    assert.equal(evaluate([release], {files: []}).state, 'none');
});

test('other plugins: loaded files and those the server lists', () => {
    const o = {url: 'https://chat/static/plugins/com.x/com.x_1_bundle.js', pluginId: 'com.x', file: 'com.x_1_bundle.js', status: 200, sha256: H('d')};
    const v = evaluate([release], {files: [bundle(H('a')), o], pluginList: [{id: 'com.y', version: '2', webapp: {bundle_path: '/static/com.y/b.js'}}, {id: 'com.z'}]});
    assert.equal(v.state, 'verified');
    assert.deepEqual(v.others.map((p) => [p.id, p.listed, p.files.length]), [['com.x', false, 1], ['com.y', true, 0]]);
});

test('checkRelease refuses what is not a release hashes file', () => {
    for (const bad of [null, {}, {format: 'org.mme2ee.release-hashes/1', plugin_id: 'x', version: '1', webapp: {bundle_file: 'main.js', served_name: 's', files: {'main.js': 'zz'}}},
        {format: 'org.mme2ee.release-hashes/1', plugin_id: 'x', version: '1', webapp: {bundle_file: 'main.js', served_name: 's', files: {'../main.js': H('a')}}}]) {
        assert.throws(() => checkRelease(bad));
    }
});
