/**
 * Queue options shared by every backend, and their checks.
 *
 * @module
 */

import type { Clock } from "./clock.ts";
import { systemClock } from "./clock.ts";
import type { TaskHandle } from "./handle.ts";
import type { ProgressMode } from "./progress_line.ts";
import type { TaskResult } from "./result.ts";
import {
  checkBoolean,
  checkChoice,
  checkFunction,
  checkInteger,
  checkKnownNames,
  checkOptionsObject,
  checkPositive,
  invalidMessage,
} from "./validate.ts";

/** `"finite"`: `run()` returns when nothing is outstanding; `"infinite"`: only after `shutdown()`. */
export type QueueMode = "finite" | "infinite";
/** `"failFirst"`: the first failure cancels everything not `mustComplete`. */
export type FailPolicy = "continue" | "failFirst";
/** What a run timeout spares: `"complete"` lets `mustComplete` tasks finish. */
export type TimeoutPolicy = "complete" | "cancel";
/**
 * Names of the hooks, as passed to `onHookError`; `"checkpoint"` is a
 * checkpoint write that failed outside a `run()`, `join()` or `shutdown()`.
 */
export type HookName = "onStart" | "onComplete" | "onRetry" | "onDone" | "retryOn" | "checkpoint";

/**
 * Options every queue accepts. Durations are milliseconds.
 *
 * @example
 * ```ts
 * import { AsyncQueue, type QueueOptions } from "@osiiso/osiiso";
 * const options: QueueOptions = { workers: 8, rate: 20, burst: 5, failPolicy: "failFirst" };
 * const q = new AsyncQueue(options);
 * await q.shutdown();
 * ```
 */
export interface QueueOptions {
  /** Concurrent workers; `undefined` auto-scales with the backlog. */
  workers?: number;
  /** Cap on outstanding tasks (queued + scheduled + running); 0 = unbounded. */
  size?: number;
  /** Default limit of each `run()`, in ms. */
  timeout?: number | null;
  /** Default `"finite"`. */
  mode?: QueueMode;
  /** Default `"continue"`. */
  failPolicy?: FailPolicy;
  /** Default `"complete"`. */
  onTimeout?: TimeoutPolicy;
  /** Attempts started per second, retries included. */
  rate?: number | null;
  /** Attempts that may start back to back under `rate`. Default 1. */
  burst?: number;
  /** Called at the start of every attempt. */
  onStart?: (handle: TaskHandle<unknown>) => unknown;
  /** Called once per task with its final result, whatever its status. */
  onComplete?: (result: TaskResult<unknown>) => unknown;
  /** Called after a failed attempt that will be retried. */
  onRetry?: (handle: TaskHandle<unknown>, error: unknown) => unknown;
  /** Receives what a hook or `onDone` callback throws or rejects with. Default: `console.error`. */
  onHookError?: (error: unknown, hook: HookName) => void;
  /** Aborting it shuts the queue down at once (like `cancel()`). */
  signal?: AbortSignal;
  /** Time source; tests pass a `ManualClock`. */
  clock?: Clock;
  /**
   * Start the queue at its first submission (and at the first one after a
   * finished `run()`), so that awaiting handles alone runs the work:
   * `await Promise.all(items.map((i) => q.submit(f, [i])))`. Default `false`:
   * tasks wait for `start()`, `run()`, `join()` or `shutdown()`.
   */
  autoStart?: boolean;
  /**
   * The live progress line on stderr during `run()`: `true` always draws it
   * (even on a pipe), `false` never, `"auto"` only when stderr is a terminal
   * and the run has lasted 2 s. Default `"auto"`.
   */
  progress?: ProgressMode;
}

/** Queue options after checks and defaults. */
export interface ResolvedQueueOptions {
  readonly workers: number | undefined;
  readonly size: number;
  readonly timeout: number | undefined;
  readonly mode: QueueMode;
  readonly failPolicy: FailPolicy;
  readonly onTimeout: TimeoutPolicy;
  readonly rate: number | undefined;
  readonly burst: number;
  readonly onStart: ((handle: TaskHandle<unknown>) => unknown) | undefined;
  readonly onComplete: ((result: TaskResult<unknown>) => unknown) | undefined;
  readonly onRetry: ((handle: TaskHandle<unknown>, error: unknown) => unknown) | undefined;
  readonly onHookError: (error: unknown, hook: HookName) => void;
  readonly signal: AbortSignal | undefined;
  readonly clock: Clock;
  readonly autoStart: boolean;
  readonly progress: ProgressMode;
}

/** The names every queue accepts. */
export const QUEUE_OPTION_NAMES: readonly string[] = [
  "workers",
  "size",
  "timeout",
  "mode",
  "failPolicy",
  "onTimeout",
  "rate",
  "burst",
  "onStart",
  "onComplete",
  "onRetry",
  "onHookError",
  "signal",
  "clock",
  "autoStart",
  "progress",
];

const ACTION = "create queue";
/** The accepted `mode` values. */
export const MODES: readonly QueueMode[] = ["finite", "infinite"];
/** The accepted `failPolicy` values. */
export const FAIL_POLICIES: readonly FailPolicy[] = ["continue", "failFirst"];
/** The accepted `onTimeout` values. */
export const TIMEOUT_POLICIES: readonly TimeoutPolicy[] = ["complete", "cancel"];

function defaultHookError(error: unknown, hook: HookName): void {
  console.error(`osiiso: ${hook} hook raised`, error);
}

/**
 * Checks the shared options; `extraNames` are the backend's own option names
 * (checked by the backend), accepted here so that unknown names still fail.
 */
export function resolveQueueOptions(
  options: unknown,
  extraNames: readonly string[] = [],
): ResolvedQueueOptions {
  const given = checkOptionsObject(ACTION, "options", options);
  checkKnownNames("queue", given, new Set([...QUEUE_OPTION_NAMES, ...extraNames]));
  const hook = <F>(name: string): F | undefined =>
    given[name] === undefined ? undefined : checkFunction<F>(ACTION, name, given[name]);
  const clock = given.clock ?? systemClock;
  if (
    typeof clock !== "object" || clock === null ||
    typeof (clock as Clock).now !== "function" || typeof (clock as Clock).setTimer !== "function"
  ) {
    throw new TypeError(invalidMessage(ACTION, "clock", "a Clock", clock));
  }
  const signal = given.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(invalidMessage(ACTION, "signal", "an AbortSignal", signal));
  }
  return {
    size: given.size === undefined ? 0 : checkInteger(ACTION, "size", given.size, 0),
    workers: given.workers === undefined
      ? undefined
      : checkInteger(ACTION, "workers", given.workers, 1),
    timeout: given.timeout == null ? undefined : checkPositive(ACTION, "timeout", given.timeout),
    rate: given.rate == null ? undefined : checkPositive(ACTION, "rate", given.rate),
    burst: given.burst === undefined ? 1 : checkInteger(ACTION, "burst", given.burst, 1),
    mode: given.mode === undefined ? "finite" : checkChoice(ACTION, "mode", given.mode, MODES),
    failPolicy: given.failPolicy === undefined
      ? "continue"
      : checkChoice(ACTION, "failPolicy", given.failPolicy, FAIL_POLICIES),
    onTimeout: given.onTimeout === undefined
      ? "complete"
      : checkChoice(ACTION, "onTimeout", given.onTimeout, TIMEOUT_POLICIES),
    onStart: hook("onStart"),
    onComplete: hook("onComplete"),
    onRetry: hook("onRetry"),
    onHookError: hook("onHookError") ?? defaultHookError,
    signal: signal as AbortSignal | undefined,
    clock: clock as Clock,
    autoStart: given.autoStart === undefined
      ? false
      : checkBoolean(ACTION, "autoStart", given.autoStart),
    progress: checkProgress(given.progress),
  };
}

function checkProgress(value: unknown): ProgressMode {
  if (value === undefined || value === "auto") return "auto";
  if (typeof value === "boolean") return value;
  const requirement = `true, false or 'auto'`;
  const message = invalidMessage(ACTION, "progress", requirement, value);
  throw typeof value === "string" ? new RangeError(message) : new TypeError(message);
}

/** Options of one `run()` call. */
export interface RunOptions {
  /** Limit of this run in ms (default: the queue's `timeout`). */
  timeout?: number | null;
  /** Throw `ExecutionError` after the run when a task failed (cancellations do not throw). */
  strict?: boolean;
  /** Fail policy for this run only. */
  failPolicy?: FailPolicy;
}

/** `run()` options once checked. */
export interface ResolvedRunOptions {
  readonly timeout: number | undefined | null;
  readonly strict: boolean;
  readonly failPolicy: FailPolicy | undefined;
}

const NO_RUN_OPTIONS: ResolvedRunOptions = Object.freeze({
  timeout: undefined,
  strict: false,
  failPolicy: undefined,
});

/** Checks `run()` options (none given: the defaults, without compiling the checks). */
export function resolveRunOptions(options: unknown): ResolvedRunOptions {
  return options === undefined ? NO_RUN_OPTIONS : checkRunOptions(options);
}

function checkRunOptions(options: unknown): ResolvedRunOptions {
  const action = "run queue";
  const given = checkOptionsObject(action, "options", options);
  checkKnownNames("run", given, new Set(["timeout", "strict", "failPolicy"]));
  return {
    timeout: given.timeout === undefined
      ? undefined
      : given.timeout === null
      ? null
      : checkPositive(action, "timeout", given.timeout),
    strict: given.strict === undefined ? false : checkBoolean(action, "strict", given.strict),
    failPolicy: given.failPolicy === undefined
      ? undefined
      : checkChoice(action, "failPolicy", given.failPolicy, FAIL_POLICIES),
  };
}

const SHUTDOWN_OPTION_NAMES: ReadonlySet<string> = new Set(["force"]);

/** Checks `shutdown()` options; returns whether the shutdown is forced. */
export function resolveShutdownForce(options: unknown): boolean {
  const given = checkOptionsObject("shut down queue", "options", options);
  checkKnownNames("shutdown", given, SHUTDOWN_OPTION_NAMES);
  return given.force === undefined ? false : checkBoolean("shut down queue", "force", given.force);
}
