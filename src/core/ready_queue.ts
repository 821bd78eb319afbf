/**
 * The ready queue: lower priority first, FIFO among equals.
 *
 * Tasks are kept in one FIFO bucket per distinct priority, and the distinct
 * priorities in a binary min-heap. Push and pop cost O(1) within a bucket
 * plus O(log k) for k distinct priorities, so the common case (a handful of
 * priorities, many tasks) is as cheap as a plain FIFO and the worst case is
 * O(log n). FIFO order within a priority is submission order because tasks
 * are pushed in sequence order (a due scheduled task keeps its place through
 * {@linkcode ReadyQueue.pushInOrder}).
 *
 * @module
 */

/** What the ready queue holds: anything with a priority and a sequence number. */
export interface Ready {
  readonly priority: number;
  readonly seq: number;
}

class Bucket<T> {
  items: T[] = [];
  head = 0;

  get size(): number {
    return this.items.length - this.head;
  }

  shift(): T {
    const item = this.items[this.head];
    this.items[this.head++] = undefined as T;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
}

/** A min-priority FIFO queue. */
export class ReadyQueue<T extends Ready> {
  private buckets = new Map<number, Bucket<T>>();
  private priorities: number[] = [];
  private count = 0;
  // The last bucket touched: most pushes land in the same one.
  private lastPriority = NaN;
  private lastBucket: Bucket<T> | undefined;

  /** Number of entries (including ones the engine will skip as already finished). */
  get size(): number {
    return this.count;
  }

  /** Appends at the end of its priority's FIFO. */
  push(item: T): void {
    this.bucketFor(item.priority).items.push(item);
    this.count++;
  }

  /**
   * Inserts by sequence number within its priority (a scheduled task that
   * comes due keeps the FIFO place its submission gave it).
   */
  pushInOrder(item: T): void {
    const bucket = this.bucketFor(item.priority);
    const items = bucket.items;
    let i = items.length;
    while (i > bucket.head && (items[i - 1] as T).seq > item.seq) i--;
    items.splice(i, 0, item);
    this.count++;
  }

  /** Removes and returns the first entry, or `undefined`. */
  pop(): T | undefined {
    if (this.count === 0) return undefined;
    const priority = this.priorities[0];
    const bucket = this.buckets.get(priority) as Bucket<T>;
    const item = bucket.shift();
    this.count--;
    if (bucket.size === 0) {
      this.buckets.delete(priority);
      // One priority in use (the usual case) needs no heap work: see bucketFor.
      if (this.priorities.length === 1) this.priorities.pop();
      else heapPop(this.priorities);
      if (this.lastBucket === bucket) this.lastBucket = undefined;
    }
    return item;
  }

  /** Removes every entry for which `keep` is false; returns the removed ones in queue order. */
  removeWhere(keep: (item: T) => boolean): T[] {
    const removed: T[] = [];
    const kept: T[] = [];
    for (const item of this.drain()) (keep(item) ? kept : removed).push(item);
    for (const item of kept) this.push(item);
    return removed;
  }

  /** Empties the queue, returning its entries in queue order. */
  drain(): T[] {
    const out: T[] = [];
    for (let item = this.pop(); item !== undefined; item = this.pop()) out.push(item);
    return out;
  }

  private bucketFor(priority: number): Bucket<T> {
    if (priority === this.lastPriority && this.lastBucket !== undefined) return this.lastBucket;
    let bucket = this.buckets.get(priority);
    if (bucket === undefined) {
      bucket = new Bucket<T>();
      this.buckets.set(priority, bucket);
      // The first priority in use is the heap alone. A program's first submission
      // and the queue's drain then call no heap function: on Bun a first call of
      // one (a loop) took about 60 µs.
      if (this.priorities.length === 0) this.priorities.push(priority);
      else heapPush(this.priorities, priority);
    }
    this.lastPriority = priority;
    this.lastBucket = bucket;
    return bucket;
  }
}

function heapPush(heap: number[], value: number): void {
  let i = heap.push(value) - 1;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (heap[parent] <= value) break;
    heap[i] = heap[parent];
    i = parent;
  }
  heap[i] = value;
}

function heapPop(heap: number[]): void {
  const last = heap.pop() as number;
  if (heap.length === 0) return;
  let i = 0;
  const n = heap.length;
  for (;;) {
    let child = 2 * i + 1;
    if (child >= n) break;
    if (child + 1 < n && heap[child + 1] < heap[child]) child++;
    if (heap[child] >= last) break;
    heap[i] = heap[child];
    i = child;
  }
  heap[i] = last;
}
