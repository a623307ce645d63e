// The key features' root component: the open dialog and the notices. The host may
// mount Root more than once; only the first mounted instance renders.
import React from 'react';

import type {KeysUI, UIState} from '../ui';

import {BackupDialog} from './backup_dialog';
import {GPGConfirmDialog} from './gpg_dialog';
import {ImportDialog} from './import_dialog';
import {SetupDialog} from './setup_dialog';
import {Notices} from './notices';
import type {Theme} from './theme';

interface Props {
    theme?: Theme;
}

export function makeKeysRoot(ui: KeysUI): React.ComponentType<Props> {
    const owners: object[] = [];
    const ownerWatchers = new Set<() => void>();
    const ownersChanged = () => ownerWatchers.forEach((w) => w());

    function KeysRoot({theme}: Props) {
        const [state, setState] = React.useState<UIState>(() => ui.getState());
        const [token] = React.useState(() => ({}));
        const [isOwner, setIsOwner] = React.useState(false);

        React.useEffect(() => {
            const update = () => {
                setState(ui.getState());
                setIsOwner(owners[0] === token);
            };
            owners.push(token);
            ownerWatchers.add(update);
            const unsubscribe = ui.subscribe(update);
            ownersChanged();
            return () => {
                unsubscribe();
                ownerWatchers.delete(update);
                owners.splice(owners.indexOf(token), 1);
                ownersChanged(); // the next instance, if any, takes over
            };
        }, [token]);

        if (!isOwner) {
            return null;
        }
        const d = state.dialog;
        return (
            <>
                {d?.kind === 'gpgConfirm' && (
                    <GPGConfirmDialog
                        choice={d.choice}
                        theme={theme}
                        onAnswer={d.answer}
                    />
                )}
                {d?.kind === 'backup' && (
                    <BackupDialog
                        text={d.text}
                        gpgSentTo={d.gpgSentTo}
                        extras={d.extras}
                        theme={theme}
                        onClose={d.close}
                    />
                )}
                {d?.kind === 'setup' && (
                    <SetupDialog
                        hasServerKey={d.hasServerKey}
                        check={d.check}
                        touched={d.touched}
                        theme={theme}
                        onFinish={d.finish}
                    />
                )}
                {d?.kind === 'import' && (
                    <ImportDialog
                        check={d.check}
                        theme={theme}
                        onClose={d.close}
                    />
                )}
                <Notices
                    notices={state.notices}
                    theme={theme}
                    onDismiss={(id) => ui.dismiss(id)}
                />
            </>
        );
    }
    return KeysRoot;
}
