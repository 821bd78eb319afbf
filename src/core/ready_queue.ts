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

// Entries per segment of a bucket: 200,000 queued tasks are 196 arrays, and
// only the last is written to while tasks are pushed.
const SEGMENT = 1024;

/**
 * One priority's FIFO, in segments of 1,024 rather than one array. On
 * JavaScriptCore a store into an array the collector has already seen makes
 * it rescan the whole array at its next collection: one array of 200,000
 * queued tasks was rescanned at every collection while tasks were submitted.
 * Every segment but the first and the last is full; the first is read from
 * `head` on.
 */
class Bucket<T extends Ready> {
  private segments: T[][] = [[]];
  private head = 0;
  size = 0;

  push(item: T): void {
    let tail = this.segments[this.segments.length - 1];
    if (tail.length === SEGMENT) {
      tail = [];
      this.segments.push(tail);
    }
    tail.push(item);
    this.size++;
  }

  /** Inserts by sequence number: appended, then moved back past every later entry. */
  insertInOrder(item: T): void {
    this.push(item);
    const segments = this.segments;
    let s = segments.length - 1;
    let i = segments[s].length - 1;
    for (;;) {
      let ps = s;
      let pi = i - 1;
      if (pi < 0) {
        if (ps === 0) break;
        ps--;
        pi = SEGMENT - 1;
      }
      if (ps === 0 && pi < this.head) break;
      const previous = segments[ps][pi];
      if (previous.seq <= item.seq) break;
      segments[s][i] = previous;
      s = ps;
      i = pi;
    }
    segments[s][i] = item;
  }

  shift(): T {
    const first = this.segments[0];
    const item = first[this.head];
    first[this.head++] = undefined as unknown as T;
    this.size--;
    if (this.head === first.length) {
      if (this.segments.length > 1) this.segments.shift();
      else first.length = 0;
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
    this.bucketFor(item.priority).push(item);
    this.count++;
  }

  /**
   * Inserts by sequence number within its priority (a scheduled task that
   * comes due keeps the FIFO place its submission gave it).
   */
  pushInOrder(item: T): void {
    this.bucketFor(item.priority).insertInOrder(item);
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
