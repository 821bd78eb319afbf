/**
 * The engine every queue shares: admission, ordering, scheduling, the rate
 * gate, retries, timeouts, cancellation, hooks, results and the lifecycle.
 * A backend adds only an {@linkcode Executor} (how one attempt executes).
 *
 * @module
 */

import type { Clock, Timer } from "./clock.ts";
import type { TaskContext } from "./context.ts";
import {
  CancelledError,
  ClosedError,
  InvalidStateError,
  QueueFullError,
  TaskTimeoutError,
  WorkerCrashedError,
} from "./errors.ts";
import {
  type AttemptRequest,
  type EndedBy,
  type Executor,
  REPORTED_LATER,
  type TaskSource,
} from "./executor.ts";
import { TaskGroup } from "./group.ts";
import {
  HANDLE_SPEC,
  type HandleSpec,
  nextTaskIdNumber,
  TaskHandle,
  type TaskHandleInit,
} from "./handle.ts";
import {
  DEFAULT_TASK_OPTIONS,
  type ResolvedTaskOptions,
  resolveTaskOptions,
  retryDelayFor,
  type TaskOptions,
} from "./options.ts";
import {
  type FailPolicy,
  type HookName,
  type ResolvedQueueOptions,
  resolveQueueOptions,
  resolveRunOptions,
  type RunOptions,
} from "./queue_options.ts";
import { RateGate } from "./rate_gate.ts";
import { ReadyQueue } from "./ready_queue.ts";
import { releaseResource, trackResource } from "./resources.ts";
import {
  type RunSummary,
  summaryAdopting,
  TaskResult,
  type TaskResultInit,
  type TaskStatus,
} from "./result.ts";
import { sourceName, type TaskReference } from "./task_source.ts";
import { TimerHeap } from "./timer_heap.ts";
import {
  checkArray,
  checkBoolean,
  checkKnownNames,
  checkOptionsObject,
  invalidMessage,
} from "./validate.ts";

const SHUTDOWN_OPTION_NAMES: ReadonlySet<string> = new Set(["force"]);

/** A task body: a function, or a reference to a module export (`taskModule`). */
export type Task<A extends unknown[], R> = ((...args: A) => R) | TaskReference<(...args: A) => R>;
/** A task body that takes a {@linkcode TaskContext} first (`bind: true`). */
export type BoundTaskFunction<A extends unknown[], R> =
  | ((context: TaskContext, ...args: A) => R)
  | TaskReference<(context: TaskContext, ...args: A) => R>;

/** `TaskOptions` with `bind: true`. */
export type BindOptions = TaskOptions & { bind: true };

/** Counters of a queue at one moment. */
export interface QueueStats {
  /** Queued and scheduled tasks. */
  readonly pending: number;
  /** Tasks holding a worker: running, or sleeping for the rate gate or a retry. */
  readonly active: number;
  /** Tasks waiting for their `delay` / `runAt`. */
  readonly scheduled: number;
  /** Results recorded since the last `reset()` / `clearResults()`. */
  readonly completed: number;
  /** Live workers. */
  readonly workers: number;
  /** Whether the queue has been shut down. */
  readonly closed: boolean;
}

/** A function bound to a queue and options by {@linkcode TaskQueue.task}. */
export interface BoundTask<A extends unknown[], R> {
  /** Submits `fn(...args)` with the bound options. */
  (...args: A): TaskHandle<Awaited<R>>;
  /** The task's name. */
  readonly taskName: string;
  /** Submits with per-call option overrides. */
  submit(args: A, overrides?: TaskOptions): TaskHandle<Awaited<R>>;
  /** A submitter with these overrides on top of the bound options (checked now). */
  withOptions(overrides: TaskOptions): (...args: A) => TaskHandle<Awaited<R>>;
  /** `fn(item)` for each item (one-argument functions). */
  map(items: Iterable<A[0]>, overrides?: TaskOptions): TaskHandle<Awaited<R>>[];
  /** `fn(...args)` for each argument list. */
  starmap(argLists: Iterable<A>, overrides?: TaskOptions): TaskHandle<Awaited<R>>[];
  /** A group of `fn(item)` for each item. */
  group(items: Iterable<A[0]>, overrides?: TaskOptions): TaskGroup<Awaited<R>>;
}

/** One entry of a heterogeneous group: `[task, ...args]`. */
// deno-lint-ignore no-explicit-any
export type GroupEntry = readonly [Task<any[], unknown>, ...unknown[]];

const enum Place {
  None,
  Scheduled,
  Ready,
  Active,
  Done,
}

type Writable<T> = { -readonly [K in keyof T]-?: T[K] };

// Reused, mutable inits for the handles and results the engine builds: their
// constructors copy them (and call no user code), and not allocating a
// 5- and a 20-field literal per task takes a third off the hot path's garbage.
/** What the engine's handles are built from: the shared options as their spec. */
interface HandleScratch extends TaskHandleInit {
  name: string;
  createdAt: number;
  scheduledFor: number | null;
  [HANDLE_SPEC]: HandleSpec;
}
// (A queued handle's id is set after construction: it is the sequence number.)
const handleScratch: HandleScratch = {
  id: "",
  name: "",
  createdAt: 0,
  scheduledFor: null,
  [HANDLE_SPEC]: DEFAULT_TASK_OPTIONS,
};
const resultScratch: Writable<TaskResultInit<unknown>> = {
  taskId: "",
  name: "",
  status: "succeeded",
  value: undefined,
  exception: undefined,
  attempts: 0,
  priority: 0,
  mustComplete: false,
  groupId: null,
  detached: false,
  scheduledFor: null,
  createdAt: 0,
  startedAt: null,
  finishedAt: 0,
  duration: 0,
  message: "",
  metadata: undefined,
  worker: null,
  endedBy: null,
};

/** The engine's record of a task: the handle users see plus what only the engine reads. */
class QueuedTask extends TaskHandle<unknown> {
  // Few fields, on purpose: see the note in TaskHandle.
  source: TaskSource | undefined;
  args: readonly unknown[] | undefined;
  place = Place.None;
  startedAt: number | null = null;
  attempt: Attempt | undefined = undefined;
  timer: Timer | undefined = undefined;
  // Links of the engine's active list (cheaper than a Set on the hot path).
  prevActive: QueuedTask | undefined = undefined;
  nextActive: QueuedTask | undefined = undefined;

  constructor(
    name: string,
    source: TaskSource,
    args: readonly unknown[],
    options: ResolvedTaskOptions,
    createdAt: number,
    scheduledFor: number | null,
    owner: TaskQueue,
  ) {
    const init = handleScratch;
    init.name = name;
    init.createdAt = createdAt;
    init.scheduledFor = scheduledFor;
    init[HANDLE_SPEC] = options;
    super(init);
    init[HANDLE_SPEC] = DEFAULT_TASK_OPTIONS;
    // The sequence number (FIFO among equal priorities) is also the id's number.
    this._id = nextTaskIdNumber();
    this.source = source;
    this.args = args;
    this._owner = owner;
  }

  /** The options the task was submitted with. */
  get options(): ResolvedTaskOptions {
    return this._spec as ResolvedTaskOptions;
  }

  /** Submission order, across every queue of the process. */
  get seq(): number {
    return this._id as number;
  }

  /** When a scheduled task comes due (the scheduler's heap key). */
  get dueAt(): number {
    return this.scheduledFor ?? 0;
  }
}

/** One attempt: the token that tells a live outcome from a stale one. */
class Attempt implements AttemptRequest {
  readonly attempt: number;
  readonly source: TaskSource;
  readonly args: readonly unknown[];
  worker: number | null = null;
  settled = false;
  hasBegun = false;
  // Plain fields, not #private ones: one Attempt is built per attempt, and
  // JavaScriptCore initialises private fields measurably slower.
  controller: AbortController | undefined = undefined;
  abortReason: unknown = undefined;
  aborted = false;
  abortListener: (() => void) | undefined = undefined;

  constructor(readonly task: QueuedTask, readonly engine: TaskQueue) {
    this.attempt = task._attempts + 1;
    this.source = task.source as TaskSource;
    this.args = task.args as readonly unknown[];
  }

  get taskId(): string {
    return this.task.id;
  }

  get name(): string {
    return this.task.name;
  }

  get bind(): boolean {
    return this.task.options.bind;
  }

  get transfer(): readonly Transferable[] | undefined {
    return this.task.options.transfer;
  }

  get timeout(): number | undefined {
    return this.task.options.timeout;
  }

  get options(): ResolvedTaskOptions {
    return this.task.options;
  }

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(this.abortReason);
    }
    return this.controller.signal;
  }

  began(): boolean {
    if (this.hasBegun) return !this.settled;
    this.hasBegun = true;
    return this.engine._attemptBegan(this);
  }

  report(ok: boolean, value: unknown): void {
    this.engine._attemptReported(this, ok, value);
  }

  retrying(error: unknown): void {
    // The next began() counts the next attempt.
    if (this.engine._attemptRetrying(this, error)) this.hasBegun = false;
  }

  onAbort(listener: (() => void) | undefined): void {
    this.abortListener = listener;
    if (listener !== undefined && this.aborted) listener();
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.abortReason = reason;
    this.controller?.abort(reason);
    const listener = this.abortListener;
    this.abortListener = undefined;
    listener?.();
  }

  /** The context handed to a bound task on the calling thread. */
  context(): TaskContext {
    return { id: this.taskId, name: this.name, attempt: this.attempt, signal: this.signal };
  }
}

/** Builds the `TaskContext` for an attempt run on the calling thread (AsyncQueue). */
export function contextOf(request: AttemptRequest): TaskContext {
  return (request as Attempt).context();
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === "object" || typeof value === "function") &&
    typeof (value as PromiseLike<unknown>).then === "function";
}

/** Every queue that may hold work, for the `run(main)` runner's signal handling. */
const liveQueues = new Set<TaskQueue>();

/** The queues alive now (started and not shut down). */
export function liveQueueSet(): ReadonlySet<TaskQueue> {
  return liveQueues;
}

/**
 * The engine every queue shares. Use {@linkcode AsyncQueue},
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
  readonly #options: ResolvedQueueOptions;
  readonly #executor: Executor;
  readonly #clock: Clock;
  readonly #gate: RateGate | undefined;
  #failPolicy: FailPolicy;

  #ready = new ReadyQueue<QueuedTask>();
  #scheduled = new TimerHeap<QueuedTask>();
  #schedulerTimer: Timer | undefined = undefined;
  #activeHead: QueuedTask | undefined = undefined;
  // Attempts held back by the rate limit until another one starts in a worker.
  #rateWaiting: QueuedTask[] = [];
  #activeCount = 0;
  // Attempts handed to a pool but not yet started in a worker (its window):
  // they hold capacity but are still pending to the user.
  #notBegun = 0;
  #outstanding = 0;
  #scheduledCount = 0;
  #results: TaskResult<unknown>[] = [];
  /** How many of `#results` are detached (a run's summary leaves them out). */
  #detachedResults = 0;
  #seq = 0;

  #accepting = true;
  #closed = false;
  #started = false;
  #halted = false;
  #running = false;
  #timedOut = false;
  #pumpQueued = false;
  #pumping = false;
  #pumpAgain = false;
  #completing = false;
  // The clock read when an attempt succeeded, reused for the attempt its
  // completion starts in the same synchronous step (a clock read costs as much
  // as a tenth of a tiny task on Deno). Forgotten as soon as user code runs.
  #stepNow: number | undefined = undefined;
  #peakWorkers = 0;

  #idleWaiters: (() => void)[] = [];
  #wakeWaiters: (() => void)[] = [];
  #spaceWaiters: (() => void)[] = [];
  #interruptRun: (() => void) | undefined = undefined;
  #interrupted = false;
  #closing: Promise<void> | undefined = undefined;
  #signalToken: number | undefined = undefined;
  #onSignalAbort: (() => void) | undefined = undefined;

  /**
   * Backends call this with their executor and the names of their own
   * options (which they check themselves).
   */
  protected constructor(
    options: QueueOptions | undefined,
    executor: Executor,
    extraOptionNames: readonly string[] = [],
  ) {
    this.#options = resolveQueueOptions(options, extraOptionNames);
    this.#executor = executor;
    this.#clock = this.#options.clock;
    this.#failPolicy = this.#options.failPolicy;
    this.#gate = this.#options.rate === undefined
      ? undefined
      : new RateGate(this.#options.rate, this.#options.burst);
    const signal = this.#options.signal;
    if (signal !== undefined) {
      if (signal.aborted) {
        this.#accepting = false;
        this.#closed = true;
      } else {
        this.#onSignalAbort = () => void this.cancel();
        signal.addEventListener("abort", this.#onSignalAbort, { once: true });
        this.#signalToken = trackResource("listeners", "queue signal");
      }
    }
  }

  // ---------------------------------------------------------------- submit

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
  submit<A extends unknown[], R>(
    task: Task<A, R>,
    args?: A,
    options?: TaskOptions,
  ): TaskHandle<Awaited<R>>;
  /** Submits `task()` with options. */
  submit<R>(task: Task<[], R>, options: TaskOptions): TaskHandle<Awaited<R>>;
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
    this.#executor.validateSource(task, "submit task");
    const resolved = resolveTaskOptions(options);
    this.#admit(1);
    return this.#enqueue(task as TaskSource, args, resolved);
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
    options: BindOptions,
  ): TaskHandle<Awaited<R>>[];
  /** Submits `task(item)` for each item. */
  map<T, R>(
    task: Task<[T], R>,
    items: Iterable<T>,
    options?: TaskOptions,
  ): TaskHandle<Awaited<R>>[];
  map(task: unknown, items: Iterable<unknown>, options?: TaskOptions): TaskHandle<unknown>[] {
    const list = this.#iterableToArray("map tasks", "items", items);
    return this.#submitMany(task, list.map((item) => [item]), options, "map tasks");
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
    options: BindOptions,
  ): TaskHandle<Awaited<R>>[];
  /** Submits `task(...args)` for each argument list. */
  starmap<A extends unknown[], R>(
    task: Task<A, R>,
    argLists: Iterable<A>,
    options?: TaskOptions,
  ): TaskHandle<Awaited<R>>[];
  starmap(
    task: unknown,
    argLists: Iterable<unknown[]>,
    options?: TaskOptions,
  ): TaskHandle<unknown>[] {
    const lists = this.#iterableToArray("starmap tasks", "argLists", argLists);
    lists.forEach((args, index) => {
      if (!Array.isArray(args)) {
        throw new TypeError(
          `Cannot starmap tasks as 'argLists[${index}]' must be an array: current value is ${typeof args}`,
        );
      }
    });
    return this.#submitMany(task, lists, options, "starmap tasks");
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
    options: BindOptions,
  ): TaskGroup<Awaited<R>>;
  /** Submits a homogeneous group: `task(item)` for each item. */
  group<T, R>(task: Task<[T], R>, items: Iterable<T>, options?: TaskOptions): TaskGroup<Awaited<R>>;
  /** Submits a heterogeneous group: `[[task, ...args], …]`. */
  group(entries: Iterable<GroupEntry>, options?: TaskOptions): TaskGroup<unknown>;
  group(first: unknown, second?: unknown, third?: unknown): TaskGroup<unknown> {
    const action = "submit group";
    if (typeof first === "function" || !isIterable(first)) {
      const items = this.#iterableToArray(action, "items", second as Iterable<unknown>);
      const options = resolveTaskOptions(third);
      const groupId = options.groupId ?? `group-${this.#seq++}`;
      const handles = this.#submitMany(
        first,
        items.map((item) => [item]),
        { ...checkOptionsObject(action, "options", third), groupId },
        action,
      );
      return new TaskGroup(groupId, handles, this.#clock);
    }
    const entries = this.#iterableToArray(action, "entries", first as Iterable<unknown>);
    entries.forEach((entry, index) => {
      if (!Array.isArray(entry) || entry.length === 0) {
        throw new TypeError(
          invalidMessage(action, `entries[${index}]`, "a non-empty array [task, ...args]", entry),
        );
      }
      this.#executor.validateSource(entry[0], action);
    });
    const base = resolveTaskOptions(second);
    const groupId = base.groupId ?? `group-${this.#seq++}`;
    const options = resolveTaskOptions({ groupId }, base);
    this.#admit(entries.length);
    const handles = (entries as unknown[][]).map((entry) =>
      this.#enqueue(entry[0] as TaskSource, entry.slice(1), options)
    );
    return new TaskGroup(groupId, handles, this.#clock);
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
  task<A extends unknown[], R>(task: Task<A, R>, options?: TaskOptions): BoundTask<A, R>;
  task<A extends unknown[], R>(task: Task<A, R>, options?: TaskOptions): BoundTask<A, R> {
    this.#executor.validateSource(task, "bind task");
    const bound = resolveTaskOptions(options);
    const merged = (overrides?: TaskOptions) =>
      overrides === undefined ? bound : resolveTaskOptions(overrides, bound);
    const submitWith = (args: readonly unknown[], overrides?: TaskOptions) => {
      const resolved = merged(overrides);
      this.#admit(1);
      return this.#enqueue(task as TaskSource, args, resolved);
    };
    const call = (...args: A) => submitWith(args);
    const name = bound.name ?? sourceName(task as TaskSource);
    Object.defineProperty(call, "name", { value: name });
    const extras = {
      taskName: name,
      withOptions: (overrides: TaskOptions) => {
        const resolved = merged(overrides);
        return (...args: A) => {
          this.#admit(1);
          return this.#enqueue(task as TaskSource, args, resolved);
        };
      },
      submit: (args: A, overrides?: TaskOptions) =>
        submitWith(checkArray("submit task", "args", args), overrides),
      map: (items: Iterable<A[0]>, overrides?: TaskOptions) =>
        this.map(task as unknown as Task<[A[0]], R>, items, overridesOnto(bound, overrides)),
      starmap: (argLists: Iterable<A>, overrides?: TaskOptions) =>
        this.starmap(task, argLists, overridesOnto(bound, overrides)),
      group: (items: Iterable<A[0]>, overrides?: TaskOptions) =>
        this.group(task as unknown as Task<[A[0]], R>, items, overridesOnto(bound, overrides)),
    };
    return Object.assign(call, extras) as unknown as BoundTask<A, R>;
  }

  #iterableToArray<T>(action: string, name: string, items: Iterable<T>): T[] {
    if (Array.isArray(items)) return items;
    if (!isIterable(items)) {
      throw new TypeError(
        `Cannot ${action} as '${name}' must be iterable: current value is ${typeof items}`,
      );
    }
    return [...items];
  }

  #submitMany(
    task: unknown,
    argLists: readonly (readonly unknown[])[],
    options: unknown,
    action: string,
  ): TaskHandle<unknown>[] {
    this.#executor.validateSource(task, action);
    const resolved = resolveTaskOptions(options);
    this.#admit(argLists.length);
    const handles = new Array<TaskHandle<unknown>>(argLists.length);
    for (let i = 0; i < argLists.length; i++) {
      handles[i] = this.#enqueue(task as TaskSource, argLists[i], resolved);
    }
    return handles;
  }

  /** Throws when `count` new tasks may not be admitted now. */
  #admit(count: number): void {
    if (!this.#accepting || this.#closed || this.#halted) {
      throw new ClosedError("queue is not accepting tasks");
    }
    const size = this.#options.size;
    if (size > 0 && this.#outstanding + count > size) {
      throw new QueueFullError(`queue is full (${this.#outstanding} tasks outstanding)`);
    }
  }

  #enqueue(source: TaskSource, args: readonly unknown[], options: ResolvedTaskOptions): QueuedTask {
    const now = this.#clock.now();
    let dueAt = now;
    if (options.delay !== undefined) dueAt = now + options.delay;
    else if (options.runAt !== undefined) {
      dueAt = now + Math.max(0, options.runAt - this.#clock.wallNow());
    }
    const task = new QueuedTask(
      options.name ?? sourceName(source),
      source,
      args,
      options,
      now,
      dueAt > now ? dueAt : null,
      this,
    );
    this.#outstanding++;
    // An executor that drives attempts waits for the due time itself.
    if (dueAt > now && this.#executor.drivesAttempts !== true) {
      task.place = Place.Scheduled;
      this.#scheduled.push(task);
      this.#scheduledCount++;
      if (this.#started) this.#armScheduler();
    } else {
      task.place = Place.Ready;
      this.#ready.push(task);
      if (this.#started) this.#requestPump();
    }
    return task;
  }

  // -------------------------------------------------------------- dispatch

  #requestPump(): void {
    if (this.#pumpQueued) return;
    this.#pumpQueued = true;
    queueMicrotask(() => {
      this.#pumpQueued = false;
      this.#pump();
    });
  }

  #capacity(): number {
    const workers = this.#options.workers ?? this.#executor.autoWorkers();
    // Under a rate limit, no pipelining: an attempt must start when its reservation says.
    return this.#gate === undefined ? this.#executor.capacity(workers) : workers;
  }

  #pump(): void {
    if (!this.#started) return;
    if (this.#pumping) {
      // A task started by this loop finished synchronously: the loop goes on.
      this.#pumpAgain = true;
      return;
    }
    this.#pumping = true;
    try {
      do {
        this.#pumpAgain = false;
        this.#fill();
      } while (this.#pumpAgain);
    } finally {
      this.#pumping = false;
    }
  }

  #fill(): void {
    const limit = this.#capacity();
    while (this.#activeCount < limit) {
      const task = this.#ready.pop();
      if (task === undefined) break;
      if (task.place !== Place.Ready) continue; // finished while queued
      if (this.#halted && !task.mustComplete) {
        this.#finish(
          task,
          "cancelled",
          undefined,
          undefined,
          "cancelled",
          "cancelled during shutdown",
        );
        continue;
      }
      task.place = Place.Active;
      this.#addActive(task);
      this.#beginAttempt(task);
    }
  }

  #addActive(task: QueuedTask): void {
    const head = this.#activeHead;
    task.nextActive = head;
    if (head !== undefined) head.prevActive = task;
    this.#activeHead = task;
    if (++this.#activeCount > this.#peakWorkers) this.#peakWorkers = this.#activeCount;
  }

  #removeActive(task: QueuedTask): void {
    const { prevActive, nextActive } = task;
    if (prevActive !== undefined) prevActive.nextActive = nextActive;
    else this.#activeHead = nextActive;
    if (nextActive !== undefined) nextActive.prevActive = prevActive;
    task.prevActive = task.nextActive = undefined;
    this.#activeCount--;
  }

  /** Takes a rate reservation, then starts the attempt. */
  #beginAttempt(task: QueuedTask): void {
    if (this.#gate !== undefined) {
      const wait = this.#gate.reserve(this.#clock.now());
      if (wait > 0) {
        task.timer = this.#clock.setTimer(() => {
          task.timer = undefined;
          if (task.place === Place.Active) this.#dispatchRated(task);
        }, wait);
        return;
      }
      this.#dispatchRated(task);
      return;
    }
    this.#startAttempt(task);
  }

  /**
   * Under a rate limit, hands an attempt over only when no other is waiting
   * to start in a worker: a pool may start one late (a worker still
   * booting), and two handed over meanwhile would then start together. The
   * one held back takes a fresh reservation once the other has started.
   */
  #dispatchRated(task: QueuedTask): void {
    if (this.#notBegun > 0) {
      this.#rateWaiting.push(task);
      return;
    }
    this.#startAttempt(task);
  }

  /** An attempt is no longer waiting to start in a worker (it started, or ended). */
  #leftWindow(): void {
    this.#notBegun--;
    if (this.#rateWaiting.length > 0 && this.#notBegun === 0) this.#resumeRated();
  }

  /** Lets one attempt held back by the rate limit go on. */
  #resumeRated(): void {
    for (
      let next = this.#rateWaiting.shift();
      next !== undefined;
      next = this.#rateWaiting.shift()
    ) {
      if (next.place === Place.Active) {
        this.#beginAttempt(next);
        return;
      }
    }
  }

  /** Hands a new attempt to the executor; it becomes `running` at `began()`. */
  #startAttempt(task: QueuedTask): void {
    const attempt = new Attempt(task, this);
    task.attempt = attempt;
    this.#notBegun++;
    let outcome: unknown;
    try {
      outcome = this.#executor.execute(attempt);
      this.#stepNow = undefined; // the task's own code ran
      if (outcome === REPORTED_LATER) return; // Attempt.report() brings the outcome
      if (isThenable(outcome)) {
        // A foreign thenable's then() may throw: that is the task failing.
        outcome.then(
          (value) => this.#attemptSucceeded(attempt, value),
          (error) => this.#attemptFailed(attempt, error),
        );
        return;
      }
    } catch (error) {
      this.#stepNow = undefined;
      this.#attemptFailed(attempt, error);
      return;
    }
    this.#attemptSucceeded(attempt, outcome);
  }

  /** @ignore Called through `AttemptRequest.report()`: the attempt's outcome. */
  _attemptReported(attempt: Attempt, ok: boolean, value: unknown): void {
    if (ok) this.#attemptSucceeded(attempt, value);
    else this.#attemptFailed(attempt, value);
  }

  /**
   * @ignore Called through `AttemptRequest.began()`: counts the attempt,
   * fires `onStart` and arms the timeout. False when the attempt is over.
   */
  _attemptBegan(attempt: Attempt): boolean {
    const task = attempt.task;
    if (attempt.settled || task.attempt !== attempt || task.place !== Place.Active) return false;
    this.#leftWindow();
    const now = this.#markRunning(task);
    // A pool may start an attempt later than its reservation: later ones keep their spacing.
    this.#gate?.startedAt(now);
    if (this.#options.onStart !== undefined) {
      this.#callHook("onStart", this.#options.onStart, task);
      if (attempt.settled || task.attempt !== attempt || task.place !== Place.Active) return false;
    }
    const timeout = task.options.timeout;
    if (timeout !== undefined && this.#executor.drivesAttempts !== true) {
      task.timer = this.#clock.setTimer(() => {
        task.timer = undefined;
        this.#attemptTimedOut(attempt);
      }, timeout);
    }
    return true;
  }

  /**
   * @ignore Called through `AttemptRequest.retrying()` (executors that drive
   * attempts): the attempt failed and the executor will run another. False
   * when the task is over or the attempt had not begun.
   */
  _attemptRetrying(attempt: Attempt, error: unknown): boolean {
    const task = attempt.task;
    if (
      !attempt.hasBegun || attempt.settled || task.attempt !== attempt ||
      task.place !== Place.Active
    ) return false;
    task._status = "retrying";
    this.#notBegun++; // the next began() leaves the window again
    if (this.#options.onRetry !== undefined) {
      this.#callHook("onRetry", this.#options.onRetry, task, error);
    }
    return true;
  }

  /** Counts an attempt as started; returns the start time. */
  #markRunning(task: QueuedTask): number {
    task._attempts++;
    task._status = "running";
    const now = this.#stepNow ?? this.#clock.now();
    if (task.startedAt === null) task.startedAt = now;
    return now;
  }

  #settle(attempt: Attempt): boolean {
    const task = attempt.task;
    if (attempt.settled || task.attempt !== attempt || task.place !== Place.Active) return false;
    attempt.settled = true;
    // An outcome without began() (an argument that could not be sent, say)
    // still counts as an attempt, so retries stay bounded.
    if (!attempt.hasBegun) {
      attempt.hasBegun = true;
      this.#leftWindow();
      this.#markRunning(task);
    }
    if (task.timer !== undefined) {
      this.#clock.clearTimer(task.timer);
      task.timer = undefined;
    }
    return true;
  }

  #attemptSucceeded(attempt: Attempt, value: unknown): void {
    if (!this.#settle(attempt)) return;
    this.#completing = true;
    this.#stepNow = this.#clock.now();
    try {
      this.#finish(attempt.task, "succeeded", value, undefined, "returned", "", attempt.worker);
    } finally {
      this.#completing = false;
    }
    try {
      this.#pump();
    } finally {
      this.#stepNow = undefined;
    }
  }

  #attemptFailed(attempt: Attempt, error: unknown): void {
    if (!this.#settle(attempt)) return;
    const endedBy = error instanceof WorkerCrashedError
      ? "worker-crashed"
      : error instanceof TaskTimeoutError && this.#executor.drivesAttempts === true
      ? "timeout"
      : "threw";
    this.#completing = true;
    try {
      this.#failAttempt(attempt, error, endedBy);
    } finally {
      this.#completing = false;
    }
    this.#pump();
  }

  #attemptTimedOut(attempt: Attempt): void {
    if (!this.#settle(attempt)) return;
    const error = new TaskTimeoutError(attempt.name, attempt.task.options.timeout ?? 0);
    attempt.abort(error);
    this.#failAttempt(attempt, error, "timeout");
  }

  #failAttempt(attempt: Attempt, error: unknown, endedBy: EndedBy): void {
    const task = attempt.task;
    const options = task.options;
    if (
      task._attempts <= options.retries && !(this.#halted && !task.mustComplete) &&
      this.#executor.drivesAttempts !== true && this.#retryAllowed(options, error)
    ) {
      task._status = "retrying";
      if (this.#options.onRetry !== undefined) {
        this.#callHook("onRetry", this.#options.onRetry, task, error);
        if (task.place !== Place.Active || task.attempt !== attempt) return;
      }
      const delay = retryDelayFor(options, task._attempts);
      if (delay > 0) {
        task.timer = this.#clock.setTimer(() => {
          task.timer = undefined;
          if (task.place === Place.Active) this.#beginAttempt(task);
        }, delay);
      } else {
        this.#beginAttempt(task);
      }
      return;
    }
    this.#finish(task, "failed", undefined, error, endedBy, messageOf(error), attempt.worker);
  }

  #retryAllowed(options: ResolvedTaskOptions, error: unknown): boolean {
    if (options.retryOn === undefined) return true;
    try {
      return options.retryOn(error) === true;
    } catch (hookError) {
      this.#reportHookError(hookError, "retryOn");
      return false;
    }
  }

  /** Records a task's outcome exactly once, in the original's order. */
  #finish(
    task: QueuedTask,
    status: TaskStatus,
    value: unknown,
    exception: unknown,
    endedBy: EndedBy | null,
    message: string,
    worker: number | null = task.attempt?.worker ?? null,
  ): void {
    if (task.place === Place.Done) return;
    if (task.timer !== undefined) {
      this.#clock.clearTimer(task.timer);
      task.timer = undefined;
    }
    if (task.place === Place.Active) {
      this.#removeActive(task);
      // An attempt's own completion refills at once (no microtask hop, which
      // costs as much as the rest of a tiny task); other paths defer.
      if (!this.#completing) this.#requestPump();
    } else if (task.place === Place.Scheduled) {
      this.#scheduledCount--;
    }
    task.place = Place.Done;
    const finishedAt = this.#stepNow ?? this.#clock.now();
    const startedAt = task.startedAt;
    // A task that never started has no last attempt to describe.
    if (task._attempts === 0) endedBy = null;
    const init = resultScratch;
    init.taskId = task.id;
    init.name = task.name;
    init.status = status;
    init.value = value;
    init.exception = exception;
    init.attempts = task._attempts;
    init.priority = task.priority;
    init.mustComplete = task.mustComplete;
    init.groupId = task.groupId;
    init.detached = task.detached;
    init.scheduledFor = task.scheduledFor;
    init.createdAt = task.createdAt;
    init.startedAt = startedAt;
    init.finishedAt = finishedAt;
    init.duration = startedAt === null ? 0 : finishedAt - startedAt;
    init.message = message;
    init.metadata = task.metadata;
    init.worker = worker;
    init.endedBy = endedBy;
    const result = new TaskResult<unknown>(init);
    init.value = init.exception = init.metadata = undefined;
    // Let the task body and arguments be collected: a finished task keeps only its result.
    task.source = undefined;
    task.args = undefined;
    task.attempt = undefined;
    // onDone callbacks are user code: the step's clock reading is stale after them.
    if (task._listeners !== undefined) this.#stepNow = undefined;
    task._finish(result);
    this.#results.push(result);
    if (result.detached) this.#detachedResults++;
    this.#outstanding--;
    if (this.#spaceWaiters.length > 0) this.#notify(this.#spaceWaiters);
    if (status === "failed" && this.#failPolicy === "failFirst" && !this.#halted) {
      this.#abort(false);
    }
    if (this.#options.onComplete !== undefined) {
      this.#callHook("onComplete", this.#options.onComplete, result);
    }
    // Idle is announced last, so a task that onComplete submits keeps the run going.
    if (this.#outstanding === 0 && this.#idleWaiters.length > 0) this.#notify(this.#idleWaiters);
  }

  // ----------------------------------------------------------- scheduling

  #armScheduler(): void {
    const clock = this.#clock;
    if (this.#schedulerTimer !== undefined) {
      clock.clearTimer(this.#schedulerTimer);
      this.#schedulerTimer = undefined;
    }
    const heap = this.#scheduled;
    const now = clock.now();
    let moved = false;
    for (let top = heap.peek(); top !== undefined; top = heap.peek()) {
      if (top.place !== Place.Scheduled) {
        heap.pop();
        continue;
      }
      if (top.dueAt > now) break;
      heap.pop();
      this.#scheduledCount--;
      top.place = Place.Ready;
      this.#ready.pushInOrder(top);
      moved = true;
    }
    const next = heap.peek();
    if (next !== undefined) {
      this.#schedulerTimer = clock.setTimer(() => {
        this.#schedulerTimer = undefined;
        if (this.#started) this.#armScheduler();
      }, next.dueAt - now);
    }
    if (moved) this.#requestPump();
  }

  // --------------------------------------------------------- cancellation

  /** @ignore Called through `TaskHandle.cancel()`. */
  cancelTask(handle: TaskHandle<unknown>): boolean {
    const task = handle as QueuedTask;
    switch (task.place) {
      case Place.Scheduled:
      case Place.Ready:
        this.#finish(
          task,
          "cancelled",
          undefined,
          undefined,
          "cancelled",
          "cancelled before execution",
        );
        return true;
      case Place.Active:
        this.#cancelActive(task);
        return true;
      default:
        return false;
    }
  }

  #cancelActive(task: QueuedTask): void {
    const attempt = task.attempt;
    if (attempt !== undefined && !attempt.settled) {
      attempt.settled = true;
      if (!attempt.hasBegun) this.#leftWindow();
      attempt.abort(new CancelledError("cancelled"));
    }
    // Sent to a worker but never started there: it did not execute.
    const message = task._attempts === 0 ? "cancelled before execution" : "cancelled";
    this.#finish(task, "cancelled", undefined, undefined, "cancelled", message);
  }

  /**
   * Halts the queue and cancels what is not spared: with `kill`, everything;
   * otherwise everything but `mustComplete` tasks.
   */
  #abort(kill: boolean): void {
    this.#halted = true;
    const spared = (task: QueuedTask) => task.place !== Place.Done && !kill && task.mustComplete;
    const before = "cancelled before execution";
    for (const task of this.#scheduled.removeWhere(spared)) {
      this.#finish(task, "cancelled", undefined, undefined, "cancelled", before);
    }
    for (const task of this.#ready.removeWhere(spared)) {
      this.#finish(task, "cancelled", undefined, undefined, "cancelled", before);
    }
    const active: QueuedTask[] = [];
    for (let task = this.#activeHead; task !== undefined; task = task.nextActive) active.push(task);
    for (const task of active) {
      if (kill || !task.mustComplete) this.#cancelActive(task);
    }
  }

  // ------------------------------------------------------------ lifecycle

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
    if (this.#closed) throw new ClosedError("queue has been shut down");
    this.#halted = false;
    this.#timedOut = false;
    if (!this.#started) {
      this.#started = true;
      this.#peakWorkers = 0;
      liveQueues.add(this);
      this.#executor.start(this.#options.workers ?? this.#executor.autoWorkers());
      this.#armScheduler();
    }
    this.#requestPump();
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
  async run(options?: RunOptions): Promise<RunSummary<unknown>> {
    if (this.#running) throw new InvalidStateError("run() is already in progress");
    const { timeout, strict, failPolicy } = resolveRunOptions(options);
    if (this.#closed) throw new ClosedError("queue has been shut down");
    const limit = timeout === undefined ? this.#options.timeout : timeout ?? undefined;
    const runStart = this.#clock.now();
    const from = this.#results.length;
    const savedPolicy = this.#failPolicy;
    if (failPolicy !== undefined) this.#failPolicy = failPolicy;
    this.#running = true;
    let timedOut = false;
    let summary: RunSummary<unknown>;
    try {
      this.start();
      const finite = this.#options.mode === "finite";
      const finished = await this.#waitBounded(finite, limit);
      if (!finished) {
        timedOut = true;
        this.#timedOut = true;
        // A signal (the runner) counts as a timeout that spares mustComplete tasks.
        this.#abort(!this.#interrupted && this.#options.onTimeout === "cancel");
        await this.#waitIdle();
      }
      if ((finite || timedOut) && !this.#closed) this.#stopWorkers();
    } finally {
      const now = this.#clock.now();
      let window = this.#results.slice(from);
      if (this.#detachedResults > 0) window = window.filter((result) => !result.detached);
      this.#timedOut = false;
      this.#interrupted = false;
      this.#halted = false;
      this.#running = false;
      this.#failPolicy = savedPolicy;
      summary = summaryAdopting(window, { runStart, timedOut, now });
    }
    if (strict) summary.raiseForErrors();
    return summary;
  }

  /** Resolves true when the run's condition is met, false when its limit expires first. */
  #waitBounded(finite: boolean, limit: number | undefined): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      let timer: Timer | undefined;
      let done = false;
      const finish = (value: boolean) => {
        if (done) return;
        done = true;
        if (timer !== undefined) this.#clock.clearTimer(timer);
        this.#interruptRun = undefined;
        resolve(value);
      };
      this.#interruptRun = () => finish(false);
      if (limit !== undefined) timer = this.#clock.setTimer(() => finish(false), limit);
      if (finite) {
        if (this.#outstanding === 0) finish(true);
        else this.#idleWaiters.push(() => finish(true));
      } else {
        if (this.#closed) finish(true);
        else this.#wakeWaiters.push(() => finish(true));
      }
    });
  }

  #waitIdle(): Promise<void> {
    if (this.#outstanding === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #notify(waiters: (() => void)[]): void {
    const list = waiters.splice(0);
    for (const wake of list) wake();
  }

  #stopWorkers(): void {
    if (this.#started) this.#executor.stopped?.();
    this.#started = false;
    this.#peakWorkers = 0;
    liveQueues.delete(this);
    if (this.#schedulerTimer !== undefined) {
      this.#clock.clearTimer(this.#schedulerTimer);
      this.#schedulerTimer = undefined;
    }
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
  async join(): Promise<void> {
    this.start();
    await this.#waitIdle();
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
  async shutdown(options?: { force?: boolean }): Promise<void> {
    const given = checkOptionsObject("shut down queue", "options", options);
    checkKnownNames("shutdown", given, SHUTDOWN_OPTION_NAMES);
    const force = given.force === undefined
      ? false
      : checkBoolean("shut down queue", "force", given.force);
    if (this.#closed) {
      this.#notify(this.#wakeWaiters);
      if (this.#closing !== undefined) await this.#closing;
      return;
    }
    this.#accepting = false;
    if (force) {
      this.#abort(true);
    } else {
      if (this.#outstanding > 0 && !this.#started) this.start();
      await this.#waitIdle();
      if (this.#closed) {
        if (this.#closing !== undefined) await this.#closing;
        return;
      }
    }
    this.#halted = true;
    this.#closed = true;
    this.#stopWorkers();
    this.#releaseSignal();
    this.#closing = this.#executor.close(force);
    this.#notify(this.#wakeWaiters);
    this.#notify(this.#spaceWaiters);
    await this.#closing;
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
    return this.shutdown({ force: true }).catch(() => undefined);
  }

  /** @ignore Used by the `run(main)` runner on SIGINT/SIGTERM: a run timeout, `onTimeout: "complete"`. */
  _interrupt(): void {
    if (this.#interruptRun !== undefined) {
      this.#interrupted = true;
      this.#interruptRun();
    } else {
      this.#abort(false);
    }
  }

  #releaseSignal(): void {
    if (this.#onSignalAbort !== undefined && this.#options.signal !== undefined) {
      this.#options.signal.removeEventListener("abort", this.#onSignalAbort);
      this.#onSignalAbort = undefined;
    }
    if (this.#signalToken !== undefined) {
      releaseResource(this.#signalToken);
      this.#signalToken = undefined;
    }
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
    if (this.#running) throw new InvalidStateError("cannot reset during run()");
    if (this.#started) {
      throw new InvalidStateError(
        "cannot reset while workers are running — call shutdown() first",
      );
    }
    this.#abort(true);
    this.#results = [];
    this.#detachedResults = 0;
    this.#outstanding = 0;
    this.#scheduledCount = 0;
    this.#ready = new ReadyQueue();
    this.#scheduled = new TimerHeap();
    this.#accepting = true;
    this.#halted = false;
    this.#timedOut = false;
    this.#seq = 0;
    this.#gate?.clear();
    if (this.#closed) {
      this.#closed = false;
      this.#closing = undefined;
      const signal = this.#options.signal;
      if (signal !== undefined && !signal.aborted) {
        this.#onSignalAbort = () => void this.cancel();
        signal.addEventListener("abort", this.#onSignalAbort, { once: true });
        this.#signalToken = trackResource("listeners", "queue signal");
      }
    }
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
    this.#results = [];
    this.#detachedResults = 0;
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
    const size = this.#options.size;
    if (size === 0 || this.#outstanding < size || this.#closed) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => {
        if (this.#outstanding < size || this.#closed) resolve();
        else this.#spaceWaiters.push(check);
      };
      this.#spaceWaiters.push(check);
    });
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

  // ----------------------------------------------------------- inspection

  /** Tasks holding a worker (running, or sleeping for the rate gate or a retry). */
  get activeCount(): number {
    return this.#activeCount - this.#notBegun;
  }

  /** Tasks queued or scheduled (outstanding minus active). */
  get pendingCount(): number {
    return this.#outstanding - this.activeCount;
  }

  /** Whether the queue has been shut down. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Every result since the last `reset()`/`clearResults()`, detached ones included. */
  get results(): readonly TaskResult<unknown>[] {
    return this.#results.slice();
  }

  /** Counters of the queue now. */
  get stats(): QueueStats {
    let workers = this.#executor.liveWorkers();
    if (workers === undefined) {
      workers = !this.#started
        ? 0
        : this.#options.workers ?? Math.min(this.#executor.autoWorkers(), this.#peakWorkers);
    }
    return {
      pending: this.pendingCount,
      active: this.activeCount,
      scheduled: this.#scheduledCount,
      completed: this.#results.length,
      workers,
      closed: this.#closed,
    };
  }

  // ---------------------------------------------------------------- hooks

  #callHook(name: HookName, hook: (...args: never[]) => unknown, ...args: unknown[]): void {
    this.#stepNow = undefined;
    try {
      const returned = (hook as (...args: unknown[]) => unknown)(...args);
      if (isThenable(returned)) {
        returned.then(undefined, (error) => this.#reportHookError(error, name));
      }
    } catch (error) {
      this.#reportHookError(error, name);
    }
  }

  #reportHookError(error: unknown, hook: HookName): void {
    try {
      this.#options.onHookError(error, hook);
    } catch (again) {
      console.error(`osiiso: onHookError raised while reporting a ${hook} error`, again);
    }
  }

  /** @ignore Called by handles for `onDone` errors. */
  reportCallbackError(error: unknown, hook: string): void {
    this.#reportHookError(error, hook as HookName);
  }
}

function isIterable(value: unknown): value is Iterable<unknown> {
  return value !== null && value !== undefined &&
    typeof (value as Iterable<unknown>)[Symbol.iterator] === "function" &&
    typeof value !== "string";
}

function overridesOnto(bound: ResolvedTaskOptions, overrides?: TaskOptions): TaskOptions {
  const merged = overrides === undefined ? bound : resolveTaskOptions(overrides, bound);
  if (merged === DEFAULT_TASK_OPTIONS) return {};
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(merged)) {
    if (value !== (DEFAULT_TASK_OPTIONS as unknown as Record<string, unknown>)[key]) {
      out[key] = value;
    }
  }
  return out as TaskOptions;
}

export type { QueueOptions } from "./queue_options.ts";
import type { QueueOptions } from "./queue_options.ts";
