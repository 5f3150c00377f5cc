// Owns the language client: start (spawn over stdio, or connect to a debug port), one idempotent restart, stop,
// settings forwarding and server commands.
import { type ChildProcess, spawn } from 'node:child_process';
import * as net from 'node:net';
import * as vscode from 'vscode';
import {
    CloseAction,
    type CloseHandlerResult,
    DidChangeConfigurationNotification,
    ErrorAction,
    type ErrorHandlerResult,
    ExecuteCommandRequest,
    LanguageClient,
    type LanguageClientOptions,
    RevealOutputChannelOn,
    State,
    type StaticFeature,
    type StreamInfo,
} from 'vscode-languageclient/node';
import { RestartQueue } from './restartQueue';
import { describeLaunch, explainStartFailure, type ServerLaunch, type StartFailure, type TiltSettings } from './settings';

export const CLIENT_ID = 'tilt';
const CLIENT_NAME = 'Tilt Language Server';
/** Crashes allowed within CRASH_WINDOW_MS before the extension stops restarting the server. */
const MAX_CRASH_RESTARTS = 4;
const CRASH_WINDOW_MS = 3 * 60_000;
const STOP_TIMEOUT_MS = 2000;

/** The client shows live-update failures itself (one notification each) — see README "Editor contract". */
const experimentalCapabilities: StaticFeature = {
    fillClientCapabilities(capabilities) {
        capabilities.experimental = {
            ...(capabilities.experimental as Record<string, unknown> | undefined),
            tiltLiveUpdate: { notifications: true },
        };
    },
    initialize() {},
    getState() {
        return { kind: 'static' };
    },
    clear() {},
};

/** A client whose own "couldn't start"/"crashed" pop-ups are turned into log lines: the manager explains those. */
class TiltLanguageClient extends LanguageClient {
    override error(message: string, data?: unknown, showNotification: boolean | 'force' = true): void {
        super.error(message, data, showNotification === 'force' ? false : showNotification);
    }
}

export interface ServerManagerOptions {
    output: vscode.OutputChannel;
    /** Current settings and workspace trust, read at each start. */
    settings(): TiltSettings;
    /** The server settings tree (already adjusted for trust). */
    serverSettings(): Record<string, unknown>;
    /** Resolves how to reach the server (may ask the Python extension). */
    resolveLaunch(): Promise<ServerLaunch>;
    /** Called with every new client before it starts, to register notification handlers. */
    onClient(client: LanguageClient): { dispose(): unknown }[];
    /** Extra features for every new client (registered after the built-in ones). */
    features(client: LanguageClient): StaticFeature[];
    /** Called with every client state change (Running after a start or a crash restart, Stopped). */
    onState(state: State, client: LanguageClient): void;
    cwd(): string | undefined;
    /** Called with a one-line reason when the server cannot run (start failure, too many crashes). */
    onFailure(reason: string): void;
}

type Phase = 'idle' | 'starting' | 'running' | 'stopping' | 'failed';

export class ServerManager implements vscode.Disposable {
    private client: LanguageClient | undefined;
    private clientDisposables: { dispose(): unknown }[] = [];
    private process: ChildProcess | undefined;
    private exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    private stderrTail = '';
    private launch: ServerLaunch | undefined;
    private phase: Phase = 'idle';
    private crashes: number[] = [];
    private readonly restarts = new RestartQueue((reason) => this.doRestart(reason));
    private disposed = false;

    constructor(private readonly opts: ServerManagerOptions) {}

    /** How the running (or last) server was reached. */
    get currentLaunch(): ServerLaunch | undefined {
        return this.launch;
    }

    get isRunning(): boolean {
        return this.client?.state === State.Running;
    }

    /**
     * Stops the server if it runs, then starts it with the current settings. Calls made while a restart is waiting to
     * begin share that restart; a call made during a restart queues exactly one more, so the last settings always win.
     */
    restart(reason: string): Promise<void> {
        return this.restarts.request(reason);
    }

    private async doRestart(reason: string): Promise<void> {
        if (this.disposed) {
            return;
        }
        this.log(`${this.client === undefined ? 'Starting' : 'Restarting'} the language server (${reason}).`);
        await this.stopClient();
        await this.startClient();
    }

    /** Sends the current settings (workspace/didChangeConfiguration) without restarting. */
    sendSettings(): void {
        const client = this.client;
        if (client === undefined || client.state !== State.Running) {
            return;
        }
        void client
            .sendNotification(DidChangeConfigurationNotification.type, {
                settings: { [CLIENT_ID]: this.opts.serverSettings() },
            })
            .catch((e: unknown) => this.log(`Sending settings failed: ${String(e)}`));
    }

    /** Sends a notification when the server is running (dropped otherwise). */
    async notify(method: string, params: unknown): Promise<void> {
        const client = this.client;
        if (client !== undefined && client.state === State.Running) {
            await client.sendNotification(method, params);
        }
    }

    /** Runs a `workspace/executeCommand` on the server; undefined (with a message) when it is not running. */
    async executeCommand(command: string, args: unknown[]): Promise<unknown> {
        const client = this.client;
        if (client === undefined || client.state !== State.Running) {
            const pick = await vscode.window.showWarningMessage(
                'The Tilt language server is not running.',
                'Restart Language Server',
            );
            if (pick !== undefined) {
                await this.restart('requested');
            }
            return undefined;
        }
        const result: unknown = await client.sendRequest(ExecuteCommandRequest.type, { command, arguments: args });
        return result;
    }

    /** Whether the server advertised `command` in executeCommandProvider. */
    supportsCommand(command: string): boolean {
        const commands = this.client?.initializeResult?.capabilities.executeCommandProvider?.commands ?? [];
        return commands.includes(command);
    }

    stop(): Promise<void> {
        return this.restarts.serial(() => this.stopClient());
    }

    dispose(): void {
        this.disposed = true;
        void this.stop();
    }

    // -----------------------------------------------------------------------------------------------------------

    private log(line: string): void {
        this.opts.output.appendLine(`[tilt] ${line}`);
    }

    private async startClient(): Promise<void> {
        let launch: ServerLaunch;
        try {
            launch = await this.opts.resolveLaunch();
        } catch (e) {
            this.log(`Cannot resolve the server command: ${String(e)}`);
            return;
        }
        this.launch = launch;
        this.crashes = [];
        this.log(`Server: ${describeLaunch(launch)}${launch.kind === 'spawn' ? ` (from ${launch.source})` : ''}`);

        const clientOptions: LanguageClientOptions = {
            documentSelector: [
                { scheme: 'file', language: 'tiltfile' },
                { scheme: 'untitled', language: 'tiltfile' },
            ],
            outputChannel: this.opts.output,
            revealOutputChannelOn: RevealOutputChannelOn.Never,
            // No generic pop-up ("Pending response rejected..."): startClient explains failures itself.
            initializationFailedHandler: () => false,
            initializationOptions: () => ({ settings: this.opts.serverSettings() }),
            errorHandler: {
                error: (_error, _message, count): ErrorHandlerResult => ({
                    action: count !== undefined && count <= 3 ? ErrorAction.Continue : ErrorAction.Shutdown,
                    handled: true,
                }),
                closed: (): CloseHandlerResult => this.onClosed(),
            },
            middleware: {
                workspace: {
                    // Answer workspace/configuration for `tilt` with the same (trust-adjusted) tree we push.
                    configuration: (params) => {
                        const tilt = this.opts.serverSettings();
                        return params.items.map((item): unknown => {
                            const section = item.section ?? '';
                            if (section === CLIENT_ID) {
                                return tilt;
                            }
                            if (section.startsWith(`${CLIENT_ID}.`)) {
                                return section
                                    .slice(CLIENT_ID.length + 1)
                                    .split('.')
                                    .reduce<unknown>(
                                        (v, k) => (typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[k] : undefined),
                                        tilt,
                                    );
                            }
                            const scope = item.scopeUri !== undefined ? vscode.Uri.parse(item.scopeUri) : undefined;
                            return section === '' ? null : vscode.workspace.getConfiguration(undefined, scope).get<unknown>(section);
                        });
                    },
                },
            },
        };

        const client = new TiltLanguageClient(CLIENT_ID, CLIENT_NAME, () => this.connect(launch), clientOptions);
        client.registerFeature(experimentalCapabilities);
        for (const feature of this.opts.features(client)) {
            client.registerFeature(feature);
        }
        this.client = client;
        this.clientDisposables = [
            ...this.opts.onClient(client),
            client.onDidChangeState((e) => {
                if (e.newState === State.Running) {
                    this.phase = 'running';
                }
                this.opts.onState(e.newState, client);
            }),
        ];

        this.phase = 'starting';
        try {
            await client.start();
            // start() can resolve although the server went away during the handshake (the connection-closed path
            // clears the client's start promise), so check the state rather than trusting the promise.
            if (client.state !== State.Running) {
                throw new Error('the server stopped during the handshake');
            }
            this.phase = 'running';
            const info = client.initializeResult?.serverInfo;
            this.log(`Server started${info ? `: ${info.name}${info.version ? ` ${info.version}` : ''}` : ''}.`);
        } catch (e) {
            this.phase = 'failed';
            await this.waitForExit(1000);
            this.showStartError(launch, this.failureOf(e));
            await this.stopClient();
        }
    }

    /** ServerOptions callback: spawn over stdio, or connect over TCP to a debug server. */
    private async connect(launch: ServerLaunch): Promise<ChildProcess | StreamInfo> {
        if (launch.kind === 'tcp') {
            const socket = await new Promise<net.Socket>((resolve, reject) => {
                const s = net.connect({ host: launch.host, port: launch.port });
                s.once('connect', () => resolve(s));
                s.once('error', reject);
            });
            return { reader: socket, writer: socket };
        }
        this.exit = undefined;
        this.stderrTail = '';
        const proc = spawn(launch.command, launch.args, {
            cwd: this.opts.cwd(),
            env: { ...process.env, PYTHONUNBUFFERED: '1' },
            stdio: 'pipe',
            windowsHide: true,
        });
        this.process = proc;
        proc.stderr.on('data', (chunk: Buffer) => {
            this.stderrTail = (this.stderrTail + chunk.toString('utf8')).slice(-4000);
        });
        proc.on('exit', (code, signal) => {
            this.exit = { code, signal };
            if (this.process === proc) {
                this.log(`Server process ${proc.pid ?? '?'} exited (${signal ?? `code ${code ?? '?'}`}).`);
            }
        });
        await new Promise<void>((resolve, reject) => {
            proc.once('spawn', () => resolve());
            proc.once('error', reject);
        });
        return proc;
    }

    private onClosed(): CloseHandlerResult {
        if (this.phase !== 'running') {
            // Start failures are explained by startClient; stops are intended.
            return { action: CloseAction.DoNotRestart, handled: true };
        }
        const now = Date.now();
        this.crashes = this.crashes.filter((t) => now - t < CRASH_WINDOW_MS);
        if (this.crashes.length < MAX_CRASH_RESTARTS) {
            this.crashes.push(now);
            this.log(`The server stopped unexpectedly; restarting it (${this.crashes.length}/${MAX_CRASH_RESTARTS}).`);
            return { action: CloseAction.Restart, handled: true };
        }
        this.phase = 'failed';
        const launch = this.launch;
        if (launch !== undefined) {
            const failure: StartFailure = { stderr: this.stderrTail };
            if (this.exit !== undefined) {
                failure.exitCode = this.exit.code;
            }
            const text = explainStartFailure(launch, failure);
            this.opts.onFailure(text.message);
            this.showError(
                `The Tilt language server crashed ${MAX_CRASH_RESTARTS + 1} times in 3 minutes and was not restarted. ${text.message}`,
                text.fix,
            );
        }
        return { action: CloseAction.DoNotRestart, handled: true };
    }

    private failureOf(e: unknown): StartFailure {
        const f: StartFailure = { stderr: this.stderrTail };
        if (e instanceof Error) {
            const code = (e as NodeJS.ErrnoException).code;
            if (typeof code === 'string') {
                f.code = code;
            }
            f.message = e.message;
        } else if (typeof e === 'string') {
            f.message = e;
        }
        if (this.exit !== undefined) {
            f.exitCode = this.exit.code;
        }
        return f;
    }

    private async waitForExit(ms: number): Promise<void> {
        const proc = this.process;
        if (proc === undefined || this.exit !== undefined || proc.exitCode !== null) {
            return;
        }
        await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, ms);
            proc.once('exit', () => {
                clearTimeout(timer);
                resolve();
            });
        });
    }

    private showStartError(launch: ServerLaunch, failure: StartFailure): void {
        const text = explainStartFailure(launch, failure);
        this.opts.onFailure(text.message);
        this.log(`${text.message} ${text.fix}`);
        if (failure.stderr !== undefined && failure.stderr.trim() !== '') {
            this.log(`Server stderr (last lines):\n${failure.stderr.trimEnd()}`);
        }
        this.showError(text.message, text.fix);
    }

    private showError(message: string, fix: string): void {
        const openSettings = 'Open Settings';
        const showOutput = 'Show Output';
        const retry = 'Retry';
        void vscode.window.showErrorMessage(`${message} ${fix}`, openSettings, showOutput, retry).then((pick) => {
            if (pick === openSettings) {
                void vscode.commands.executeCommand('workbench.action.openSettings', '@ext:tilt-lsp.tilt-lsp tilt.server');
            } else if (pick === showOutput) {
                this.opts.output.show(true);
            } else if (pick === retry) {
                void this.restart('retry');
            }
        });
    }

    private async stopClient(): Promise<void> {
        const client = this.client;
        const proc = this.process;
        this.client = undefined;
        this.process = undefined;
        if (client !== undefined) {
            this.phase = 'stopping';
            try {
                if (client.state === State.Running || client.state === State.Starting) {
                    await client.stop(STOP_TIMEOUT_MS);
                }
            } catch (e) {
                this.log(`Stopping the server: ${String(e)}`);
            }
            try {
                await client.dispose(STOP_TIMEOUT_MS);
            } catch {
                // already stopped
            }
            for (const d of this.clientDisposables) {
                d.dispose();
            }
            this.clientDisposables = [];
            this.opts.onState(State.Stopped, client);
        }
        if (proc !== undefined && proc.exitCode === null && proc.signalCode === null) {
            await killProcess(proc);
        }
        this.phase = 'idle';
    }
}

/** SIGTERM, then SIGKILL after a grace period, for a server that did not exit after `exit`. */
async function killProcess(proc: ChildProcess): Promise<void> {
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    const wait = (ms: number) => new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), ms));
    if ((await Promise.race([exited, wait(500)])) !== 'timeout') {
        return;
    }
    proc.kill('SIGTERM');
    if ((await Promise.race([exited, wait(2000)])) === 'timeout') {
        proc.kill('SIGKILL');
    }
}
