// The host's `plugins` slice, shaped like Mattermost's (reducers/plugins): manifests, and
// registered components/hooks per pluggable name, each list sorted by pluginId.
import type {AnyAction} from 'redux';

export interface Registered {
    id: string;
    pluginId: string;
    [key: string]: unknown;
}

export interface PluginsState {
    plugins: Record<string, {id: string; version: string; webapp?: {bundle_path: string}}>;
    components: Record<string, Registered[]>;
    postTypes: Record<string, Registered & {type: string; component: unknown}>;
    // As the web app's reducers/plugins: per plugin, per lower-cased setting key.
    adminConsoleCustomComponents: Record<string, Record<string, {pluginId: string; key: string; component: unknown; options: {showTitle?: boolean}}>>;
}

export const RECEIVED_WEBAPP_PLUGINS = 'RECEIVED_WEBAPP_PLUGINS';
export const RECEIVED_PLUGIN_COMPONENT = 'RECEIVED_PLUGIN_COMPONENT';
export const REMOVED_PLUGIN_COMPONENT = 'REMOVED_PLUGIN_COMPONENT';
export const RECEIVED_PLUGIN_POST_COMPONENT = 'RECEIVED_PLUGIN_POST_COMPONENT';
export const REMOVED_PLUGIN_POST_COMPONENT = 'REMOVED_PLUGIN_POST_COMPONENT';
export const REMOVED_WEBAPP_PLUGIN = 'REMOVED_WEBAPP_PLUGIN';
export const RECEIVED_ADMIN_CONSOLE_CUSTOM_COMPONENT = 'RECEIVED_ADMIN_CONSOLE_CUSTOM_COMPONENT';

const initial: PluginsState = {plugins: {}, components: {}, postTypes: {}, adminConsoleCustomComponents: {}};

function sortByPlugin(list: Registered[]): Registered[] {
    return [...list].sort((a, b) => a.pluginId.localeCompare(b.pluginId));
}

export function pluginsReducer(state: PluginsState = initial, action: AnyAction): PluginsState {
    switch (action.type) {
    case RECEIVED_WEBAPP_PLUGINS: {
        const plugins: PluginsState['plugins'] = {};
        for (const m of action.data) {
            plugins[m.id] = m;
        }
        return {...state, plugins};
    }
    case RECEIVED_PLUGIN_COMPONENT: {
        const list = state.components[action.name] || [];
        return {...state, components: {...state.components, [action.name]: sortByPlugin([...list, action.data])}};
    }
    case REMOVED_PLUGIN_COMPONENT: {
        const components: PluginsState['components'] = {};
        for (const [name, list] of Object.entries(state.components)) {
            components[name] = list.filter((c) => c.id !== action.id);
        }
        return {...state, components};
    }
    case RECEIVED_PLUGIN_POST_COMPONENT: {
        const existing = state.postTypes[action.data.type];
        // Two plugins on one type: the lowest pluginId wins.
        if (existing && existing.pluginId < action.data.pluginId) {
            return state;
        }
        return {...state, postTypes: {...state.postTypes, [action.data.type]: action.data}};
    }
    case REMOVED_PLUGIN_POST_COMPONENT: {
        const postTypes = {...state.postTypes};
        for (const [type, c] of Object.entries(postTypes)) {
            if (c.id === action.id) {
                delete postTypes[type];
            }
        }
        return {...state, postTypes};
    }
    case RECEIVED_ADMIN_CONSOLE_CUSTOM_COMPONENT: {
        const {pluginId, key} = action.data;
        const mine = {...state.adminConsoleCustomComponents[pluginId], [String(key).toLowerCase()]: action.data};
        return {...state, adminConsoleCustomComponents: {...state.adminConsoleCustomComponents, [pluginId]: mine}};
    }
    case REMOVED_WEBAPP_PLUGIN: {
        const components: PluginsState['components'] = {};
        for (const [name, list] of Object.entries(state.components)) {
            components[name] = list.filter((c) => c.pluginId !== action.data.id);
        }
        const postTypes = {...state.postTypes};
        for (const [type, c] of Object.entries(postTypes)) {
            if (c.pluginId === action.data.id) {
                delete postTypes[type];
            }
        }
        const plugins = {...state.plugins};
        delete plugins[action.data.id];
        const adminConsoleCustomComponents = {...state.adminConsoleCustomComponents};
        delete adminConsoleCustomComponents[action.data.id];
        return {plugins, components, postTypes, adminConsoleCustomComponents};
    }
    default:
        return state;
    }
}

// views.posts.editingPost as the web app keeps it (actions/views/posts: setEditingPost /
// unsetEditingPost dispatch TOGGLE_EDITING_POST); plugins may watch it. views.browser.focused
// (window focus/blur) and views.rhs (the open thread), which desktop notifications read.
// views.lhs.currentStaticPageId ('threads' in the Threads view; actions/views/lhs selectStaticPage)
// and views.threads.selectedThreadIdInTeam (reducers/views/threads, CHANGED_SELECTED_THREAD).
export interface ViewsState {
    posts: {editingPost: {postId?: string; show: boolean; isRHS?: boolean}};
    browser: {focused: boolean};
    rhs: {isSidebarOpen: boolean; selectedPostId: string};
    lhs: {currentStaticPageId: string};
    threads: {selectedThreadIdInTeam: Record<string, string>};
}

export const BROWSER_CHANGE_FOCUS = 'BROWSER_CHANGE_FOCUS';
export const HOST_RHS_THREAD = 'HOST_RHS_THREAD';
export const SELECT_STATIC_PAGE = 'SELECT_STATIC_PAGE';
export const CHANGED_SELECTED_THREAD = 'CHANGED_SELECTED_THREAD';

const initialViews: ViewsState = {posts: {editingPost: {show: false}}, browser: {focused: true}, rhs: {isSidebarOpen: false, selectedPostId: ''},
    lhs: {currentStaticPageId: ''}, threads: {selectedThreadIdInTeam: {}}};

export function viewsReducer(state: ViewsState = initialViews, action: AnyAction): ViewsState {
    switch (action.type) {
    case 'TOGGLE_EDITING_POST':
        return {...state, posts: {...state.posts, editingPost: {...action.data}}};
    case BROWSER_CHANGE_FOCUS:
        return {...state, browser: {focused: Boolean(action.focus)}};
    case HOST_RHS_THREAD:
        return {...state, rhs: {isSidebarOpen: Boolean(action.postId), selectedPostId: action.postId || ''}};
    case SELECT_STATIC_PAGE:
        return {...state, lhs: {currentStaticPageId: action.data || ''}};
    case CHANGED_SELECTED_THREAD:
        return {...state, threads: {selectedThreadIdInTeam: {...state.threads.selectedThreadIdInTeam, [action.data.team_id]: action.data.thread_id}}};
    default:
        return state;
    }
}
