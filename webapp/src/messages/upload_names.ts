// The host names the files being attached by their upload names (`<random>.bin`: all the server may
// learn), in the composer's list and in its upload messages. This tab knows the real names of the
// files it encrypted, so it shows those instead, in the page only: each text node that holds such
// an upload name gets the real name in its place (nothing is sent; other readers' pages and mobile
// apps still show `.bin`). Only text changes, never elements, so React's tree stays intact; when
// React writes the text again, the observer replaces it again.
const UPLOAD_NAME = /[0-9a-f]{32}\.bin/g;
// Editable text is the user's; script and style text are not shown.
const SKIP = new Set(['TEXTAREA', 'INPUT', 'SCRIPT', 'STYLE']);

export type RealName = (uploadName: string) => string | undefined;

function replaceIn(t: Text, realName: RealName): void {
    const parent = t.parentElement;
    if (!t.data.includes('.bin') || !parent || SKIP.has(parent.tagName) || parent.isContentEditable) {
        return;
    }
    const next = t.data.replace(UPLOAD_NAME, (m) => realName(m) ?? m);
    if (next !== t.data) {
        t.data = next;
    }
}

function replaceUnder(node: Node, realName: RealName): void {
    if (node.nodeType === 3) { // Node.TEXT_NODE
        replaceIn(node as Text, realName);
        return;
    }
    if (node.nodeType !== 1 || !node.textContent?.includes('.bin')) { // Node.ELEMENT_NODE; most added subtrees stop here
        return;
    }
    const walker = (node.ownerDocument as Document).createTreeWalker(node, 4); // NodeFilter.SHOW_TEXT
    for (let t = walker.nextNode(); t; t = walker.nextNode()) {
        replaceIn(t as Text, realName);
    }
}

/** Shows real names for upload names in `doc` from now on; returns the undo (stops watching). */
export function showRealUploadNames(realName: RealName, doc: Document | undefined = typeof document === 'undefined' ? undefined : document): () => void {
    const root = doc?.body;
    const Observer = doc?.defaultView?.MutationObserver;
    if (!root || !Observer) {
        return () => undefined;
    }
    const observer = new Observer((records) => {
        for (const r of records) {
            if (r.type === 'characterData') {
                replaceIn(r.target as Text, realName);
            } else {
                r.addedNodes.forEach((n) => replaceUnder(n, realName));
            }
        }
    });
    observer.observe(root, {childList: true, subtree: true, characterData: true});
    replaceUnder(root, realName);
    return () => observer.disconnect();
}
