// A dialog in the host's Bootstrap markup (native look when the host CSS is there),
// with inline layout so it also works without it. Rendered into <body> to escape the
// channel view's stacking context.
import React from 'react';
import ReactDOM from 'react-dom';

import {colours, type Theme} from './theme';

interface Props {
    title: string;
    testId: string;
    theme: Theme;
    /** Called on Escape and on the header's close button; absent: the dialog can't be dismissed that way. */
    onDismiss?: () => void;
    footer: React.ReactNode;
    children: React.ReactNode;
}

export function Modal({title, testId, theme, onDismiss, footer, children}: Props) {
    const c = colours(theme);
    React.useEffect(() => {
        if (!onDismiss) {
            return undefined;
        }
        const onKey = (e: KeyboardEvent) => {
            if (e.key === 'Escape') {
                onDismiss();
            }
        };
        document.addEventListener('keydown', onKey);
        return () => document.removeEventListener('keydown', onKey);
    }, [onDismiss]);

    const dialog = (
        <div>
            <div
                className='modal-backdrop in'
                style={{position: 'fixed', inset: 0, background: '#000', opacity: 0.5, zIndex: 1040}}
            />
            <div
                className='modal in e2ee-modal'
                role='dialog'
                aria-modal='true'
                aria-label={title}
                data-testid={testId}
                style={{display: 'block', position: 'fixed', inset: 0, overflowY: 'auto', zIndex: 1050}}
            >
                <div
                    className='modal-dialog'
                    style={{maxWidth: 640, width: 'calc(100% - 32px)', margin: '64px auto'}}
                >
                    <div
                        className='modal-content'
                        style={{background: c.bg, color: c.fg, borderRadius: 8, boxShadow: '0 20px 32px rgba(0,0,0,0.12)'}}
                    >
                        <div
                            className='modal-header'
                            style={{display: 'flex', alignItems: 'center', padding: '20px 24px 8px'}}
                        >
                            <h4
                                className='modal-title'
                                style={{flex: 1, margin: 0, fontSize: 20, fontWeight: 600}}
                            >
                                {title}
                            </h4>
                            {onDismiss && (
                                <button
                                    type='button'
                                    className='close'
                                    aria-label='Close'
                                    onClick={onDismiss}
                                    style={{background: 'none', border: 0, fontSize: 24, color: c.fg, cursor: 'pointer'}}
                                >
                                    {'×'}
                                </button>
                            )}
                        </div>
                        <div
                            className='modal-body'
                            style={{padding: '8px 24px 16px', fontSize: 14, lineHeight: '20px'}}
                        >
                            {children}
                        </div>
                        <div
                            className='modal-footer'
                            style={{display: 'flex', justifyContent: 'flex-end', gap: 8, padding: '16px 24px 20px'}}
                        >
                            {footer}
                        </div>
                    </div>
                </div>
            </div>
        </div>
    );
    return ReactDOM.createPortal(dialog, document.body);
}
