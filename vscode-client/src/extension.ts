// Entry point: wires settings, the server manager, the live-update view and the commands together.
import * as os from 'node:os';
import * as vscode from 'vscode';
import { DidSaveTextDocumentNotification, type LanguageClient, State } from 'vscode-languageclient/node';
import { CLIENT_COMMANDS, LIVE_UPDATE_NOTIFICATION, SERVER_COMMANDS } from './contract';
import { LiveUpdateView } from './liveUpdateView';
import { findOnPath } from './platform';
import { ConfigurableProgressFeature } from './progress';
import { onPythonInterpreterChanged, pythonExtensionCommand } from './python';
import { CLIENT_ID, ServerManager } from './server';
import {
    type LaunchEnv,
    needsRestart,
    readSettings,
    resolveServerLaunch,
    SERVER_SCRIPT,
    serverSettings,
    type TiltSettings,
} from './settings';
import { parseStatusResult } from './statusModel';

export interface TiltExtensionApi {
    /** For tests: the live-update view's model and the server manager. */
    readonly view: LiveUpdateView;
    readonly server: ServerManager;
}

let running: ServerManager | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<TiltExtensionApi> {
    const output = vscode.window.createOutputChannel('Tilt');
    context.subscriptions.push(output);

    let reported = '';
    const current = (): TiltSettings => {
        const cfg = vscode.workspace.getConfiguration(CLIENT_ID);
        const { settings, problems } = readSettings((key) => cfg.get(key));
        const text = problems.join('; ');
        if (text !== '' && text !== reported) {
            void vscode.window.showWarningMessage(`Tilt settings: ${text}. Using the defaults for those.`);
        }
        reported = text;
        return settings;
    };
    const liveUpdateOn = (s: TiltSettings) => vscode.workspace.isTrusted && s.liveUpdate.enabled;
    const offReason = (s: TiltSettings) =>
        !vscode.workspace.isTrusted
            ? 'Live update is off in Restricted Mode: trust this workspace to turn it on.'
            : s.liveUpdate.enabled
              ? ''
              : 'Live update is off (setting `tilt.liveUpdate.enabled`).';

    let launchUsesPython = false;
    let watchingPython = false;

    const server: ServerManager = new ServerManager({
        output,
        settings: current,
        serverSettings: () => serverSettings(current(), vscode.workspace.isTrusted),
        cwd: () => vscode.workspace.workspaceFolders?.[0]?.uri.fsPath,
        resolveLaunch: async () => {
            const s = current();
            const env: LaunchEnv = {
                findOnPath: (name) => findOnPath(name),
                pythonCommand: undefined,
                platform: process.platform,
                homeDir: os.homedir(),
                workspaceFolder: vscode.workspace.workspaceFolders?.[0]?.uri.fsPath,
            };
            // Ask the Python extension only when nothing earlier in the order applies (it may need activating).
            if (s.server.debugPort === null && s.server.path === '' && findOnPath(SERVER_SCRIPT) === undefined) {
                env.pythonCommand = await pythonExtensionCommand(vscode.workspace.workspaceFolders?.[0]?.uri);
            }
            const launch = resolveServerLaunch(s, env);
            launchUsesPython = launch.source === 'pythonExtension';
            if (launchUsesPython && !watchingPython) {
                watchingPython = true;
                const watch = await onPythonInterpreterChanged(() => {
                    if (launchUsesPython) {
                        void server.restart('Python interpreter changed');
                    }
                });
                if (watch !== undefined) {
                    context.subscriptions.push(watch);
                }
            }
            return launch;
        },
        onClient: (client: LanguageClient) => {
            // Live-update state (results, pauses) belongs to the server process: start afresh with a new one.
            view.model.reset();
            view.render();
            return [
                client.onNotification(LIVE_UPDATE_NOTIFICATION, (params: unknown) => view.handle(params)),
            ];
        },
        features: (client: LanguageClient) => [new ConfigurableProgressFeature(client, () => current().liveUpdate.progress)],
        onFailure: (reason) => view.setServerProblem(reason),
        onState: (state) => {
            if (state === State.Running) {
                view.setServerProblem(undefined);
                void refreshStatus();
            } else if (state === State.Stopped) {
                view.serverStopped();
            }
        },
    });
    running = server;
    context.subscriptions.push(server);

    async function runServerCommand(command: string, args: unknown[]): Promise<unknown> {
        try {
            return await server.executeCommand(command, args);
        } catch (e) {
            const msg = e instanceof Error ? e.message : String(e);
            output.appendLine(`[tilt] ${command} failed: ${msg}`);
            void vscode.window.showErrorMessage(`Tilt: ${command} failed: ${msg}`, 'Show Log').then((pick) => {
                if (pick !== undefined) {
                    output.show(true);
                }
            });
            return undefined;
        }
    }

    function requireLiveUpdate(): boolean {
        const s = current();
        if (liveUpdateOn(s)) {
            return true;
        }
        void vscode.window.showInformationMessage(offReason(s));
        return false;
    }

    async function refreshStatus(): Promise<void> {
        if (!server.supportsCommand(SERVER_COMMANDS.status)) {
            return;
        }
        try {
            const result = await server.executeCommand(SERVER_COMMANDS.status, []);
            for (const known of parseStatusResult(result)) {
                view.model.know(known.image, known);
            }
            view.render();
        } catch (e) {
            output.appendLine(`[tilt] ${SERVER_COMMANDS.status} failed: ${String(e)}`);
        }
    }

    const actions = {
        syncNow: async (image?: string) => {
            if (requireLiveUpdate()) {
                await runServerCommand(SERVER_COMMANDS.syncNow, image === undefined ? [] : [image]);
            }
        },
        pause: async (image?: string) => {
            if (requireLiveUpdate()) {
                await runServerCommand(SERVER_COMMANDS.pause, image === undefined ? [] : [image]);
                view.model.setPaused(image, true);
                view.render();
            }
        },
        resume: async (image?: string) => {
            if (requireLiveUpdate()) {
                await runServerCommand(SERVER_COMMANDS.resume, image === undefined ? [] : [image]);
                view.model.setPaused(image, false);
                view.render();
            }
        },
        showLog: () => output.show(true),
        restartServer: () => server.restart('command'),
    };
    const view = new LiveUpdateView(output, actions);
    context.subscriptions.push(view);
    const initial = current();
    view.setEnabled(liveUpdateOn(initial), offReason(initial));

    const imageArg = (arg: unknown): string | undefined => (typeof arg === 'string' && arg !== '' ? arg : undefined);
    context.subscriptions.push(
        vscode.commands.registerCommand(CLIENT_COMMANDS.restart, () => server.restart('command')),
        vscode.commands.registerCommand(CLIENT_COMMANDS.liveUpdateNow, (arg?: unknown) => actions.syncNow(imageArg(arg))),
        vscode.commands.registerCommand(CLIENT_COMMANDS.pause, (arg?: unknown) => actions.pause(imageArg(arg))),
        vscode.commands.registerCommand(CLIENT_COMMANDS.resume, (arg?: unknown) => actions.resume(imageArg(arg))),
        vscode.commands.registerCommand(CLIENT_COMMANDS.showLog, () => actions.showLog()),
        vscode.commands.registerCommand(CLIENT_COMMANDS.showStatus, () => view.showStatus()),
    );

    context.subscriptions.push(
        vscode.workspace.onDidChangeConfiguration((e) => {
            if (!e.affectsConfiguration(CLIENT_ID)) {
                return;
            }
            const s = current();
            view.setEnabled(liveUpdateOn(s), offReason(s));
            if (needsRestart((section) => e.affectsConfiguration(section))) {
                void server.restart('settings changed');
            } else {
                server.sendSettings();
            }
        }),
        vscode.workspace.onDidGrantWorkspaceTrust(() => {
            const s = current();
            view.setEnabled(liveUpdateOn(s), offReason(s));
            // Restricted settings (server path/args) may now take their workspace values.
            void server.restart('workspace trusted');
        }),
        // Live update reacts to saves of any synced file, not only Tiltfiles: the language client only syncs
        // tiltfile documents, so other saves are forwarded as textDocument/didSave (uri only).
        vscode.workspace.onDidSaveTextDocument((doc) => {
            if (doc.uri.scheme !== 'file' || doc.languageId === 'tiltfile' || !server.isRunning) {
                return;
            }
            if (vscode.workspace.getWorkspaceFolder(doc.uri) === undefined) {
                return; // outside the workspace (user settings, other projects): never synced
            }
            const s = current();
            if (!liveUpdateOn(s) || !s.liveUpdate.onSave) {
                return;
            }
            void server.notify(DidSaveTextDocumentNotification.type.method, { textDocument: { uri: doc.uri.toString() } });
        }),
    );

    await server.restart('activation');
    return { view, server };
}

export function deactivate(): Thenable<void> | undefined {
    const server = running;
    running = undefined;
    return server?.stop();
}
