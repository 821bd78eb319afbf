/**
 * The immutable records a queue produces: one {@linkcode TaskResult} per
 * finished task and one {@linkcode RunSummary} per `run()` or `group.wait()`.
 *
 * Times are milliseconds on the queue's clock (the system clock is
 * `performance.timeOrigin + performance.now()`).
 *
 * @module
 */

import { isError, safeString } from "./_util.ts";
import { attemptRecords } from "./attempt_records.ts";
import { ExecutionError } from "./errors.ts";
import { checkInteger, checkKnownNames, checkOptionsObject } from "./validate.ts";
import type { EndedBy } from "./executor.ts";
import { type AttemptRecord, renderTimeline, type TimelineOptions } from "./timeline.ts";
import { computeTimings, type Percentiles, type Timings } from "./timings.ts";

/** How a task finished. */
export type TaskStatus = "succeeded" | "failed" | "cancelled";

/**
 * Why a task was cancelled: `"cancel"` (its handle's or group's `cancel()`),
 * `"timeout"` (its run's timeout), `"signal"` (SIGINT/SIGTERM under
 * `run(main)`), `"failFirst"` (another task failed under
 * `failPolicy: "failFirst"`), `"shutdown"` (a forced shutdown, `cancel()`,
 * `reset()` or the queue's `signal`).
 */
export type CancelReason = "cancel" | "timeout" | "signal" | "failFirst" | "shutdown";

/** What cut a run short: its timeout, a signal under `run(main)`, or a fail-first failure. */
export type RunInterruption = "timeout" | "signal" | "failFirst";

/**
 * One earlier attempt of a retried task, in {@linkcode TaskResult.history}.
 * Times are milliseconds on the queue's clock.
 */
export interface AttemptHistory {
  /** The attempt's number, from 1. */
  readonly attempt: number;
  /** When the attempt started. */
  readonly startedAt: number;
  /** When it ended. */
  readonly finishedAt: number;
  /** The worker that ran it (a thread index or a child pid); `null` on an AsyncQueue. */
  readonly worker: number | null;
  /** How it ended: never `"returned"` (a task that returns is not retried). */
  readonly endedBy: EndedBy;
  /** The error's message (`String(thrown)` for a non-Error). */
  readonly message: string;
}

/** The history of a task that ran once: one shared, frozen array (no allocation per task). */
export const NO_HISTORY: readonly AttemptHistory[] = Object.freeze([]);

/**
 * The fields of a new {@linkcode TaskResult}. Only `taskId`, `name` and
 * `status` are required; each other field has the default listed on it.
 */
export interface TaskResultInit<T = unknown> {
  /** The task's unique id. */
  taskId: string;
  /** The task's name. */
  name: string;
  /** How the task finished. */
  status: TaskStatus;
  /** The return value of a succeeded task. Default `undefined`. */
  value?: T;
  /** What a failed task threw. Default `undefined`. */
  exception?: unknown;
  /** How many attempts were made. Default `0`. */
  attempts?: number;
  /** The task's priority. Default `0`. */
  priority?: number;
  /** Whether the task was protected from run-timeout and fail-first cancellation. Default `false`. */
  mustComplete?: boolean;
  /** The group the task belonged to. Default `null`. */
  groupId?: string | null;
  /** Whether the result is left out of run summaries. Default `false`. */
  detached?: boolean;
  /** When the task was scheduled to start (`delay` / `runAt`), in ms. Default `null`. */
  scheduledFor?: number | null;
  /** When the task was submitted, in ms. Default `0`. */
  createdAt?: number;
  /** When the first attempt started, in ms; `null` if it never started. Default `null`. */
  startedAt?: number | null;
  /** When the task finished, in ms. Default `0`. */
  finishedAt?: number;
  /** Milliseconds from the first start to the finish. Default `0`. */
  duration?: number;
  /** A short description of the outcome. Default `""`. */
  message?: string;
  /** The task's user data. Default `undefined`. */
  metadata?: unknown;
  /** The worker that ran the last attempt: a thread index or a child pid. Default `null`. */
  worker?: number | null;
  /**
   * How the last attempt ended. Default: `"returned"` for a succeeded task,
   * `"threw"` for a failed one, `"cancelled"` for a cancelled one.
   */
  endedBy?: EndedBy | null;
  /** Why a cancelled task was cancelled; `null` for any other. Default `null`. */
  cancelReason?: CancelReason | null;
  /** The earlier attempts of a retried task, oldest first. Default: none. */
  history?: readonly AttemptHistory[];
}

/**
 * An error as {@linkcode TaskResult.toJSON} renders it. This shape is stable.
 * `cause` is present only when the error has one: another error in this same
 * shape, or `String(cause)` for any other value.
 */
export interface ErrorJSON {
  /** The error's `name`, such as `"TypeError"` or `"TaskTimeoutError"`. */
  name: string;
  /** The error's `message`. */
  message: string;
  /** The error's `stack`, when it has one. */
  stack?: string;
  /** The error's `cause`, when it has one. */
  cause?: ErrorJSON | string;
}

/**
 * A {@linkcode TaskResult} as plain data, from {@linkcode TaskResult.toJSON}.
 * This shape is stable: every field of the result under the same name, with
 * `exception` rendered as an {@linkcode ErrorJSON} for an `Error`, as
 * `String(thrown)` for any other thrown value, and `undefined` when there is
 * none (so `JSON.stringify` leaves it out).
 */
export interface TaskResultJSON<T = unknown> {
  /** See {@linkcode TaskResult.taskId}. */
  taskId: string;
  /** See {@linkcode TaskResult.name}. */
  name: string;
  /** See {@linkcode TaskResult.status}. */
  status: TaskStatus;
  /** See {@linkcode TaskResult.value}. */
  value: T | undefined;
  /** See {@linkcode TaskResult.exception}; rendered as described above. */
  exception?: ErrorJSON | string;
  /** See {@linkcode TaskResult.attempts}. */
  attempts: number;
  /** See {@linkcode TaskResult.priority}. */
  priority: number;
  /** See {@linkcode TaskResult.mustComplete}. */
  mustComplete: boolean;
  /** See {@linkcode TaskResult.groupId}. */
  groupId: string | null;
  /** See {@linkcode TaskResult.detached}. */
  detached: boolean;
  /** See {@linkcode TaskResult.scheduledFor}. */
  scheduledFor: number | null;
  /** See {@linkcode TaskResult.createdAt}. */
  createdAt: number;
  /** See {@linkcode TaskResult.startedAt}. */
  startedAt: number | null;
  /** See {@linkcode TaskResult.finishedAt}. */
  finishedAt: number;
  /** See {@linkcode TaskResult.duration}. */
  duration: number;
  /** See {@linkcode TaskResult.message}. */
  message: string;
  /** See {@linkcode TaskResult.metadata}. */
  metadata: unknown;
  /** See {@linkcode TaskResult.worker}. */
  worker: number | null;
  /** See {@linkcode TaskResult.endedBy}. */
  endedBy: EndedBy | null;
  /** See {@linkcode TaskResult.cancelReason}. */
  cancelReason: CancelReason | null;
  /** See {@linkcode TaskResult.history}; `[]` for a task that ran once. */
  history: AttemptHistory[];
}

/**
 * The immutable record of one finished task. Instances are frozen: assigning
 * to a field throws a `TypeError` (in strict-mode code, which modules are).
 *
 * Queues build these; constructing one yourself is useful in tests. The
 * class is not meant to be subclassed (the instance is frozen by its own
 * constructor).
 *
 * @typeParam T The task's return type.
 *
 * @example
 * ```ts
 * import { TaskResult } from "@osiiso/osiiso";
 *
 * const result = new TaskResult({ taskId: "t1", name: "double", status: "succeeded", value: 42 });
 * console.log(result.value, result.attempts, result.endedBy); // 42 0 returned
 * console.log(result.id === result.taskId); // true
 * ```
 */
export class TaskResult<T = unknown> {
  // `declare` keeps the compiler from emitting field definitions: the
  // constructor assigns every field once, in a fixed order (one object shape).

  /** The task's unique id. */
  declare readonly taskId: string;
  /** The task's name. */
  declare readonly name: string;
  /** How the task finished. */
  declare readonly status: TaskStatus;
  /** The return value; set for succeeded tasks only. */
  declare readonly value: T | undefined;
  /** What the task threw (the original object); set for failed tasks only. */
  declare readonly exception: unknown;
  /** How many attempts were made; 0 for a task cancelled before it started. */
  declare readonly attempts: number;
  /** The task's priority (lower runs first). */
  declare readonly priority: number;
  /** Whether the task was protected from run-timeout and fail-first cancellation. */
  declare readonly mustComplete: boolean;
  /** The group the task belonged to, or `null`. */
  declare readonly groupId: string | null;
  /** Whether the result is left out of run summaries. */
  declare readonly detached: boolean;
  /** When the task was scheduled to start (`delay` / `runAt`), in ms, or `null`. */
  declare readonly scheduledFor: number | null;
  /** When the task was submitted, in ms. */
  declare readonly createdAt: number;
  /** When the first attempt started, in ms, or `null` if the task never started. */
  declare readonly startedAt: number | null;
  /** When the task finished, in ms. */
  declare readonly finishedAt: number;
  /**
   * Milliseconds from the first start to the finish (0 if the task never
   * started); it includes retry delays and rate-limit waits.
   */
  declare readonly duration: number;
  /**
   * A short description of the outcome: `""` for a success, the error's
   * message for a failure (`String(thrown)` for a non-Error), or a reason
   * such as `"cancelled before execution"` for a cancellation.
   */
  declare readonly message: string;
  /** The task's user data (the `metadata` task option). */
  declare readonly metadata: unknown;
  /** The worker that ran the last attempt (a thread index or a child pid), or `null`. */
  declare readonly worker: number | null;
  /** How the last attempt ended, or `null` when unknown. */
  declare readonly endedBy: EndedBy | null;
  /**
   * Why the task was cancelled (see {@linkcode CancelReason}); `null` unless
   * `status` is `"cancelled"`. `message` stays `"cancelled"` or
   * `"cancelled before execution"`; this field says what did it.
   */
  declare readonly cancelReason: CancelReason | null;
  /**
   * The earlier attempts of a retried task, oldest first (the last attempt
   * is described by the fields above). Empty for a task that ran once: every
   * such result shares one frozen empty array, so the common path stores
   * nothing more.
   */
  declare readonly history: readonly AttemptHistory[];

  /**
   * Creates a frozen result.
   *
   * @param init The fields; only `taskId`, `name` and `status` are required.
   */
  constructor(init: TaskResultInit<T>) {
    this.taskId = init.taskId;
    this.name = init.name;
    this.status = init.status;
    this.value = init.value;
    this.exception = init.exception;
    this.attempts = init.attempts ?? 0;
    // 0, not a task's default priority: a result built by hand has no task options.
    this.priority = init.priority ?? 0;
    this.mustComplete = init.mustComplete ?? false;
    this.groupId = init.groupId ?? null;
    this.detached = init.detached ?? false;
    this.scheduledFor = init.scheduledFor ?? null;
    this.createdAt = init.createdAt ?? 0;
    this.startedAt = init.startedAt ?? null;
    this.finishedAt = init.finishedAt ?? 0;
    this.duration = init.duration ?? 0;
    this.message = init.message ?? "";
    this.metadata = init.metadata;
    this.worker = init.worker ?? null;
    // An explicit `null` means "unknown" and is kept; only a missing value is derived.
    this.endedBy = init.endedBy === undefined ? endedByStatus(init.status) : init.endedBy;
    this.cancelReason = init.status === "cancelled" ? init.cancelReason ?? null : null;
    this.history = frozenHistory(init.history);
    Object.freeze(this);
  }

  /** The task's id (the same as {@linkcode TaskResult.taskId}). */
  get id(): string {
    return this.taskId;
  }

  /**
   * Returns the result as plain data in the stable {@linkcode TaskResultJSON}
   * shape; `JSON.stringify(result)` calls it.
   *
   * @example
   * ```ts
   * import { TaskResult } from "@osiiso/osiiso";
   *
   * const result = new TaskResult({
   *   taskId: "t1",
   *   name: "parse",
   *   status: "failed",
   *   exception: new SyntaxError("bad input"),
   * });
   * console.log(result.toJSON().exception); // { name: "SyntaxError", message: "bad input", stack: "…" }
   * ```
   */
  toJSON(): TaskResultJSON<T> {
    // Every field under its own name, in the constructor's order (a new field
    // needs no line here); only `exception` is rendered.
    const json = { ...this } as unknown as TaskResultJSON<T>;
    json.exception = this.exception === undefined
      ? undefined
      : thrownToJSON(this.exception, new Set());
    json.history = this.history.map((entry) => ({ ...entry }));
    return json;
  }
}

/** The engine hands in frozen arrays (kept as they are); anything else is copied and frozen. */
function frozenHistory(history: readonly AttemptHistory[] | undefined): readonly AttemptHistory[] {
  if (history === undefined || history.length === 0) return NO_HISTORY;
  if (Object.isFrozen(history)) return history;
  return Object.freeze(history.map((entry) => Object.freeze({ ...entry })));
}

function endedByStatus(status: TaskStatus): EndedBy {
  return status === "succeeded" ? "returned" : status === "failed" ? "threw" : "cancelled";
}

/** `seen` stops a cause chain that loops back on itself. */
function thrownToJSON(thrown: unknown, seen: Set<unknown>): ErrorJSON | string {
  if (!isError(thrown)) return safeString(thrown);
  seen.add(thrown);
  const json: ErrorJSON = {
    name: safeString(thrown.name),
    message: safeString(thrown.message),
    stack: typeof thrown.stack === "string" ? thrown.stack : undefined,
  };
  // A cause that is absent or `undefined` is left out; one already rendered would loop.
  const cause = thrown.cause;
  if (cause !== undefined && !seen.has(cause)) json.cause = thrownToJSON(cause, seen);
  return json;
}

/** The fields of a new {@linkcode RunSummary}; the counts are computed from `results`. */
export interface RunSummaryInit<T = unknown> {
  /** The results the summary covers. */
  results: Iterable<TaskResult<T>>;
  /** Whether the run was cut short by its timeout. Default `false`. */
  timedOut?: boolean;
  /** What cut the run short, if anything. Default `null`. */
  interrupted?: RunInterruption | null;
  /** The run's length in milliseconds. Default `0`. */
  duration?: number;
  /**
   * When the run started, in ms on the queue's clock: the left edge of
   * {@linkcode RunSummary.timeline} and the start of the span
   * {@linkcode RunSummary.timings} measures. Default: the earliest start
   * among the results.
   */
  startedAt?: number;
}

/**
 * A finished task whose result is made when first read: a queue's handle of
 * a success. A run's summary holds it until its results are asked for, so a
 * summary read only for its counts and values builds no result.
 * @ignore
 */
export interface ResultOnDemand<T> {
  /** How it finished. */
  readonly status: string;
  /** Whether it stays out of run summaries. */
  readonly detached: boolean;
  /** Its result, made on the first call and the same object after. */
  result(): TaskResult<T>;
  /** Its value. */
  value(): T;
}

/** An array the next summary built may keep as its own (see `summaryAdopting`). */
let adoptNext: readonly unknown[] | undefined;
/** What the next summary's timeline calls a lane (see `summaryAdopting`). */
let laneNameNext: string | undefined;
/** The next adopted array's counts by status, when its maker kept them (see `summaryAdopting`). */
let countsNext: StatusCounts | undefined;

/**
 * Finished tasks by how they ended; a queue keeps these as tasks finish, so
 * that a summary need not read every entry again to count them.
 * @ignore
 */
export interface StatusCounts {
  succeeded: number;
  failed: number;
  cancelled: number;
}

/**
 * Counts with nothing finished yet.
 * @ignore
 */
export function noStatusCounts(): StatusCounts {
  return { succeeded: 0, failed: 0, cancelled: 0 };
}

/** What a queue's timeline calls its lanes, by backend. */
const LANE_NAMES: Readonly<Record<string, string>> = {
  async: "slot",
  thread: "thread",
  process: "pid",
};

/**
 * A summary that keeps `results` itself instead of copying it: for a queue,
 * whose run builds a fresh array for it (200k results: one copy fewer).
 * `results` must not be used by the caller afterwards. `backend` (the
 * executor's kind) names the timeline's lanes: slot, thread or pid (any
 * other backend's lanes are called workers). `counts`, when given, are the
 * entries' counts by status, which the summary then takes instead of
 * counting (a loop over cold code at the end of every run).
 * @ignore
 */
export function summaryAdopting<T>(
  results: (TaskResult<T> | ResultOnDemand<T>)[],
  options: FromResultsOptions,
  backend?: string,
  counts?: StatusCounts,
): RunSummary<T> {
  adoptNext = results;
  laneNameNext = backend === undefined ? undefined : LANE_NAMES[backend];
  countsNext = counts;
  try {
    return RunSummary.fromResults(results as TaskResult<T>[], options);
  } finally {
    adoptNext = undefined;
    laneNameNext = undefined;
    countsNext = undefined;
  }
}

/** Options of {@linkcode RunSummary.fromResults}. */
export interface FromResultsOptions {
  /** When the run started, in ms on the same clock as `now`. */
  runStart: number;
  /** Whether the run was cut short by its timeout. Default `false`. */
  timedOut?: boolean;
  /** What cut the run short, if anything. Default `null`. */
  interrupted?: RunInterruption | null;
  /** The time to measure the duration to. Default: the system clock's now. */
  now?: number;
}

/** Options of {@linkcode RunSummary.format} and {@linkcode RunSummary.display}. */
export interface FormatOptions {
  /**
   * How many failures to list; the rest are counted in one line
   * (`… and 70 more failures`). A non-negative integer or `Infinity`.
   * Default 20.
   */
  maxFailures?: number;
}

const FORMAT_OPTION_NAMES: ReadonlySet<string> = new Set(["maxFailures"]);
const DEFAULT_MAX_FAILURES = 20;

/** The checked `maxFailures` of format options. */
function maxFailuresOf(action: string, options: FormatOptions | undefined): number {
  if (options === undefined) return DEFAULT_MAX_FAILURES;
  const given = checkOptionsObject(action, "options", options);
  checkKnownNames("format", given, FORMAT_OPTION_NAMES);
  const max = given.maxFailures;
  if (max === undefined) return DEFAULT_MAX_FAILURES;
  return max === Infinity ? max : checkInteger(action, "maxFailures", max, 0);
}

/** Options of {@linkcode RunSummary.raiseForErrors}. */
export interface RaiseForErrorsOptions {
  /** Also throw when tasks were cancelled. Default `false`. */
  includeCancelled?: boolean;
}

/**
 * A {@linkcode RunSummary} as plain data, from {@linkcode RunSummary.toJSON}.
 * This shape is stable.
 */
export interface RunSummaryJSON<T = unknown> {
  /** See {@linkcode RunSummary.totalSubmitted}. */
  totalSubmitted: number;
  /** See {@linkcode RunSummary.succeeded}. */
  succeeded: number;
  /** See {@linkcode RunSummary.failed}. */
  failed: number;
  /** See {@linkcode RunSummary.cancelled}. */
  cancelled: number;
  /** See {@linkcode RunSummary.timedOut}. */
  timedOut: boolean;
  /** See {@linkcode RunSummary.interrupted}. */
  interrupted: RunInterruption | null;
  /** See {@linkcode RunSummary.duration}. */
  duration: number;
  /** See {@linkcode RunSummary.ok}. */
  ok: boolean;
  /** See {@linkcode RunSummary.timings}. */
  timings: Timings;
  /** Every result, as {@linkcode TaskResult.toJSON} renders it. */
  results: TaskResultJSON<T>[];
}

const BAR = "-".repeat(40);

/**
 * The immutable summary of a `run()` (results in completion order) or a
 * `group.wait()` (results in submission order). Instances are frozen; their
 * `results` array is a copy typed read-only (not frozen: on Bun a frozen
 * array is slow to build and to iterate).
 *
 * @typeParam T The tasks' return type.
 *
 * @example
 * ```ts
 * import { RunSummary, TaskResult } from "@osiiso/osiiso";
 *
 * const summary = new RunSummary({
 *   results: [
 *     new TaskResult({ taskId: "a", name: "square", status: "succeeded", value: 4 }),
 *     new TaskResult({ taskId: "b", name: "square", status: "failed", message: "boom" }),
 *   ],
 *   duration: 120,
 * });
 * console.log(summary.ok, summary.values, summary.errors.length); // false [ 4 ] 1
 * summary.display();
 * ```
 */
export class RunSummary<T = unknown> {
  /**
   * How many results the summary covers: not the number of tasks submitted
   * (restored and detached tasks are not in a run's summary).
   */
  readonly totalSubmitted: number;
  /** How many results succeeded. */
  readonly succeeded: number;
  /** How many results failed. */
  readonly failed: number;
  /** How many results were cancelled. */
  readonly cancelled: number;
  /**
   * Whether the run was cut short by its timeout, or by a signal under
   * `run(main)` (which acts as a run timeout); `interrupted` tells them apart.
   */
  readonly timedOut: boolean;
  /**
   * What cut the run short: `"timeout"` (its run timeout), `"signal"`
   * (SIGINT/SIGTERM under `run(main)`), `"failFirst"` (a failure under
   * `failPolicy: "failFirst"`), or `null` when it ran to its end.
   */
  readonly interrupted: RunInterruption | null;
  /** The run's length in milliseconds. */
  readonly duration: number;
  // What a queue's run hands over: results, and successes whose results are made on first read.
  readonly #entries: (TaskResult<T> | ResultOnDemand<T>)[];
  #made = false;
  readonly #startedAt: number | undefined;
  readonly #laneName: string | undefined;
  #timings: Timings | undefined;

  /**
   * Creates a frozen summary, counting the results by status.
   *
   * @param init The results, whether the run timed out, and its duration.
   */
  constructor(init: RunSummaryInit<T>) {
    // Not frozen: freezing a large array costs ~1.7 µs per element on Bun and
    // makes every later iteration of it ~15× slower there. The type is readonly.
    const adopted = adoptNext;
    const counted = countsNext;
    adoptNext = countsNext = undefined;
    const isAdopted = adopted === init.results;
    const entries: (TaskResult<T> | ResultOnDemand<T>)[] = isAdopted
      ? adopted as TaskResult<T>[]
      : Array.from(init.results);
    const counts = isAdopted && counted !== undefined ? counted : countByStatus(entries);
    this.totalSubmitted = entries.length;
    this.succeeded = counts.succeeded;
    this.failed = counts.failed;
    this.cancelled = counts.cancelled;
    this.timedOut = init.timedOut ?? false;
    this.interrupted = init.interrupted ?? null;
    this.duration = init.duration ?? 0;
    this.#entries = entries;
    this.#startedAt = init.startedAt;
    this.#laneName = laneNameNext;
    laneNameNext = undefined;
    Object.freeze(this);
  }

  /** Every result the summary covers (a copy, typed read-only). */
  get results(): readonly TaskResult<T>[] {
    const entries = this.#entries;
    if (!this.#made) {
      // Made once, in place: the array is the summary's own.
      for (let i = 0; i < entries.length; i++) {
        const entry = entries[i];
        if (!(entry instanceof TaskResult)) entries[i] = entry.result();
      }
      this.#made = true;
    }
    return entries as TaskResult<T>[];
  }

  /**
   * Builds the summary of a run that started at `runStart` and ends `now`.
   *
   * @param results The results the summary covers.
   * @param options When the run started, whether it timed out, and the end time.
   * @returns A summary whose `duration` is `now - runStart`.
   *
   * @example
   * ```ts
   * import { RunSummary, TaskResult } from "@osiiso/osiiso";
   *
   * const results = [new TaskResult({ taskId: "a", name: "job", status: "succeeded" })];
   * const summary = RunSummary.fromResults(results, { runStart: 5_000, now: 5_250 });
   * console.log(summary.duration); // 250
   * ```
   */
  static fromResults<T>(
    results: Iterable<TaskResult<T>>,
    options: FromResultsOptions,
  ): RunSummary<T> {
    const now = options.now ?? performance.timeOrigin + performance.now();
    return new RunSummary<T>({
      results,
      timedOut: options.timedOut ?? false,
      interrupted: options.interrupted ?? null,
      duration: now - options.runStart,
      startedAt: options.runStart,
    });
  }

  /**
   * How long the tasks took and waited, how many finished per second, and
   * how busy each worker was: `duration` (first start to last finish, retry
   * waits included) and `wait` (submission, or due time for a delayed task,
   * to first start) as `{ p50, p90, p99, max }` in ms over the tasks that
   * started; `throughput` in succeeded and failed tasks per second of the
   * run; `busy` maps each lane (as {@linkcode RunSummary.timeline} names
   * them: a thread index, a child pid, an AsyncQueue slot) to the share of
   * the run it spent running attempts, in [0, 1]. Computed on first read.
   *
   * @example
   * ```ts
   * import { AsyncQueue } from "@osiiso/osiiso";
   *
   * const q = new AsyncQueue({ workers: 2 });
   * q.map(async (ms: number) => await new Promise((r) => setTimeout(r, ms)), [10, 20, 30]);
   * const { timings } = await q.run();
   * console.log(timings.duration.max >= 30, Object.keys(timings.busy).length); // true 2
   * ```
   */
  get timings(): Timings {
    if (this.#timings === undefined) {
      const { records } = attemptRecords(this.results);
      this.#timings = computeTimings(this.results, records, this.#window(records));
    }
    return this.#timings;
  }

  /**
   * The run as a picture: a self-contained HTML page (inline SVG, no script,
   * loads nothing) with one lane per worker (an AsyncQueue slot, a thread
   * index, a child pid), one bar per attempt from its start to its end,
   * coloured by how it ended, dashed lines for retry waits, a time axis, a
   * legend and the totals. Hovering a bar names the task, the attempt and
   * its duration. Each lane carries `data-lane`, each attempt bar
   * `data-task-id`, `data-attempt` and `data-ended-by`, for tests and tools.
   * Runs of bars narrower than a pixel merge, and the counts stay exact.
   * Write it to a file and open it in a browser.
   *
   * @param options The page's title and the plot's width in CSS pixels
   *   (default 1000); the time span and lane labels default to the run's.
   *
   * @example
   * ```ts
   * import { AsyncQueue } from "@osiiso/osiiso";
   *
   * const q = new AsyncQueue({ workers: 2 });
   * q.map(async (n: number) => n * 2, [1, 2, 3]);
   * const html = (await q.run()).timeline({ title: "doubling" });
   * console.log(html.startsWith("<!doctype html>"), html.includes("data-lane")); // true true
   * ```
   */
  timeline(options: TimelineOptions = {}): string {
    const { records, slots } = attemptRecords(this.results);
    const totals = { succeeded: this.succeeded, failed: this.failed, cancelled: this.cancelled };
    const window = this.#window(records);
    return renderTimeline(records, totals, {
      laneLabel: (lane) => `${this.#laneName ?? (slots ? "slot" : "worker")} ${lane}`,
      ...window,
      ...options,
    });
  }

  /** The run's span: from its start (or the first attempt's), for its duration or to the last end. */
  #window(records: readonly AttemptRecord[]): { start: number; end: number } {
    let first = Infinity;
    let last = -Infinity;
    for (const record of records) {
      if (record.startedAt < first) first = record.startedAt;
      if (record.finishedAt > last) last = record.finishedAt;
    }
    const start = this.#startedAt ?? (first === Infinity ? 0 : first);
    return { start, end: Math.max(start + this.duration, last) };
  }

  /** The failed results, in result order. */
  get errors(): TaskResult<T>[] {
    return this.results.filter((result) => result.status === "failed");
  }

  /**
   * The values of the succeeded results, in result order. Failed and
   * cancelled tasks are left out, so this can be shorter than `results`.
   */
  get values(): T[] {
    const values: T[] = [];
    // Read without making results: a task's value is on its handle too.
    for (const entry of this.#entries) {
      if (entry.status !== "succeeded") continue;
      values.push(entry instanceof TaskResult ? entry.value as T : entry.value());
    }
    return values;
  }

  /** True when nothing failed, nothing was cancelled and the run did not time out. */
  get ok(): boolean {
    return this.failed === 0 && this.cancelled === 0 && !this.timedOut;
  }

  /**
   * Indexes the results by task id.
   *
   * @example
   * ```ts
   * import { RunSummary, TaskResult } from "@osiiso/osiiso";
   *
   * const summary = new RunSummary({
   *   results: [new TaskResult({ taskId: "a", name: "job", status: "succeeded", value: 1 })],
   * });
   * console.log(summary.byTaskId().get("a")?.value); // 1
   * ```
   */
  byTaskId(): Map<string, TaskResult<T>> {
    const index = new Map<string, TaskResult<T>>();
    for (const result of this.results) index.set(result.taskId, result);
    return index;
  }

  /**
   * Groups the results by task name; names appear in first-seen order.
   *
   * @example
   * ```ts
   * import { RunSummary, TaskResult } from "@osiiso/osiiso";
   *
   * const summary = new RunSummary({
   *   results: [
   *     new TaskResult({ taskId: "a", name: "fetch", status: "succeeded" }),
   *     new TaskResult({ taskId: "b", name: "parse", status: "succeeded" }),
   *     new TaskResult({ taskId: "c", name: "fetch", status: "failed" }),
   *   ],
   * });
   * console.log([...summary.byName().keys()]); // [ "fetch", "parse" ]
   * ```
   */
  byName(): Map<string, TaskResult<T>[]> {
    return groupBy(this.results, (result) => result.name);
  }

  /**
   * Groups the results by group id (`null` for tasks outside any group);
   * keys appear in first-seen order.
   *
   * @example
   * ```ts
   * import { RunSummary, TaskResult } from "@osiiso/osiiso";
   *
   * const summary = new RunSummary({
   *   results: [
   *     new TaskResult({ taskId: "a", name: "job", status: "succeeded", groupId: "batch-1" }),
   *     new TaskResult({ taskId: "b", name: "job", status: "succeeded" }),
   *   ],
   * });
   * console.log([...summary.byGroup().keys()]); // [ "batch-1", null ]
   * ```
   */
  byGroup(): Map<string | null, TaskResult<T>[]> {
    return groupBy(this.results, (result) => result.groupId);
  }

  /**
   * The succeeded results, in result order.
   *
   * @example
   * ```ts
   * import { RunSummary, TaskResult } from "@osiiso/osiiso";
   *
   * const summary = new RunSummary({
   *   results: [new TaskResult({ taskId: "a", name: "job", status: "succeeded" })],
   * });
   * console.log(summary.successes().length); // 1
   * ```
   */
  successes(): TaskResult<T>[] {
    return this.results.filter((result) => result.status === "succeeded");
  }

  /**
   * The cancelled results, in result order.
   *
   * @example
   * ```ts
   * import { RunSummary, TaskResult } from "@osiiso/osiiso";
   *
   * const summary = new RunSummary({
   *   results: [new TaskResult({ taskId: "a", name: "job", status: "cancelled" })],
   * });
   * console.log(summary.cancellations().length); // 1
   * ```
   */
  cancellations(): TaskResult<T>[] {
    return this.results.filter((result) => result.status === "cancelled");
  }

  /**
   * Throws an {@linkcode ExecutionError} carrying the failed results (and the
   * cancelled ones, after them, with `includeCancelled`) if there are any.
   *
   * @param options Whether cancellations count too.
   * @throws {ExecutionError} When there is at least one result to report.
   *
   * @example
   * ```ts
   * import { ExecutionError, RunSummary, TaskResult } from "@osiiso/osiiso";
   *
   * const summary = new RunSummary({
   *   results: [new TaskResult({ taskId: "a", name: "job", status: "failed" })],
   * });
   * try {
   *   summary.raiseForErrors();
   * } catch (error) {
   *   console.log(error instanceof ExecutionError, (error as Error).message); // true 1 task(s) failed
   * }
   * ```
   */
  raiseForErrors(options: RaiseForErrorsOptions = {}): void {
    const bad = options.includeCancelled ? [...this.errors, ...this.cancellations()] : this.errors;
    if (bad.length > 0) throw new ExecutionError(bad);
  }

  /**
   * Renders the human-readable report that {@linkcode RunSummary.display}
   * prints: the status (`INTERRUPTED`, `TIMED OUT`, `PASSED` or
   * `COMPLETED WITH ERRORS`), the counts (cancellations by
   * {@linkcode TaskResult.cancelReason}), what ended the run early, the
   * duration in seconds, and the first `maxFailures` failures (default 20)
   * with their attempt counts (when more than one) and messages; the rest are
   * counted in one line.
   *
   * @param options `maxFailures`: how many failures to list.
   *
   * @example
   * ```ts
   * import { RunSummary, TaskResult } from "@osiiso/osiiso";
   *
   * const failures = Array.from({ length: 75 }, (_, i) =>
   *   new TaskResult({ taskId: `t${i}`, name: "fetch", status: "failed", message: "503" }));
   * const summary = new RunSummary({ results: failures, duration: 1234 });
   * const report = summary.format({ maxFailures: 5 });
   * console.log(report.includes("Duration    : 1.234s")); // true
   * console.log(report.includes("… and 70 more failures")); // true
   * ```
   */
  format(options?: FormatOptions): string {
    const maxFailures = maxFailuresOf("format summary", options);
    const status = this.interrupted === "signal"
      ? "INTERRUPTED"
      : this.timedOut
      ? "TIMED OUT"
      : this.ok
      ? "PASSED"
      : "COMPLETED WITH ERRORS";
    const lines = [
      BAR,
      `  Run Summary: ${status}`,
      BAR,
      `  Total tasks : ${this.totalSubmitted}`,
      `  Succeeded   : ${this.succeeded}`,
      `  Failed      : ${this.failed}`,
      `  Cancelled   : ${this.cancelled}${this.#cancelReasons()}`,
    ];
    if (this.interrupted !== null) lines.push(`  Ended early : ${this.interrupted}`);
    lines.push(`  Duration    : ${(this.duration / 1000).toFixed(3)}s`);
    if (this.results.some((result) => result.startedAt !== null)) {
      const { duration, wait, throughput } = this.timings;
      lines.push(
        `  Task time   : ${percentileText(duration)}`,
        `  Queue wait  : ${percentileText(wait)}`,
        `  Throughput  : ${throughput.toFixed(1)} tasks/s`,
      );
    }
    const errors = this.errors;
    if (errors.length > 0) {
      lines.push(BAR, "  Failures:");
      for (const result of errors.slice(0, maxFailures)) {
        const attempts = result.attempts > 1 ? ` (${result.attempts} attempts)` : "";
        lines.push(`    - ${result.name}${attempts}`);
        // Earlier attempts first, so a retried task's story reads in order.
        for (const earlier of result.history) {
          lines.push(`      attempt ${earlier.attempt}: ${earlier.endedBy}: ${earlier.message}`);
        }
        if (result.message) {
          const last = result.history.length > 0
            ? `attempt ${result.attempts}: ${result.endedBy}: `
            : "";
          lines.push(`      ${last}${result.message}`);
        }
      }
      const rest = errors.length - maxFailures;
      if (rest > 0) lines.push(`    … and ${rest} more failure${rest === 1 ? "" : "s"}`);
    }
    lines.push(BAR);
    return lines.join("\n");
  }

  /** The cancellations counted by reason: ` (2 signal, 1 cancel)`, or `""`. */
  #cancelReasons(): string {
    const counts = new Map<string, number>();
    for (const result of this.results) {
      const reason = result.cancelReason;
      if (reason !== null) counts.set(reason, (counts.get(reason) ?? 0) + 1);
    }
    if (counts.size === 0) return "";
    return ` (${[...counts].map(([reason, count]) => `${count} ${reason}`).join(", ")})`;
  }

  /**
   * Prints {@linkcode RunSummary.format}'s report with `console.log`.
   *
   * @param options `maxFailures`: how many failures to list (default 20).
   *
   * @example
   * ```ts
   * import { RunSummary } from "@osiiso/osiiso";
   *
   * new RunSummary({ results: [] }).display({ maxFailures: 10 }); // prints "Run Summary: PASSED" between bars
   * ```
   */
  display(options?: FormatOptions): void {
    console.log(this.format(options));
  }

  /**
   * Returns the summary as plain data in the stable {@linkcode RunSummaryJSON}
   * shape; `JSON.stringify(summary)` calls it.
   *
   * @example
   * ```ts
   * import { RunSummary, TaskResult } from "@osiiso/osiiso";
   *
   * const summary = new RunSummary({
   *   results: [new TaskResult({ taskId: "a", name: "job", status: "succeeded", value: 1 })],
   * });
   * console.log(JSON.parse(JSON.stringify(summary)).results[0].value); // 1
   * ```
   */
  toJSON(): RunSummaryJSON<T> {
    return {
      totalSubmitted: this.totalSubmitted,
      succeeded: this.succeeded,
      failed: this.failed,
      cancelled: this.cancelled,
      timedOut: this.timedOut,
      interrupted: this.interrupted,
      duration: this.duration,
      ok: this.ok,
      timings: this.timings,
      results: this.results.map((result) => result.toJSON()),
    };
  }
}

/** `p50 12ms  p90 40ms  p99 95ms  max 120ms`. */
function percentileText(p: Percentiles): string {
  const ms = (value: number): string => `${Number(value.toFixed(value < 10 ? 2 : 0))}ms`;
  return `p50 ${ms(p.p50)}  p90 ${ms(p.p90)}  p99 ${ms(p.p99)}  max ${ms(p.max)}`;
}

/** Groups `results` by `keyOf`, keeping keys in first-seen order. */
function groupBy<K, R>(results: readonly R[], keyOf: (result: R) => K): Map<K, R[]> {
  const groups = new Map<K, R[]>();
  for (const result of results) {
    const key = keyOf(result);
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [result]);
    else group.push(result);
  }
  return groups;
}

/** Counts `entries` by status (a summary made without its queue's counts). */
function countByStatus(entries: readonly { readonly status: string }[]): StatusCounts {
  const counts = noStatusCounts();
  for (const entry of entries) {
    if (entry.status === "succeeded") counts.succeeded++;
    else if (entry.status === "failed") counts.failed++;
    else if (entry.status === "cancelled") counts.cancelled++;
  }
  return counts;
}
