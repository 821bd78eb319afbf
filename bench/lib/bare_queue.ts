/**
 * The `bare` baseline: the fastest minimal concurrency limiter we could write,
 * so the tables show how far any queue is from the floor. It has no options,
 * no priorities, no error reporting: a cursor over two arrays and N lanes.
 *
 * @module
 */

/** A task as the baseline takes it: one argument, a promise back. */
export type BareTask<A, R> = (arg: A) => Promise<R>;

/** Runs submitted tasks with at most `concurrency` in flight; values land in `results`. */
export class BareQueue<A, R> {
  /** Values by submission index; a failed task leaves a hole. */
  readonly results: R[] = [];
  #tasks: (BareTask<A, R> | undefined)[] = [];
  #args: (A | undefined)[] = [];
  #next = 0;
  #concurrency: number;

  constructor(concurrency: number) {
    this.#concurrency = concurrency;
  }

  /** Adds a task; nothing runs before {@linkcode BareQueue.run}. */
  submit(task: BareTask<A, R>, arg: A): void {
    this.#tasks.push(task);
    this.#args.push(arg);
  }

  /** Runs every submitted task; resolves when all have settled. */
  async run(): Promise<void> {
    const lanes: Promise<void>[] = [];
    for (let lane = 0; lane < this.#concurrency; lane++) lanes.push(this.#lane());
    await Promise.all(lanes);
  }

  // Each lane pulls the next index and awaits it: one await per task and no
  // per-task closure, which measured faster than a callback-driven limiter.
  async #lane(): Promise<void> {
    while (this.#next < this.#tasks.length) {
      const index = this.#next++;
      const task = this.#tasks[index] as BareTask<A, R>;
      const arg = this.#args[index] as A;
      // Drop references as we go so finished work does not pin the inputs.
      this.#tasks[index] = undefined;
      this.#args[index] = undefined;
      try {
        this.results[index] = await task(arg);
      } catch {
        // The baseline does not report errors; the workloads check the values.
      }
    }
  }
}
