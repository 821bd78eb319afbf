/**
 * The list of a queue's finished entries, appended to as tasks finish and
 * read by index (a run's summary, the progress line, `results`).
 *
 * It is kept in chunks of 1,024 rather than one array. On JavaScriptCore a
 * store into an array the collector has already seen makes it rescan the
 * whole array at its next collection: with one array, every collection of a
 * long run rescanned every result so far. Only the last chunk is written to.
 *
 * @module
 */

// Chunks of 2^10 entries; indices split with shifts and masks (no Math on this path).
const CHUNK_BITS = 10;
const CHUNK = 1 << CHUNK_BITS;
const IN_CHUNK = CHUNK - 1;

/** An append-only list in chunks, read like an array: `length`, `at`, `slice`. */
export class ResultLog<T> {
  private chunks: T[][] = [];
  private tail: T[] = [];
  private count = 0;

  /** How many entries. */
  get length(): number {
    return this.count;
  }

  /** Appends an entry. */
  push(entry: T): void {
    if (this.count === this.chunks.length << CHUNK_BITS) {
      this.tail = [];
      this.chunks.push(this.tail);
    }
    this.tail.push(entry);
    this.count++;
  }

  /** The entry at `index`, or `undefined` outside the list. */
  at(index: number): T | undefined {
    if (index < 0 || index >= this.count) return undefined;
    return this.chunks[index >> CHUNK_BITS][index & IN_CHUNK];
  }

  /** Replaces the entry at `index`, which must exist. */
  set(index: number, entry: T): void {
    this.chunks[index >> CHUNK_BITS][index & IN_CHUNK] = entry;
  }

  /** The entries from `start` (default 0) to the end, as a new array. */
  slice(start = 0): T[] {
    const first = start > 0 ? start >> CHUNK_BITS : 0;
    if (first >= this.chunks.length) return [];
    const out = this.chunks[first].slice(start > 0 ? start & IN_CHUNK : 0);
    // A native copy per chunk, not a push per entry.
    for (let c = first + 1; c < this.chunks.length; c++) out.push(...this.chunks[c]);
    return out;
  }
}
