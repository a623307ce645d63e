// What the key features show the user: at most one dialog and a few notices. Plain
// observable state, rendered by components/root.tsx; kept in memory only (the backup
// text lives here while its dialog is open and nowhere else).

export type NoticeLevel = 'info' | 'success' | 'warning' | 'error';

export interface Notice {
    id: number;
    level: NoticeLevel;
    text: string;
}

export interface GPGKeyChoice {
    keyServer: string;
    email: string;
    fingerprint: string;
    userIDs: string[];
}

/** Outcome of checking a pasted backup. */
export type ImportCheck =
    | {ok: false; error: string}
    | {
        ok: true;
        /** Set when the pasted key is not the user's current key (server or browser). */
        replaces: {currentFingerprint: string; newFingerprint: string} | null;
        /** Stores and registers the key; resolves to an error message or null on success. */
        commit(): Promise<string | null>;
    };

/** How the setup dialog ended: the user chose to create a key, restored one, or closed it. */
export type SetupChoice = 'create' | 'restored' | 'closed';

export interface BackupExtras {
    /** Earlier keys kept in this browser: the dialog then offers an all-keys backup. */
    earlierKeys: number;
    /** Name of the downloaded backup file. */
    fileName: string;
}

export type Dialog =
    | {kind: 'gpgConfirm'; choice: GPGKeyChoice; answer(send: boolean): void}
    | {kind: 'backup'; text: string; gpgSentTo: string | null; extras: BackupExtras; close(): void}
    | {kind: 'import'; check(text: string): Promise<ImportCheck>; close(): void}
    | {kind: 'setup'; hasServerKey: boolean; check(text: string): Promise<ImportCheck>; touched: {value: boolean}; finish(choice: SetupChoice): void};

export interface UIState {
    dialog: Dialog | null;
    notices: Notice[];
}

const AUTO_DISMISS_MS = 10000;

export class KeysUI {
    private state: UIState = {dialog: null, notices: []};
    private listeners = new Set<() => void>();
    private nextId = 1;
    private timers = new Map<number, ReturnType<typeof setTimeout>>();

    getState(): UIState {
        return this.state;
    }

    subscribe(listener: () => void): () => void {
        this.listeners.add(listener);
        return () => {
            this.listeners.delete(listener);
        };
    }

    private setState(next: Partial<UIState>): void {
        this.state = {...this.state, ...next};
        for (const l of [...this.listeners]) {
            l();
        }
    }

    /** Shows a notice; info/success go away by themselves, warnings and errors stay until dismissed. */
    notify(level: NoticeLevel, text: string): number {
        const id = this.nextId++;
        this.setState({notices: [...this.state.notices, {id, level, text}]});
        if (level === 'info' || level === 'success') {
            this.timers.set(id, setTimeout(() => this.dismiss(id), AUTO_DISMISS_MS));
        }
        return id;
    }

    dismiss(id: number): void {
        const timer = this.timers.get(id);
        if (timer) {
            clearTimeout(timer);
            this.timers.delete(id);
        }
        if (this.state.notices.some((n) => n.id === id)) {
            this.setState({notices: this.state.notices.filter((n) => n.id !== id)});
        }
    }

    get dialogOpen(): boolean {
        return this.state.dialog !== null;
    }

    private closeDialog(d: Dialog): void {
        if (this.state.dialog === d) {
            this.setState({dialog: null});
        }
    }

    /** Asks whether to send the backup, encrypted, to the GPG key found. */
    confirmGPG(choice: GPGKeyChoice): Promise<boolean> {
        return new Promise((resolve) => {
            const d: Dialog = {
                kind: 'gpgConfirm',
                choice,
                answer: (send) => {
                    this.closeDialog(d);
                    resolve(send);
                },
            };
            this.setState({dialog: d});
        });
    }

    /** The one setup dialog: create a key or restore a backup. Resolves with what happened. */
    openSetup(opts: {hasServerKey: boolean; check(text: string): Promise<ImportCheck>}): Promise<SetupChoice> {
        return new Promise((resolve) => {
            const d: Dialog = {
                kind: 'setup',
                hasServerKey: opts.hasServerKey,
                check: opts.check,
                touched: {value: false},
                finish: (choice) => {
                    this.closeDialog(d);
                    resolve(choice);
                },
            };
            this.setState({dialog: d});
        });
    }

    /** Closes a setup dialog the user has not acted on yet (a command takes its place). */
    closeIdleSetup(): boolean {
        const d = this.state.dialog;
        if (d?.kind === 'setup' && !d.touched.value) {
            d.finish('closed');
            return true;
        }
        return false;
    }

    /** Shows the clear-text backup once; resolves when the user closes it. */
    showBackup(text: string, gpgSentTo: string | null, extras: BackupExtras = {earlierKeys: 0, fileName: 'mm-e2ee-backup.txt'}): Promise<void> {
        return new Promise((resolve) => {
            const d: Dialog = {
                kind: 'backup',
                text,
                gpgSentTo,
                extras,
                close: () => {
                    this.closeDialog(d);
                    resolve();
                },
            };
            this.setState({dialog: d});
        });
    }

    /** Opens the paste-your-backup dialog; resolves when it closes (imported or cancelled). */
    openImport(check: (text: string) => Promise<ImportCheck>): Promise<void> {
        return new Promise((resolve) => {
            const d: Dialog = {
                kind: 'import',
                check,
                close: () => {
                    this.closeDialog(d);
                    resolve();
                },
            };
            this.setState({dialog: d});
        });
    }

    /** Closes whatever is open (plugin teardown): pending questions get a "no". */
    reset(): void {
        const d = this.state.dialog;
        if (d?.kind === 'gpgConfirm') {
            d.answer(false);
        } else if (d?.kind === 'setup') {
            d.finish('closed');
        } else if (d) {
            d.close();
        }
        for (const t of this.timers.values()) {
            clearTimeout(t);
        }
        this.timers.clear();
        this.setState({dialog: null, notices: []});
    }
}
