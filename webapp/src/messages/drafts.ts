// Synced drafts: the host saves what the user types to the server (POST /api/v4/drafts) while
// typing, in clear, before any hook runs. For a user who has a key, or who opens an encrypted
// channel, we turn the host's own per-user switch off (preference advanced_settings/sync_drafts
// = "false", which its draft code honours) and delete what the server already holds for
// encrypted channels. (The server part cannot turn ServiceSettings.AllowSyncedDrafts off: see
// docs/admin-guide.md.)
import type {DraftJSON, EncryptionMethod, PreferenceJSON} from '../client';
import {hostState} from '../host_state';
import type {MyKeys} from '../types/my_keys';

export const SYNC_DRAFTS_CATEGORY = 'advanced_settings';
export const SYNC_DRAFTS_NAME = 'sync_drafts';

export const DRAFTS_TURNED_OFF_NOTICE = 'End-to-end encryption turned off "Allow message drafts to sync with the server" ' +
    '(Settings > Advanced) for your account: Mattermost saves what you type on the server, unencrypted, before it is ' +
    'sent. Your drafts now stay in this browser. Drafts of encrypted channels that were on the server have been deleted.';

export interface DraftGuardDeps {
    myKeys: MyKeys;
    getState(): unknown;
    dispatch(action: unknown): void;
    rest: {
        savePreferences(userId: string, preferences: PreferenceJSON[]): Promise<unknown>;
        getDrafts(teamId: string): Promise<DraftJSON[]>;
        deleteDraft(channelId: string, rootId: string): Promise<unknown>;
    };
    methodOf(channelId: string): Promise<EncryptionMethod>;
    /** Whether the channel on screen is known to be encrypted (a user without a key types there too). */
    inEncryptedChannel(): boolean;
    /** Tells the user, in the channel on screen. */
    notify(text: string): void;
}

interface DraftState {
    entities?: {
        general?: {config?: {AllowSyncedDrafts?: string}};
        users?: {currentUserId?: string};
        teams?: {currentTeamId?: string; myMembers?: Record<string, unknown>};
        preferences?: {myPreferences?: Record<string, {value?: string} | undefined>};
    };
}

export function syncDraftsPreference(state: unknown): string | undefined {
    return hostState.preference(state, SYNC_DRAFTS_CATEGORY, SYNC_DRAFTS_NAME) || undefined;
}

/** Runs now, when the user's keys change, when an encrypted channel is opened, and when the
 * preference is turned back on. */
export function guardDrafts(deps: DraftGuardDeps, subscribe: (listener: () => void) => () => void): {run(): Promise<void>; dispose(): void} {
    async function once(): Promise<void> {
        if (!deps.inEncryptedChannel() && !await deps.myKeys.get()) {
            return;
        }
        const state = deps.getState() as DraftState;
        const userId = hostState.currentUserId(state);
        if (!userId) {
            return;
        }
        let turnedOff = false;
        if (syncDraftsPreference(state) !== 'false') {
            const pref = {user_id: userId, category: SYNC_DRAFTS_CATEGORY, name: SYNC_DRAFTS_NAME, value: 'false'};
            await deps.rest.savePreferences(userId, [pref]);
            // The server also tells every session (preferences_changed); this one needs it now.
            deps.dispatch({type: 'RECEIVED_PREFERENCES', data: [pref]});
            turnedOff = true;
        }
        if (hostState.config(state).AllowSyncedDrafts === 'true') {
            await deleteEncryptedDrafts(state);
        }
        if (turnedOff) {
            // Once per change of the preference (it is kept on the server), so the user knows who changed it.
            deps.notify(DRAFTS_TURNED_OFF_NOTICE);
        }
    }

    async function deleteEncryptedDrafts(state: DraftState): Promise<void> {
        const teams = new Set(Object.keys(state.entities?.teams?.myMembers ?? {}));
        if (state.entities?.teams?.currentTeamId) {
            teams.add(state.entities.teams.currentTeamId);
        }
        for (const teamId of teams) {
            let drafts: DraftJSON[];
            try {
                drafts = await deps.rest.getDrafts(teamId);
            } catch {
                continue;
            }
            for (const d of Array.isArray(drafts) ? drafts : []) {
                if (!d || typeof d.channel_id !== 'string' || !d.channel_id) {
                    continue;
                }
                let method: EncryptionMethod | undefined;
                try {
                    method = await deps.methodOf(d.channel_id);
                } catch {
                    method = undefined; // unknown: deleted too, it may be encrypted
                }
                if (method !== 'none') {
                    await deps.rest.deleteDraft(d.channel_id, d.root_id || '').catch(() => undefined);
                }
            }
        }
    }

    // One run at a time, in order: a run asked for during another starts after it.
    let chain: Promise<void> = Promise.resolve();
    function run(): Promise<void> {
        chain = chain.then(once).catch((err) => {
            console.warn('e2ee: could not turn off draft syncing', err instanceof Error ? err.message : '');
        });
        return chain;
    }

    let lastPref = syncDraftsPreference(deps.getState());
    let lastEncrypted = deps.inEncryptedChannel();
    const unsubscribeStore = subscribe(() => {
        const pref = syncDraftsPreference(deps.getState());
        const encrypted = deps.inEncryptedChannel();
        const changed = pref !== lastPref || encrypted !== lastEncrypted;
        lastPref = pref;
        lastEncrypted = encrypted;
        if (changed && pref !== 'false') {
            run();
        }
    });
    const unsubscribeKeys = deps.myKeys.onChange(() => {
        run();
    });
    run();
    return {
        run,
        dispose() {
            unsubscribeStore();
            unsubscribeKeys();
        },
    };
}
