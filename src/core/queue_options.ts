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

/** What a queue gets for each option it is not given. */
const QUEUE_DEFAULTS: ResolvedQueueOptions = Object.freeze({
  size: 0,
  workers: undefined,
  timeout: undefined,
  rate: undefined,
  burst: 1,
  mode: "finite",
  failPolicy: "continue",
  onTimeout: "complete",
  onStart: undefined,
  onComplete: undefined,
  onRetry: undefined,
  onHookError: defaultHookError,
  signal: undefined,
  clock: systemClock,
  autoStart: false,
  progress: "auto",
});

/**
 * How each shared option is checked when it is given (not `undefined`). One
 * small function an option: a queue's first construction compiles only the
 * checks of the options it was given (an engine compiles a function whole on
 * its first call, and this runs before a program's first task). No prototype,
 * so `in` finds only these names: on Bun a program's first `Object.hasOwn`
 * costs about 25 µs more than a first `in`.
 */
const QUEUE_OPTION_CHECKS: { readonly [name: string]: OptionCheck } = withoutPrototype({
  size: (value) => checkInteger(ACTION, "size", value, 0),
  workers: (value) => checkInteger(ACTION, "workers", value, 1),
  timeout: (value) => value === null ? undefined : checkPositive(ACTION, "timeout", value),
  rate: (value) => value === null ? undefined : checkPositive(ACTION, "rate", value),
  burst: (value) => checkInteger(ACTION, "burst", value, 1),
  mode: (value) => checkChoice(ACTION, "mode", value, MODES),
  failPolicy: (value) => checkChoice(ACTION, "failPolicy", value, FAIL_POLICIES),
  onTimeout: (value) => checkChoice(ACTION, "onTimeout", value, TIMEOUT_POLICIES),
  onStart: (value) => checkFunction(ACTION, "onStart", value),
  onComplete: (value) => checkFunction(ACTION, "onComplete", value),
  onRetry: (value) => checkFunction(ACTION, "onRetry", value),
  onHookError: (value) => checkFunction(ACTION, "onHookError", value),
  signal: checkSignal,
  clock: checkClock,
  autoStart: (value) => checkBoolean(ACTION, "autoStart", value),
  progress: checkProgress,
});

/** Checks a given option's value; returns the value to keep. */
type OptionCheck = (value: unknown) => unknown;

/** The same object with no prototype: `in` and indexing find only its own names. */
function withoutPrototype(
  checks: { [name: string]: OptionCheck },
): { [name: string]: OptionCheck } {
  return Object.setPrototypeOf(checks, null);
}

/** The names every queue accepts. */
export const QUEUE_OPTION_NAMES: readonly string[] = Object.keys(QUEUE_OPTION_CHECKS);

/**
 * Checks the shared options; `extraNames` are the backend's own option names
 * (checked by the backend), accepted here so that unknown names still fail.
 */
export function resolveQueueOptions(
  options: unknown,
  extraNames: readonly string[] = [],
): ResolvedQueueOptions {
  if (options === undefined) return QUEUE_DEFAULTS;
  const given = checkOptionsObject(ACTION, "options", options);
  for (const name in given) {
    if (!(name in QUEUE_OPTION_CHECKS) && !extraNames.includes(name)) {
      rejectUnknownNames(given, extraNames);
    }
  }
  const resolved: Record<string, unknown> = { ...QUEUE_DEFAULTS };
  for (const name in given) {
    const value = given[name];
    // A backend's own names have no check here.
    const check = QUEUE_OPTION_CHECKS[name];
    if (value !== undefined && check !== undefined) resolved[name] = check(value);
  }
  return resolved as unknown as ResolvedQueueOptions;
}

/** Throws the error that names every unknown option (apart: a program that passes none never compiles it). */
function rejectUnknownNames(given: Record<string, unknown>, extraNames: readonly string[]): void {
  checkKnownNames("queue", given, new Set([...QUEUE_OPTION_NAMES, ...extraNames]));
}

/** A `clock` option: a Clock (`null` gives the system clock). */
function checkClock(value: unknown): Clock {
  if (value === null) return systemClock;
  if (
    typeof value !== "object" || typeof (value as Clock).now !== "function" ||
    typeof (value as Clock).setTimer !== "function"
  ) {
    throw new TypeError(invalidMessage(ACTION, "clock", "a Clock", value));
  }
  return value as Clock;
}

/** A `signal` option: an AbortSignal. */
function checkSignal(value: unknown): AbortSignal {
  if (!(value instanceof AbortSignal)) {
    throw new TypeError(invalidMessage(ACTION, "signal", "an AbortSignal", value));
  }
  return value;
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
