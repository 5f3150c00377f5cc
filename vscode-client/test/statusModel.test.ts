import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
    type LiveUpdateEvent,
    LiveUpdateModel,
    type Phase,
    formatDuration,
    formatLogLine,
    parseLiveUpdateEvent,
    parseStatusResult,
    shortImage,
} from '../src/statusModel';

const web = { kind: 'docker', id: 'abc123def4567890', name: 'web-1', pod: null, namespace: null };

function ev(updateId: string, phase: Phase, over: Partial<LiveUpdateEvent> = {}): LiveUpdateEvent {
    return {
        updateId,
        image: 'registry.local/team/web:dev',
        resource: 'web',
        phase,
        files: [],
        containers: [web],
        step: null,
        elapsedMs: 0,
        message: '',
        ...over,
    };
}

/** Applies a sequence at increasing times and returns the model. */
function run(events: LiveUpdateEvent[], model = new LiveUpdateModel()): LiveUpdateModel {
    events.forEach((e, i) => model.apply(e, 1_000_000 + i * 10));
    return model;
}

describe('parseLiveUpdateEvent', () => {
    it('accepts the exact contract', () => {
        const raw = {
            updateId: 'u1',
            image: 'web',
            resource: null,
            phase: 'run',
            files: ['app/main.py'],
            containers: [{ kind: 'kubernetes', id: 'c1', name: 'app', pod: 'web-7d9', namespace: 'dev' }],
            step: { index: 1, total: 2, command: 'make' },
            elapsedMs: 12.5,
            message: 'RUNNING: make',
        };
        assert.deepEqual(parseLiveUpdateEvent(raw), raw);
    });

    it('rejects missing ids, unknown phases and non-objects', () => {
        assert.equal(parseLiveUpdateEvent(null), undefined);
        assert.equal(parseLiveUpdateEvent([]), undefined);
        assert.equal(parseLiveUpdateEvent({ image: 'web', phase: 'done' }), undefined);
        assert.equal(parseLiveUpdateEvent({ updateId: 'u', image: 'web', phase: 'exploded' }), undefined);
    });

    it('fills optional fields with safe defaults', () => {
        const e = parseLiveUpdateEvent({ updateId: 'u', image: 'web', phase: 'queued', files: ['a', 3], elapsedMs: 'x' });
        assert.deepEqual(e, {
            updateId: 'u',
            image: 'web',
            resource: null,
            phase: 'queued',
            files: ['a'],
            containers: [],
            step: null,
            elapsedMs: 0,
            message: '',
        });
    });
});

describe('LiveUpdateModel aggregate', () => {
    it('is idle before any update and off when disabled', () => {
        const m = new LiveUpdateModel();
        assert.equal(m.aggregate(), 'idle');
        assert.match(m.statusText(), /circle-outline/);
        m.enabled = false;
        assert.equal(m.aggregate(), 'off');
    });

    it('goes syncing with a spinner during an update and ok after done', () => {
        const m = new LiveUpdateModel();
        m.apply(ev('u1', 'queued', { files: ['app.py'] }), 0);
        assert.equal(m.aggregate(), 'syncing');
        assert.equal(m.statusText(), '$(sync~spin) Tilt: web');
        m.apply(ev('u1', 'sync'), 5);
        m.apply(ev('u1', 'run', { step: { index: 1, total: 1, command: 'make' } }), 10);
        assert.equal(m.get('registry.local/team/web:dev')?.current?.files[0], 'app.py', 'files survive later phases');
        const out = m.apply(ev('u1', 'done', { elapsedMs: 84 }), 20);
        assert.equal(out.newFailure, undefined);
        assert.equal(m.aggregate(), 'ok');
        assert.equal(m.statusText(), '$(check) Tilt');
        const last = m.get('registry.local/team/web:dev')?.last;
        assert.deepEqual(last?.files, ['app.py']);
        assert.equal(last?.elapsedMs, 84);
    });

    it('reports a failure once, until a success resets it', () => {
        const m = new LiveUpdateModel();
        const first = m.apply(ev('u1', 'failed', { message: 'command "make" failed with exit code: 2\nmore' }), 0);
        assert.equal(first.newFailure?.message.startsWith('command "make"'), true);
        assert.equal(m.aggregate(), 'failed');
        assert.equal(m.statusText(), '$(error) Tilt: web failed');
        const again = m.apply(ev('u2', 'failed', { message: 'still broken' }), 10);
        assert.equal(again.newFailure, undefined, 'no second notification for a repeated failure');
        m.apply(ev('u3', 'done'), 20);
        assert.equal(m.aggregate(), 'ok');
        const later = m.apply(ev('u4', 'failed'), 30);
        assert.notEqual(later.newFailure, undefined, 'a failure after a success is new');
    });

    it('ignores late events of a finished update', () => {
        const m = run([ev('u1', 'sync'), ev('u1', 'done')]);
        const out = m.apply(ev('u1', 'run'), 99);
        assert.equal(out.changed, false);
        assert.equal(m.aggregate(), 'ok');
    });

    it('keeps syncing while any image updates and shows failures over successes', () => {
        const m = new LiveUpdateModel();
        m.apply(ev('a1', 'failed', { image: 'api' }), 0);
        m.apply(ev('w1', 'sync', { image: 'web' }), 1);
        assert.equal(m.aggregate(), 'syncing');
        m.apply(ev('w1', 'done', { image: 'web' }), 2);
        assert.equal(m.aggregate(), 'failed');
        m.apply(ev('a2', 'queued', { image: 'api' }), 3);
        m.apply(ev('w2', 'queued', { image: 'web' }), 4);
        assert.equal(m.statusText(), '$(sync~spin) Tilt: 2 images');
    });

    it('treats fallback and skipped as results, not failures', () => {
        const m = run([ev('u1', 'fallback', { message: 'UpdateStopped: Found file(s) not matching any sync' })]);
        assert.equal(m.aggregate(), 'ok');
        const s = run([ev('u1', 'skipped', { message: 'no container runs web' })]);
        assert.equal(s.aggregate(), 'idle');
    });

    it('treats rebuild and deploy as in progress', () => {
        const m = run([ev('u1', 'fallback'), ev('u2', 'rebuild')]);
        assert.equal(m.aggregate(), 'syncing');
        m.apply(ev('u2', 'deploy'), 5);
        assert.equal(m.aggregate(), 'syncing');
    });

    it('clears in-progress updates when the server stops', () => {
        const m = run([ev('u1', 'sync')]);
        m.serverStopped();
        assert.equal(m.aggregate(), 'idle');
    });

    it('tracks pause per image and for all images', () => {
        const m = new LiveUpdateModel();
        m.setPaused(undefined, true);
        assert.equal(m.aggregate(), 'paused');
        m.apply(ev('u1', 'done'), 0);
        assert.equal(m.isPaused('registry.local/team/web:dev'), true, 'images seen later inherit pause-all');
        m.setPaused('registry.local/team/web:dev', false);
        assert.equal(m.isPaused('registry.local/team/web:dev'), false);
        assert.equal(m.aggregate(), 'ok');
    });
});

describe('tooltip', () => {
    it('lists each image with its last result, time and containers', () => {
        const m = new LiveUpdateModel();
        m.apply(ev('u1', 'done', { files: ['app/a.py', 'app/b.py'], elapsedMs: 84 }), 1_000);
        m.apply(ev('x1', 'failed', { image: 'worker', resource: null, containers: [], message: 'exit code: 1' }), 2_000);
        const t = m.tooltip(31_000);
        assert.match(t, /\*\*Tilt live update\*\* — failed/);
        assert.match(t, /\*\*registry\.local\/team\/web:dev\*\* \(web\)/);
        assert.match(t, /- last: updated in 84 ms, 30 s ago \(`app\/a\.py`, `app\/b\.py`\)/);
        assert.match(t, /- containers: web-1/);
        assert.match(t, /\*\*worker\*\*\n- last: failed, 29 s ago\n- exit code: 1/);
    });

    it('explains the empty state', () => {
        assert.match(new LiveUpdateModel().tooltip(0), /No live update yet/);
    });
});

describe('formatting', () => {
    it('shortens image refs', () => {
        assert.equal(shortImage('registry.local:5000/team/web:dev'), 'web');
        assert.equal(shortImage('web@sha256:abc'), 'web');
        assert.equal(shortImage('web'), 'web');
    });

    it('formats durations', () => {
        assert.equal(formatDuration(84), '84 ms');
        assert.equal(formatDuration(1500), '1.5 s');
        assert.equal(formatDuration(125_000), '2 min 5 s');
    });

    it('formats log lines with step, duration and multi-line output', () => {
        const t = new Date(2026, 0, 1, 9, 5, 7);
        assert.equal(formatLogLine(ev('u', 'queued', { files: ['a.py'] }), t), '[09:05:07] web queued: a.py');
        assert.equal(
            formatLogLine(ev('u', 'run', { step: { index: 1, total: 2, command: 'make' }, message: '[CMD 1/2] make' }), t),
            '[09:05:07] web run [1/2]: [CMD 1/2] make',
        );
        assert.equal(formatLogLine(ev('u', 'done', { elapsedMs: 84, message: 'updated in 84 ms' }), t), '[09:05:07] web done (84 ms): updated in 84 ms');
        assert.equal(formatLogLine(ev('u', 'failed', { message: 'line1\nline2\n' }), t), '[09:05:07] web failed:\nline1\nline2');
    });
});

describe('parseStatusResult', () => {
    it('reads a list, an images list, or a map keyed by image', () => {
        assert.deepEqual(parseStatusResult([{ image: 'web', paused: true }, { nope: 1 }]), [{ image: 'web', paused: true }]);
        assert.deepEqual(parseStatusResult({ images: [{ image: 'web', resource: 'web' }] }), [{ image: 'web', resource: 'web' }]);
        assert.deepEqual(parseStatusResult({ images: { web: { paused: false } } }), [{ image: 'web', paused: false }]);
        assert.deepEqual(parseStatusResult({ web: { containers: [web] } }), [{ image: 'web', containers: [web] }]);
        assert.deepEqual(parseStatusResult(null), []);
    });
});

describe('tooltip note', () => {
    it('puts the note before the click hint', () => {
        const m = new LiveUpdateModel();
        m.enabled = false;
        const t = m.tooltip(0, 'Live update is off in Restricted Mode.');
        assert.match(t, /Live update is off\.\n\nLive update is off in Restricted Mode\.\n\nClick for actions\.$/);
    });
});
