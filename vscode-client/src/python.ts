// The interpreter chosen in the Python extension (ms-python.python), when it is installed. Its API changed over the
// years, so everything is read defensively: the environments API first, then the older execution details.
import * as vscode from 'vscode';

interface PythonEnvironmentsApi {
    getActiveEnvironmentPath?(resource?: vscode.Uri): { path: string } | undefined;
    resolveEnvironment?(env: { path: string } | string): Promise<{ executable?: { uri?: vscode.Uri } } | undefined>;
    onDidChangeActiveEnvironmentPath?: vscode.Event<unknown>;
}

interface PythonExtensionApi {
    environments?: PythonEnvironmentsApi;
    settings?: {
        getExecutionDetails?(resource?: vscode.Uri): { execCommand?: string[] | undefined };
        onDidChangeExecutionDetails?: vscode.Event<unknown>;
    };
}

const PYTHON_EXTENSION = 'ms-python.python';

async function pythonApi(): Promise<PythonExtensionApi | undefined> {
    const ext = vscode.extensions.getExtension<PythonExtensionApi>(PYTHON_EXTENSION);
    if (ext === undefined) {
        return undefined;
    }
    try {
        return ext.isActive ? ext.exports : await ext.activate();
    } catch {
        return undefined;
    }
}

/** argv prefix of the selected interpreter (e.g. ["/repo/.venv/bin/python"]), or undefined. */
export async function pythonExtensionCommand(resource?: vscode.Uri): Promise<string[] | undefined> {
    const api = await pythonApi();
    if (api === undefined) {
        return undefined;
    }
    try {
        const envs = api.environments;
        const active = envs?.getActiveEnvironmentPath?.(resource);
        if (envs?.resolveEnvironment !== undefined && active !== undefined) {
            const resolved = await envs.resolveEnvironment(active);
            const exe = resolved?.executable?.uri?.fsPath;
            if (exe !== undefined && exe !== '') {
                return [exe];
            }
        }
        const exec = api.settings?.getExecutionDetails?.(resource).execCommand;
        if (exec !== undefined && exec.length > 0 && exec.every((s) => typeof s === 'string' && s !== '')) {
            return [...exec];
        }
    } catch {
        // fall through: treat as "no interpreter selected"
    }
    return undefined;
}

/** Calls `listener` when the selected interpreter changes (only if the Python extension is installed). */
export async function onPythonInterpreterChanged(listener: () => void): Promise<vscode.Disposable | undefined> {
    const api = await pythonApi();
    const event = api?.environments?.onDidChangeActiveEnvironmentPath ?? api?.settings?.onDidChangeExecutionDetails;
    return event?.(() => listener());
}
