/**
 * Attempt requests made by hand, as the engine would make them, for tests
 * that drive a pool directly (`ThreadPool`, `ProcessPool`), and the helpers
 * that settle what the pool returns into something to assert on.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  type AttemptRequest,
  type Executor,
  REPORTED_LATER,
  type TaskSource,
} from "../../src/core/executor.ts";
import { TaskTimeoutError } from "../../src/core/errors.ts";
import { DEFAULT_TASK_OPTIONS } from "../../src/core/options.ts";

/** An attempt request as the engine would make it, with what the tests look at. */
export interface TestRequest extends AttemptRequest {
  /** When `began()` was first called (performance.now()), or undefined. */
  begunAt: number | undefined;
  /** Aborts the request's signal, as the engine does when it gives up. */
  abort(reason?: unknown): void;
  /** How many times the executor reported an outcome (exactly once is right). */
  reports: number;
  /** Settles with the first reported outcome (a failure rejects). */
  readonly reported: Promise<unknown>;
}

let taskCounter = 0;

/** A fresh first attempt of `source` with `args`. */
export function request(
  source: TaskSource,
  args: readonly unknown[] = [],
  options: { bind?: boolean; transfer?: Transferable[]; timeout?: number; name?: string } = {},
): TestRequest {
  const controller = new AbortController();
  let abortListener: (() => void) | undefined;
  let settle!: (ok: boolean, value: unknown) => void;
  const reported = new Promise<unknown>((resolve, reject) => {
    settle = (ok, value) => ok ? resolve(value) : reject(value);
  });
  // Nobody may look: a failure must not count as an unhandled rejection.
  reported.catch(() => {});
  const made: TestRequest = {
    taskId: `task-${++taskCounter}`,
    name: options.name ?? (typeof source === "function" ? source.name || "anonymous" : source.name),
    attempt: 1,
    source,
    args,
    bind: options.bind ?? false,
    transfer: options.transfer,
    signal: controller.signal,
    get aborted() {
      return controller.signal.aborted;
    },
    get abortReason() {
      return controller.signal.reason;
    },
    onAbort(listener) {
      // One listener at a time, as the engine keeps it.
      if (abortListener !== undefined) {
        controller.signal.removeEventListener("abort", abortListener);
      }
      abortListener = listener;
      if (listener === undefined) return;
      if (controller.signal.aborted) listener();
      else controller.signal.addEventListener("abort", listener, { once: true });
    },
    timeout: options.timeout,
    options: DEFAULT_TASK_OPTIONS,
    retrying() {},
    worker: null,
    begunAt: undefined,
    began() {
      made.begunAt ??= performance.now();
      return !controller.signal.aborted;
    },
    abort(reason = new TaskTimeoutError(made.name, options.timeout ?? 0)) {
      controller.abort(reason);
    },
    reports: 0,
    reported,
    report(ok, value) {
      if (made.reports++ === 0) settle(ok, value);
    },
  };
  return made;
}

/**
 * Runs `request` on `executor` as the engine would and returns its outcome
 * as a promise, however the executor delivers it.
 */
export function runOn(executor: Executor, request: TestRequest): Promise<unknown> {
  let returned: unknown;
  try {
    returned = executor.execute(request);
  } catch (error) {
    return Promise.reject(error);
  }
  return returned === REPORTED_LATER ? request.reported : Promise.resolve(returned);
}

/** Settles `promise` into an outcome that can be asserted on. */
export async function outcome(
  promise: unknown,
): Promise<{ ok: true; value: unknown } | { ok: false; error: unknown }> {
  try {
    return { ok: true, value: await promise };
  } catch (error) {
    return { ok: false, error };
  }
}

/** The error `promise` rejects with; fails the test if it resolves. */
export async function rejection(promise: unknown): Promise<unknown> {
  const result = await outcome(promise);
  assert.equal(result.ok, false, "expected the attempt to fail");
  return (result as { error: unknown }).error;
}

/** Starts `pool` with `workers`, runs `fn`, and always force-closes the pool and checks it is empty. */
export async function withStartedPool<P extends Executor, R>(
  pool: P,
  workers: number,
  fn: (pool: P) => Promise<R>,
): Promise<R> {
  pool.start(workers);
  try {
    return await fn(pool);
  } finally {
    await pool.close(true);
    assert.equal(pool.liveWorkers(), 0);
  }
}
