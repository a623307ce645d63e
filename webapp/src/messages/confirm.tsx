// A yes/no question before something is sent in clear (a slash command's text, a plaintext
// post in a channel that was encrypted). The hooks that ask are async: they await the answer.
import React, {useEffect, useRef, useSyncExternalStore} from 'react';

export interface Question {
    title: string;
    text: string;
    confirmLabel: string;
}

interface Pending extends Question {
    answer(yes: boolean): void;
}

/** At most one question on screen; a new one first answers the old one "no". */
export class ConfirmController {
    private pending: Pending | null = null;
    private readonly listeners = new Set<() => void>();

    getSnapshot = (): Pending | null => this.pending;

    subscribe = (listener: () => void): (() => void) => {
        this.listeners.add(listener);
        return () => {
            this.listeners.delete(listener);
        };
    };

    ask(question: Question): Promise<boolean> {
        this.pending?.answer(false);
        return new Promise((resolve) => {
            const p: Pending = {
                ...question,
                answer: (yes) => {
                    if (this.pending === p) {
                        this.pending = null;
                        this.emit();
                    }
                    resolve(yes);
                },
            };
            this.pending = p;
            this.emit();
        });
    }

    /** Plugin teardown: a pending question gets a "no". */
    close(): void {
        this.pending?.answer(false);
    }

    private emit(): void {
        for (const listener of [...this.listeners]) {
            listener();
        }
    }
}

const overlay: React.CSSProperties = {
    position: 'fixed', inset: 0, background: 'rgba(0,0,0,0.5)', zIndex: 10000,
    display: 'flex', alignItems: 'center', justifyContent: 'center',
};
const dialog: React.CSSProperties = {
    background: 'var(--center-channel-bg, #fff)', color: 'var(--center-channel-color, #3f4350)',
    borderRadius: 8, padding: 24, width: 'min(560px, 90vw)', boxShadow: '0 20px 32px rgba(0,0,0,0.12)',
};

export function makeConfirmRoot(controller: ConfirmController): React.FC {
    function ConfirmDialog({q}: {q: Pending}): React.ReactElement {
        const cancel = useRef<HTMLButtonElement>(null);
        useEffect(() => {
            cancel.current?.focus(); // Enter must not confirm by accident
        }, []);
        return (
            <div style={overlay} onClick={() => q.answer(false)}>
                <div
                    role='alertdialog'
                    aria-modal='true'
                    aria-label={q.title}
                    data-testid='e2ee-confirm-dialog'
                    style={dialog}
                    onClick={(e) => e.stopPropagation()}
                    onKeyDown={(e) => {
                        if (e.key === 'Escape') {
                            q.answer(false);
                        }
                    }}
                >
                    <h2 style={{fontSize: 18, marginTop: 0}}>{q.title}</h2>
                    <p data-testid='e2ee-confirm-text' style={{whiteSpace: 'pre-wrap'}}>{q.text}</p>
                    <div style={{display: 'flex', justifyContent: 'flex-end', gap: 8, marginTop: 16}}>
                        <button ref={cancel} type='button' className='btn btn-tertiary' data-testid='e2ee-confirm-cancel' onClick={() => q.answer(false)}>{'Cancel'}</button>
                        <button type='button' className='btn btn-danger' data-testid='e2ee-confirm-ok' onClick={() => q.answer(true)}>{q.confirmLabel}</button>
                    </div>
                </div>
            </div>
        );
    }

    function ConfirmRoot(): React.ReactElement | null {
        const q = useSyncExternalStore(controller.subscribe, controller.getSnapshot);
        return q ? <ConfirmDialog key={q.title + q.text} q={q}/> : null;
    }
    return ConfirmRoot;
}
