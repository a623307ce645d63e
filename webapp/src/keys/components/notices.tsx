// The plugin's own toasts (a plugin cannot easily post ephemeral messages client-side).
import React from 'react';

import type {Notice} from '../ui';

import {colours, type Theme} from './theme';

interface Props {
    notices: Notice[];
    theme: Theme;
    onDismiss: (id: number) => void;
}

export function Notices({notices, theme, onDismiss}: Props) {
    if (notices.length === 0) {
        return null;
    }
    const c = colours(theme);
    const accent = {info: c.button, success: c.success, warning: c.warning, error: c.error};
    return (
        <div
            aria-live='polite'
            style={{position: 'fixed', right: 16, bottom: 16, zIndex: 1060, display: 'flex', flexDirection: 'column', gap: 8, maxWidth: 420}}
        >
            {notices.map((n) => (
                <div
                    key={n.id}
                    role={n.level === 'error' || n.level === 'warning' ? 'alert' : 'status'}
                    data-testid='e2ee-notice'
                    data-level={n.level}
                    style={{
                        display: 'flex',
                        gap: 8,
                        alignItems: 'flex-start',
                        background: c.bg,
                        color: c.fg,
                        borderLeft: `4px solid ${accent[n.level]}`,
                        borderRadius: 4,
                        boxShadow: '0 4px 12px rgba(0,0,0,0.16)',
                        padding: '10px 12px',
                        fontSize: 14,
                        lineHeight: '20px',
                    }}
                >
                    <span style={{flex: 1}}>{n.text}</span>
                    <button
                        type='button'
                        aria-label='Dismiss'
                        data-testid='e2ee-notice-dismiss'
                        onClick={() => onDismiss(n.id)}
                        style={{background: 'none', border: 0, color: c.fg, cursor: 'pointer', fontSize: 18, lineHeight: '20px'}}
                    >
                        {'×'}
                    </button>
                </div>
            ))}
        </div>
    );
}
