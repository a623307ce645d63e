// Draft syncing is turned off for users with a key, and their encrypted channels' server drafts deleted.
import type {DraftJSON, EncryptionMethod, PreferenceJSON} from '../../src/client';
import {DRAFTS_TURNED_OFF_NOTICE, guardDrafts} from '../../src/messages/drafts';

import {FakeMyKeys, makeUser} from './helpers';

const ME = 'alicexxxxxxxxxxxxxxxxxxxxx';

async function setup(opts: {pref?: string; allowSynced?: string; keys?: boolean; drafts?: Record<string, DraftJSON[]>; encryptedOnScreen?: boolean} = {}) {
    let encryptedOnScreen = opts.encryptedOnScreen ?? false;
    const alice = await makeUser('alice');
    const myKeys = new FakeMyKeys(opts.keys === false ? null : alice);
    const prefs: Record<string, {value: string}> = opts.pref === undefined ? {} : {'advanced_settings--sync_drafts': {value: opts.pref}};
    let state = {
        entities: {
            general: {config: {AllowSyncedDrafts: opts.allowSynced ?? 'true'}},
            users: {currentUserId: ME},
            teams: {currentTeamId: 'team1', myMembers: {team1: {}, team2: {}}},
            preferences: {myPreferences: prefs},
        },
    };
    const listeners = new Set<() => void>();
    const serverDrafts: Record<string, DraftJSON[]> = opts.drafts ?? {};
    const methods: Record<string, EncryptionMethod> = {enc1: 'p2p', plain1: 'none'};
    const saved: PreferenceJSON[][] = [];
    const deleted: string[] = [];
    const notices: string[] = [];
    const setPref = (value: string) => {
        state = {...state, entities: {...state.entities, preferences: {myPreferences: {...state.entities.preferences.myPreferences, 'advanced_settings--sync_drafts': {value}}}}};
        listeners.forEach((l) => l());
    };
    const guard = guardDrafts({
        myKeys,
        getState: () => state,
        dispatch: (action) => {
            const a = action as {type: string; data: PreferenceJSON[]};
            if (a.type === 'RECEIVED_PREFERENCES') {
                setPref(a.data[0].value);
            }
        },
        rest: {
            async savePreferences(userId, list) {
                expect(userId).toBe(ME);
                saved.push(list);
            },
            async getDrafts(teamId) {
                if (!serverDrafts[teamId]) {
                    throw new Error('501');
                }
                return serverDrafts[teamId];
            },
            async deleteDraft(channelId, rootId) {
                deleted.push(`${channelId}/${rootId}`);
                for (const team of Object.keys(serverDrafts)) {
                    serverDrafts[team] = serverDrafts[team].filter((d) => d.channel_id !== channelId || d.root_id !== rootId);
                }
            },
        },
        methodOf: async (id) => {
            if (!methods[id]) {
                throw new Error('unknown');
            }
            return methods[id];
        },
        notify: (text) => notices.push(text),
        inEncryptedChannel: () => encryptedOnScreen,
    }, (l) => {
        listeners.add(l);
        return () => listeners.delete(l);
    });
    await guard.run();
    const openEncrypted = () => {
        encryptedOnScreen = true;
        listeners.forEach((l) => l());
    };
    return {guard, saved, deleted, notices, myKeys, alice, setPref, openEncrypted};
}

const draft = (channel_id: string, root_id = ''): DraftJSON => ({channel_id, root_id, message: 'the launch code'});

test('a user with a key: sync_drafts is set to "false", encrypted channels\' drafts are deleted, the user told', async () => {
    const t = await setup({drafts: {team1: [draft('enc1'), draft('enc1', 'root1'), draft('plain1'), draft('gone1')], team2: []}});
    expect(t.saved).toEqual([[{user_id: ME, category: 'advanced_settings', name: 'sync_drafts', value: 'false'}]]);
    expect(t.deleted.sort()).toEqual(['enc1/', 'enc1/root1', 'gone1/']); // unknown state: deleted too
    expect(t.notices).toEqual([DRAFTS_TURNED_OFF_NOTICE]);
    expect(DRAFTS_TURNED_OFF_NOTICE).toMatch(/unencrypted/);

    // The user turns it back on: turned off again, and told again.
    t.setPref('true');
    await t.guard.run();
    expect(t.saved).toHaveLength(2);
    expect(t.notices).toHaveLength(2);
    // Unchanged preference: nothing more.
    await t.guard.run();
    expect(t.saved).toHaveLength(2);
    expect(t.notices).toHaveLength(2);
});

test('already off: nothing saved, nobody told; leftover drafts still deleted', async () => {
    const t = await setup({pref: 'false', drafts: {team1: [draft('enc1')]}});
    expect(t.saved).toEqual([]);
    expect(t.notices).toEqual([]);
    expect(t.deleted).toEqual(['enc1/']);
});

test('without a key nothing changes until one is made', async () => {
    const t = await setup({keys: false, drafts: {team1: [draft('enc1')]}});
    expect(t.saved).toEqual([]);
    expect(t.deleted).toEqual([]);
    t.myKeys.set(t.alice);
    await new Promise((r) => setTimeout(r, 0));
    await t.guard.run();
    expect(t.saved).toHaveLength(1);
    expect(t.deleted).toEqual(['enc1/']);
});

test('server drafts off (AllowSyncedDrafts false): the preference is still set, no draft route is called', async () => {
    const t = await setup({allowSynced: 'false', drafts: {team1: [draft('enc1')]}});
    expect(t.saved).toHaveLength(1);
    expect(t.deleted).toEqual([]);
});

test('a user without a key who opens an encrypted channel: turned off as well (what they type there would sync)', async () => {
    const t = await setup({keys: false, drafts: {team1: [draft('enc1')]}});
    expect(t.saved).toEqual([]);
    t.openEncrypted();
    await t.guard.run();
    expect(t.saved).toHaveLength(1);
    expect(t.deleted).toEqual(['enc1/']);
    expect(t.notices).toEqual([DRAFTS_TURNED_OFF_NOTICE]);
});
