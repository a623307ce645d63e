// QR codes for safety numbers: qrcode-generator is loaded lazily as its own chunk (like openpgp),
// so main.js stays small. Returns the module matrix; the dialog draws it as SVG.
type Factory = typeof import('qrcode-generator');

let loaded: Promise<Factory> | null = null;

function load(): Promise<Factory> {
    if (!loaded) {
        loaded = import(/* webpackChunkName: "qrcode" */ 'qrcode-generator').then((m) => ((m as unknown as {default?: Factory}).default ?? m) as Factory);
        loaded.catch(() => {
            loaded = null;
        });
    }
    return loaded;
}

/** The dark modules of a QR code of `text` (byte mode, error correction M, smallest version). */
export async function qrMatrix(text: string): Promise<boolean[][]> {
    const qrcode = await load();
    const qr = qrcode(0, 'M');
    qr.addData(text, 'Byte');
    qr.make();
    const n = qr.getModuleCount();
    return Array.from({length: n}, (_, r) => Array.from({length: n}, (_, c) => qr.isDark(r, c)));
}
