/**
 * The engine's records: one {@linkcode QueuedTask} per submitted task (the
 * handle users see plus what only the engine reads) and one
 * {@linkcode Attempt} per attempt (the token that tells a live outcome from a
 * stale one).
 *
 * @module
 */

import type { Timer } from "./clock.ts";
import type { TaskContext } from "./context.ts";
import type { AttemptRequest, EndedBy, TaskSource } from "./executor.ts";
import {
  captureResolve,
  HANDLE_PROMISE,
  HANDLE_SPEC,
  type HandleSpec,
  nextTaskIdNumber,
  TaskHandle,
  type TaskHandleInit,
} from "./handle.ts";
import { DEFAULT_TASK_OPTIONS, type ResolvedTaskOptions } from "./options.ts";
import type { Place, QueueEngine } from "./queue.ts";
import { freezeHistory } from "./attempt_records.ts";
import {
  type AttemptHistory,
  type CancelReason,
  NO_HISTORY,
  TaskResult,
  type TaskResultInit,
  type TaskStatus,
} from "./result.ts";

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
  [HANDLE_PROMISE]: (new () => object) | undefined;
}
// (A queued handle's id is set after construction: it is the sequence number.)
const handleScratch: HandleScratch = {
  id: "",
  name: "",
  createdAt: 0,
  scheduledFor: null,
  [HANDLE_SPEC]: DEFAULT_TASK_OPTIONS,
  [HANDLE_PROMISE]: undefined,
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
  cancelReason: null,
  history: NO_HISTORY,
};

/** The engine's record of a task: the handle users see plus what only the engine reads. */
export class QueuedTask extends TaskHandle<unknown> {
  // Few fields, on purpose: see the note in TaskHandle.
  source: TaskSource | undefined;
  args: readonly unknown[] | undefined;
  // Place.None. The enum lives in queue.ts, whose many reads of it compile to
  // plain numbers there (a const enum imported from another module does not).
  place = 0 as Place;
  startedAt: number | null = null;
  attempt: Attempt | undefined = undefined;
  timer: Timer | undefined = undefined;
  /** When a scheduled task comes due (the scheduler's heap key): its start, or its next retry. */
  dueAt: number;
  // Links of the engine's active list (cheaper than a Set on the hot path).
  prevActive: QueuedTask | undefined = undefined;
  nextActive: QueuedTask | undefined = undefined;
  // When it finished and where its last attempt ran: a success's result is made from them on demand.
  // NaN, not 0, until then: V8 lays out a field first stored as a small integer for small
  // integers, and the first fractional time stored in it makes every task still alive change
  // layout on its next use (200k queued tasks: about a quarter of W1's CPU time on Deno).
  finishedAt = NaN;
  lastWorker: number | null = null;

  constructor(
    name: string,
    source: TaskSource,
    args: readonly unknown[],
    options: ResolvedTaskOptions,
    createdAt: number,
    scheduledFor: number | null,
    owner: QueueEngine,
    asPromise: boolean,
  ) {
    const init = handleScratch;
    init[HANDLE_PROMISE] = asPromise ? PromiseHandle : undefined;
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
    this.dueAt = scheduledFor ?? 0;
  }

  /** The options the task was submitted with. */
  get options(): ResolvedTaskOptions {
    return this._spec as ResolvedTaskOptions;
  }

  /** Submission order, across every queue of the process. */
  get seq(): number {
    return this._id as number;
  }

  /** The result of a success recorded with `_finishSucceeded`, made when first read. */
  override _makeResult(): TaskResult<unknown> {
    return this.resultOf(
      "succeeded",
      this._value,
      undefined,
      "returned",
      "",
      this.lastWorker,
      this.finishedAt,
      null,
    );
  }

  /** The task's result, finished at `finishedAt` with this outcome. */
  resultOf(
    status: TaskStatus,
    value: unknown,
    exception: unknown,
    endedBy: EndedBy | null,
    message: string,
    worker: number | null,
    finishedAt: number,
    cancelReason: CancelReason | null,
  ): TaskResult<unknown> {
    const startedAt = this.startedAt;
    const init = resultScratch;
    init.taskId = this.id;
    init.name = this.name;
    init.status = status;
    init.value = value;
    init.exception = exception;
    init.attempts = this._attempts;
    init.priority = this.priority;
    init.mustComplete = this.mustComplete;
    init.groupId = this.groupId;
    init.detached = this.detached;
    init.scheduledFor = this.scheduledFor;
    init.createdAt = this.createdAt;
    init.startedAt = startedAt;
    init.finishedAt = finishedAt;
    init.duration = startedAt === null ? 0 : finishedAt - startedAt;
    init.message = message;
    init.metadata = this.metadata;
    init.worker = worker;
    init.endedBy = endedBy;
    init.cancelReason = cancelReason;
    const last = this.attempt;
    const earlier = last?.history;
    if (earlier !== undefined) {
      // The last attempt's start, unless it is already in the history (cancelled while waiting).
      const lastStart = earlier.length < this._attempts ? last!.startedAt : undefined;
      init.history = freezeHistory(earlier, lastStart);
    }
    const result = new TaskResult<unknown>(init);
    init.value = init.exception = init.metadata = undefined;
    init.history = NO_HISTORY;
    return result;
  }
}

// The native promise a task's handle is built on when it is submitted to a started queue.
// Its prototype is QueuedTask's with `constructor` and `then` those of Promise, so that
// `await` and `Promise.all` take the handle as it is.
class PromiseHandle extends Promise<unknown> {
  constructor() {
    super(captureResolve);
  }
}
Object.setPrototypeOf(PromiseHandle.prototype, QueuedTask.prototype);
Object.defineProperties(PromiseHandle.prototype, {
  constructor: { value: Promise },
  then: { value: Promise.prototype.then },
});

/** One attempt: the token that tells a live outcome from a stale one. */
export class Attempt implements AttemptRequest {
  readonly attempt: number;
  readonly source: TaskSource;
  readonly args: readonly unknown[];
  worker: number | null = null;
  settled = false;
  hasBegun = false;
  /** When the attempt began (set by the engine). */
  startedAt = 0;
  /** The task's earlier attempts, carried from attempt to attempt; only a retried task has them. */
  history: AttemptHistory[] | undefined;
  // Plain fields, not #private ones: one Attempt is built per attempt, and
  // JavaScriptCore initialises private fields measurably slower.
  controller: AbortController | undefined = undefined;
  abortReason: unknown = undefined;
  aborted = false;
  abortListener: (() => void) | undefined = undefined;

  constructor(
    readonly task: QueuedTask,
    readonly engine: QueueEngine,
    attempt: number = task._attempts + 1,
  ) {
    this.attempt = attempt;
    this.source = task.source as TaskSource;
    this.args = task.args as readonly unknown[];
    this.history = task.attempt?.history;
  }

  /** Adds this attempt, which ended at `finishedAt`, to the task's history before a retry. */
  recordInHistory(finishedAt: number, endedBy: EndedBy, message: string): void {
    const entry: AttemptHistory = Object.freeze({
      attempt: this.attempt,
      startedAt: this.startedAt,
      finishedAt,
      worker: this.worker,
      endedBy,
      message,
    });
    if (this.history === undefined) this.history = [entry];
    else this.history.push(entry);
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
    return this.engine.attemptBegan(this);
  }

  report(ok: boolean, value: unknown): void {
    this.engine.attemptReported(this, ok, value);
  }

  retrying(error: unknown): void {
    // The next began() counts the next attempt.
    if (this.engine.attemptRetrying(this, error)) this.hasBegun = false;
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
