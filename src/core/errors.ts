/**
 * The errors the library throws for runtime conditions. Every one derives
 * from {@linkcode OsiisoError}, so `catch (e) { if (e instanceof OsiisoError) … }`
 * catches them all. Bad input is reported with the built-in `TypeError` and
 * `RangeError` instead.
 *
 * Each class carries its own `name` (`"ClosedError"`, …) on its prototype, as
 * the built-in errors do, so `error.name` identifies the class even where
 * `instanceof` cannot (an error rebuilt in another realm, a log line).
 *
 * @module
 */

import type { TaskResult } from "./result.ts";

/**
 * Puts `name` on a class's prototype, not on each instance: it stays out of
 * enumeration (like `TypeError.prototype.name`) and the engine's stack header
 * already uses it when the instance is built.
 */
function setErrorName(errorClass: { prototype: Error }, name: string): void {
  Object.defineProperty(errorClass.prototype, "name", {
    value: name,
    writable: true,
    enumerable: false,
    configurable: true,
  });
}

/**
 * The base class of every error the library throws for a runtime condition.
 *
 * @example Catch any library error
 * ```ts
 * import { ClosedError, OsiisoError } from "@osiiso/osiiso";
 *
 * try {
 *   throw new ClosedError("queue is not accepting tasks");
 * } catch (error) {
 *   console.log(error instanceof OsiisoError); // true
 * }
 * ```
 */
export class OsiisoError extends Error {
  static {
    setErrorName(this, "OsiisoError");
  }

  /**
   * Creates the error.
   *
   * @param message What went wrong (default `""`).
   * @param options Standard error options, such as the `cause`.
   */
  constructor(message: string = "", options?: ErrorOptions) {
    super(message, options);
  }
}

/**
 * Thrown when a task is submitted to a queue that does not accept tasks
 * (`"queue is not accepting tasks"`), or when a shut-down queue is started or
 * run (`"queue has been shut down"`).
 *
 * @example
 * ```ts
 * import { ClosedError } from "@osiiso/osiiso";
 *
 * const error = new ClosedError("queue has been shut down");
 * console.log(error.name, error.message); // ClosedError queue has been shut down
 * ```
 */
export class ClosedError extends OsiisoError {
  static {
    setErrorName(this, "ClosedError");
  }
}

/**
 * Thrown by `submit` when a bounded queue (`size > 0`) already holds as many
 * outstanding tasks as it may; `await queue.whenSpace()` waits for room.
 *
 * @example
 * ```ts
 * import { QueueFullError } from "@osiiso/osiiso";
 *
 * const error = new QueueFullError("queue is full (10 tasks outstanding)");
 * console.log(error.name); // QueueFullError
 * ```
 */
export class QueueFullError extends OsiisoError {
  static {
    setErrorName(this, "QueueFullError");
  }
}

/**
 * Thrown when an operation is not allowed in the object's current state, for
 * example `"run() is already in progress"` or `"result not ready"`.
 *
 * @example
 * ```ts
 * import { InvalidStateError } from "@osiiso/osiiso";
 *
 * const error = new InvalidStateError("result not ready");
 * console.log(error.name); // InvalidStateError
 * ```
 */
export class InvalidStateError extends OsiisoError {
  static {
    setErrorName(this, "InvalidStateError");
  }
}

/**
 * The rejection of `await handle` for a task that was cancelled.
 *
 * @example
 * ```ts
 * import { CancelledError } from "@osiiso/osiiso";
 *
 * console.log(new CancelledError().message); // cancelled
 * ```
 */
export class CancelledError extends OsiisoError {
  static {
    setErrorName(this, "CancelledError");
  }

  /**
   * Creates the error.
   *
   * @param message Why the task was cancelled (default `"cancelled"`).
   * @param options Standard error options, such as the `cause`.
   */
  constructor(message: string = "cancelled", options?: ErrorOptions) {
    super(message, options);
  }
}

/**
 * The error of an attempt that ran longer than its task's `timeout`. The
 * message is the same on every backend: `task 'x' exceeded 100ms timeout`.
 *
 * @example
 * ```ts
 * import { TaskTimeoutError } from "@osiiso/osiiso";
 *
 * const error = new TaskTimeoutError("fetchPage", 100);
 * console.log(error.message); // task 'fetchPage' exceeded 100ms timeout
 * console.log(error.taskName, error.timeout); // fetchPage 100
 * ```
 */
export class TaskTimeoutError extends OsiisoError {
  static {
    setErrorName(this, "TaskTimeoutError");
  }

  /** The name of the task that timed out. */
  readonly taskName: string;
  /** The timeout it exceeded, in milliseconds. */
  readonly timeout: number;

  /**
   * Creates the error.
   *
   * @param taskName The name of the task that timed out.
   * @param timeoutMs The timeout it exceeded, in milliseconds.
   * @param options Standard error options, such as the `cause`.
   */
  constructor(taskName: string, timeoutMs: number, options?: ErrorOptions) {
    super(`task '${taskName}' exceeded ${String(timeoutMs)}ms timeout`, options);
    this.taskName = taskName;
    this.timeout = timeoutMs;
  }
}

/** What is known about a crashed worker or child; every field is optional. */
export interface WorkerCrashDetails extends ErrorOptions {
  /** The worker's thread index or the child's pid. */
  worker?: number | null;
  /** The child's exit code. */
  exitCode?: number | null;
  /** The signal that ended the child, such as `"SIGKILL"`. */
  signal?: string | null;
}

/**
 * The error of an attempt whose worker thread or child process died while it
 * ran the task. Such attempts end with `endedBy: "worker-crashed"` and are
 * retried like any other failure if retries remain.
 *
 * @example
 * ```ts
 * import { WorkerCrashedError } from "@osiiso/osiiso";
 *
 * const error = new WorkerCrashedError("worker process died (exit code 1)", {
 *   worker: 4242,
 *   exitCode: 1,
 * });
 * console.log(error.worker, error.exitCode, error.signal); // 4242 1 null
 * ```
 */
export class WorkerCrashedError extends OsiisoError {
  static {
    setErrorName(this, "WorkerCrashedError");
  }

  /** The worker's thread index or the child's pid, or `null` when unknown. */
  readonly worker: number | null;
  /** The child's exit code, or `null` when unknown or not applicable. */
  readonly exitCode: number | null;
  /** The signal that ended the child, or `null` when unknown or none. */
  readonly signal: string | null;

  /**
   * Creates the error.
   *
   * @param message What happened, such as `"worker process died (exit code 1)"`.
   * @param details The worker, exit code, signal and `cause`, where known.
   */
  constructor(message: string, details: WorkerCrashDetails = {}) {
    // The engine reads only `cause` from the options, and only if the key is present.
    super(message, details);
    this.worker = details.worker ?? null;
    this.exitCode = details.exitCode ?? null;
    this.signal = details.signal ?? null;
  }
}

/**
 * The error of a task whose function, arguments or result could not be sent
 * to or from a worker or child: for example a self-contained function that
 * uses a variable from its surroundings.
 *
 * @example
 * ```ts
 * import { TaskSerializationError } from "@osiiso/osiiso";
 *
 * const error = new TaskSerializationError("task result could not be cloned");
 * console.log(error.name); // TaskSerializationError
 * ```
 */
export class TaskSerializationError extends OsiisoError {
  static {
    setErrorName(this, "TaskSerializationError");
  }
}

/**
 * Thrown when one or more tasks failed or were cancelled, carrying their
 * results: by `summary.raiseForErrors()`, `run({ strict: true })`,
 * `group.values()` and the shortcuts.
 *
 * The message counts them: `"2 task(s) failed"`, `"1 task(s) cancelled"`, or
 * both joined by `"; "` with failures first. Any result whose status is not
 * `"failed"` counts as cancelled. With no results it is `"0 task(s) failed"`.
 *
 * @example
 * ```ts
 * import { ExecutionError, TaskResult } from "@osiiso/osiiso";
 *
 * const error = new ExecutionError([
 *   new TaskResult({ taskId: "a", name: "load", status: "failed" }),
 *   new TaskResult({ taskId: "b", name: "load", status: "cancelled" }),
 * ]);
 * console.log(error.message); // 1 task(s) failed; 1 task(s) cancelled
 * console.log(error.results.length); // 2
 * ```
 */
export class ExecutionError extends OsiisoError {
  static {
    setErrorName(this, "ExecutionError");
  }

  /** The failed and cancelled results, in the order given (a copy, typed read-only). */
  readonly results: readonly TaskResult[];

  /**
   * Creates the error.
   *
   * @param results The failed and/or cancelled results to report.
   * @param options Standard error options, such as the `cause`.
   */
  constructor(results: Iterable<TaskResult>, options?: ErrorOptions) {
    const copy: readonly TaskResult[] = Array.from(results);
    super(countMessage(copy), options);
    this.results = copy;
  }
}

function countMessage(results: readonly TaskResult[]): string {
  let failed = 0;
  for (const result of results) if (result.status === "failed") failed++;
  const cancelled = results.length - failed;
  const parts: string[] = [];
  if (failed > 0) parts.push(`${failed} task(s) failed`);
  if (cancelled > 0) parts.push(`${cancelled} task(s) cancelled`);
  return parts.length > 0 ? parts.join("; ") : "0 task(s) failed";
}
