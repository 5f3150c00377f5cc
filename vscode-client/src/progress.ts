// `$/progress` from the server, shown where tilt.liveUpdate.progress says: as a notification or in the status bar.
// The language client's built-in handler always uses the status bar, so this one takes over
// `window/workDoneProgress/create` (re-installed whenever the client reaches the Running state).
import * as vscode from 'vscode';
import {
    type LanguageClient,
    type ProgressToken,
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

/** Handles progress creation for `client`; dispose to end every open progress. */
export function installProgressHandler(client: LanguageClient, location: () => ProgressSetting): vscode.Disposable {
    const parts = new Set<ProgressPart>();
    const handler = client.onRequest(WorkDoneProgressCreateRequest.type, (params) => {
        parts.add(new ProgressPart(client, params.token, location, (p) => parts.delete(p)));
    });
    return new vscode.Disposable(() => {
        handler.dispose();
        for (const p of [...parts]) {
            p.done();
        }
    });
}
