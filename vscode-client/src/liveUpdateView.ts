// The live-update UI: status bar item, per-image quick pick, output lines and one notification per new failure.
// State lives in LiveUpdateModel (pure); this file only renders it.
import * as vscode from 'vscode';
import { CLIENT_COMMANDS, LIVE_UPDATE_NOTIFICATION } from './contract';
import {
    type ImageState,
    LiveUpdateModel,
    containerLabel,
    formatAgo,
    formatLogLine,
    parseLiveUpdateEvent,
    shortImage,
} from './statusModel';


export interface LiveUpdateActions {
    syncNow(image?: string): Promise<void>;
    pause(image?: string): Promise<void>;
    resume(image?: string): Promise<void>;
    showLog(): void;
    restartServer(): Promise<void>;
}

const ICON: Record<string, string> = {
    syncing: '$(sync~spin)',
    done: '$(check)',
    failed: '$(error)',
    fallback: '$(warning)',
    skipped: '$(circle-slash)',
    none: '$(circle-outline)',
    paused: '$(debug-pause)',
};

export class LiveUpdateView implements vscode.Disposable {
    readonly model = new LiveUpdateModel();
    private readonly item: vscode.StatusBarItem;
    private readonly timer: NodeJS.Timeout;
    private disabledReason = '';
    /** Set while the language server is not running after a failed start or crash. */
    private serverProblem: string | undefined;

    constructor(
        private readonly output: vscode.OutputChannel,
        private readonly actions: LiveUpdateActions,
        private readonly now: () => number = Date.now,
    ) {
        this.item = vscode.window.createStatusBarItem('tilt.liveUpdate', vscode.StatusBarAlignment.Left, 10);
        this.item.name = 'Tilt Live Update';
        this.item.command = CLIENT_COMMANDS.showStatus;
        this.render();
        this.item.show();
        // Keeps "N s ago" in the tooltip fresh.
        this.timer = setInterval(() => this.render(), 15_000);
    }

    /** Raw params of a `tilt/liveUpdate` notification. */
    handle(raw: unknown): void {
        const ev = parseLiveUpdateEvent(raw);
        if (ev === undefined) {
            this.output.appendLine(`[tilt] Ignored a malformed ${LIVE_UPDATE_NOTIFICATION} notification: ${JSON.stringify(raw)}`);
            return;
        }
        const outcome = this.model.apply(ev, this.now());
        if (!outcome.changed) {
            return;
        }
        this.output.appendLine(formatLogLine(ev, new Date(this.now())));
        this.render();
        const failure = outcome.newFailure;
        if (failure !== undefined) {
            const text = failure.message.trim().split(/\r?\n/)[0] ?? '';
            const showLog = 'Show Log';
            void vscode.window
                .showErrorMessage(`Live update of ${shortImage(failure.image)} failed${text !== '' ? `: ${text}` : '.'}`, showLog)
                .then((pick) => {
                    if (pick === showLog) {
                        this.actions.showLog();
                    }
                });
        }
    }

    /** Live update turned on/off (setting or workspace trust); `reason` is shown in the tooltip when off. */
    setEnabled(enabled: boolean, reason = ''): void {
        this.model.enabled = enabled;
        this.disabledReason = enabled ? '' : reason;
        this.render();
    }

    serverStopped(): void {
        this.model.serverStopped();
        this.render();
    }

    /** `problem` set: the server is not running (start failed, crashed); undefined: it runs again. */
    setServerProblem(problem: string | undefined): void {
        this.serverProblem = problem;
        this.render();
    }

    render(): void {
        if (this.serverProblem !== undefined) {
            this.item.text = '$(warning) Tilt';
            const md = new vscode.MarkdownString(
                `**Tilt language server is not running**\n\n${this.serverProblem}\n\nClick for actions (Restart Language Server, Show Log).`,
                true,
            );
            md.isTrusted = false;
            this.item.tooltip = md;
            this.item.backgroundColor = new vscode.ThemeColor('statusBarItem.warningBackground');
            this.item.accessibilityInformation = { label: 'Tilt live update: server not running', role: 'button' };
            return;
        }
        const agg = this.model.aggregate();
        this.item.text = this.model.statusText();
        const md = new vscode.MarkdownString(this.model.tooltip(this.now(), this.disabledReason), true);
        md.isTrusted = false;
        this.item.tooltip = md;
        this.item.backgroundColor = agg === 'failed' ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
        this.item.accessibilityInformation = { label: `Tilt live update: ${agg}`, role: 'button' };
    }

    /** Quick pick of the images with their actions; an image opens its own action list. */
    async showStatus(): Promise<void> {
        type Item = vscode.QuickPickItem & { run?: () => unknown; image?: ImageState };
        const images = this.model.images();
        const items: Item[] = [];
        const now = this.now();
        if (images.length > 0) {
            items.push({ label: 'Images', kind: vscode.QuickPickItemKind.Separator });
        }
        for (const st of images) {
            items.push({
                label: `${imageIcon(st)} ${st.image}`,
                description: describeImage(st, now),
                detail: st.containers.length > 0 ? `Containers: ${st.containers.map(containerLabel).join(', ')}` : undefined,
                image: st,
            });
        }
        items.push({ label: 'Actions', kind: vscode.QuickPickItemKind.Separator });
        if (this.model.enabled) {
            items.push({ label: '$(sync) Live Update Now', description: 'all images', run: () => this.actions.syncNow() });
            items.push({ label: '$(debug-pause) Pause Live Updates', description: 'all images', run: () => this.actions.pause() });
            items.push({ label: '$(debug-start) Resume Live Updates', description: 'all images', run: () => this.actions.resume() });
        }
        items.push({ label: '$(output) Show Log', run: () => this.actions.showLog() });
        items.push({ label: '$(debug-restart) Restart Language Server', run: () => this.actions.restartServer() });

        const pick = await vscode.window.showQuickPick(items, {
            title: `Tilt live update${this.model.enabled ? '' : ' (off)'}`,
            placeHolder: images.length > 0 ? 'Pick an image for its actions' : 'No image has been live-updated yet',
            matchOnDescription: true,
        });
        if (pick?.image !== undefined) {
            await this.showImageActions(pick.image.image);
        } else if (pick?.run !== undefined) {
            await pick.run();
        }
    }

    async showImageActions(image: string): Promise<void> {
        type Item = vscode.QuickPickItem & { run: () => unknown };
        const paused = this.model.isPaused(image);
        const items: Item[] = [
            { label: '$(sync) Sync now', description: 'copy pending changes and run the steps', run: () => this.actions.syncNow(image) },
            paused
                ? { label: '$(debug-start) Resume', description: 'live-update this image again', run: () => this.actions.resume(image) }
                : { label: '$(debug-pause) Pause', description: 'stop live-updating this image', run: () => this.actions.pause(image) },
            { label: '$(output) Show log', run: () => this.actions.showLog() },
        ];
        const pick = await vscode.window.showQuickPick(items, { title: image, placeHolder: describeImage(this.model.get(image), this.now()) });
        await pick?.run();
    }

    dispose(): void {
        clearInterval(this.timer);
        this.item.dispose();
    }
}

function imageIcon(st: ImageState): string {
    if (st.current !== null) {
        return ICON.syncing ?? '';
    }
    if (st.paused) {
        return ICON.paused ?? '';
    }
    return ICON[st.last?.phase ?? 'none'] ?? ICON.none ?? '';
}

function describeImage(st: ImageState | undefined, now: number): string {
    if (st === undefined) {
        return '';
    }
    const parts: string[] = [];
    if (st.resource !== null) {
        parts.push(st.resource);
    }
    if (st.current !== null) {
        parts.push(`${st.current.phase}…`);
    } else if (st.last !== null) {
        parts.push(`${st.last.phase === 'done' ? 'updated' : st.last.phase} ${formatAgo(now - st.last.at)}`);
    } else {
        parts.push('no update yet');
    }
    if (st.paused) {
        parts.push('paused');
    }
    return parts.join(' · ');
}
