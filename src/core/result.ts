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
import { ExecutionError } from "./errors.ts";
import type { EndedBy } from "./executor.ts";

/** How a task finished. */
export type TaskStatus = "succeeded" | "failed" | "cancelled";

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
    return json;
  }
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
  /** The run's length in milliseconds. Default `0`. */
  duration?: number;
}

/** An array the next summary built may keep as its own (see `summaryAdopting`). */
let adoptNext: readonly unknown[] | undefined;

/**
 * A summary that keeps `results` itself instead of copying it: for a queue,
 * whose run builds a fresh array for it (200k results: one copy fewer).
 * `results` must not be used by the caller afterwards.
 * @ignore
 */
export function summaryAdopting<T>(
  results: TaskResult<T>[],
  options: FromResultsOptions,
): RunSummary<T> {
  adoptNext = results;
  try {
    return RunSummary.fromResults(results, options);
  } finally {
    adoptNext = undefined;
  }
}

/** Options of {@linkcode RunSummary.fromResults}. */
export interface FromResultsOptions {
  /** When the run started, in ms on the same clock as `now`. */
  runStart: number;
  /** Whether the run was cut short by its timeout. Default `false`. */
  timedOut?: boolean;
  /** The time to measure the duration to. Default: the system clock's now. */
  now?: number;
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
  /** See {@linkcode RunSummary.duration}. */
  duration: number;
  /** See {@linkcode RunSummary.ok}. */
  ok: boolean;
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
  /** Whether the run was cut short by its timeout. */
  readonly timedOut: boolean;
  /** The run's length in milliseconds. */
  readonly duration: number;
  /** Every result the summary covers (a copy, typed read-only). */
  readonly results: readonly TaskResult<T>[];

  /**
   * Creates a frozen summary, counting the results by status.
   *
   * @param init The results, whether the run timed out, and its duration.
   */
  constructor(init: RunSummaryInit<T>) {
    // Not frozen: freezing a large array costs ~1.7 µs per element on Bun and
    // makes every later iteration of it ~15× slower there. The type is readonly.
    const adopted = adoptNext;
    adoptNext = undefined;
    const results: readonly TaskResult<T>[] = adopted === init.results
      ? adopted as TaskResult<T>[]
      : Array.from(init.results);
    let succeeded = 0;
    let failed = 0;
    let cancelled = 0;
    for (const result of results) {
      if (result.status === "succeeded") succeeded++;
      else if (result.status === "failed") failed++;
      else if (result.status === "cancelled") cancelled++;
    }
    this.totalSubmitted = results.length;
    this.succeeded = succeeded;
    this.failed = failed;
    this.cancelled = cancelled;
    this.timedOut = init.timedOut ?? false;
    this.duration = init.duration ?? 0;
    this.results = results;
    Object.freeze(this);
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
      duration: now - options.runStart,
    });
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
    for (const result of this.results) {
      if (result.status === "succeeded") values.push(result.value as T);
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
   * prints: the status (`TIMED OUT`, `PASSED` or `COMPLETED WITH ERRORS`),
   * the counts, the duration in seconds, and each failure with its attempt
   * count (when more than one) and message.
   *
   * @example
   * ```ts
   * import { RunSummary, TaskResult } from "@osiiso/osiiso";
   *
   * const summary = new RunSummary({
   *   results: [new TaskResult({ taskId: "a", name: "job", status: "succeeded" })],
   *   duration: 1234,
   * });
   * console.log(summary.format().includes("Duration    : 1.234s")); // true
   * ```
   */
  format(): string {
    const status = this.timedOut ? "TIMED OUT" : this.ok ? "PASSED" : "COMPLETED WITH ERRORS";
    const lines = [
      BAR,
      `  Run Summary: ${status}`,
      BAR,
      `  Total tasks : ${this.totalSubmitted}`,
      `  Succeeded   : ${this.succeeded}`,
      `  Failed      : ${this.failed}`,
      `  Cancelled   : ${this.cancelled}`,
      `  Duration    : ${(this.duration / 1000).toFixed(3)}s`,
    ];
    const errors = this.errors;
    if (errors.length > 0) {
      lines.push(BAR, "  Failures:");
      for (const result of errors) {
        const attempts = result.attempts > 1 ? ` (${result.attempts} attempts)` : "";
        lines.push(`    - ${result.name}${attempts}`);
        if (result.message) lines.push(`      ${result.message}`);
      }
    }
    lines.push(BAR);
    return lines.join("\n");
  }

  /**
   * Prints {@linkcode RunSummary.format}'s report with `console.log`.
   *
   * @example
   * ```ts
   * import { RunSummary } from "@osiiso/osiiso";
   *
   * new RunSummary({ results: [] }).display(); // prints "Run Summary: PASSED" between bars
   * ```
   */
  display(): void {
    console.log(this.format());
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
      duration: this.duration,
      ok: this.ok,
      results: this.results.map((result) => result.toJSON()),
    };
  }
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
