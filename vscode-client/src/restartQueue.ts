// Serialises server restarts. Pure (no `vscode` import), unit-tested.

/**
 * Runs `restart` one at a time. A request made while a restart is waiting to begin shares it; a request made while
 * one is running queues exactly one more, so the last settings always win and bursts of setting changes cost at
 * most two restarts. Other work (stop) can be serialised with the restarts through `serial`.
 */
export class RestartQueue {
    private chain: Promise<void> = Promise.resolve();
    private queued: Promise<void> | undefined;
    private queuedReasons: string[] = [];

    constructor(private readonly restart: (reason: string) => Promise<void>) {}

    request(reason: string): Promise<void> {
        this.queuedReasons.push(reason);
        if (this.queued !== undefined) {
            return this.queued;
        }
        const run = this.chain.then(() => {
            this.queued = undefined;
            const reasons = [...new Set(this.queuedReasons)].join(', ');
            this.queuedReasons = [];
            return this.restart(reasons);
        });
        this.queued = run;
        this.chain = run.catch(() => undefined);
        return run;
    }

    /** Runs `fn` after every restart requested so far. */
    serial(fn: () => Promise<void>): Promise<void> {
        const run = this.chain.then(fn);
        this.chain = run.catch(() => undefined);
        return run;
    }
}
