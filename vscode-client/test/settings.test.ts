import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
    DEFAULT_SETTINGS,
    type LaunchEnv,
    describeLaunch,
    expandPath,
    explainStartFailure,
    isPythonInterpreter,
    needsRestart,
    readSettings,
    resolveServerLaunch,
    serverSettings,
    type TiltSettings,
} from '../src/settings';

function settingsFrom(values: Record<string, unknown>) {
    return readSettings((key) => values[key]);
}

function env(over: Partial<LaunchEnv> = {}): LaunchEnv {
    return {
        findOnPath: () => undefined,
        pythonCommand: undefined,
        platform: 'linux',
        homeDir: '/home/me',
        workspaceFolder: '/work/app',
        ...over,
    };
}

function withServer(server: Partial<TiltSettings['server']>): TiltSettings {
    return { ...DEFAULT_SETTINGS, server: { ...DEFAULT_SETTINGS.server, ...server } };
}

describe('readSettings', () => {
    it('gives the defaults when nothing is set', () => {
        const { settings, problems } = settingsFrom({});
        assert.deepEqual(settings, DEFAULT_SETTINGS);
        assert.deepEqual(problems, []);
    });

    it('reads every key', () => {
        const { settings, problems } = settingsFrom({
            'server.path': ' /opt/tilt-lsp ',
            'server.args': ['-v'],
            'server.debugPort': 2087,
            'trace.server': 'verbose',
            'liveUpdate.enabled': false,
            'liveUpdate.onSave': false,
            'liveUpdate.watch': true,
            'liveUpdate.debounceMs': 50,
            'liveUpdate.progress': 'notification',
            'docker.host': 'unix:///run/docker.sock',
            'diagnostics.debounceMs': 0,
            'diagnostics.evaluateEarly': false,
        });
        assert.deepEqual(problems, []);
        assert.deepEqual(settings, {
            server: { path: '/opt/tilt-lsp', args: ['-v'], debugPort: 2087 },
            trace: { server: 'verbose' },
            liveUpdate: { enabled: false, onSave: false, watch: true, debounceMs: 50, progress: 'notification' },
            docker: { host: 'unix:///run/docker.sock' },
            diagnostics: { debounceMs: 0, evaluateEarly: false },
        });
    });

    it('replaces bad values by defaults and reports each', () => {
        const { settings, problems } = settingsFrom({
            'server.args': 'not-a-list',
            'server.debugPort': 70000,
            'trace.server': 'loud',
            'liveUpdate.enabled': 'yes',
            'liveUpdate.debounceMs': -1,
            'liveUpdate.progress': 'popup',
            'docker.host': 42,
            'diagnostics.evaluateEarly': 'sometimes',
        });
        assert.deepEqual(settings, DEFAULT_SETTINGS);
        assert.equal(problems.length, 8);
        assert.match(problems.join('\n'), /tilt\.server\.debugPort/);
        assert.match(problems.join('\n'), /tilt\.liveUpdate\.progress must be one of notification, statusBar/);
    });

    it('treats 0 and null debug ports as unset', () => {
        assert.equal(settingsFrom({ 'server.debugPort': 0 }).settings.server.debugPort, null);
        assert.equal(settingsFrom({ 'server.debugPort': null }).settings.server.debugPort, null);
    });
});

describe('serverSettings', () => {
    it('forwards every setting and keeps live update on in a trusted workspace', () => {
        const out = serverSettings(DEFAULT_SETTINGS, true);
        assert.deepEqual(out, {
            server: { path: '', args: [] },
            trace: { server: 'off' },
            liveUpdate: { enabled: true, onSave: true, watch: true, debounceMs: 200, progress: 'statusBar' },
            docker: {},
            diagnostics: { debounceMs: 200, evaluateEarly: true },
        });
    });

    it('turns live update off in an untrusted workspace whatever the setting says', () => {
        const out = serverSettings(DEFAULT_SETTINGS, false) as { liveUpdate: { enabled: boolean } };
        assert.equal(out.liveUpdate.enabled, false);
    });

    it('includes the docker host and debug port only when set', () => {
        const s = settingsFrom({ 'docker.host': 'tcp://1.2.3.4:2375', 'server.debugPort': 9000 }).settings;
        const out = serverSettings(s, true) as { docker: { host?: string }; server: { debugPort?: number } };
        assert.equal(out.docker.host, 'tcp://1.2.3.4:2375');
        assert.equal(out.server.debugPort, 9000);
    });
});

describe('needsRestart', () => {
    it('restarts for server settings only', () => {
        assert.equal(needsRestart((s) => s === 'tilt.server.path'), true);
        assert.equal(needsRestart((s) => s === 'tilt.server.debugPort'), true);
        assert.equal(needsRestart((s) => s === 'tilt.liveUpdate.onSave'), false);
        assert.equal(needsRestart((s) => s === 'tilt.trace.server'), false);
    });
});

describe('resolveServerLaunch', () => {
    it('connects over TCP when a debug port is set, whatever else is set', () => {
        const launch = resolveServerLaunch(withServer({ debugPort: 2087, path: '/x/tilt-lsp' }), env());
        assert.deepEqual(launch, { kind: 'tcp', host: '127.0.0.1', port: 2087, source: 'debugPort' });
        assert.equal(describeLaunch(launch), 'tcp://127.0.0.1:2087');
    });

    it('runs tilt.server.path as is, with the extra args', () => {
        const launch = resolveServerLaunch(withServer({ path: '~/bin/tilt-lsp', args: ['--log-file', '${workspaceFolder}/lsp.log'] }), env());
        assert.deepEqual(launch, {
            kind: 'spawn',
            command: '/home/me/bin/tilt-lsp',
            args: ['--log-file', '/work/app/lsp.log'],
            source: 'setting',
        });
    });

    it('runs -m tilt_lsp when tilt.server.path is a Python interpreter', () => {
        const launch = resolveServerLaunch(withServer({ path: '/repo/.venv/bin/python3.12' }), env());
        assert.deepEqual(launch, { kind: 'spawn', command: '/repo/.venv/bin/python3.12', args: ['-m', 'tilt_lsp'], source: 'setting' });
    });

    it('prefers tilt-lsp on PATH over the Python extension', () => {
        const launch = resolveServerLaunch(
            DEFAULT_SETTINGS,
            env({ findOnPath: (n) => (n === 'tilt-lsp' ? '/usr/local/bin/tilt-lsp' : undefined), pythonCommand: ['/py'] }),
        );
        assert.deepEqual(launch, { kind: 'spawn', command: '/usr/local/bin/tilt-lsp', args: [], source: 'path' });
    });

    it("uses the Python extension's interpreter (with its argv prefix) next", () => {
        const launch = resolveServerLaunch(withServer({ args: ['-v'] }), env({ pythonCommand: ['conda', 'run', '-n', 'dev', 'python'] }));
        assert.deepEqual(launch, {
            kind: 'spawn',
            command: 'conda',
            args: ['run', '-n', 'dev', 'python', '-m', 'tilt_lsp', '-v'],
            source: 'pythonExtension',
        });
    });

    it('falls back to python3 (python on Windows)', () => {
        assert.deepEqual(resolveServerLaunch(DEFAULT_SETTINGS, env()), {
            kind: 'spawn',
            command: 'python3',
            args: ['-m', 'tilt_lsp'],
            source: 'fallbackPython',
        });
        const win = resolveServerLaunch(DEFAULT_SETTINGS, env({ platform: 'win32', pythonCommand: [] }));
        assert.equal(win.kind === 'spawn' ? win.command : '', 'python');
    });
});

describe('helpers', () => {
    it('recognises Python interpreters', () => {
        for (const p of ['python', 'python3', '/usr/bin/python3.11', 'C:\\Py\\python.exe', 'pythonw.exe']) {
            assert.equal(isPythonInterpreter(p), true, p);
        }
        for (const p of ['tilt-lsp', '/usr/bin/pythonista', 'mypython', '/x/python3-config']) {
            assert.equal(isPythonInterpreter(p), false, p);
        }
    });

    it('expands ~, ${userHome} and ${workspaceFolder}', () => {
        const e = { homeDir: '/h', workspaceFolder: '/w' };
        assert.equal(expandPath('~', e), '/h');
        assert.equal(expandPath('~/x', e), '/h/x');
        assert.equal(expandPath('${userHome}/a:${workspaceFolder}/b', e), '/h/a:/w/b');
        assert.equal(expandPath('/a~/b', e), '/a~/b');
    });

    it('quotes arguments with spaces when describing a launch', () => {
        assert.equal(
            describeLaunch({ kind: 'spawn', command: '/opt/my env/python', args: ['-m', 'tilt_lsp'], source: 'setting' }),
            '"/opt/my env/python" -m tilt_lsp',
        );
    });
});

describe('explainStartFailure', () => {
    const py = resolveServerLaunch(DEFAULT_SETTINGS, env({ pythonCommand: ['/venv/bin/python'] }));
    const script = resolveServerLaunch(withServer({ path: '/opt/tilt-lsp' }), env());

    it('explains a missing executable with the install command', () => {
        const t = explainStartFailure(script, { code: 'ENOENT' });
        assert.match(t.message, /`\/opt\/tilt-lsp` was not found/);
        assert.match(t.fix, /pip install tilt-lsp/);
        assert.match(t.fix, /tilt\.server\.path/);
    });

    it('explains an interpreter without the module with that interpreter', () => {
        const t = explainStartFailure(py, {
            exitCode: 1,
            stderr: '/venv/bin/python: No module named tilt_lsp\n',
        });
        assert.match(t.message, /has no `tilt_lsp` module/);
        assert.match(t.fix, /`\/venv\/bin\/python -m pip install tilt-lsp`/);
    });

    it('reports the exit code and the last stderr line otherwise', () => {
        const t = explainStartFailure(script, { exitCode: 2, stderr: 'Traceback...\nValueError: boom\n\n' });
        assert.match(t.message, /exited with code 2: ValueError: boom/);
        assert.match(t.fix, /Restart Language Server/);
    });

    it('explains a refused debug connection', () => {
        const tcp = resolveServerLaunch(withServer({ debugPort: 2087 }), env());
        const t = explainStartFailure(tcp, { code: 'ECONNREFUSED' });
        assert.match(t.message, /tcp:\/\/127\.0\.0\.1:2087: nothing is listening there/);
        assert.match(t.fix, /tilt-lsp serve --tcp 127\.0\.0\.1:2087/);
        assert.match(t.fix, /tilt\.server\.debugPort/);
    });
});
