// window.PostUtils for plugins: a small markdown-to-HTML (formatText) and a DOM-based
// HTML-to-React (messageHtmlToComponent). Enough for plain chat text; not Mattermost's full renderer.
// The "Edited" marker works as Mattermost's: formatText(text, {postId}) leaves a placeholder
// span, messageHtmlToComponent(html, {postId, editedAt}) turns it into the marker when editedAt > 0.
import React from 'react';

function escapeHtml(text: string): string {
    return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

function inline(text: string): string {
    let out = escapeHtml(text);
    out = out.replace(/`([^`]+)`/g, '<code>$1</code>');
    out = out.replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>');
    out = out.replace(/(^|[^*])\*([^*]+)\*/g, '$1<em>$2</em>');
    out = out.replace(/(^|\s)_([^_]+)_(?=\s|$)/g, '$1<em>$2</em>');
    out = out.replace(/\[([^\]]+)\]\((https?:\/\/[^)\s]+)\)/g, '<a href="$2" target="_blank" rel="noopener noreferrer">$1</a>');
    out = out.replace(/(^|\s)(https?:\/\/[^\s<]+)/g, '$1<a href="$2" target="_blank" rel="noopener noreferrer">$2</a>');
    out = out.replace(/(^|\s)@([a-z0-9._-]+)/gi, '$1<span class="mention" data-mention="$2">@$2</span>');
    return out;
}

interface Options {
    postId?: string;
    editedAt?: number;
}

/** formatText(text, options?, emojiMap?) → HTML string, as PostUtils.formatText. */
export function formatText(text: string, options: Options = {}): string {
    if (!text) {
        return '';
    }
    const html = formatBlocks(text);
    if (!options.postId) {
        return html;
    }
    const marker = `<span data-edited-post-id="${escapeHtml(options.postId)}"></span>`;
    return html.endsWith('</p>') ? `${html.slice(0, -4)}${marker}</p>` : html + marker;
}

function formatBlocks(text: string): string {
    const blocks = text.split(/```/);
    return blocks.map((block, i) => {
        if (i % 2 === 1) {
            return `<pre><code>${escapeHtml(block.replace(/^[a-z]*\n/, ''))}</code></pre>`;
        }
        return block.split(/\n{2,}/).filter((p) => p.trim() !== '').map((p) => `<p>${p.split('\n').map(inline).join('<br/>')}</p>`).join('');
    }).join('');
}

const ALLOWED = new Set(['p', 'br', 'strong', 'em', 'code', 'pre', 'a', 'span', 'ul', 'ol', 'li', 'blockquote', 'del', 'h1', 'h2', 'h3', 'h4']);

function toReact(node: Node, key: number, options: Options): React.ReactNode {
    if (node.nodeType === Node.TEXT_NODE) {
        return node.textContent;
    }
    if (node.nodeType !== Node.ELEMENT_NODE) {
        return null;
    }
    const el = node as Element;
    const tag = el.tagName.toLowerCase();
    const editedFor = el.getAttribute('data-edited-post-id');
    if (tag === 'span' && editedFor) { // Mattermost's PostEditedIndicator, for that post only
        return editedFor === options.postId && (options.editedAt || 0) > 0 ?
            <React.Fragment key={key}>{' '}<span data-testid='post-edited' className='post-edited__indicator'>{'Edited'}</span></React.Fragment> : null;
    }
    const children = Array.from(el.childNodes).map((c, i) => toReact(c, i, options));
    if (!ALLOWED.has(tag)) {
        return React.createElement(React.Fragment, {key}, ...children);
    }
    const props: Record<string, unknown> = {key};
    for (const attr of Array.from(el.attributes)) {
        if (attr.name === 'class') {
            props.className = attr.value;
        } else if (attr.name === 'href' && /^https?:/.test(attr.value)) {
            props.href = attr.value;
        } else if (attr.name === 'target' || attr.name === 'rel' || attr.name.startsWith('data-')) {
            props[attr.name] = attr.value;
        }
    }
    return React.createElement(tag, props, ...(tag === 'br' ? [] : children));
}

/** messageHtmlToComponent(html), (html, options) or legacy (html, isRHS, options). */
export function messageHtmlToComponent(html: string, ...rest: unknown[]): React.ReactNode {
    const last = typeof rest[0] === 'boolean' ? rest[1] : rest[0];
    const options = (last && typeof last === 'object' ? last : {}) as Options;
    const doc = new DOMParser().parseFromString(`<body>${html}</body>`, 'text/html');
    return React.createElement(React.Fragment, null, ...Array.from(doc.body.childNodes).map((c, i) => toReact(c, i, options)));
}

export const PostUtils = {formatText, messageHtmlToComponent};
