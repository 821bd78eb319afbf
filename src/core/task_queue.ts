/**
 * The public face of every queue: submitting, the lifecycle and
 * inspection. Each method hands its work to the engine (`queue.ts`).
 *
 * @module
 */

import { TaskGroup } from "./group.ts";
import { submitEntries, submitGroup } from "./group_submission.ts";
import type { TaskHandle } from "./handle.ts";
import { resolveTaskOptions, type TaskOptions } from "./options.ts";
import { QueueEngine } from "./queue.ts";
import { type PortQueue, servePort } from "./queue_port.ts";
import type { Checkpoint } from "./checkpoint.ts";
import type { Executor, TaskSource } from "./executor.ts";
import type { ProgressBoard } from "./progress_line.ts";
import type { QueueOptions, RunOptions } from "./queue_options.ts";
import type {
  BindOptions,
  BoundTask,
  BoundTaskFunction,
  GroupEntry,
  QueueStats,
  Task,
  UnboundArgs,
  UnboundOptions,
} from "./queue_types.ts";
import type { RunSummary, TaskResult } from "./result.ts";
import {
  type CheckpointMapOptions,
  entriesNamespace,
  flushCheckpoints,
  splitCheckpointOptions,
  submitEachCheckpointed,
  submitEntriesCheckpointed,
} from "./checkpointed.ts";
import { argListsOf, bindTask, isIterable, iterableToArray } from "./submission.ts";
import { checkArray, invalidMessage } from "./validate.ts";

/**
 * What every queue is. Use {@linkcode AsyncQueue},
 * {@linkcode ThreadQueue} or {@linkcode ProcessQueue}; this type is what
 * code that takes "any queue" accepts.
 *
 * @example
 * ```ts
 * import { AsyncQueue, type TaskQueue } from "@osiiso/osiiso";
 * async function fanOut(q: TaskQueue, urls: string[]): Promise<number> {
 *   q.map(async (url: string) => url.length, urls);
 *   return (await q.run()).succeeded;
 * }
 * console.log(await fanOut(new AsyncQueue({ workers: 4 }), ["a", "bb"])); // 2
 * ```
 */
export abstract class TaskQueue {
  readonly #engine: QueueEngine;
  /**
   * Write what checkpointed tasks recorded, then pass on the outcome, so that
   * a success is stored before the `run()`, `join()` or `shutdown()` covering
   * it settles (a failed write rejects that call). `finally()` would do the
   * same with more promise hops at the end of every run (on Bun a first
   * `finally()` settles about 12 µs later than a first `then()`).
   */
  readonly #flushThenValue = <T>(value: T): T => {
    flushCheckpoints(this.#engine);
    return value;
  };
  readonly #flushThenThrow = (error: unknown): never => {
    flushCheckpoints(this.#engine);
    throw error;
  };

  /**
   * Backends call this with their executor, the names of their own options
   * (which they check themselves), and the board that draws the `progress`
   * line on stderr (the backends know the runtime; the core does not).
   */
  protected constructor(
    options: QueueOptions | undefined,
    executor: Executor,
    extraOptionNames: readonly string[] = [],
    progressBoard?: () => ProgressBoard,
  ) {
    this.#engine = new QueueEngine(options, executor, extraOptionNames, progressBoard);
  }

  /**
   * Submits `task(...args)`. Returns its handle at once; the task runs once
   * the queue is started (`start()`, `run()`, `join()`, or `shutdown()`).
   *
   * @example
   * ```ts
   * import { AsyncQueue } from "@osiiso/osiiso";
   * const q = new AsyncQueue();
   * const h = q.submit(async (a: number, b: number) => a * b, [6, 7], { retries: 2 });
   * await q.run();
   * console.log(h.value()); // 42
   * ```
   */
  submit<A extends unknown[], R>(
    task: BoundTaskFunction<A, R>,
    args: A,
    options: BindOptions,
  ): TaskHandle<Awaited<R>>;
  /** Submits `task(context)` with `bind: true` (the task takes only its context). */
  submit<R>(task: BoundTaskFunction<[], R>, options: BindOptions): TaskHandle<Awaited<R>>;
  /** Submits `task(...args)`. */
  submit<A extends unknown[], R, const O extends TaskOptions = TaskOptions>(
    task: Task<A, R>,
    args?: UnboundArgs<A>,
    options?: UnboundOptions<O>,
  ): TaskHandle<Awaited<R>>;
  /** Submits `task()` with options. */
  submit<R, const O extends TaskOptions = TaskOptions>(
    task: Task<[], R>,
    options: UnboundOptions<O>,
  ): TaskHandle<Awaited<R>>;
  submit(task: unknown, argsOrOptions?: unknown, maybeOptions?: unknown): TaskHandle<unknown> {
    let args: readonly unknown[];
    let options: unknown;
    if (argsOrOptions === undefined || Array.isArray(argsOrOptions)) {
      args = (argsOrOptions as unknown[] | undefined) ?? [];
      options = maybeOptions;
    } else if (maybeOptions === undefined && typeof argsOrOptions === "object") {
      args = [];
      options = argsOrOptions;
    } else {
      args = checkArray("submit task", "args", argsOrOptions);
      options = maybeOptions;
    }
    const engine = this.#engine;
    engine.validateSource(task, "submit task");
    return engine.submitResolved(task as TaskSource, args, resolveTaskOptions(options));
  }

  /**
   * Submits `task(item)` for each item; returns the handles in input order.
   * Every item is checked before any is submitted.
   *
   * @example
   * ```ts
   * import { AsyncQueue } from "@osiiso/osiiso";
   * const q = new AsyncQueue({ workers: 2 });
   * const handles = q.map(async (n: number) => n * n, [1, 2, 3]);
   * await q.run();
   * console.log(await Promise.all(handles)); // [1, 4, 9]
   * ```
   */
  map<T, R>(
    task: BoundTaskFunction<[T], R>,
    items: Iterable<T>,
    options: BindOptions & CheckpointMapOptions<T>,
  ): TaskHandle<Awaited<R>>[];
  /** Submits `task(item)` for each item not yet recorded in `options.checkpoint`. */
  map<T, R>(
    task: Task<[T], R>,
    items: Iterable<T>,
    options: TaskOptions & CheckpointMapOptions<T> & { checkpoint: Checkpoint },
  ): TaskHandle<Awaited<R>>[];
  /** Submits `task(item)` for each item (see {@linkcode CheckpointMapOptions} to resume). */
  map<T, R, const O extends TaskOptions & CheckpointMapOptions<T> = TaskOptions>(
    task: Task<[T], R>,
    items: Iterable<T>,
    options?: UnboundOptions<O, TaskOptions & CheckpointMapOptions<T>>,
  ): TaskHandle<Awaited<R>>[];
  map(task: unknown, items: Iterable<unknown>, options?: TaskOptions): TaskHandle<unknown>[] {
    const list = iterableToArray("map tasks", "items", items);
    const engine = this.#engine;
    engine.validateSource(task, "map tasks");
    const { use, rest } = splitCheckpointOptions("map tasks", options);
    const resolved = resolveTaskOptions(rest);
    if (use !== undefined) {
      return submitEachCheckpointed(engine, use, task as TaskSource, list, (i) => [i], resolved);
    }
    return engine.submitEachResolved(task as TaskSource, list.map((item) => [item]), resolved);
  }

  /**
   * Submits `task(...args)` for each argument list.
   *
   * @example
   * ```ts
   * import { AsyncQueue } from "@osiiso/osiiso";
   * const q = new AsyncQueue();
   * const handles = q.starmap((a: number, b: number) => a + b, [[1, 2], [3, 4]]);
   * await q.run();
   * console.log(handles.map((h) => h.value())); // [3, 7]
   * ```
   */
  starmap<A extends unknown[], R>(
    task: BoundTaskFunction<A, R>,
    argLists: Iterable<A>,
    options: BindOptions & CheckpointMapOptions<A>,
  ): TaskHandle<Awaited<R>>[];
  /** Submits `task(...args)` for each argument list not yet recorded in `options.checkpoint`. */
  starmap<A extends unknown[], R>(
    task: Task<A, R>,
    argLists: Iterable<A>,
    options: TaskOptions & CheckpointMapOptions<A> & { checkpoint: Checkpoint },
  ): TaskHandle<Awaited<R>>[];
  /** Submits `task(...args)` for each argument list (keyed by the list with a checkpoint). */
  starmap<
    A extends unknown[],
    R,
    const O extends TaskOptions & CheckpointMapOptions<A> = TaskOptions,
  >(
    task: Task<A, R>,
    argLists: Iterable<A>,
    options?: UnboundOptions<O, TaskOptions & CheckpointMapOptions<A>>,
  ): TaskHandle<Awaited<R>>[];
  starmap(
    task: unknown,
    argLists: Iterable<unknown[]>,
    options?: TaskOptions,
  ): TaskHandle<unknown>[] {
    const lists = argListsOf("starmap tasks", argLists);
    const engine = this.#engine;
    engine.validateSource(task, "starmap tasks");
    const { use, rest } = splitCheckpointOptions("starmap tasks", options);
    const resolved = resolveTaskOptions(rest);
    if (use !== undefined) {
      const source = task as TaskSource;
      return submitEachCheckpointed(
        engine,
        use,
        source,
        lists,
        (args) => args as unknown[],
        resolved,
      );
    }
    return engine.submitEachResolved(task as TaskSource, lists, resolved);
  }

  /**
   * Submits a group: either `[[task, ...args], …]` (heterogeneous) or
   * `task` over `items` (homogeneous, `task(item)` each). Every handle and
   * result carries the group id (`options.groupId`, else `group-<n>`).
   *
   * @example
   * ```ts
   * import { AsyncQueue } from "@osiiso/osiiso";
   * const q = new AsyncQueue();
   * const mixed = q.group([[(a: number, b: number) => a + b, 2, 3], [() => "x"]], { groupId: "mixed" });
   * const squares = q.group((n: number) => n * n, [1, 2, 3]);
   * await q.run();
   * console.log(await mixed.values(), await squares.values()); // [5, "x"] [1, 4, 9]
   * ```
   */
  group<T, R>(
    task: BoundTaskFunction<[T], R>,
    items: Iterable<T>,
    options: BindOptions & CheckpointMapOptions<T>,
  ): TaskGroup<Awaited<R>>;
  /** Submits a homogeneous group of the items not yet recorded in `options.checkpoint`. */
  group<T, R>(
    task: Task<[T], R>,
    items: Iterable<T>,
    options: TaskOptions & CheckpointMapOptions<T> & { checkpoint: Checkpoint },
  ): TaskGroup<Awaited<R>>;
  /** Submits a homogeneous group: `task(item)` for each item. */
  group<T, R, const O extends TaskOptions & CheckpointMapOptions<T> = TaskOptions>(
    task: Task<[T], R>,
    items: Iterable<T>,
    options?: UnboundOptions<O, TaskOptions & CheckpointMapOptions<T>>,
  ): TaskGroup<Awaited<R>>;
  /**
   * Submits a heterogeneous group: `[[task, ...args], …]`. With a
   * checkpoint it needs a stable name: `namespace` or `groupId`.
   */
  group(
    entries: Iterable<GroupEntry>,
    options?: TaskOptions & CheckpointMapOptions<GroupEntry>,
  ): TaskGroup<unknown>;
  group(first: unknown, second?: unknown, third?: unknown): TaskGroup<unknown> {
    const action = "submit group";
    const engine = this.#engine;
    if (typeof first === "function" || !isIterable(first)) {
      const items = iterableToArray(action, "items", second as Iterable<unknown>);
      const { use, rest } = splitCheckpointOptions(action, third);
      const options = resolveTaskOptions(rest);
      const groupId = options.groupId ?? engine.nextGroupId();
      engine.validateSource(first, action);
      if (use === undefined) {
        return submitGroup(engine, first as TaskSource, items, options, groupId);
      }
      const withId = resolveTaskOptions({ groupId }, options);
      const source = first as TaskSource;
      const handles = submitEachCheckpointed(engine, use, source, items, (i) => [i], withId);
      return new TaskGroup(groupId, handles);
    }
    const { use, rest } = splitCheckpointOptions(action, second);
    const base = resolveTaskOptions(rest);
    // Checked before the entries: a missing stable name is the first thing to fix.
    const namespace = use === undefined ? undefined : entriesNamespace(use, base.groupId);
    const entries = iterableToArray(action, "entries", first as Iterable<unknown>);
    entries.forEach((entry, index) => {
      if (!Array.isArray(entry) || entry.length === 0) {
        throw new TypeError(
          invalidMessage(action, `entries[${index}]`, "a non-empty array [task, ...args]", entry),
        );
      }
      engine.validateSource(entry[0], action);
    });
    const groupId = base.groupId ?? engine.nextGroupId();
    const options = resolveTaskOptions({ groupId }, base);
    if (use === undefined || namespace === undefined) {
      return submitEntries(engine, entries as unknown[][], options, groupId);
    }
    const handles = submitEntriesCheckpointed(
      engine,
      use,
      namespace,
      entries as unknown[][],
      options,
      groupId,
    );
    return new TaskGroup(groupId, handles);
  }

  /**
   * Binds `task` to this queue with options: call the result to submit.
   *
   * @example
   * ```ts
   * import { AsyncQueue } from "@osiiso/osiiso";
   * const q = new AsyncQueue();
   * const square = q.task(async (n: number) => n * n, { retries: 1 });
   * const h = square(4);
   * const many = square.map([1, 2, 3]);
   * await q.run();
   * console.log(h.value(), many.map((x) => x.value())); // 16 [1, 4, 9]
   * ```
   */
  task<A extends unknown[], R>(
    task: BoundTaskFunction<A, R>,
    options: BindOptions,
  ): BoundTask<A, R>;
  /** Binds `task` to this queue with options. */
  task<A extends unknown[], R, const O extends TaskOptions = TaskOptions>(
    task: Task<A, R>,
    options?: UnboundOptions<O>,
  ): BoundTask<A, R>;
  task<A extends unknown[], R>(task: Task<A, R>, options?: TaskOptions): BoundTask<A, R> {
    this.#engine.validateSource(task, "bind task");
    return bindTask(this.#engine, task as TaskSource, resolveTaskOptions(options));
  }

  /**
   * A `MessagePort` through which another thread submits into this queue:
   * post it to a Web Worker (or hand it to a ThreadQueue task) and call
   * `connectQueue(port)` there. Remote tasks join this queue like local
   * ones (its run, summary and hooks); errors raised here (closed, full, a
   * bad option) reject there with the same class and message. The port is
   * answered until the other side closes it, also after this queue shuts
   * down (later submissions then reject with `ClosedError`).
   *
   * @example
   * ```ts
   * import { AsyncQueue, connectQueue } from "@osiiso/osiiso";
   * const q = new AsyncQueue();
   * const port = q.connect(); // e.g. worker.postMessage({ port }, [port])
   * const remote = connectQueue(port);
   * const h = remote.submit((n: number) => n + 1, [41]);
   * await q.join();
   * console.log(await h); // 42
   * remote.close();
   * await q.shutdown();
   * ```
   */
  connect(): MessagePort {
    return servePort(this as unknown as PortQueue);
  }

  /**
   * Starts executing: queued tasks begin, and later submissions run at once.
   * Throws `ClosedError` on a shut-down queue. Calling it again is harmless.
   *
   * @example
   * ```ts
   * import { AsyncQueue } from "@osiiso/osiiso";
   * const q = new AsyncQueue().start();
   * console.log(await q.submit(async () => "ran")); // "ran"
   * await q.shutdown();
   * ```
   */
  start(): this {
    this.#engine.start();
    return this;
  }

  /**
   * Starts the queue, waits until nothing is outstanding (finite mode) or
   * until `shutdown()` (infinite mode), bounded by the run timeout, and
   * returns a summary of the results recorded during this call, in
   * completion order. With `strict`, a failed task makes it throw
   * `ExecutionError` (after cleanup; cancellations do not throw).
   *
   * @example
   * ```ts
   * import { AsyncQueue } from "@osiiso/osiiso";
   * const q = new AsyncQueue();
   * q.submit(async () => 1);
   * q.submit(async () => { throw new Error("boom"); });
   * const summary = await q.run();
   * console.log(summary.succeeded, summary.failed, summary.ok); // 1 1 false
   * ```
   */
  run(options?: RunOptions): Promise<RunSummary<unknown>> {
    return this.#engine.run(options).then(this.#flushThenValue, this.#flushThenThrow);
  }

  /**
   * Starts the queue if needed and waits until nothing is outstanding. No
   * summary, no timeout; the workers keep running.
   *
   * @example
   * ```ts
   * import { AsyncQueue } from "@osiiso/osiiso";
   * const q = new AsyncQueue();
   * const h = q.submit(async () => 10);
   * await q.join();
   * console.log(h.value()); // 10
   * await q.shutdown();
   * ```
   */
  join(): Promise<void> {
    return this.#engine.join().then(this.#flushThenValue, this.#flushThenThrow);
  }

  /**
   * Stops the queue. Graceful (default): stop accepting, run everything
   * outstanding (scheduled tasks and retries included), then stop the
   * workers. `force: true`: cancel everything now, `mustComplete` too.
   * Calling it again is harmless.
   *
   * @example
   * ```ts
   * import { AsyncQueue } from "@osiiso/osiiso";
   * const q = new AsyncQueue();
   * const h = q.submit(async () => "done", { delay: 10 });
   * await q.shutdown();      // runs the delayed task first
   * console.log(h.value());  // "done"
   * ```
   */
  shutdown(options?: { force?: boolean }): Promise<void> {
    return this.#engine.shutdown(options).then(this.#flushThenValue, this.#flushThenThrow);
  }

  /**
   * Forced shutdown from anywhere (a hook, a task, a signal handler): the
   * cancellations happen synchronously; the returned promise resolves when
   * the workers are gone and never rejects.
   *
   * @example
   * ```ts
   * import { AsyncQueue } from "@osiiso/osiiso";
   * const q = new AsyncQueue().start();
   * const h = q.submit(() => new Promise(() => {}));
   * await q.cancel();
   * console.log(h.cancelled(), q.closed); // true true
   * ```
   */
  cancel(): Promise<void> {
    return this.#engine.cancel().then(() => {
      try {
        flushCheckpoints(this.#engine);
      } catch (error) {
        this.#engine.reportCallbackError(error, "checkpoint");
      }
    });
  }

  /**
   * Reopens the queue for reuse: cancels anything pending (hooks fire),
   * clears the results and counters. Not during `run()`, and not while
   * workers run (`join()`/`start()` leave them running; `shutdown()` or a
   * finished finite run stops them).
   *
   * @example
   * ```ts
   * import { AsyncQueue } from "@osiiso/osiiso";
   * const q = new AsyncQueue();
   * q.submit(async () => 1);
   * await q.run();
   * q.reset();
   * console.log(q.results.length); // 0
   * ```
   */
  reset(): void {
    this.#engine.reset();
  }

  /**
   * Empties `results` (calling it during a run shortens that run's summary).
   *
   * @example
   * ```ts
   * import { AsyncQueue } from "@osiiso/osiiso";
   * const q = new AsyncQueue();
   * q.submit(async () => 1);
   * await q.run();
   * q.clearResults();
   * console.log(q.stats.completed); // 0
   * ```
   */
  clearResults(): void {
    this.#engine.clearResults();
  }

  /**
   * Resolves when a bounded queue (`size`) has room for another task, or
   * when the queue is shut down (a submit then throws `ClosedError`).
   *
   * @example
   * ```ts
   * import { AsyncQueue, QueueFullError } from "@osiiso/osiiso";
   * const q = new AsyncQueue({ size: 2, workers: 2 }).start();
   * for (let i = 0; i < 10; i++) {
   *   await q.whenSpace();
   *   q.submit(async () => i);
   * }
   * await q.shutdown();
   * ```
   */
  whenSpace(): Promise<void> {
    return this.#engine.whenSpace();
  }

  /**
   * Runs `body` with the queue started and shuts it down after: graceful
   * when `body` returns, forced when it throws (the error propagates).
   *
   * @example
   * ```ts
   * import { AsyncQueue } from "@osiiso/osiiso";
   * const total = await new AsyncQueue().scope(async (q) => {
   *   const handles = q.map(async (n: number) => n * 2, [1, 2, 3]);
   *   return (await Promise.all(handles)).reduce((a, b) => a + b, 0);
   * });
   * console.log(total); // 12
   * ```
   */
  async scope<R>(body: (queue: this) => R | Promise<R>): Promise<R> {
    if (typeof body !== "function") {
      throw new TypeError(
        `Cannot open queue scope as 'body' must be a function: current value is ${typeof body}`,
      );
    }
    this.start();
    let value: R;
    try {
      value = await body(this);
    } catch (error) {
      await this.shutdown({ force: true });
      throw error;
    }
    await this.shutdown();
    return value;
  }

  /**
   * `await using q = new AsyncQueue()`: a graceful `shutdown()` at scope end.
   * (JS cannot tell the scope threw; use {@linkcode TaskQueue.scope} for the
   * forced-on-error rule.)
   */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown();
  }

  /** Tasks holding a worker (running, or held by the rate gate); a task waiting for its retry is pending. */
  get activeCount(): number {
    return this.#engine.activeCount;
  }

  /** Tasks queued or scheduled (outstanding minus active). */
  get pendingCount(): number {
    return this.#engine.pendingCount;
  }

  /** Whether the queue has been shut down. */
  get closed(): boolean {
    return this.#engine.closed;
  }

  /** Every result since the last `reset()`/`clearResults()`, detached ones included. */
  get results(): readonly TaskResult<unknown>[] {
    return this.#engine.results;
  }

  /** Counters of the queue now. */
  get stats(): QueueStats {
    return this.#engine.stats;
  }
}
