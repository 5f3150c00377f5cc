#!/usr/bin/env node
// End-to-end test of the extension in a real VS Code: code-server (web VS Code with a Node extension host) driven by
// Debian's Chromium through playwright-core. Start it through scripts/vscode-e2e.sh, which installs the prerequisites
// and builds the .vsix first.
//
// Parts (TILT_E2E_PARTS, comma-separated; default all):
//   client      extension installs and activates, Tiltfile language + grammar scopes, status bar item, and the
//               "server cannot start" error (tilt.server.path set to a missing file). No language server needed.
//   fake        a scripted stand-in server (e2e/fake_server.py, pygls from TILT_E2E_PYTHON): restart on a settings
//               change, initializationOptions/didChangeConfiguration payloads, save → status syncing (with a progress
//               notification) → ok, tooltip, quick pick + Sync now, one failure notification with Show Log, pause.
//   server      switching tilt.server.path to the real server restarts it; completion in the suggest widget
//               (docker_ → docker_build); an undefined name in the Problems panel.          [needs python -m tilt_lsp]
//   liveupdate  a running container of the fixture image; saving app/message.txt turns the status bar to syncing and
//               back to success, and the file is in the container; no diagnostics on the synced (non-Tiltfile) file.
//                                                                              [needs the server's live update + Docker]
//   untrusted   a second session in Restricted Mode: language features work, live update is off (initializationOptions
//               liveUpdate.enabled=false, no save forwarding, status "off"), the server is found as tilt-lsp on PATH;
//               granting trust restarts it with live update on.                         [fake server, no Docker]
//
// Environment: CODE_SERVER_BIN, TILT_E2E_PYTHON, TILT_E2E_ARTIFACTS (screenshots), TILT_E2E_VSIX, TILT_E2E_PARTS,
// TILT_E2E_KEEP=1 (leave code-server running on failure for inspection), CHROMIUM (default /usr/bin/chromium).
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const CLIENT = path.resolve(here, '..');
const ROOT = path.resolve(CLIENT, '..');
const env = process.env;
const CODE_SERVER = env.CODE_SERVER_BIN ?? path.join(ROOT, '.cache', 'code-server', 'node_modules', '.bin', 'code-server');
const PYTHON = env.TILT_E2E_PYTHON ?? path.join(ROOT, '.venv', 'bin', 'python');
const ARTIFACTS = env.TILT_E2E_ARTIFACTS ?? path.join(ROOT, 'test-artifacts', 'vscode');
const VSIX = env.TILT_E2E_VSIX ?? path.join(CLIENT, 'tilt-lsp.vsix');
const CHROMIUM = env.CHROMIUM ?? '/usr/bin/chromium';
const PARTS = new Set((env.TILT_E2E_PARTS ?? 'client,fake,server,liveupdate,untrusted').split(',').map((s) => s.trim()).filter(Boolean));
const RUN_DIR = path.join(ROOT, '.cache', 'e2e-run');
const WORKSPACE = path.join(RUN_DIR, 'workspace');
const USER_DATA = path.join(RUN_DIR, 'user-data');
const EXTENSIONS = path.join(RUN_DIR, 'extensions');
const HOME = path.join(RUN_DIR, 'home');
const SUFFIX = Math.random().toString(36).slice(2, 8);
const IMAGE_REPO = 'tilt-lsp-e2e/web';
const IMAGE = `${IMAGE_REPO}:dev`;
const CONTAINER = `tilt-lsp-e2e-${SUFFIX}`;
const BOGUS_SERVER = '/nonexistent/tilt-lsp-e2e';
const WORKSPACE_ARG = '--e2e-workspace-arg';

const t0 = Date.now();
const results = [];
let page;
let shot = 0;
let codeServer;
let browser;
let containerStarted = false;

function log(msg) {
    console.log(`[e2e +${((Date.now() - t0) / 1000).toFixed(1)}s] ${msg}`);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function screenshot(name) {
    shot += 1;
    const file = path.join(ARTIFACTS, `${String(shot).padStart(2, '0')}-${name}.png`);
    await page.screenshot({ path: file });
    log(`screenshot ${path.relative(ROOT, file)}`);
    return file;
}

/**
 * Runs one check; a failure is recorded (with a screenshot) and stops the run, unless `independent` (later steps do
 * not depend on it): then the run goes on and fails at the end.
 */
async function step(name, fn, { independent = false } = {}) {
    const started = Date.now();
    log(`▶ ${name}`);
    try {
        const detail = await fn();
        results.push({ name, ok: true, ms: Date.now() - started, detail: detail ?? '' });
        log(`✔ ${name} (${Date.now() - started} ms)${detail ? `: ${detail}` : ''}`);
    } catch (e) {
        results.push({ name, ok: false, ms: Date.now() - started, detail: String(e?.stack ?? e) });
        log(`✖ ${name}: ${e?.message ?? e}`);
        if (page !== undefined) {
            await screenshot(`FAILED-${name.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}`).catch(() => undefined);
        }
        if (!independent) {
            throw e;
        }
    }
}

/** Polls `fn` until it returns a truthy value. */
async function until(what, fn, timeoutMs = 30_000, everyMs = 250) {
    const deadline = Date.now() + timeoutMs;
    let last;
    for (;;) {
        try {
            last = await fn();
            if (last) {
                return last;
            }
        } catch (e) {
            last = e;
        }
        if (Date.now() > deadline) {
            throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${String(last)})`);
        }
        await sleep(everyMs);
    }
}

function freePort() {
    return new Promise((resolve, reject) => {
        const srv = net.createServer();
        srv.listen(0, '127.0.0.1', () => {
            const { port } = srv.address();
            srv.close(() => resolve(port));
        });
        srv.on('error', reject);
    });
}

function userSettings(extra) {
    return {
        'security.workspace.trust.enabled': false,
        'workbench.startupEditor': 'none',
        'workbench.tips.enabled': false,
        'workbench.enableExperiments': false,
        'files.autoSave': 'off',
        'telemetry.telemetryLevel': 'off',
        'extensions.autoUpdate': false,
        'extensions.autoCheckUpdates': false,
        'update.mode': 'none',
        'editor.quickSuggestions': { other: false, comments: false, strings: false },
        'editor.acceptSuggestionOnEnter': 'off',
        // Only the language server may offer completions (no word-based or snippet look-alikes).
        'editor.wordBasedSuggestions': 'off',
        'editor.snippetSuggestions': 'none',
        'window.commandCenter': false,
        'chat.commandCenter.enabled': false,
        'git.enabled': false,
        'git.openRepositoryInParentFolders': 'never',
        ...extra,
    };
}

/** Before code-server starts: write the user settings file (VS Code preferences for a quiet, stable UI). */
function writeUserSettings() {
    mkdirSync(path.join(USER_DATA, 'User'), { recursive: true });
    writeFileSync(path.join(USER_DATA, 'User', 'settings.json'), JSON.stringify(userSettings({}), null, 2));
}

/**
 * The extension's settings live in the workspace's .vscode/settings.json: tilt.server.path is machine-overridable,
 * and in a remote window (code-server) user-level values of machine settings do not apply. Writing the file on disk
 * is seen by VS Code's file watcher like an edit.
 */
function writeTiltSettings(tilt) {
    mkdirSync(path.join(WORKSPACE, '.vscode'), { recursive: true });
    writeFileSync(path.join(WORKSPACE, '.vscode', 'settings.json'), `${JSON.stringify(tilt, null, 4)}\n`);
}

function docker(args, opts = {}) {
    return execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...opts }).trim();
}

function exthostLogTail(lines = 60) {
    const logs = path.join(USER_DATA, 'logs');
    if (!existsSync(logs)) {
        return '(no logs)';
    }
    const found = [];
    const walk = (dir) => {
        for (const name of readdirSync(dir)) {
            const p = path.join(dir, name);
            if (statSync(p).isDirectory()) {
                walk(p);
            } else if (/exthost\.log$/.test(name) || /Tilt\.log$/.test(name) || /tilt/i.test(name)) {
                found.push(p);
            }
        }
    };
    walk(logs);
    return found
        .map((f) => `--- ${path.relative(USER_DATA, f)}\n${readFileSync(f, 'utf8').split('\n').slice(-lines).join('\n')}`)
        .join('\n');
}

// --------------------------------------------------------------------------------------------------------------
// Workbench helpers (selectors of VS Code 1.100's DOM)

async function runCommand(title) {
    await page.keyboard.press('Escape');
    await page.keyboard.press('F1');
    const input = page.locator('.quick-input-widget input');
    await input.waitFor({ state: 'visible' });
    await input.fill(`>${title}`);
    const row = page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first();
    await row.waitFor({ state: 'visible', timeout: 10_000 });
    await page.keyboard.press('Enter');
}

async function openFile(relPath) {
    await page.keyboard.press('Escape');
    await page.keyboard.press('Control+P');
    const input = page.locator('.quick-input-widget input');
    await input.waitFor({ state: 'visible' });
    await input.fill(relPath);
    await page.locator('.quick-input-list .monaco-list-row').first().waitFor({ state: 'visible' });
    await sleep(300);
    await page.keyboard.press('Enter');
    const base = path.basename(relPath);
    await page.locator(`.tabs-container .tab.active[aria-label*="${base}"]`).waitFor({ timeout: 15_000 });
    await page.locator('.editor-instance .monaco-editor .view-lines').first().click();
}

async function statusBarLabel() {
    return page.locator('[aria-label^="Tilt live update"]').first().getAttribute('aria-label', { timeout: 2000 });
}

async function notifications() {
    return page.locator('.notifications-toasts .notification-list-item-message').allInnerTexts();
}

async function clearNotifications() {
    await runCommand('Notifications: Clear All Notifications').catch(() => undefined);
    await page.keyboard.press('Escape');
}

// --------------------------------------------------------------------------------------------------------------

async function setUp() {
    for (const [what, p] of [
        ['code-server', CODE_SERVER],
        ['chromium', CHROMIUM],
        ['the .vsix (npm run package)', VSIX],
    ]) {
        if (!existsSync(p)) {
            throw new Error(`missing ${what}: ${p} (run scripts/vscode-e2e.sh)`);
        }
    }
    rmSync(RUN_DIR, { recursive: true, force: true });
    mkdirSync(ARTIFACTS, { recursive: true });
    for (const f of readdirSync(ARTIFACTS)) {
        if (f.endsWith('.png')) {
            rmSync(path.join(ARTIFACTS, f));
        }
    }
    for (const d of [WORKSPACE, USER_DATA, EXTENSIONS, HOME]) {
        mkdirSync(d, { recursive: true });
    }
    cpSync(path.join(here, 'fixture'), WORKSPACE, { recursive: true });
    // The first phase runs with a server path that does not exist: the extension must explain it.
    writeUserSettings();
    writeTiltSettings({ 'tilt.server.path': BOGUS_SERVER });
}

async function installExtension() {
    const out = execFileSync(
        CODE_SERVER,
        ['--user-data-dir', USER_DATA, '--extensions-dir', EXTENSIONS, '--install-extension', VSIX],
        { encoding: 'utf8', env: { ...env, HOME } },
    );
    if (!/successfully installed/i.test(out)) {
        throw new Error(`install output: ${out}`);
    }
    return out.trim().split('\n').pop();
}

async function startCodeServer({ userData = USER_DATA, trust = false, pathPrefix = '' } = {}) {
    const port = await freePort();
    codeServer = spawn(
        CODE_SERVER,
        [
            '--user-data-dir', userData,
            '--extensions-dir', EXTENSIONS,
            '--auth', 'none',
            '--bind-addr', `127.0.0.1:${port}`,
            '--disable-telemetry',
            '--disable-update-check',
            ...(trust ? [] : ['--disable-workspace-trust']),
            '--disable-getting-started-override',
            WORKSPACE,
        ],
        {
            env: { ...env, HOME, PATH: pathPrefix === '' ? env.PATH : `${pathPrefix}:${env.PATH}` },
            detached: true,
            stdio: ['ignore', 'pipe', 'pipe'],
        },
    );
    const csLog = [];
    codeServer.stdout.on('data', (d) => csLog.push(String(d)));
    codeServer.stderr.on('data', (d) => csLog.push(String(d)));
    codeServer.on('exit', (code) => log(`code-server exited (${code})`));
    await until(
        'code-server /healthz',
        async () => {
            if (codeServer.exitCode !== null) {
                throw new Error(`code-server exited: ${csLog.join('')}`);
            }
            const r = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined);
            return r?.ok;
        },
        60_000,
        300,
    );
    return port;
}

async function openBrowser(port, readySelector = '.explorer-folders-view .monaco-list-row') {
    browser = await chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
            '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
    });
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    await context.grantPermissions(['clipboard-read', 'clipboard-write']).catch(() => undefined);
    page = await context.newPage();
    page.setDefaultTimeout(20_000);
    await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(WORKSPACE)}`);
    await page.waitForSelector(readySelector, { timeout: 120_000 });
}

async function clientPart() {
    await step('a missing server gives one clear error with a fix', async () => {
        const msg = await until(
            'start error notification',
            async () => (await notifications()).find((t) => t.includes('Tilt language server')),
            30_000,
        );
        const label = await until('status bar: server not running', async () => {
            const l = await statusBarLabel();
            return l?.endsWith('server not running') ? l : undefined;
        });
        await sleep(800); // let the toast finish fading in
        await screenshot('server-missing-error');
        for (const needle of [BOGUS_SERVER, 'was not found', 'pip install tilt-lsp', 'tilt.server.path']) {
            if (!msg.includes(needle)) {
                throw new Error(`error message lacks "${needle}": ${msg}`);
            }
        }
        const count = (await notifications()).filter((t) => t.includes('Tilt') || t.includes('tilt')).length;
        if (count !== 1) {
            throw new Error(`expected exactly one Tilt notification, got ${count}: ${(await notifications()).join(' | ')}`);
        }
        return `${msg.replace(/\s+/g, ' ')} [status bar: ${label}]`;
    });

    await step('workbench shows the fixture workspace', async () => {
        await until('Tiltfile in the explorer', async () =>
            (await page.locator('.explorer-folders-view .monaco-list-row').allInnerTexts()).some((t) => t.includes('Tiltfile')),
        );
        await screenshot('workbench');
    });

    await step('Tiltfile opens in the tiltfile language', async () => {
        await openFile('Tiltfile');
        const mode = await until('language status "Tiltfile"', async () => {
            const text = await page.locator('#status\\.editor\\.mode').innerText();
            return text.includes('Tiltfile') ? text : undefined;
        });
        return `language mode: ${mode.trim()}`;
    });


    await step('grammar scopes: docker_build is a Tilt builtin', async () => {
        await page.keyboard.press('Control+Home');
        // Line 4 is `docker_build(`; put the cursor inside the word.
        for (let i = 0; i < 3; i++) {
            await page.keyboard.press('ArrowDown');
        }
        await page.keyboard.press('Home');
        await page.keyboard.press('ArrowRight');
        await page.keyboard.press('ArrowRight');
        await runCommand('Developer: Inspect Editor Tokens and Scopes');
        const widget = page.locator('.token-inspect-widget');
        await widget.waitFor({ state: 'visible', timeout: 15_000 });
        const text = await widget.innerText();
        await screenshot('grammar-scopes');
        await page.keyboard.press('Escape');
        if (!text.includes('support.function.tilt.tiltfile') || !text.includes('source.tiltfile')) {
            throw new Error(`unexpected scopes:\n${text}`);
        }
        return 'support.function.tilt.tiltfile in source.tiltfile';
    });

}

// A scripted stand-in server (e2e/fake_server.py) drives the live-update UI without Docker or the real engine.
const FAKE_RECORD = path.join(RUN_DIR, 'fake-record.jsonl');
const FAKE_WRAPPER = path.join(RUN_DIR, 'fake-server.sh');

function fakeRecords(kind) {
    if (!existsSync(FAKE_RECORD)) {
        return [];
    }
    return readFileSync(FAKE_RECORD, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l))
        .filter((r) => kind === undefined || r.kind === kind);
}

/** Text of the output panel (Monaco renders spaces as U+00A0). */
async function outputText() {
    const t = await page.locator('.part.panel .monaco-editor .view-lines').first().innerText().catch(() => '');
    return t.replace(/\u00a0/g, ' ');
}

/** Waits until the last "Server started" line of the Tilt output names `name` (followed by its version). */
async function waitForServerStart(name, timeoutMs = 60_000) {
    await runCommand('Tilt: Show Live Update Log');
    return until(
        `output "Server started: ${name} <version>"`,
        async () => {
            const text = await outputText();
            const last = text.split('\n').filter((l) => l.includes('Server started')).at(-1) ?? '';
            return new RegExp(`Server started: ${name} \\d`).test(last) ? text : undefined;
        },
        timeoutMs,
        500,
    );
}

async function saveMessage(content) {
    await openFile('app/message.txt');
    await page.keyboard.press('Control+A');
    await page.keyboard.type(content);
    await page.keyboard.press('Control+S');
}

async function recordStatusChanges() {
    await page.evaluate(() => {
        const read = () => document.querySelector('[aria-label^="Tilt live update"]')?.getAttribute('aria-label') ?? null;
        const states = [{ t: Date.now(), s: read() }];
        window.__tiltStates = states;
        let last = states[0].s;
        window.__tiltObserver?.disconnect();
        window.__tiltObserver = new MutationObserver(() => {
            const s = read();
            if (s !== last) {
                last = s;
                states.push({ t: Date.now(), s });
            }
        });
        window.__tiltObserver.observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['aria-label'] });
    });
}

async function statusSequence() {
    const states = await page.evaluate(() => window.__tiltStates);
    return states.map((x) => (x.s ?? 'none').replace('Tilt live update: ', '')).join(' → ');
}

async function fakePart() {
    await step('fake server: a settings change restarts the server with it', async () => {
        writeFileSync(
            FAKE_WRAPPER,
            `#!/bin/sh\nTILT_FAKE_RECORD='${FAKE_RECORD}' exec '${PYTHON}' '${path.join(here, 'fake_server.py')}' "$@"\n`,
            { mode: 0o755 },
        );
        await clearNotifications();
        writeTiltSettings({ 'tilt.server.path': FAKE_WRAPPER, 'tilt.liveUpdate.progress': 'notification' });
        const text = await waitForServerStart('tilt-lsp-fake');
        const init = await until('initialize recorded', async () => fakeRecords('initialize').at(-1));
        const sent = init.payload.initializationOptions?.settings;
        if (sent?.server?.path !== FAKE_WRAPPER || sent?.liveUpdate?.enabled !== true || sent?.liveUpdate?.progress !== 'notification') {
            throw new Error(`unexpected initializationOptions: ${JSON.stringify(init.payload)}`);
        }
        if (init.payload.experimental?.tiltLiveUpdate?.notifications !== true) {
            throw new Error(`missing experimental capability: ${JSON.stringify(init.payload.experimental)}`);
        }
        await screenshot('fake-server-started');
        const restartLine = text.split('\n').find((l) => l.includes('settings changed')) ?? '';
        return `${restartLine.trim()}; initializationOptions.settings.liveUpdate = ${JSON.stringify(sent.liveUpdate)}`;
    });

    await step('fake server: settings changes are sent as didChangeConfiguration', async () => {
        const before = fakeRecords('didChangeConfiguration').length;
        writeTiltSettings({ 'tilt.server.path': FAKE_WRAPPER, 'tilt.liveUpdate.progress': 'notification', 'tilt.liveUpdate.debounceMs': 321 });
        const rec = await until('didChangeConfiguration recorded', async () => fakeRecords('didChangeConfiguration')[before]);
        if (rec.payload?.tilt?.liveUpdate?.debounceMs !== 321) {
            throw new Error(`unexpected didChangeConfiguration: ${JSON.stringify(rec.payload)}`);
        }
        const restarts = (await outputText()).split('\n').filter((l) => l.includes('Restarting the language server')).length;
        return `settings.tilt.liveUpdate.debounceMs = 321 without restart (restarts so far: ${restarts})`;
    });

    await step('fake server: save → syncing with progress notification → ok', async () => {
        await clearNotifications();
        await recordStatusChanges();
        await saveMessage('fake live update ok');
        await until('status bar: syncing', async () => (await statusBarLabel())?.endsWith('syncing'), 15_000, 100);
        const progress = await until(
            'progress notification',
            async () => {
                const toasts = await page.locator('.notifications-toasts .notification-toast').allInnerTexts();
                return toasts.find((t) => t.includes('Live update tilt-lsp-e2e/web'));
            },
            1500,
            50,
        );
        await sleep(300); // the toast fades in
        await screenshot('fake-syncing');
        await until('status bar: ok', async () => (await statusBarLabel())?.endsWith('ok'), 15_000, 100);
        await screenshot('fake-ok');
        const saves = fakeRecords('didSave').map((r) => r.payload);
        if (!saves.some((u) => u.endsWith('/app/message.txt'))) {
            throw new Error(`message.txt save not forwarded: ${JSON.stringify(saves)}`);
        }
        return `${await statusSequence()}; progress: ${progress.replace(/\s+/g, ' ')}`;
    });

    await step('fake server: tooltip, quick pick and Sync now', async () => {
        await page.mouse.move(700, 300);
        await page.locator('[aria-label^="Tilt live update"]').first().hover();
        const hover = page.locator('.monaco-hover, .workbench-hover').filter({ hasText: 'Tilt live update' }).first();
        await hover.waitFor({ state: 'visible', timeout: 10_000 });
        const tip = await hover.innerText();
        await screenshot('fake-tooltip');
        for (const needle of ['tilt-lsp-e2e/web', 'updated', 'message.txt', 'fake-web-1']) {
            if (!tip.includes(needle)) {
                throw new Error(`tooltip lacks "${needle}": ${tip}`);
            }
        }
        await page.mouse.move(700, 300);
        await page.locator('[aria-label^="Tilt live update"]').first().click();
        await page.locator('.quick-input-list .monaco-list-row', { hasText: 'tilt-lsp-e2e/web' }).first().click();
        await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Sync now' }).first().waitFor({ state: 'visible' });
        await screenshot('fake-image-actions');
        await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Sync now' }).first().click();
        const cmd = await until('syncNow recorded', async () =>
            fakeRecords('command').find((r) => r.payload.command === 'tilt.liveUpdate.syncNow'),
        );
        if (JSON.stringify(cmd.payload.arguments) !== JSON.stringify(['tilt-lsp-e2e/web'])) {
            throw new Error(`syncNow arguments: ${JSON.stringify(cmd.payload.arguments)}`);
        }
        return `tooltip: ${tip.replace(/\s+/g, ' ').slice(0, 200)}; syncNow(${JSON.stringify(cmd.payload.arguments)})`;
    });

    await step('fake server: a failing update → one error notification with Show Log', async () => {
        await clearNotifications();
        await recordStatusChanges();
        await saveMessage('FAIL please');
        await until('status bar: failed', async () => (await statusBarLabel())?.endsWith('failed'), 15_000, 100);
        const msg = await until('failure notification', async () =>
            (await notifications()).find((t) => t.includes('Live update of web failed')),
        );
        await sleep(600);
        await screenshot('fake-failed-notification');
        const toast = page.locator('.notifications-toasts .notification-toast', { hasText: 'Live update of web failed' }).first();
        await toast.locator('a.monaco-button, .monaco-button', { hasText: 'Show Log' }).first().click();
        const log = await until('log with the failure', async () => {
            const t = await outputText();
            return t.includes('failed') && t.includes('exit code: 3') ? t : undefined;
        });
        await screenshot('fake-failure-log');
        const count = (await notifications()).filter((t) => t.includes('failed')).length;
        if (count > 1) {
            throw new Error(`expected one failure notification, got ${count}`);
        }
        const line = log.split('\n').filter((l) => l.includes('web failed')).at(-1) ?? '';
        return `${msg.replace(/\s+/g, ' ')} | log: ${line.trim()} | ${await statusSequence()}`;
    });

    await step('fake server: a success after the failure turns the status back to ok', async () => {
        await clearNotifications();
        await saveMessage('fixed again');
        await until('status bar: ok', async () => (await statusBarLabel())?.endsWith('ok'), 15_000, 100);
        return 'ok';
    });

    await step('fake server: pause and resume from the command palette', async () => {
        await runCommand('Tilt: Pause Live Updates');
        await until('status bar: paused', async () => (await statusBarLabel())?.endsWith('paused'), 10_000, 100);
        await screenshot('fake-paused');
        await runCommand('Tilt: Resume Live Updates');
        await until('status bar: ok', async () => (await statusBarLabel())?.endsWith('ok'), 10_000, 100);
        const cmds = fakeRecords('command').map((r) => `${r.payload.command}(${JSON.stringify(r.payload.arguments)})`);
        if (!cmds.includes('tilt.liveUpdate.pause([])') || !cmds.includes('tilt.liveUpdate.resume([])')) {
            throw new Error(`commands: ${cmds.join(', ')}`);
        }
        return cmds.join(', ');
    });
}

async function serverPart() {
    await step('changing tilt.server.path restarts with the real server', async () => {
        if (!existsSync(PYTHON)) {
            throw new Error(`no interpreter at ${PYTHON}`);
        }
        execFileSync(PYTHON, ['-c', 'import tilt_lsp.server'], { stdio: 'pipe' });
        await clearNotifications();
        writeTiltSettings({ 'tilt.server.path': PYTHON });
        const outputLine = await waitForServerStart('tilt-lsp');
        await screenshot('server-started-output');
        return outputLine.split('\n').filter((l) => /Server|Restarting|Starting/.test(l)).slice(-3).join(' / ');
    });

    await step('completion: docker_ offers docker_build in the suggest widget', async () => {
        await openFile('Tiltfile');
        await page.keyboard.press('Control+End');
        await page.keyboard.press('Enter');
        await page.keyboard.type('docker_');
        const labels = await until(
            'suggest widget with docker_build',
            async () => {
                await page.keyboard.press('Escape');
                await page.keyboard.press('Control+Space');
                await page.locator('.suggest-widget.visible .monaco-list-row').first().waitFor({ timeout: 3000 });
                const all = await page
                    .locator('.suggest-widget.visible .monaco-list-row')
                    .evaluateAll((els) => els.map((e) => (e.textContent ?? '').replace(/\u00a0/g, ' ')));
                // The server's item has a signature detail; a word-based suggestion would not.
                return all.some((l) => l.startsWith('docker_build') && l.includes('(')) ? all : undefined;
            },
            45_000,
            1000,
        );
        await sleep(500);
        await screenshot('completion-docker_build');
        await page.keyboard.press('Escape');
        return labels.slice(0, 5).join(' | ');
    });

    await step('diagnostic: an undefined name shows in the Problems panel', async () => {
        // Replace the `docker_` line with a call using an undefined name.
        await page.keyboard.press('Home');
        await page.keyboard.press('Shift+End');
        await page.keyboard.type('print(undefined_e2e_name)');
        await runCommand('Focus Problems (Errors, Warnings, Infos)');
        const row = await until(
            'problem mentioning undefined_e2e_name',
            async () => {
                const rows = await page.locator('.markers-panel .monaco-list-row').allInnerTexts();
                return rows.find((r) => r.includes('undefined_e2e_name'));
            },
            45_000,
            500,
        );
        await screenshot('problems-undefined-name');
        // Put the Tiltfile back as it is on disk.
        await openFile('Tiltfile');
        await runCommand('File: Revert File');
        return row.replace(/\s+/g, ' ');
    });
}

async function liveUpdatePart() {
    let containerId;
    await step('a running container of the fixture image', async () => {
        docker(['info', '--format', '{{.ServerVersion}}']);
        // The busybox base image comes from the project's test helper (built locally from busybox-static, no pulls).
        execFileSync(PYTHON, ['-c', 'import sys; sys.path.insert(0, "tests"); import dockerutil; dockerutil.ensure_base_images()'], {
            cwd: ROOT,
            stdio: 'pipe',
        });
        docker(['build', '--network', 'none', '-q', '-t', IMAGE, WORKSPACE], { env: { ...env, DOCKER_BUILDKIT: '0' } });
        containerId = docker(['run', '-d', '--name', CONTAINER, '--network', 'none', '--label', 'tilt-lsp-e2e=1', IMAGE]);
        containerStarted = true;
        const before = docker(['exec', CONTAINER, 'cat', '/app/message.txt']);
        return `${CONTAINER} (${containerId.slice(0, 12)}) /app/message.txt = ${JSON.stringify(before)}`;
    });

    const content = `hello from VS Code ${SUFFIX}`;
    await step('saving a synced file: status bar syncing → success', async () => {
        await clearNotifications();
        // Record every status change of our item from now on.
        await page.evaluate(() => {
            const read = () => document.querySelector('[aria-label^="Tilt live update"]')?.getAttribute('aria-label') ?? null;
            const states = [{ t: Date.now(), s: read() }];
            window.__tiltStates = states;
            let last = states[0].s;
            new MutationObserver(() => {
                const s = read();
                if (s !== last) {
                    last = s;
                    states.push({ t: Date.now(), s });
                }
            }).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['aria-label'] });
        });
        await openFile('app/message.txt');
        await page.keyboard.press('Control+A');
        await page.keyboard.type(content);
        await page.keyboard.press('Control+S');
        const savedAt = Date.now();
        await until('status bar: syncing', async () => (await statusBarLabel())?.endsWith('syncing'), 20_000, 100);
        await screenshot('live-update-syncing');
        await until('status bar: ok', async () => (await statusBarLabel())?.endsWith('ok'), 60_000, 200);
        const states = await page.evaluate(() => window.__tiltStates);
        await screenshot('live-update-done');
        const seq = states.map((x) => x.s?.replace('Tilt live update: ', '')).join(' → ');
        const iSync = states.findIndex((x) => x.s?.endsWith('syncing'));
        const iOk = states.findIndex((x, i) => i > iSync && x.s?.endsWith('ok'));
        if (iSync < 0 || iOk < 0) {
            throw new Error(`status sequence lacks syncing → ok: ${seq}`);
        }
        return `${seq} (save → ok ${states[iOk].t - savedAt} ms)`;
    });

    await step('the saved file is in the container', async () => {
        const inside = await until(
            '/app/message.txt updated in the container',
            async () => {
                const text = docker(['exec', CONTAINER, 'cat', '/app/message.txt']);
                return text === content ? text : undefined;
            },
            10_000,
            200,
        );
        const ran = docker(['exec', CONTAINER, 'cat', '/tmp/last-run.txt']);
        if (ran !== content) {
            throw new Error(`run() step output is ${JSON.stringify(ran)}`);
        }
        return `/app/message.txt = ${JSON.stringify(inside)}; run() step copied it to /tmp/last-run.txt`;
    });

    await step(
        'no diagnostics on the synced (non-Tiltfile) file',
        async () => {
            await runCommand('Focus Problems (Errors, Warnings, Infos)');
            await page.locator('.markers-panel').waitFor({ state: 'visible' });
            await sleep(1500);
            const rows = await page.locator('.markers-panel .monaco-list-row').allInnerTexts();
            if (rows.some((r) => r.includes('message.txt'))) {
                throw new Error(`the server reports problems on app/message.txt: ${rows.join(' | ').replace(/\s+/g, ' ')}`);
            }
            return 'none';
        },
        { independent: true },
    );

    await step('tooltip and quick pick list the image', async () => {
        await page.locator('[aria-label^="Tilt live update"]').first().hover();
        const hover = page.locator('.monaco-hover, .workbench-hover').filter({ hasText: 'Tilt live update' }).first();
        await hover.waitFor({ state: 'visible', timeout: 10_000 });
        const tip = await hover.innerText();
        await screenshot('status-tooltip');
        for (const needle of [IMAGE_REPO, 'updated', 'message.txt']) {
            if (!tip.includes(needle)) {
                throw new Error(`tooltip lacks "${needle}": ${tip}`);
            }
        }
        await page.mouse.move(700, 300);
        await page.locator('[aria-label^="Tilt live update"]').first().click();
        const rows = page.locator('.quick-input-list .monaco-list-row');
        await rows.first().waitFor({ state: 'visible' });
        const texts = await rows.allInnerTexts();
        await screenshot('status-quick-pick');
        if (!texts.some((t) => t.includes(IMAGE_REPO))) {
            throw new Error(`quick pick lacks the image: ${texts.join(' | ')}`);
        }
        // Per-image actions.
        await page.locator('.quick-input-list .monaco-list-row', { hasText: IMAGE_REPO }).first().click();
        await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Sync now' }).first().waitFor({ state: 'visible' });
        const actions = await page.locator('.quick-input-list .monaco-list-row').allInnerTexts();
        await screenshot('image-actions');
        await page.keyboard.press('Escape');
        return `tooltip: ${tip.replace(/\s+/g, ' ').slice(0, 160)}; actions: ${actions.map((a) => a.split('\n')[0]).join(', ')}`;
    });

    await step(
        'a failing run() step: status failed and exactly one notification',
        async () => {
            await clearNotifications();
            await saveMessage('FAIL on purpose');
            await until('status bar: failed', async () => (await statusBarLabel())?.endsWith('failed'), 30_000, 200);
            await sleep(1500); // give a second (duplicate) notification time to show up
            const toasts = (await notifications()).map((t) => t.replace(/\s+/g, ' '));
            await screenshot('live-update-failed');
            const failures = toasts.filter((t) => /fail/i.test(t));
            if (failures.length !== 1 || !failures[0].includes('Live update of web failed')) {
                throw new Error(`expected one failure notification (the client's), got ${failures.length}: ${failures.join(' | ')}`);
            }
            return failures[0];
        },
        { independent: true },
    );

    await step('fixing the file turns the status back to ok', async () => {
        await clearNotifications();
        await saveMessage(content);
        await until('status bar: ok', async () => (await statusBarLabel())?.endsWith('ok'), 30_000, 200);
        const ran = docker(['exec', CONTAINER, 'cat', '/tmp/last-run.txt']);
        return `status ok; /tmp/last-run.txt = ${JSON.stringify(ran)}`;
    });

    await step('the log shows the update', async () => {
        await runCommand('Tilt: Show Live Update Log');
        const text = await until(
            'output with the live update lines',
            async () => {
                const t = await outputText();
                return /web (done|sync|run)/.test(t) ? t : undefined;
            },
            15_000,
            500,
        );
        await screenshot('live-update-log');
        return text.split('\n').filter((l) => / web /.test(l)).slice(-4).join(' / ');
    });
}

// Restricted Mode: a fresh profile with workspace trust on; the user answers "No" to the trust prompt. The server is
// found as `tilt-lsp` on PATH (a wrapper around the fake server), since workspace values of tilt.server.path do not
// apply in Restricted Mode.
async function untrustedPart() {
    const userData = path.join(RUN_DIR, 'user-data-untrusted');
    const bin = path.join(RUN_DIR, 'bin');
    await step('restricted mode: new session with workspace trust on', async () => {
        await stopSession();
        mkdirSync(path.join(userData, 'User'), { recursive: true });
        writeFileSync(
            path.join(userData, 'User', 'settings.json'),
            JSON.stringify(userSettings({ 'security.workspace.trust.enabled': true, 'security.workspace.trust.startupPrompt': 'always' }), null, 2),
        );
        // tilt.server.args is a restricted setting: ignored until the workspace is trusted.
        writeTiltSettings({ 'tilt.server.args': [WORKSPACE_ARG], 'tilt.liveUpdate.progress': 'notification' });
        mkdirSync(bin, { recursive: true });
        writeFileSync(
            path.join(bin, 'tilt-lsp'),
            `#!/bin/sh\nTILT_FAKE_RECORD='${FAKE_RECORD}' exec '${PYTHON}' '${path.join(here, 'fake_server.py')}' "$@"\n`,
            { mode: 0o755 },
        );
        // VS Code's server takes the extension host's environment from a login shell, so PATH is set the way users
        // set it: in ~/.profile.
        writeFileSync(path.join(HOME, '.profile'), `export PATH='${bin}':"$PATH"\n`);
        rmSync(FAKE_RECORD, { force: true });
        const port = await startCodeServer({ userData, trust: true, pathPrefix: bin });
        await openBrowser(port, '.monaco-workbench');
        const no = page.locator('.monaco-dialog-box .monaco-button', { hasText: "No, I don't trust the authors" });
        await no.waitFor({ state: 'visible', timeout: 60_000 });
        await screenshot('untrusted-trust-prompt');
        await no.click();
        await page.locator('.explorer-folders-view .monaco-list-row').first().waitFor({ timeout: 60_000 });
        return 'answered "No, I don\'t trust the authors"';
    });

    await step('restricted mode: language features on, live update off', async () => {
        const init = await until('initialize recorded', async () => fakeRecords('initialize').at(-1), 60_000, 300);
        const sent = init.payload.initializationOptions?.settings;
        if (sent?.liveUpdate?.enabled !== false) {
            throw new Error(`liveUpdate.enabled should be false: ${JSON.stringify(sent)}`);
        }
        if (sent?.server?.args?.length !== 0 || init.payload.argv.includes(WORKSPACE_ARG)) {
            throw new Error(`the workspace's tilt.server.args must not apply in Restricted Mode: ${JSON.stringify(init.payload)}`);
        }
        const label = await until('status bar: off', async () => {
            const l = await statusBarLabel();
            return l?.endsWith('off') ? l : undefined;
        });
        await openFile('Tiltfile');
        await page.keyboard.press('Control+End');
        await page.keyboard.press('Enter');
        await page.keyboard.type('docker_');
        await until(
            'completion in Restricted Mode',
            async () => {
                await page.keyboard.press('Escape');
                await page.keyboard.press('Control+Space');
                await page.locator('.suggest-widget.visible .monaco-list-row').first().waitFor({ timeout: 3000 });
                const all = await page.locator('.suggest-widget.visible .monaco-list-row').allInnerTexts();
                return all.some((t) => t.includes('docker_build'));
            },
            30_000,
            1000,
        );
        await page.keyboard.press('Escape');
        await runCommand('File: Revert File');
        await page.mouse.move(700, 300);
        await page.locator('[aria-label^="Tilt live update"]').first().hover();
        const hover = page.locator('.monaco-hover, .workbench-hover').filter({ hasText: 'Tilt live update' }).first();
        await hover.waitFor({ state: 'visible', timeout: 10_000 });
        const tip = (await hover.innerText()).replace(/\s+/g, ' ');
        await screenshot('untrusted-status-off');
        if (!tip.includes('Restricted Mode')) {
            throw new Error(`tooltip should explain Restricted Mode: ${tip}`);
        }
        const saves = fakeRecords('didSave').length;
        await saveMessage('saved while untrusted');
        await sleep(1500);
        if (fakeRecords('didSave').length !== saves) {
            throw new Error('a non-Tiltfile save was forwarded although live update is off');
        }
        return `${label}; initializationOptions.settings.liveUpdate.enabled = false; server from PATH; tooltip: ${tip.slice(0, 120)}`;
    });

    await step('trusting the workspace turns live update on', async () => {
        const before = fakeRecords('initialize').length;
        await runCommand('Workspaces: Manage Workspace Trust');
        const trustButton = page.locator('.workspace-trust-editor .monaco-button', { hasText: 'Trust' }).first();
        await trustButton.waitFor({ state: 'visible', timeout: 15_000 });
        await trustButton.click();
        const init = await until('a new initialize', async () => fakeRecords('initialize')[before], 30_000, 300);
        const sent = init.payload.initializationOptions?.settings;
        if (sent?.liveUpdate?.enabled !== true || !init.payload.argv.includes(WORKSPACE_ARG)) {
            throw new Error(`after trust: ${JSON.stringify(init.payload)}`);
        }
        await page.keyboard.press('Control+W');
        const label = await until('status bar: idle', async () => {
            const l = await statusBarLabel();
            return l?.endsWith('idle') ? l : undefined;
        });
        await screenshot('trusted-after-grant');
        return `restarted: liveUpdate.enabled = true, server argv ${JSON.stringify(init.payload.argv)}; ${label}`;
    });
}

async function stopSession() {
    if (browser !== undefined) {
        await browser.close().catch(() => undefined);
        browser = undefined;
        page = undefined;
    }
    if (codeServer !== undefined && codeServer.exitCode === null) {
        // code-server runs in its own process group: end it with its extension host and language server.
        try {
            process.kill(-codeServer.pid, 'SIGTERM');
        } catch {
            // already gone
        }
        await sleep(1500);
        try {
            process.kill(-codeServer.pid, 'SIGKILL');
        } catch {
            // already gone
        }
    }
    codeServer = undefined;
}

async function tearDown() {
    await stopSession();
    if (containerStarted) {
        try {
            docker(['rm', '-f', CONTAINER]);
        } catch {
            // already gone
        }
    }
}

async function main() {
    let failed = false;
    try {
        await step('set up run dir, settings and fixture workspace', async () => setUp());
        await step('install the .vsix into code-server', installExtension);
        const port = await (async () => {
            let p;
            await step('start code-server', async () => {
                p = await startCodeServer();
                return `port ${p}`;
            });
            return p;
        })();
        await step('open the workbench in Chromium', async () => openBrowser(port));
        if (PARTS.has('client')) {
            await clientPart();
        }
        if (PARTS.has('fake')) {
            await fakePart();
        }
        if (PARTS.has('server') || PARTS.has('liveupdate')) {
            await serverPart();
        }
        if (PARTS.has('liveupdate')) {
            await liveUpdatePart();
        }
        if (PARTS.has('untrusted')) {
            await untrustedPart();
        }
        failed = results.some((r) => !r.ok);
    } catch {
        failed = true;
        console.log('\n==== extension host / Tilt logs (tail)');
        console.log(exthostLogTail());
    } finally {
        if (!(failed && env.TILT_E2E_KEEP === '1')) {
            await tearDown();
        } else {
            log(`TILT_E2E_KEEP=1: code-server (pgid ${codeServer?.pid}) and ${CONTAINER} left running`);
        }
    }
    const summary = { ok: !failed, parts: [...PARTS], totalMs: Date.now() - t0, steps: results };
    writeFileSync(path.join(ARTIFACTS, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
    console.log(`\n==== e2e ${failed ? 'FAILED' : 'passed'} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    for (const r of results) {
        console.log(`${r.ok ? 'ok  ' : 'FAIL'} ${r.name} (${r.ms} ms)`);
    }
    process.exitCode = failed ? 1 : 0;
}

await main();
