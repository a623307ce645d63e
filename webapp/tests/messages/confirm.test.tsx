// The confirmation dialog the slash and send hooks await.
import React from 'react';
import {act, fireEvent, render, screen} from '@testing-library/react';

import {ConfirmController, makeConfirmRoot} from '../../src/messages/confirm';

const question = {title: 'Send this command unencrypted?', text: '/header the launch code', confirmLabel: 'Send unencrypted'};

test('shows the question and resolves with the answer; Cancel has the focus', async () => {
    const c = new ConfirmController();
    const Root = makeConfirmRoot(c);
    render(<Root/>);
    expect(screen.queryByTestId('e2ee-confirm-dialog')).toBeNull();

    let answer: Promise<boolean>;
    act(() => {
        answer = c.ask(question);
    });
    expect(screen.getByTestId('e2ee-confirm-text').textContent).toBe('/header the launch code');
    expect(document.activeElement).toBe(screen.getByTestId('e2ee-confirm-cancel'));
    act(() => fireEvent.click(screen.getByTestId('e2ee-confirm-ok')));
    await expect(answer!).resolves.toBe(true);
    expect(screen.queryByTestId('e2ee-confirm-dialog')).toBeNull();

    act(() => {
        answer = c.ask(question);
    });
    act(() => fireEvent.keyDown(screen.getByTestId('e2ee-confirm-dialog'), {key: 'Escape'}));
    await expect(answer!).resolves.toBe(false);
});

test('a new question answers the pending one "no"; teardown answers "no"', async () => {
    const c = new ConfirmController();
    const first = c.ask(question);
    const second = c.ask({...question, text: 'second'});
    await expect(first).resolves.toBe(false);
    expect(c.getSnapshot()?.text).toBe('second');
    c.close();
    await expect(second).resolves.toBe(false);
    expect(c.getSnapshot()).toBeNull();
});
