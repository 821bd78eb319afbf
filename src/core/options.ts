/**
 * Task options: their defaults, their checks, and how per-call overrides
 * merge onto a bound task's options.
 *
 * @module
 */

import {
  checkArray,
  checkBoolean,
  checkFinite,
  checkFunction,
  checkInteger,
  checkKnownNames,
  checkNonNegative,
  checkOptionsObject,
  checkPositive,
  checkString,
  invalidMessage,
} from "./validate.ts";
import type { TaskHandle } from "./handle.ts";

/**
 * Options of one task. Durations are milliseconds.
 *
 * @example
 * ```ts
 * import { AsyncQueue, type TaskOptions } from "@osiiso/osiiso";
 * const careful: TaskOptions = { retries: 3, retryDelay: 100, backoff: 2, timeout: 5_000 };
 * const q = new AsyncQueue();
 * q.submit(async () => "ok", careful);
 * await q.run();
 * ```
 */
export interface TaskOptions {
  /** Lower runs first; FIFO among equals. Default 3. */
  priority?: number;
  /** Spared by `failFirst` aborts and by run timeouts with `onTimeout: "complete"`. */
  mustComplete?: boolean;
  /** Limit for each attempt, in ms; the attempt's signal aborts and the attempt fails. */
  timeout?: number | null;
  /** Extra attempts after the first. Default 0. */
  retries?: number;
  /** Delay before the first retry, in ms; the task gives its worker back meanwhile. Default 0. */
  retryDelay?: number;
  /** Multiplier applied to the delay after each retry. Default 1. */
  backoff?: number;
  /** Upper bound of any one retry delay, in ms. Default: no bound. */
  maxRetryDelay?: number;
  /**
   * Spreads each retry delay by up to this share of it, either way (0.2: a
   * 1,000 ms delay becomes 800–1,200 ms), so tasks that failed together do
   * not retry together. A fraction in [0, 1]. Default 0.
   */
  retryJitter?: number;
  /** Start this many ms after submit. */
  delay?: number | null;
  /** Start at this epoch time (ms or a `Date`); a past time means now. */
  runAt?: number | Date | null;
  /** Overrides the name taken from the function. */
  name?: string;
  /** Label copied onto the handle and result; `group()` sets it. */
  groupId?: string;
  /** Run it, but leave its result out of the `RunSummary`. */
  detached?: boolean;
  /** Opaque user data copied onto the handle and the result. */
  metadata?: unknown;
  /** Decides whether an error is retried (when retries remain). Default: every error. */
  retryOn?: (error: unknown) => boolean;
  /** Pass a `TaskContext` as the task's first argument. */
  bind?: boolean;
  /** Objects moved to the worker instead of copied (ThreadQueue). */
  transfer?: Transferable[];
}

/** Options after checks and defaults: what the engine reads. */
export interface ResolvedTaskOptions {
  readonly priority: number;
  readonly mustComplete: boolean;
  readonly timeout: number | undefined;
  readonly retries: number;
  readonly retryDelay: number;
  readonly backoff: number;
  readonly maxRetryDelay: number;
  readonly retryJitter: number;
  readonly delay: number | undefined;
  readonly runAt: number | undefined;
  readonly name: string | undefined;
  readonly groupId: string | undefined;
  readonly detached: boolean;
  readonly metadata: unknown;
  readonly retryOn: ((error: unknown) => boolean) | undefined;
  readonly bind: boolean;
  readonly transfer: readonly Transferable[] | undefined;
  /**
   * Not a user option: called by the engine with each task submitted with
   * these options that succeeds, before its handle settles. A checkpointed
   * `map` records its successes through it, with no callback on every handle.
   */
  readonly recordSuccess: ((task: TaskHandle<unknown>, value: unknown) => void) | undefined;
}

/** The option names a task accepts. */
export const TASK_OPTION_NAMES: ReadonlySet<string> = new Set([
  "priority",
  "mustComplete",
  "timeout",
  "retries",
  "retryDelay",
  "backoff",
  "maxRetryDelay",
  "retryJitter",
  "delay",
  "runAt",
  "name",
  "groupId",
  "detached",
  "metadata",
  "retryOn",
  "bind",
  "transfer",
]);

/** The priority of a task submitted without one. */
export const DEFAULT_PRIORITY = 3;

/** The defaults, shared by every task submitted without options. */
export const DEFAULT_TASK_OPTIONS: ResolvedTaskOptions = Object.freeze({
  priority: DEFAULT_PRIORITY,
  mustComplete: false,
  timeout: undefined,
  retries: 0,
  retryDelay: 0,
  backoff: 1,
  maxRetryDelay: Infinity,
  retryJitter: 0,
  delay: undefined,
  runAt: undefined,
  name: undefined,
  groupId: undefined,
  detached: false,
  metadata: undefined,
  retryOn: undefined,
  bind: false,
  transfer: undefined,
  recordSuccess: undefined,
});

const ACTION = "submit task";

/**
 * Checks `overrides` and merges them onto `base`. With nothing to merge it
 * returns `base` itself (no allocation on the hot path).
 */
export function resolveTaskOptions(
  overrides: unknown,
  base: ResolvedTaskOptions = DEFAULT_TASK_OPTIONS,
): ResolvedTaskOptions {
  // Most tasks come without options. The checks live apart: an engine
  // compiles a function whole on its first call (Bun: ~0.1 ms per KB of
  // source), and a program that never passes options never pays for them.
  return overrides === undefined ? base : mergeTaskOptions(overrides, base);
}

function mergeTaskOptions(overrides: unknown, base: ResolvedTaskOptions): ResolvedTaskOptions {
  const given = checkOptionsObject(ACTION, "options", overrides);
  checkKnownNames("task", given, TASK_OPTION_NAMES);
  let empty = true;
  for (const key in given) {
    if (given[key] !== undefined) {
      empty = false;
      break;
    }
  }
  if (empty) return base;
  const o = { ...base } as { -readonly [K in keyof ResolvedTaskOptions]: ResolvedTaskOptions[K] };
  if (given.priority !== undefined) o.priority = checkFinite(ACTION, "priority", given.priority);
  if (given.mustComplete !== undefined) {
    o.mustComplete = checkBoolean(ACTION, "mustComplete", given.mustComplete);
  }
  if (given.timeout !== undefined) {
    o.timeout = given.timeout == null ? undefined : checkPositive(ACTION, "timeout", given.timeout);
  }
  if (given.retries !== undefined) o.retries = checkInteger(ACTION, "retries", given.retries, 0);
  if (given.retryDelay !== undefined) {
    o.retryDelay = checkNonNegative(ACTION, "retryDelay", given.retryDelay);
  }
  if (given.backoff !== undefined) o.backoff = checkPositive(ACTION, "backoff", given.backoff);
  if (given.maxRetryDelay !== undefined) {
    o.maxRetryDelay = checkNonNegative(ACTION, "maxRetryDelay", given.maxRetryDelay, true);
  }
  if (given.retryJitter !== undefined) {
    const jitter = checkFinite(ACTION, "retryJitter", given.retryJitter);
    if (jitter < 0 || jitter > 1) {
      throw new RangeError(invalidMessage(ACTION, "retryJitter", "a fraction in [0, 1]", jitter));
    }
    o.retryJitter = jitter;
  }
  if (given.delay !== undefined) {
    o.delay = given.delay == null ? undefined : checkNonNegative(ACTION, "delay", given.delay);
  }
  if (given.runAt !== undefined) o.runAt = checkRunAt(given.runAt);
  if (given.name !== undefined) {
    o.name = checkString(ACTION, "name", given.name);
  }
  if (given.groupId !== undefined) {
    o.groupId = given.groupId == null ? undefined : checkString(ACTION, "groupId", given.groupId);
  }
  if (given.detached !== undefined) o.detached = checkBoolean(ACTION, "detached", given.detached);
  if (given.metadata !== undefined) o.metadata = given.metadata;
  if (given.retryOn !== undefined) {
    o.retryOn = checkFunction<(error: unknown) => boolean>(ACTION, "retryOn", given.retryOn);
  }
  if (given.bind !== undefined) o.bind = checkBoolean(ACTION, "bind", given.bind);
  if (given.transfer !== undefined) {
    o.transfer = checkArray(ACTION, "transfer", given.transfer) as Transferable[];
  }
  if (o.transfer !== undefined && o.transfer.length > 0 && o.retries > 0) {
    throw new RangeError(
      `Cannot submit task as 'transfer' and 'retries' are mutually exclusive (a transferred object leaves this thread with the first attempt, so a retry could not send it again; pass a copy instead): current values are ${o.transfer.length} object(s) and ${o.retries}`,
    );
  }
  if (o.delay !== undefined && o.runAt !== undefined) {
    throw new RangeError(
      `Cannot submit task as 'delay' and 'runAt' are mutually exclusive: current values are ${o.delay} and ${o.runAt}`,
    );
  }
  return Object.freeze(o);
}

function checkRunAt(value: unknown): number | undefined {
  if (value == null) return undefined;
  if (value instanceof Date) {
    const time = value.getTime();
    if (Number.isNaN(time)) {
      throw new RangeError(invalidMessage(ACTION, "runAt", "a valid Date or epoch ms", value));
    }
    return time;
  }
  if (typeof value !== "number") {
    throw new TypeError(invalidMessage(ACTION, "runAt", "a Date or epoch ms", value));
  }
  return checkFinite(ACTION, "runAt", value);
}

/**
 * The delay before retry number `retry` (1 for the first retry): the
 * back-off capped by `maxRetryDelay`, then spread by `retryJitter` with
 * `random` (a number in [0, 1)).
 */
export function retryDelayFor(
  options: ResolvedTaskOptions,
  retry: number,
  random: () => number = Math.random,
): number {
  const delay = Math.min(
    options.retryDelay * options.backoff ** (retry - 1),
    options.maxRetryDelay,
  );
  const jitter = options.retryJitter;
  if (jitter === 0) return delay;
  return Math.min(delay * (1 + jitter * (2 * random() - 1)), options.maxRetryDelay);
}
