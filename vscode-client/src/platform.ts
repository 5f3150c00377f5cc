// Small Node-only helpers (no `vscode` import).
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Absolute path of an executable named `name` on PATH (PATHEXT-aware on Windows), or undefined. */
export function findOnPath(
    name: string,
    envPath: string | undefined = process.env.PATH,
    platform: NodeJS.Platform = process.platform,
): string | undefined {
    if (envPath === undefined || envPath === '') {
        return undefined;
    }
    const exts =
        platform === 'win32' && path.extname(name) === ''
            ? (process.env.PATHEXT ?? '.EXE;.CMD;.BAT').split(';').filter((e) => e !== '')
            : [''];
    for (const dir of envPath.split(path.delimiter)) {
        if (dir === '') {
            continue;
        }
        for (const ext of exts) {
            const candidate = path.join(dir, name + ext);
            try {
                const st = fs.statSync(candidate);
                if (!st.isFile()) {
                    continue;
                }
                if (platform !== 'win32') {
                    fs.accessSync(candidate, fs.constants.X_OK);
                }
                return candidate;
            } catch {
                // not there or not executable: keep looking
            }
        }
    }
    return undefined;
}
