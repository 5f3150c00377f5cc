import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RestartQueue } from '../src/restartQueue';

function deferred(): { promise: Promise<void>; resolve: () => void } {
    let resolve!: () => void;
    const promise = new Promise<void>((r) => {
        resolve = r;
    });
    return { promise, resolve };
}

describe('RestartQueue', () => {
    it('coalesces requests made before a restart begins', async () => {
        const runs: string[] = [];
        const q = new RestartQueue((reason) => {
            runs.push(reason);
            return Promise.resolve();
        });
        const a = q.request('command');
        const b = q.request('settings changed');
        assert.equal(a, b);
        await Promise.all([a, b]);
        assert.deepEqual(runs, ['command, settings changed']);
    });

    it('queues exactly one more restart for requests made while one runs', async () => {
        const runs: string[] = [];
        const gates = [deferred(), deferred()];
        let i = 0;
        let running = 0;
        const q = new RestartQueue(async (reason) => {
            running += 1;
            assert.equal(running, 1, 'restarts never overlap');
            runs.push(reason);
            await gates[i++]?.promise;
            running -= 1;
        });
        const first = q.request('activation');
        await new Promise((r) => setImmediate(r)); // the first restart has begun
        const second = q.request('a');
        const third = q.request('b');
        assert.equal(second, third);
        gates[0]?.resolve();
        gates[1]?.resolve();
        await Promise.all([first, second, third]);
        assert.deepEqual(runs, ['activation', 'a, b']);
    });

    it('keeps working after a failed restart, and the caller sees the failure', async () => {
        let calls = 0;
        const q = new RestartQueue(() => {
            calls += 1;
            return calls === 1 ? Promise.reject(new Error('boom')) : Promise.resolve();
        });
        await assert.rejects(q.request('x'), /boom/);
        await q.request('y');
        assert.equal(calls, 2);
    });

    it('serialises other work after pending restarts', async () => {
        const order: string[] = [];
        const gate = deferred();
        const q = new RestartQueue(async () => {
            order.push('restart start');
            await gate.promise;
            order.push('restart end');
        });
        const r = q.request('x');
        const s = q.serial(() => {
            order.push('stop');
            return Promise.resolve();
        });
        gate.resolve();
        await Promise.all([r, s]);
        assert.deepEqual(order, ['restart start', 'restart end', 'stop']);
    });
});
