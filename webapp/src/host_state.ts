// The one place that reads the host's Redux state. What mattermost-redux has a selector for is
// read through it (current user, current channel, users, my channel memberships, config,
// preferences), so the paths into state.entities are the host's own; missing profiles are
// loaded with the REST call and the action mattermost-redux's getProfilesByIds uses.
// Left as paths, and why (docs/design.md §2.2): posts (the posts selector module adds ~100 KB
// to main.js), and the web app's views.* (not part of mattermost-redux).
import UserTypes from 'mattermost-redux/action_types/users';
import {getCurrentChannelId, getCurrentUser, getCurrentUserId, getMyChannelMemberships, getUsers} from 'mattermost-redux/selectors/entities/common';
import {getConfig} from 'mattermost-redux/selectors/entities/general';
import {get as getPreference} from 'mattermost-redux/selectors/entities/preferences';
import type {ClientConfig} from '@mattermost/types/config';
import type {ChannelMembership} from '@mattermost/types/channels';
import type {Post} from '@mattermost/types/posts';
import type {GlobalState} from '@mattermost/types/store';
import type {UserProfile} from '@mattermost/types/users';

// Selectors assume a complete host state; before login (and in tests) parts may be missing.
function guarded<A extends unknown[], R>(select: (state: GlobalState, ...args: A) => R | undefined, fallback: R): (state: unknown, ...args: A) => R {
    return (state, ...args) => {
        try {
            return select(state as GlobalState, ...args) ?? fallback;
        } catch {
            return fallback;
        }
    };
}

export const hostState = {
    currentUserId: guarded(getCurrentUserId, ''),
    currentUser: guarded<[], UserProfile | undefined>(getCurrentUser, undefined),
    currentChannelId: guarded(getCurrentChannelId, ''),
    users: guarded<[], Record<string, UserProfile>>(getUsers, {}),
    user: guarded<[string], UserProfile | undefined>((s, id) => getUsers(s)[id], undefined),
    myChannelMember: guarded<[string], ChannelMembership | undefined>((s, channelId) => getMyChannelMemberships(s)[channelId], undefined),
    config: guarded<[], Partial<ClientConfig>>(getConfig, {}),
    /** A preference of the current user; '' when unset. */
    preference: guarded<[string, string], string>((s, category, name) => getPreference(s, category, name, ''), ''),
    post: guarded<[string], Post | undefined>((s, id) => s.entities.posts.posts[id], undefined),
};

export interface ProfileLoader {
    /** Loads the profiles of these users that the host's state lacks (batched; each user once). */
    loadMissing(userIds: string[]): void;
}

/** Profiles fetched with `fetchProfiles` (POST /api/v4/users/ids) and stored with the action
 * mattermost-redux dispatches for them, so the host keeps them as it keeps its own. */
export function createProfileLoader(store: {getState(): unknown; dispatch(action: {type: string; data: unknown}): unknown},
    fetchProfiles: (userIds: string[]) => Promise<UserProfile[]>): ProfileLoader {
    const pending = new Set<string>();
    const asked = new Set<string>(); // a deleted user would otherwise be asked for at every render
    let scheduled = false;
    const flush = async () => {
        scheduled = false;
        const ids = [...pending].filter((id) => !hostState.user(store.getState(), id));
        pending.clear();
        if (!ids.length) {
            return;
        }
        ids.forEach((id) => asked.add(id));
        try {
            for (let i = 0; i < ids.length; i += 100) {
                const profiles = await fetchProfiles(ids.slice(i, i + 100));
                if (profiles.length) {
                    store.dispatch({type: UserTypes.RECEIVED_PROFILES_LIST, data: profiles});
                }
            }
        } catch (err) {
            console.warn('E2EE: could not load user profiles:', err instanceof Error ? err.message : 'unknown error');
        }
    };
    return {
        loadMissing(userIds) {
            const state = store.getState();
            for (const id of userIds) {
                if (id && !asked.has(id) && !hostState.user(state, id)) {
                    pending.add(id);
                }
            }
            if (pending.size && !scheduled) {
                scheduled = true;
                queueMicrotask(() => void flush());
            }
        },
    };
}
