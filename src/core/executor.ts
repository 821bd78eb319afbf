/**
 * The seam between the shared engine and a backend: the engine decides *when*
 * an attempt runs (order, rate, retries, timeouts, cancellation); an
 * {@linkcode Executor} decides only *how* one attempt executes.
 *
 * @module
 */

import type { ResolvedTaskOptions } from "./options.ts";
import type { TaskReference } from "./task_reference.ts";

/** How the last attempt of a task ended. */
export type EndedBy = "returned" | "threw" | "timeout" | "cancelled" | "worker-crashed";

/** A task body as the engine stores it: a function or a module reference. */
export type TaskSource = ((...args: never[]) => unknown) | TaskReference;

/**
 * One attempt of one task, as the engine hands it to an executor.
 *
 * The engine settles the attempt itself on timeout, cancel and forced
 * shutdown and then aborts {@linkcode AttemptRequest.signal}; the executor's
 * job after that is only to stop the work (abort in the worker, and after the
 * kill grace terminate and replace the worker). Whatever the executor returns
 * for an attempt that was already settled is ignored.
 */
export interface AttemptRequest {
  /** The task's id. */
  readonly taskId: string;
  /** The task's name. */
  readonly name: string;
  /** 1 for the first attempt. */
  readonly attempt: number;
  /** The function or module reference to call. */
  readonly source: TaskSource;
  /** Positional arguments (a `TaskContext` is prepended by the executor when `bind`). */
  readonly args: readonly unknown[];
  /** Whether the task takes a `TaskContext` as its first argument. */
  readonly bind: boolean;
  /** Objects to move rather than copy (ThreadQueue). */
  readonly transfer: readonly Transferable[] | undefined;
  /** The per-attempt timeout in ms, if any (it counts from `began()`). */
  readonly timeout: number | undefined;
  /**
   * Aborted when the engine gives up on the attempt (timeout, cancel, forced
   * shutdown). Built on first use; pools should prefer `onAbort`.
   */
  readonly signal: AbortSignal;
  /** Whether the engine has given up on the attempt. */
  readonly aborted: boolean;
  /** Why the engine gave up (a `TaskTimeoutError`, a `CancelledError`), once it has. */
  readonly abortReason: unknown;
  /**
   * Sets the one function called, synchronously, when the engine gives up
   * on the attempt (at once if it already has); `undefined` removes it.
   * Cheaper than a listener on `signal`, which costs an AbortController.
   */
  onAbort(listener: (() => void) | undefined): void;
  /**
   * Tells the engine the attempt really starts executing now: only from here
   * is the task `running` (its attempt counted, `onStart` fired) and does
   * its timeout count. Executors that queue attempts behind others
   * (pipelining) call it when the worker starts the task. Returns false when
   * the attempt was given up before it started (cancelled, say): then do
   * not run it. Calling it again is harmless.
   */
  began(): boolean;
  /**
   * Reports the attempt's outcome: its value (`ok`) or its error. For an
   * executor whose `execute` returned {@linkcode REPORTED_LATER}; only the
   * first report counts. Call it from a fresh microtask or task, never from
   * inside `execute`: the engine may start the next attempt synchronously.
   */
  report(ok: boolean, value: unknown): void;
  /** Which worker ran the attempt: a thread index or a child pid. */
  worker: number | null;
  /** The options the task was submitted with. */
  readonly options: ResolvedTaskOptions;
  /**
   * For an executor that drives attempts ({@linkcode Executor.drivesAttempts}):
   * the attempt that began failed and another will follow. The task is
   * `retrying` (`onRetry` fires with `error`) until the next `began()`, which
   * counts the next attempt.
   */
  retrying(error: unknown): void;
}

/**
 * What {@linkcode Executor.execute} returns when it will report the outcome
 * through {@linkcode AttemptRequest.report} rather than a promise: a pool
 * settling many attempts per message saves a promise and its reactions each.
 */
export const REPORTED_LATER: unique symbol = Symbol("osiiso.reportedLater");

/**
 * How a backend executes attempts. One instance belongs to one queue.
 *
 * `execute` returns the attempt's value, a promise of it, or
 * {@linkcode REPORTED_LATER} (then it calls `request.report` once). A throw,
 * a rejection or a failed report is the task's own error, except a
 * `WorkerCrashedError`, which the engine records as
 * `endedBy: "worker-crashed"`. Every attempt's outcome must arrive, also for
 * attempts the engine already gave up on.
 */
export interface Executor {
  /** Which backend this is; used in messages. */
  readonly kind: "async" | "thread" | "process" | "distributed";
  /**
   * True when the executor runs every attempt of a task itself, as a broker
   * does: it honours `delay`/`runAt`, retries with backoff and `retryOn`, and
   * enforces `timeout`, reading them from `request.options`. The engine then
   * hands a task over at once, arms no timeout, retries nothing, and learns
   * of each attempt through `began()` and `retrying()`; a `TaskTimeoutError`
   * outcome ends the task with `endedBy: "timeout"`.
   */
  readonly drivesAttempts?: boolean;
  /**
   * Whether a task submitted while the queue is started gets a handle that is
   * a native promise (`await` and `Promise.all` take it as it is). Awaiting
   * one costs far less than awaiting a thenable on V8, but making one costs
   * a promise and its resolving function per task, awaited or not; on
   * JavaScriptCore it costs more than it saves.
   */
  readonly promiseHandles?: boolean;
  /**
   * True when `execute` only calls a function source with the request's
   * `args` on the calling thread (an in-process queue). The engine then calls
   * such a task itself when nothing needs the request object (no timeout, no
   * `bind`, no earlier attempt): it builds no `AttemptRequest` for it.
   */
  readonly callsSource?: boolean;
  /**
   * Checks a task source at submit time (before anything is queued) and
   * throws a `TypeError` it cannot run.
   */
  validateSource(source: unknown, action: string): void;
  /** Upper bound of concurrent attempts when the queue's `workers` is `undefined`. */
  autoWorkers(): number;
  /**
   * How many attempts may be in flight at once for `workers` workers
   * (a pool with pipelining holds more attempts than it has workers).
   */
  capacity(workers: number): number;
  /** Live workers or children, for `stats.workers` (the async backend reports none). */
  liveWorkers(): number | undefined;
  /**
   * Runs one attempt: returns its value, a promise of it (a rejection is the
   * attempt failing), or {@linkcode REPORTED_LATER} and then calls
   * `request.report` once.
   */
  execute(request: AttemptRequest): unknown;
  /** Called by `start()`; pools may start lazily and do nothing here. */
  start(workers: number): void;
  /**
   * Called when the queue stops its workers without closing (a finished
   * finite run of a queue nobody called `start()` on; a started queue keeps
   * its workers until `shutdown()`): nothing is in flight; a pool may let
   * idle workers go quiet (they must not keep a finished program alive).
   */
  stopped?(): void;
  /**
   * Called when the queue is shut down (or reset after shutdown): stop every
   * worker. `force` means now; otherwise after in-flight work (the engine has
   * already waited for it). Must not reject.
   */
  close(force: boolean): Promise<void>;
}
