// The browser console is no place for keys, backups or plaintext: console calls in src/ may pass
// fixed text and error names or messages, never a whole value (an error's cause, a key, a post).
import {readFileSync, readdirSync, statSync} from 'fs';
import {join} from 'path';

const SRC = join(__dirname, '../../src');

function sources(dir: string): string[] {
    return readdirSync(dir).flatMap((name) => {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) {
            return name === 'cli' ? [] : sources(path); // the CLI prints to a terminal by design
        }
        return /\.tsx?$/.test(name) && !/\.test\.tsx?$/.test(name) ? [path] : [];
    });
}

function consoleCalls(text: string): string[] {
    const calls: string[] = [];
    const re = /console\.(\w+)\(/g;
    for (let m = re.exec(text); m; m = re.exec(text)) {
        let depth = 1;
        let i = re.lastIndex;
        while (i < text.length && depth > 0) {
            depth += text[i] === '(' ? 1 : text[i] === ')' ? -1 : 0;
            i++;
        }
        calls.push(text.slice(m.index, i));
    }
    return calls;
}

describe('console output in the web app', () => {
    const files = sources(SRC);

    test('the source tree is found', () => {
        expect(files.length).toBeGreaterThan(20);
    });

    test('no console.log/info/debug/trace/dir at all', () => {
        const found = files.flatMap((f) => consoleCalls(readFileSync(f, 'utf8')).filter((c) => !/^console\.(warn|error)\(/.test(c)).map((c) => `${f}: ${c}`));
        expect(found).toEqual([]);
    });

    test('warnings and errors pass no bare value (error objects, keys, texts) to the console', () => {
        const bare = /,\s*[A-Za-z_$][\w$]*\s*\)$/; // last argument is a plain identifier
        const found = files.flatMap((f) => consoleCalls(readFileSync(f, 'utf8')).filter((c) => bare.test(c)).map((c) => `${f}: ${c}`));
        expect(found).toEqual([]);
    });
});
