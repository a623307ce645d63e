// The plugin's System Console page (#/admin_console/plugins/plugin_<id>) as the web app renders
// it (admin_console/custom_plugin_settings + schema_admin_settings): the manifest's
// settings_schema from GET /api/v4/plugins, values from GET /api/v4/config under lower-cased
// keys, and for a "custom" setting the component the plugin registered with
// registerAdminConsoleCustomSetting, with the props the web app passes. Other setting types
// are shown read-only: the tests do not save settings through this page.
import React, {useEffect, useState} from 'react';
import {useSelector} from 'react-redux';

import {Client4} from 'mattermost-redux/client';

type AnyState = any;

interface Setting {
    key: string;
    display_name?: string;
    type: string;
    help_text?: string;
    default?: unknown;
}

export function adminConsolePluginId(hash: string): string | null {
    const m = hash.match(/^#\/admin_console\/plugins\/plugin_([^/?]+)/);
    return m ? decodeURIComponent(m[1]) : null;
}

export function AdminConsolePluginPage({pluginId}: {pluginId: string}) {
    const [schema, setSchema] = useState<{header?: string; settings: Setting[]} | null>(null);
    const [config, setConfig] = useState<AnyState>(null);
    const [error, setError] = useState('');
    const [saveNeeded, setSaveNeededState] = useState(false);
    const custom = useSelector((s: AnyState) => s.plugins.adminConsoleCustomComponents?.[pluginId] || {});

    useEffect(() => {
        (async () => {
            try {
                const plugins = await Client4.getPlugins();
                const manifest = [...plugins.active, ...plugins.inactive].find((m) => m.id === pluginId);
                if (!manifest) {
                    throw new Error(`no plugin ${pluginId}`);
                }
                setSchema((manifest as AnyState).settings_schema || {settings: []});
                setConfig(await Client4.getConfig());
            } catch (err) {
                setError((err as Error).message);
            }
        })();
    }, [pluginId]);

    if (error) {
        return <div data-testid='admin-console-error' className='error'>{error}</div>;
    }
    if (!schema || !config) {
        return <div data-testid='admin-console-loading'>{'Loading…'}</div>;
    }
    const values = config.PluginSettings?.Plugins?.[pluginId] || {};
    const saveActions: Array<() => Promise<unknown>> = [];
    return (
        <div className='admin-console' data-testid='admin-console-plugin' data-save-needed={saveNeeded ? '1' : '0'}>
            {schema.header && <div className='admin-console-header'>{schema.header}</div>}
            {schema.settings.map((setting) => {
                const key = setting.key.toLowerCase();
                const id = `PluginSettings.Plugins.${pluginId}.${key}`;
                const value = key in values ? values[key] : setting.default;
                if (setting.type === 'custom') {
                    const registered = custom[key];
                    if (!registered) {
                        return null;
                    }
                    const Component = registered.component as React.ComponentType<Record<string, unknown>>;
                    const element = (
                        <Component
                            id={id}
                            label={setting.display_name}
                            helpText={setting.help_text ? <span>{setting.help_text}</span> : null}
                            value={value}
                            disabled={false}
                            config={config}
                            license={{}}
                            setByEnv={false}
                            onChange={() => setSaveNeededState(true)}
                            registerSaveAction={(a: () => Promise<unknown>) => saveActions.push(a)}
                            setSaveNeeded={() => setSaveNeededState(true)}
                            unRegisterSaveAction={(a: () => Promise<unknown>) => saveActions.splice(saveActions.indexOf(a), 1)}
                            cancelSubmit={() => undefined}
                            showConfirm={false}
                        />
                    );
                    return (
                        <div key={key} className='form-group' data-testid={`admin-setting-${key}`}>
                            {registered.options?.showTitle ? <label className='control-label'>{setting.display_name}</label> : null}
                            <div>{element}</div>
                        </div>
                    );
                }
                return (
                    <div key={key} className='form-group' data-testid={`admin-setting-${key}`}>
                        <label className='control-label'>{setting.display_name}</label>
                        <input readOnly value={String(value ?? '')}/>
                        {setting.help_text && <div className='help-text'>{setting.help_text}</div>}
                    </div>
                );
            })}
        </div>
    );
}
