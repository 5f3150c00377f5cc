// Live-update state derived from `tilt/liveUpdate` notifications. Pure: no `vscode` import.

export const PHASES = [
    'queued',
    'sync',
    'run',
    'restart',
    'done',
    'failed',
    'fallback',
    'skipped',
    'rebuild',
    'deploy',
] as const;
export type Phase = (typeof PHASES)[number];

/** Phases that end an update; every updateId gets exactly one of them. */
export const TERMINAL_PHASES: ReadonlySet<Phase> = new Set<Phase>(['done', 'failed', 'fallback', 'skipped']);

export interface ContainerInfo {
    kind: string;
    id: string;
    name: string;
    pod: string | null;
    namespace: string | null;
}

export interface StepInfo {
    index: number;
    total: number;
    command: string;
}

/** Params of the `tilt/liveUpdate` notification. */
export interface LiveUpdateEvent {
    updateId: string;
    image: string;
    resource: string | null;
    phase: Phase;
    files: string[];
    containers: ContainerInfo[];
    step: StepInfo | null;
    elapsedMs: number;
    message: string;
}

function isRecord(v: unknown): v is Record<string, unknown> {
    return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function optString(v: unknown): string | null {
    return typeof v === 'string' ? v : null;
}

/** Validates notification params; returns undefined when the required fields are missing or of the wrong type. */
export function parseLiveUpdateEvent(raw: unknown): LiveUpdateEvent | undefined {
    if (!isRecord(raw)) {
        return undefined;
    }
    const { updateId, image, phase } = raw;
    if (typeof updateId !== 'string' || typeof image !== 'string' || typeof phase !== 'string') {
        return undefined;
    }
    if (!(PHASES as readonly string[]).includes(phase)) {
        return undefined;
    }
    const files = Array.isArray(raw.files) ? raw.files.filter((f): f is string => typeof f === 'string') : [];
    const containers: ContainerInfo[] = Array.isArray(raw.containers)
        ? raw.containers.filter(isRecord).map((c) => ({
              kind: typeof c.kind === 'string' ? c.kind : 'docker',
              id: typeof c.id === 'string' ? c.id : '',
              name: typeof c.name === 'string' ? c.name : '',
              pod: optString(c.pod),
              namespace: optString(c.namespace),
          }))
        : [];
    let step: StepInfo | null = null;
    if (isRecord(raw.step) && typeof raw.step.index === 'number' && typeof raw.step.total === 'number') {
        step = {
            index: raw.step.index,
            total: raw.step.total,
            command: typeof raw.step.command === 'string' ? raw.step.command : '',
        };
    }
    return {
        updateId,
        image,
        resource: optString(raw.resource),
        phase: phase as Phase,
        files,
        containers,
        step,
        elapsedMs: typeof raw.elapsedMs === 'number' && Number.isFinite(raw.elapsedMs) ? raw.elapsedMs : 0,
        message: typeof raw.message === 'string' ? raw.message : '',
    };
}

export interface UpdateResult {
    updateId: string;
    phase: Phase;
    message: string;
    files: string[];
    elapsedMs: number;
    /** Epoch milliseconds when the terminal phase arrived. */
    at: number;
}

export interface ImageState {
    image: string;
    resource: string | null;
    /** The update in progress, if any. */
    current: { updateId: string; phase: Phase; step: StepInfo | null; files: string[]; startedAt: number } | null;
    last: UpdateResult | null;
    containers: ContainerInfo[];
    paused: boolean;
}

export type Aggregate = 'off' | 'idle' | 'syncing' | 'ok' | 'failed' | 'paused';

export interface ApplyOutcome {
    /** False for malformed or stale events that did not change anything. */
    changed: boolean;
    /** Set when this event is a failure the user has not been told about (a transition into failed). */
    newFailure?: UpdateResult & { image: string };
}

/** How many finished updateIds are remembered to drop late events of those updates. */
const FINISHED_MEMORY = 500;

export class LiveUpdateModel {
    private readonly byImage = new Map<string, ImageState>();
    private readonly finished = new Set<string>();
    private allPaused = false;
    /** False when live update is off (untrusted workspace or tilt.liveUpdate.enabled=false). */
    enabled = true;

    apply(ev: LiveUpdateEvent, now: number): ApplyOutcome {
        if (this.finished.has(ev.updateId)) {
            return { changed: false };
        }
        const st = this.ensure(ev.image);
        if (ev.resource !== null) {
            st.resource = ev.resource;
        }
        if (ev.containers.length > 0) {
            st.containers = ev.containers;
        }
        if (!TERMINAL_PHASES.has(ev.phase)) {
            const same = st.current !== null && st.current.updateId === ev.updateId;
            st.current = {
                updateId: ev.updateId,
                phase: ev.phase,
                step: ev.step,
                files: ev.files.length > 0 || !same || st.current === null ? ev.files : st.current.files,
                startedAt: same && st.current !== null ? st.current.startedAt : now,
            };
            return { changed: true };
        }
        this.rememberFinished(ev.updateId);
        const previous = st.last;
        const files = ev.files.length > 0 ? ev.files : (st.current?.updateId === ev.updateId ? st.current.files : []);
        const result: UpdateResult = {
            updateId: ev.updateId,
            phase: ev.phase,
            message: ev.message,
            files,
            elapsedMs: ev.elapsedMs,
            at: now,
        };
        st.last = result;
        if (st.current !== null && st.current.updateId === ev.updateId) {
            st.current = null;
        }
        const outcome: ApplyOutcome = { changed: true };
        if (ev.phase === 'failed' && (previous === null || previous.phase !== 'failed')) {
            outcome.newFailure = { ...result, image: ev.image };
        }
        return outcome;
    }

    /** Marks one image (or all images, with undefined) as paused or resumed. */
    setPaused(image: string | undefined, paused: boolean): void {
        if (image === undefined) {
            this.allPaused = paused;
            for (const st of this.byImage.values()) {
                st.paused = paused;
            }
            return;
        }
        this.ensure(image).paused = paused;
        if (!paused) {
            this.allPaused = false;
        }
    }

    isPaused(image: string): boolean {
        return this.byImage.get(image)?.paused ?? this.allPaused;
    }

    /** Adds images known from the server (status command) so they can be picked before their first update. */
    know(image: string, extra?: { resource?: string | null; paused?: boolean; containers?: ContainerInfo[] }): void {
        const st = this.ensure(image);
        if (extra?.resource !== undefined && extra.resource !== null) {
            st.resource = extra.resource;
        }
        if (extra?.paused !== undefined) {
            st.paused = extra.paused;
        }
        if (extra?.containers !== undefined && extra.containers.length > 0) {
            st.containers = extra.containers;
        }
    }

    /** The server went away: nothing is in progress any more. */
    serverStopped(): void {
        for (const st of this.byImage.values()) {
            st.current = null;
        }
    }

    reset(): void {
        this.byImage.clear();
        this.finished.clear();
        this.allPaused = false;
    }

    images(): ImageState[] {
        return [...this.byImage.values()].sort((a, b) => a.image.localeCompare(b.image));
    }

    get(image: string): ImageState | undefined {
        return this.byImage.get(image);
    }

    aggregate(): Aggregate {
        if (!this.enabled) {
            return 'off';
        }
        const all = this.images();
        if (all.some((s) => s.current !== null)) {
            return 'syncing';
        }
        if (all.some((s) => s.last?.phase === 'failed')) {
            return 'failed';
        }
        if ((all.length > 0 && all.every((s) => s.paused)) || (all.length === 0 && this.allPaused)) {
            return 'paused';
        }
        if (all.some((s) => s.last !== null && s.last.phase !== 'skipped')) {
            return 'ok';
        }
        return 'idle';
    }

    /** Text for the status bar item (codicons allowed). */
    statusText(): string {
        const agg = this.aggregate();
        switch (agg) {
            case 'off':
                return '$(circle-slash) Tilt';
            case 'idle':
                return '$(circle-outline) Tilt';
            case 'paused':
                return '$(debug-pause) Tilt: paused';
            case 'ok':
                return '$(check) Tilt';
            case 'syncing': {
                const busy = this.images().filter((s) => s.current !== null);
                const first = busy[0];
                const label = busy.length === 1 && first !== undefined ? ` ${shortImage(first.image)}` : ` ${busy.length} images`;
                return `$(sync~spin) Tilt:${label}`;
            }
            case 'failed': {
                const failed = this.images().filter((s) => s.last?.phase === 'failed');
                const first = failed[0];
                const label = failed.length === 1 && first !== undefined ? shortImage(first.image) : `${failed.length} images`;
                return `$(error) Tilt: ${label} failed`;
            }
        }
    }

    /** Markdown tooltip: one section per image with the last result, its time and the containers; `note` last. */
    tooltip(now: number, note = ''): string {
        const lines: string[] = [];
        const agg = this.aggregate();
        lines.push(`**Tilt live update** — ${AGGREGATE_LABEL[agg]}`);
        const all = this.images();
        if (all.length === 0) {
            lines.push('', this.enabled ? 'No live update yet. Save a synced file to start one.' : 'Live update is off.');
        }
        for (const st of all) {
            lines.push('', `**${escapeMd(st.image)}**${st.resource !== null ? ` (${escapeMd(st.resource)})` : ''}${st.paused ? ' — paused' : ''}`);
            if (st.current !== null) {
                const step = st.current.step !== null ? ` ${st.current.step.index}/${st.current.step.total}` : '';
                lines.push(`- now: ${st.current.phase}${step}${filesSuffix(st.current.files)}`);
            }
            if (st.last !== null) {
                const took = st.last.elapsedMs > 0 ? ` in ${formatDuration(st.last.elapsedMs)}` : '';
                lines.push(
                    `- last: ${RESULT_LABEL[st.last.phase] ?? st.last.phase}${took}, ${formatAgo(now - st.last.at)}${filesSuffix(st.last.files)}`,
                );
                if (st.last.phase !== 'done' && st.last.message !== '') {
                    lines.push(`- ${escapeMd(firstLine(st.last.message))}`);
                }
            } else if (st.current === null) {
                lines.push('- no update yet');
            }
            if (st.containers.length > 0) {
                lines.push(`- containers: ${st.containers.map((c) => escapeMd(containerLabel(c))).join(', ')}`);
            }
        }
        if (note !== '') {
            lines.push('', note);
        }
        lines.push('', 'Click for actions.');
        return lines.join('\n');
    }

    private ensure(image: string): ImageState {
        let st = this.byImage.get(image);
        if (st === undefined) {
            st = { image, resource: null, current: null, last: null, containers: [], paused: this.allPaused };
            this.byImage.set(image, st);
        }
        return st;
    }

    private rememberFinished(id: string): void {
        this.finished.add(id);
        if (this.finished.size > FINISHED_MEMORY) {
            const oldest = this.finished.values().next().value;
            if (oldest !== undefined) {
                this.finished.delete(oldest);
            }
        }
    }
}

const AGGREGATE_LABEL: Record<Aggregate, string> = {
    off: 'off',
    idle: 'idle',
    syncing: 'updating',
    ok: 'up to date',
    failed: 'failed',
    paused: 'paused',
};

const RESULT_LABEL: Partial<Record<Phase, string>> = {
    done: 'updated',
    failed: 'failed',
    fallback: 'needs a full rebuild',
    skipped: 'skipped',
};

export function containerLabel(c: ContainerInfo): string {
    if (c.pod !== null && c.pod !== '') {
        const ns = c.namespace !== null && c.namespace !== '' ? `${c.namespace}/` : '';
        return `${ns}${c.pod}/${c.name}`;
    }
    return c.name !== '' ? c.name : c.id.slice(0, 12);
}

/** `registry.example.com/team/web:dev` → `web`. */
export function shortImage(image: string): string {
    const noDigest = image.split('@')[0] ?? image;
    const last = noDigest.split('/').pop() ?? noDigest;
    const colon = last.indexOf(':');
    return colon > 0 ? last.slice(0, colon) : last;
}

export function formatDuration(ms: number): string {
    if (ms < 1000) {
        return `${Math.round(ms)} ms`;
    }
    if (ms < 60_000) {
        return `${(ms / 1000).toFixed(1)} s`;
    }
    return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

export function formatAgo(ms: number): string {
    const s = Math.max(0, Math.round(ms / 1000));
    if (s < 5) {
        return 'just now';
    }
    if (s < 60) {
        return `${s} s ago`;
    }
    if (s < 3600) {
        return `${Math.floor(s / 60)} min ago`;
    }
    return `${Math.floor(s / 3600)} h ago`;
}

function filesSuffix(files: string[]): string {
    if (files.length === 0) {
        return '';
    }
    const shown = files.slice(0, 3).map((f) => `\`${f.replace(/`/g, "'")}\``);
    const more = files.length > 3 ? ` +${files.length - 3} more` : '';
    return ` (${shown.join(', ')}${more})`;
}

function firstLine(s: string): string {
    const line = s.trim().split(/\r?\n/)[0] ?? '';
    return line.length > 200 ? `${line.slice(0, 197)}...` : line;
}

function escapeMd(s: string): string {
    return s.replace(/([\\`*_{}[\]<>()#+!|~])/g, '\\$1');
}

/** One line for the output channel per notification. */
export function formatLogLine(ev: LiveUpdateEvent, time: Date): string {
    const hh = [time.getHours(), time.getMinutes(), time.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
    const step = ev.step !== null ? ` [${ev.step.index}/${ev.step.total}]` : '';
    const took = TERMINAL_PHASES.has(ev.phase) && ev.elapsedMs > 0 ? ` (${formatDuration(ev.elapsedMs)})` : '';
    const head = `[${hh}] ${shortImage(ev.image)} ${ev.phase}${step}${took}`;
    const msg = ev.message.replace(/\s+$/, '');
    if (msg === '') {
        return ev.files.length > 0 && ev.phase === 'queued' ? `${head}: ${ev.files.join(', ')}` : head;
    }
    return msg.includes('\n') ? `${head}:\n${msg}` : `${head}: ${msg}`;
}

export interface KnownImage {
    image: string;
    resource?: string | null;
    paused?: boolean;
    containers?: ContainerInfo[];
}

/**
 * Reads the result of the server command `tilt.liveUpdate.status` tolerantly: a list of image records, an object with
 * an `images` list, or an object keyed by image. Unknown shapes give an empty list.
 */
export function parseStatusResult(raw: unknown): KnownImage[] {
    let entries: unknown[] = [];
    if (Array.isArray(raw)) {
        entries = raw;
    } else if (isRecord(raw) && Array.isArray(raw.images)) {
        entries = raw.images;
    } else if (isRecord(raw) && isRecord(raw.images)) {
        entries = Object.entries(raw.images).map(([image, v]) => (isRecord(v) ? { image, ...v } : { image }));
    } else if (isRecord(raw)) {
        entries = Object.entries(raw).map(([image, v]) => (isRecord(v) ? { image, ...v } : { image }));
    }
    const out: KnownImage[] = [];
    for (const e of entries) {
        if (!isRecord(e) || typeof e.image !== 'string' || e.image === '') {
            continue;
        }
        const known: KnownImage = { image: e.image };
        if (typeof e.resource === 'string') {
            known.resource = e.resource;
        }
        if (typeof e.paused === 'boolean') {
            known.paused = e.paused;
        }
        if (Array.isArray(e.containers)) {
            const parsed = parseLiveUpdateEvent({ updateId: '', image: e.image, phase: 'queued', containers: e.containers });
            known.containers = parsed?.containers ?? [];
        }
        out.push(known);
    }
    return out;
}
