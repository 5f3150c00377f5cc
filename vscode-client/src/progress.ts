// `$/progress` from the server, shown where tilt.liveUpdate.progress says: as a notification or in the status bar.
// The language client's built-in handler always uses the status bar, so this feature takes over
// `window/workDoneProgress/create`.
import * as vscode from 'vscode';
import {
    type ClientCapabilities,
    type FeatureState,
    type LanguageClient,
    type ProgressToken,
    type StaticFeature,
    WorkDoneProgress,
    type WorkDoneProgressBegin,
    WorkDoneProgressCancelNotification,
    WorkDoneProgressCreateRequest,
    type WorkDoneProgressReport,
} from 'vscode-languageclient/node';
import type { ProgressSetting } from './settings';

class ProgressPart {
    private progress: vscode.Progress<{ message?: string; increment?: number }> | undefined;
    private finish: (() => void) | undefined;
    private ended = false;
    private reported = 0;
    private readonly subscription: vscode.Disposable;

    constructor(
        private readonly client: LanguageClient,
        private readonly token: ProgressToken,
        private readonly location: () => ProgressSetting,
        private readonly onDone: (p: ProgressPart) => void,
    ) {
        this.subscription = client.onProgress(WorkDoneProgress.type, token, (value) => {
            switch (value.kind) {
                case 'begin':
                    this.begin(value);
                    break;
                case 'report':
                    this.report(value);
                    break;
                case 'end':
                    this.done();
                    break;
            }
        });
    }

    private begin(params: WorkDoneProgressBegin): void {
        const location =
            this.location() === 'notification' ? vscode.ProgressLocation.Notification : vscode.ProgressLocation.Window;
        void vscode.window.withProgress(
            { location, title: params.title, cancellable: params.cancellable === true },
            (progress, cancel) => {
                if (this.ended) {
                    return Promise.resolve();
                }
                this.progress = progress;
                cancel.onCancellationRequested(() => {
                    void this.client.sendNotification(WorkDoneProgressCancelNotification.type, { token: this.token });
                });
                this.report(params);
                return new Promise<void>((resolve) => {
                    this.finish = resolve;
                });
            },
        );
    }

    private report(params: WorkDoneProgressReport | WorkDoneProgressBegin): void {
        if (this.progress === undefined) {
            return;
        }
        const update: { message?: string; increment?: number } = {};
        if (typeof params.message === 'string') {
            update.message = params.message;
        }
        if (typeof params.percentage === 'number') {
            const pct = Math.max(0, Math.min(100, params.percentage));
            update.increment = Math.max(0, pct - this.reported);
            this.reported += update.increment;
        }
        this.progress.report(update);
    }

    done(): void {
        if (this.ended) {
            return;
        }
        this.ended = true;
        this.subscription.dispose();
        this.finish?.();
        this.finish = undefined;
        this.progress = undefined;
        this.onDone(this);
    }
}

/**
 * Takes over `window/workDoneProgress/create`. Registered after the client's built-in features, so its initialize
 * runs last at every (re)start and its handler replaces the built-in one (which always uses the status bar).
 */
export class ConfigurableProgressFeature implements StaticFeature {
    private readonly parts = new Set<ProgressPart>();
    private handler: { dispose(): void } | undefined;

    constructor(
        private readonly client: LanguageClient,
        private readonly location: () => ProgressSetting,
    ) {}

    fillClientCapabilities(capabilities: ClientCapabilities): void {
        capabilities.window = { ...capabilities.window, workDoneProgress: true };
    }

    initialize(): void {
        this.handler?.dispose();
        this.handler = this.client.onRequest(WorkDoneProgressCreateRequest.type, (params) => {
            this.parts.add(new ProgressPart(this.client, params.token, this.location, (p) => this.parts.delete(p)));
        });
    }

    getState(): FeatureState {
        return { kind: 'static' };
    }

    clear(): void {
        for (const p of [...this.parts]) {
            p.done();
        }
        this.parts.clear();
    }
}
