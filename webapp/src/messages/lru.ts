// A small least-recently-used map (Map keeps insertion order; re-inserting marks use).
export class LRU<K, V> {
    private readonly map = new Map<K, V>();

    constructor(private readonly capacity: number) {
        if (capacity < 1) {
            throw new RangeError('capacity must be at least 1');
        }
    }

    get size(): number {
        return this.map.size;
    }

    get(key: K): V | undefined {
        if (!this.map.has(key)) {
            return undefined;
        }
        const value = this.map.get(key) as V;
        this.map.delete(key);
        this.map.set(key, value);
        return value;
    }

    set(key: K, value: V): void {
        this.map.delete(key);
        this.map.set(key, value);
        while (this.map.size > this.capacity) {
            this.map.delete(this.map.keys().next().value as K);
        }
    }

    delete(key: K): void {
        this.map.delete(key);
    }

    clear(): void {
        this.map.clear();
    }
}
