/**
 * The scheduler's store: tasks waiting for their `delay` or `runAt`, in a
 * binary min-heap on (due time, sequence). One clock timer is armed for the
 * earliest entry, however many tasks wait.
 *
 * @module
 */

/** Anything with a due time and a sequence number. */
export interface Due {
  readonly dueAt: number;
  readonly seq: number;
}

function before(a: Due, b: Due): boolean {
  return a.dueAt < b.dueAt || (a.dueAt === b.dueAt && a.seq < b.seq);
}

/** A min-heap on due time, then sequence. */
export class TimerHeap<T extends Due> {
  private heap: T[] = [];

  /** Number of entries. */
  get size(): number {
    return this.heap.length;
  }

  /** The earliest entry, without removing it. */
  peek(): T | undefined {
    return this.heap[0];
  }

  /** Adds an entry. */
  push(item: T): void {
    const heap = this.heap;
    let i = heap.push(item) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(item, heap[parent])) break;
      heap[i] = heap[parent];
      i = parent;
    }
    heap[i] = item;
  }

  /** Removes and returns the earliest entry. */
  pop(): T | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last !== undefined) {
      let i = 0;
      const n = heap.length;
      for (;;) {
        let child = 2 * i + 1;
        if (child >= n) break;
        if (child + 1 < n && before(heap[child + 1], heap[child])) child++;
        if (!before(heap[child], last)) break;
        heap[i] = heap[child];
        i = child;
      }
      heap[i] = last;
    }
    return top;
  }

  /** Removes every entry for which `keep` is false; returns the removed ones, earliest first. */
  removeWhere(keep: (item: T) => boolean): T[] {
    const all = this.heap.slice().sort((a, b) => (before(a, b) ? -1 : 1));
    this.heap = [];
    const removed: T[] = [];
    for (const item of all) {
      if (keep(item)) this.push(item);
      else removed.push(item);
    }
    return removed;
  }
}
