// A per-user value fetched from the server in batches and kept a short while: concurrent
// get() calls (e.g. a channel's posts rendering) share one request; failures are not cached.

export interface BatchedCacheOptions<Raw, Value> {
    /** One request for many users; a user missing from the answer gets `missing`. */
    fetch(userIds: string[]): Promise<Record<string, Raw>>;
    /** Turns one user's raw answer into the cached value (may import keys). */
    convert(raw: Raw, userId: string): Promise<Value>;
    missing: Raw;
    /** What the answer is called in errors, e.g. "key list". */
    what: string;
    ttlMs: number;
    now?: () => number;
}

type Waiter<V> = {resolve: (v: V) => void; reject: (err: unknown) => void};

export class BatchedCache<Raw, Value> {
    private readonly cache = new Map<string, {at: number; entry: Promise<Value>}>();
    private queue: Map<string, Waiter<Value>> | null = null;
    private readonly now: () => number;

    constructor(private readonly options: BatchedCacheOptions<Raw, Value>) {
        this.now = options.now ?? Date.now;
    }

    get(userId: string): Promise<Value> {
        const slot = this.cache.get(userId);
        if (slot && this.now() - slot.at < this.options.ttlMs) {
            return slot.entry;
        }
        const entry = new Promise<Value>((resolve, reject) => {
            if (!this.queue) {
                this.queue = new Map();
                // Flush after the current burst of calls (e.g. the effects of one render): a
                // microtask, not a timer, which would wait behind the rest of the page's rendering.
                queueMicrotask(() => {
                    void this.flush();
                });
            }
            this.queue.set(userId, {resolve, reject});
        });
        this.cache.set(userId, {at: this.now(), entry});
        entry.catch(() => {
            if (this.cache.get(userId)?.entry === entry) {
                this.cache.delete(userId); // a failed request must not stay cached
            }
        });
        return entry;
    }

    /** Forget one user's value, or everyone's. */
    invalidate(userId?: string): void {
        if (userId === undefined) {
            this.cache.clear();
        } else {
            this.cache.delete(userId);
        }
    }

    private async flush(): Promise<void> {
        const batch = this.queue;
        this.queue = null;
        if (!batch || batch.size === 0) {
            return;
        }
        let fetched: Record<string, Raw>;
        try {
            fetched = await this.options.fetch([...batch.keys()]);
            if (!fetched || typeof fetched !== 'object') {
                throw new Error(`the server answered no ${this.options.what}`);
            }
        } catch (err) {
            for (const waiter of batch.values()) {
                waiter.reject(err);
            }
            return;
        }
        await Promise.all([...batch.entries()].map(async ([userId, waiter]) => {
            const raw = Object.prototype.hasOwnProperty.call(fetched, userId) ? fetched[userId] : this.options.missing;
            waiter.resolve(await this.options.convert(raw, userId));
        }));
    }
}
