// Settings resolution and server launch resolution. Pure: no `vscode` import, so it is unit-tested directly.

export type TraceSetting = 'off' | 'messages' | 'verbose';
export type ProgressSetting = 'notification' | 'statusBar';

export interface TiltSettings {
    server: { path: string; args: string[]; debugPort: number | null };
    trace: { server: TraceSetting };
    liveUpdate: {
        enabled: boolean;
        onSave: boolean;
        watch: boolean;
        debounceMs: number;
        progress: ProgressSetting;
    };
    docker: { host: string };
    diagnostics: { debounceMs: number; evaluateEarly: boolean };
}

export const DEFAULT_SETTINGS: TiltSettings = {
    server: { path: '', args: [], debugPort: null },
    trace: { server: 'off' },
    liveUpdate: { enabled: true, onSave: true, watch: true, debounceMs: 200, progress: 'statusBar' },
    docker: { host: '' },
    diagnostics: { debounceMs: 200, evaluateEarly: true },
};

/** Reads one key below `tilt.` (e.g. `server.path`); `undefined` when unset. */
export type ConfigGetter = (key: string) => unknown;

export interface ReadResult {
    settings: TiltSettings;
    /** Human-readable complaints about values that were replaced by their defaults. */
    problems: string[];
}

/** Reads and validates every `tilt.*` setting. Bad values are reported and replaced by the default, never thrown. */
export function readSettings(get: ConfigGetter): ReadResult {
    const problems: string[] = [];
    const d = DEFAULT_SETTINGS;

    function str(key: string, fallback: string): string {
        const v = get(key);
        if (v === undefined || v === null) {
            return fallback;
        }
        if (typeof v !== 'string') {
            problems.push(`tilt.${key} must be a string`);
            return fallback;
        }
        return v.trim();
    }
    function bool(key: string, fallback: boolean): boolean {
        const v = get(key);
        if (v === undefined || v === null) {
            return fallback;
        }
        if (typeof v !== 'boolean') {
            problems.push(`tilt.${key} must be true or false`);
            return fallback;
        }
        return v;
    }
    function int(key: string, fallback: number, min: number, max: number): number {
        const v = get(key);
        if (v === undefined || v === null) {
            return fallback;
        }
        if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
            problems.push(`tilt.${key} must be an integer between ${min} and ${max}`);
            return fallback;
        }
        return v;
    }
    function oneOf<T extends string>(key: string, allowed: readonly T[], fallback: T): T {
        const v = get(key);
        if (v === undefined || v === null) {
            return fallback;
        }
        if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
            problems.push(`tilt.${key} must be one of ${allowed.join(', ')}`);
            return fallback;
        }
        return v as T;
    }
    function strings(key: string): string[] {
        const v = get(key);
        if (v === undefined || v === null) {
            return [];
        }
        if (!Array.isArray(v) || !v.every((x): x is string => typeof x === 'string')) {
            problems.push(`tilt.${key} must be a list of strings`);
            return [];
        }
        return [...v];
    }
    function port(key: string): number | null {
        const v = get(key);
        if (v === undefined || v === null || v === 0 || v === '') {
            return null;
        }
        if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 65535) {
            problems.push(`tilt.${key} must be a TCP port (1-65535) or null`);
            return null;
        }
        return v;
    }

    const settings: TiltSettings = {
        server: { path: str('server.path', d.server.path), args: strings('server.args'), debugPort: port('server.debugPort') },
        trace: { server: oneOf('trace.server', ['off', 'messages', 'verbose'] as const, d.trace.server) },
        liveUpdate: {
            enabled: bool('liveUpdate.enabled', d.liveUpdate.enabled),
            onSave: bool('liveUpdate.onSave', d.liveUpdate.onSave),
            watch: bool('liveUpdate.watch', d.liveUpdate.watch),
            debounceMs: int('liveUpdate.debounceMs', d.liveUpdate.debounceMs, 0, 60_000),
            progress: oneOf('liveUpdate.progress', ['notification', 'statusBar'] as const, d.liveUpdate.progress),
        },
        docker: { host: str('docker.host', d.docker.host) },
        diagnostics: {
            debounceMs: int('diagnostics.debounceMs', d.diagnostics.debounceMs, 0, 60_000),
            evaluateEarly: bool('diagnostics.evaluateEarly', d.diagnostics.evaluateEarly),
        },
    };
    return { settings, problems };
}

/**
 * The settings tree the server receives (initializationOptions.settings and the `tilt` section of
 * workspace/didChangeConfiguration). Every setting is forwarded; in an untrusted workspace live update is forced off.
 * Unset optional values (empty docker host, no debug port) are left out so the server keeps its own defaults.
 */
export function serverSettings(s: TiltSettings, trusted: boolean): Record<string, unknown> {
    const server: Record<string, unknown> = { path: s.server.path, args: [...s.server.args] };
    if (s.server.debugPort !== null) {
        server.debugPort = s.server.debugPort;
    }
    const docker: Record<string, unknown> = {};
    if (s.docker.host !== '') {
        docker.host = s.docker.host;
    }
    return {
        server,
        trace: { server: s.trace.server },
        liveUpdate: { ...s.liveUpdate, enabled: trusted && s.liveUpdate.enabled },
        docker,
        diagnostics: { ...s.diagnostics },
    };
}

/** Settings whose change needs a new server process (the others travel through didChangeConfiguration). */
export const RESTART_KEYS = ['server.path', 'server.args', 'server.debugPort'] as const;

/** Whether a configuration change needs a restart, given a predicate like `event.affectsConfiguration`. */
export function needsRestart(affects: (section: string) => boolean): boolean {
    return RESTART_KEYS.some((k) => affects(`tilt.${k}`));
}

// ---------------------------------------------------------------------------------------------------------------
// Server launch

export type ServerLaunch =
    | { kind: 'spawn'; command: string; args: string[]; source: LaunchSource }
    | { kind: 'tcp'; host: string; port: number; source: 'debugPort' };

/** Where the launch command came from; the error message on a failed start depends on it. */
export type LaunchSource = 'setting' | 'path' | 'pythonExtension' | 'fallbackPython';

export interface LaunchEnv {
    /** Absolute path of an executable found on PATH, or undefined. */
    findOnPath(name: string): string | undefined;
    /** Interpreter command chosen in the Python extension (argv prefix), if that extension is installed. */
    pythonCommand: readonly string[] | undefined;
    platform: NodeJS.Platform;
    homeDir: string;
    workspaceFolder: string | undefined;
}

export const SERVER_MODULE = 'tilt_lsp';
export const SERVER_SCRIPT = 'tilt-lsp';
export const DEBUG_HOST = '127.0.0.1';

/** True for paths like /usr/bin/python3, python3.12, .venv/bin/python, C:\Python\python.exe. */
export function isPythonInterpreter(path: string): boolean {
    const base = path.split(/[\\/]/).pop() ?? path;
    return /^python(\d+(\.\d+)*)?[tw]?(\.exe)?$/i.test(base);
}

/** Expands `~`, `${userHome}` and `${workspaceFolder}` in a user-supplied path. */
export function expandPath(p: string, env: Pick<LaunchEnv, 'homeDir' | 'workspaceFolder'>): string {
    let out = p.replace(/\$\{userHome\}/g, env.homeDir);
    if (env.workspaceFolder !== undefined) {
        out = out.replace(/\$\{workspaceFolder\}/g, env.workspaceFolder);
    }
    if (out === '~' || out.startsWith('~/') || out.startsWith('~\\')) {
        out = env.homeDir + out.slice(1);
    }
    return out;
}

/**
 * How to reach the server, in order: debug port (connect over TCP) → `tilt.server.path` → `tilt-lsp` on PATH →
 * `python -m tilt_lsp` with the Python extension's interpreter → `python3 -m tilt_lsp`.
 */
export function resolveServerLaunch(s: TiltSettings, env: LaunchEnv): ServerLaunch {
    if (s.server.debugPort !== null) {
        return { kind: 'tcp', host: DEBUG_HOST, port: s.server.debugPort, source: 'debugPort' };
    }
    const extra = s.server.args.map((a) => expandPath(a, env));
    if (s.server.path !== '') {
        const command = expandPath(s.server.path, env);
        const args = isPythonInterpreter(command) ? ['-m', SERVER_MODULE, ...extra] : extra;
        return { kind: 'spawn', command, args, source: 'setting' };
    }
    const onPath = env.findOnPath(SERVER_SCRIPT);
    if (onPath !== undefined) {
        return { kind: 'spawn', command: onPath, args: extra, source: 'path' };
    }
    const [command, ...prefix] = env.pythonCommand ?? [];
    if (command !== undefined && command !== '') {
        return { kind: 'spawn', command, args: [...prefix, '-m', SERVER_MODULE, ...extra], source: 'pythonExtension' };
    }
    const python = env.platform === 'win32' ? 'python' : 'python3';
    return { kind: 'spawn', command: python, args: ['-m', SERVER_MODULE, ...extra], source: 'fallbackPython' };
}

/** Shell-like rendering of a launch for messages and logs. */
export function describeLaunch(l: ServerLaunch): string {
    if (l.kind === 'tcp') {
        return `tcp://${l.host}:${l.port}`;
    }
    return [l.command, ...l.args].map((a) => (/[\s"'$`\\]/.test(a) ? JSON.stringify(a) : a)).join(' ');
}

// ---------------------------------------------------------------------------------------------------------------
// Start failures → one clear message with a fix

export interface StartFailure {
    /** Node error code such as ENOENT, EACCES or ECONNREFUSED, when there was one. */
    code?: string;
    /** Exit code of a server process that quit before the handshake. */
    exitCode?: number | null;
    /** Last lines the server wrote to stderr. */
    stderr?: string;
    /** Any other error text. */
    message?: string;
}

export interface StartErrorText {
    message: string;
    fix: string;
}

export function explainStartFailure(launch: ServerLaunch, f: StartFailure): StartErrorText {
    const what = describeLaunch(launch);
    if (launch.kind === 'tcp') {
        const fix =
            `Start the server with \`${SERVER_SCRIPT} serve --tcp ${launch.host}:${launch.port}\`, ` +
            'or clear the setting tilt.server.debugPort to let the extension start it.';
        const why = f.code === 'ECONNREFUSED' ? 'nothing is listening there' : (f.message ?? f.code ?? 'connection failed');
        return { message: `Cannot connect to the Tilt language server at ${what}: ${why}.`, fix };
    }
    const install =
        launch.source === 'pythonExtension' || launch.source === 'fallbackPython' || isPythonInterpreter(launch.command)
            ? `Install it into that interpreter with \`${launch.command} -m pip install tilt-lsp\``
            : 'Install it with `pip install tilt-lsp`';
    const setPath = 'or set tilt.server.path to the `tilt-lsp` executable or a Python interpreter that has it.';
    if (f.code === 'ENOENT') {
        return {
            message: `Cannot start the Tilt language server: \`${launch.command}\` was not found.`,
            fix: `${install}, ${setPath}`,
        };
    }
    if (f.code === 'EACCES') {
        return {
            message: `Cannot start the Tilt language server: \`${launch.command}\` is not executable.`,
            fix: `Make it executable (chmod +x), ${setPath}`,
        };
    }
    const stderr = (f.stderr ?? '').trim();
    if (/No module named '?tilt_lsp/.test(stderr)) {
        return {
            message: `Cannot start the Tilt language server: \`${launch.command}\` has no \`${SERVER_MODULE}\` module.`,
            fix: `${install}, ${setPath}`,
        };
    }
    const lastLine = stderr.split(/\r?\n/).filter((l) => l.trim() !== '').pop();
    const exit =
        f.exitCode !== undefined && f.exitCode !== null ? `exited with code ${f.exitCode}` : (f.message ?? 'stopped');
    return {
        message: `The Tilt language server (${what}) ${exit}${lastLine !== undefined ? `: ${lastLine}` : '.'}`,
        fix: 'The "Tilt" output has the server\'s error output; fix the cause, then run "Tilt: Restart Language Server".',
    };
}
