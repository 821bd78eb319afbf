/**
 * What a distributed task is on Redis: the job data a producer writes, the
 * outcome a worker returns, and the settings every worker shares. Both sides
 * import this one file, so the two ends cannot disagree on the format.
 *
 * @module
 */

import { DEFAULT_TASK_OPTIONS, type ResolvedTaskOptions, retryDelayFor } from "../core/options.ts";
import { isTaskReference } from "../core/task_reference.ts";
import { functionSource } from "../backends/function_source.ts";
import type { TaskSource } from "../core/executor.ts";
import type { SourceDescriptor } from "../runtime/protocol.ts";
import type { WireValue } from "../core/codec.ts";

/** The format version written in every job; a worker refuses others. */
export const JOB_FORMAT = 2;

/** The name of the backoff strategy workers register (osiiso's delays). */
export const BACKOFF_TYPE = "osiiso";

/**
 * The stalled-job settings every worker uses. They are fixed, not options:
 * BullMQ's stalled check is rate-limited by a key any worker sets, so one
 * worker with other values slows recovery for all (measured: ~28 s when one
 * worker kept BullMQ's defaults; ~4.5 s from a SIGKILL to the job's result
 * elsewhere with these on every worker, a 0.5 s job included).
 */
export const STALLED_SETTINGS = Object.freeze({
  /** A job's lock lasts this long; a live worker renews it at half of it. */
  lockDuration: 4_000,
  /** How often workers look for jobs whose lock expired (their worker died). */
  stalledInterval: 1_000,
  /** Stalls a job survives before it fails (each is a worker lost mid-job). */
  maxStalledCount: 3,
});

/**
 * The data of one job, as a producer writes it (the task's name is the
 * job's name). Fields at their default are left out: every job's data is
 * written, stored, streamed and parsed, and most tasks have no options.
 */
export interface JobData {
  /** {@linkcode JOB_FORMAT}. */
  readonly v: number;
  /** Where the task's code comes from. */
  readonly source: SourceDescriptor;
  /** The arguments, encoded with the project's codec. */
  readonly args: WireValue;
  /** Present when the task takes a `TaskContext` first. */
  readonly bind?: true;
  /** The per-attempt timeout in ms, when there is one. */
  readonly timeout?: number;
  /** How retries go; present when the task has retries. */
  readonly retry?: JobRetry;
}

/** The retry settings of a job with retries. */
export interface JobRetry {
  /** `retryOn`'s source, evaluated on the worker; absent: every error is retried. */
  readonly on?: string;
  /** The first delay in ms, its multiplier, and its cap (absent: no cap). */
  readonly delay: number;
  readonly backoff: number;
  readonly maxDelay?: number;
}

/** What a worker returns for a job's last attempt (success, or a failure not retried). */
export type JobOutcome =
  & {
    /** The worker process's pid, or its child's for the process backend. */ readonly worker:
      number;
  }
  & (
    | { readonly ok: true; readonly value: WireValue }
    | { readonly ok: false; readonly error: WireValue }
  );

/** Describes a task's code for a worker elsewhere (throws `TaskSerializationError`). */
export function describeSource(source: TaskSource, name: string): SourceDescriptor {
  if (isTaskReference(source)) {
    return { kind: "ref", url: source.url, exportName: source.exportName };
  }
  return { kind: "inline", code: functionSource(source, name) };
}

/** The job data of a task (throws when its code or `retryOn` cannot be sent). */
export function jobDataFor(
  source: TaskSource,
  name: string,
  args: WireValue,
  options: ResolvedTaskOptions,
): JobData {
  const data: { -readonly [K in keyof JobData]: JobData[K] } = {
    v: JOB_FORMAT,
    source: describeSource(source, name),
    args,
  };
  if (options.bind) data.bind = true;
  if (options.timeout !== undefined) data.timeout = options.timeout;
  if (options.retries > 0) {
    const { retryOn, retryDelay, backoff, maxRetryDelay } = options;
    data.retry = {
      ...(retryOn === undefined ? {} : {
        on: functionSource(retryOn as (...args: never[]) => unknown, `${name}'s retryOn`),
      }),
      delay: retryDelay,
      backoff,
      ...(Number.isFinite(maxRetryDelay) ? { maxDelay: maxRetryDelay } : {}),
    };
  }
  return data;
}

/** BullMQ priorities are integers from 1 (first) to 2^21; osiiso's are any finite number. */
const PRIORITY_OFFSET = 1 << 20;

/**
 * The BullMQ priority of an osiiso priority: lower still runs first. Every
 * job gets one (BullMQ runs jobs without a priority before all others);
 * fractions are rounded down and values beyond ±1,048,575 are clamped.
 */
export function bullPriority(priority: number): number {
  const shifted = Math.floor(priority) + PRIORITY_OFFSET;
  return Math.min(Math.max(shifted, 1), 2 * PRIORITY_OFFSET);
}

/** The delay before retry `retry` (1 for the first) of a job, in ms. */
export function jobRetryDelay(data: JobData, retry: number): number {
  if (data.retry === undefined) return 0;
  const { delay: retryDelay, backoff, maxDelay: maxRetryDelay = Infinity } = data.retry;
  return Math.round(
    retryDelayFor({ ...DEFAULT_TASK_OPTIONS, retryDelay, backoff, maxRetryDelay }, retry),
  );
}
