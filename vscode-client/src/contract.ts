// Names shared with the server (issue 4's editor contract) and with package.json. Pure: no `vscode` import.

/** Custom notification carrying live-update progress (params: statusModel.LiveUpdateEvent). */
export const LIVE_UPDATE_NOTIFICATION = 'tilt/liveUpdate';

/** Server-side commands, run with workspace/executeCommand. */
export const SERVER_COMMANDS = {
    /** Optional argument: an image ref (or a file path). */
    syncNow: 'tilt.liveUpdate.syncNow',
    pause: 'tilt.liveUpdate.pause',
    resume: 'tilt.liveUpdate.resume',
    /** Returns per-image state (read tolerantly by statusModel.parseStatusResult). */
    status: 'tilt.liveUpdate.status',
} as const;

/**
 * Client command ids (package.json `contributes.commands`). They differ from the server's: the language client
 * registers every command the server advertises under its own name, and a duplicate id would fail to register.
 */
export const CLIENT_COMMANDS = {
    restart: 'tilt.restartServer',
    liveUpdateNow: 'tilt.liveUpdateNow',
    pause: 'tilt.pauseLiveUpdates',
    resume: 'tilt.resumeLiveUpdates',
    showLog: 'tilt.showLiveUpdateLog',
    showStatus: 'tilt.showLiveUpdateStatus',
} as const;
