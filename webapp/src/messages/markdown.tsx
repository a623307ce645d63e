// Renders decrypted text with the host's own markdown (window.PostUtils), as normal posts
// look; plain text when the host does not provide it.
import React, {useMemo} from 'react';

interface PostUtilsGlobal {
    formatText?: (text: string, options?: Record<string, unknown>, emojiMap?: unknown) => string;
    messageHtmlToComponent?: (html: string, options?: Record<string, unknown>) => React.ReactNode;
}

function postUtils(): PostUtilsGlobal | undefined {
    return (window as unknown as {PostUtils?: PostUtilsGlobal}).PostUtils;
}

interface Props {
    text: string;
    postId: string;
    channelId: string;
    /** The post's edit_at: the host draws its "Edited" marker from these options. */
    editedAt?: number;
    mentionKeys?: Array<{key: string; caseSensitive: boolean}>;
}

/** Remote images in decrypted text would be fetched when shown, through the server's image
 * proxy when it is on (handing the server their URLs, part of the plaintext): each becomes its
 * alt text and URL as plain text instead. */
export function withoutImages(html: string): string {
    if (!/<img/i.test(html)) {
        return html;
    }
    const doc = new DOMParser().parseFromString(`<!DOCTYPE html><body>${html}</body>`, 'text/html');
    for (const img of Array.from(doc.body.querySelectorAll('img'))) {
        const src = img.getAttribute('src') ?? '';
        const alt = img.getAttribute('alt') ?? '';
        img.replaceWith(doc.createTextNode(alt && alt !== src ? `${alt} (${src})` : src));
    }
    return doc.body.innerHTML;
}

export function DecryptedText({text, postId, channelId, editedAt, mentionKeys}: Props): React.ReactElement {
    const rendered = useMemo(() => {
        const utils = postUtils();
        if (typeof utils?.formatText !== 'function' || typeof utils?.messageHtmlToComponent !== 'function') {
            return null;
        }
        const options = {atMentions: true, mentionHighlight: true, mentionKeys: mentionKeys ?? [], markdown: true, postId, editedAt: editedAt || undefined};
        // Newer hosts want their emoji map as a third argument, which plugins can't reach:
        // if emoji handling fails without it, render without emoji rather than not at all.
        for (const attempt of [options, {...options, emoticons: false}]) {
            try {
                const html = withoutImages(utils.formatText(text, attempt));
                return utils.messageHtmlToComponent(html, {mentionHighlight: true, postId, editedAt: editedAt || undefined, channelId, emoji: attempt === options, images: false, latex: true, inlinelatex: true});
            } catch {
                // next attempt, then plain text below
            }
        }
        return null;
    }, [text, postId, channelId, editedAt, mentionKeys]);
    if (rendered === null) {
        return (
            <div data-testid='e2ee-text' className='post-message__text' style={{whiteSpace: 'pre-wrap'}}>
                {text}
                {editedAt ? <span className='post-edited__indicator'>{' (edited)'}</span> : null}
            </div>
        );
    }
    return <div data-testid='e2ee-text' className='post-message__text'>{rendered}</div>;
}
