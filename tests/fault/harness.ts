/**
 * The fault suite's test wrapper and bookkeeping.
 *
 * {@linkcode faultTest} defines a test that fails *itself*, by name, when it
 * leaves anything alive: a library timer, worker, child or listener (the
 * library's ledger) or a descendant process (the process table). The
 * `useLeakCheck()` hooks of `tests/helpers/leaks.ts` run as well, but on Deno
 * an error thrown by `afterEach` does not fail the test that leaked (only
 * the enclosing `describe`, at its end), so the check is repeated inside
 * each test body here.
 *
 * {@linkcode SettleTracker} proves that every handle settles exactly once.
 *
 * @module
 */

import assert from "node:assert/strict";
import { it } from "node:test";
import type { RunSummary, TaskHandle } from "../../mod.ts";
import { assertNothingLeft, liveSnapshot } from "../helpers/process_table.ts";

/**
 * Defines a test whose body is followed by a leak check naming the test.
 *
 * @example
 * ```ts
 * describe("faults", () => {
 *   useLeakCheck();
 *   faultTest("a hook that throws", async () => { … });
 * });
 * ```
 */
export function faultTest(
  name: string,
  body: () => Promise<void> | void,
  options: { settleMs?: number; timeout?: number } = {},
): void {
  // Bun's default limit is 5 s per test; a test that overran it would run on
  // beside the next one. The tests bound their own waits well below this.
  it(name, { timeout: options.timeout ?? 60_000 }, () => guarded(name, body, options));
}

/**
 * Runs `body`, then fails naming the test if it left anything alive (what
 * {@linkcode faultTest} does inside each test).
 *
 * @example
 * ```ts
 * await guarded("shuts down", async () => { await q.shutdown(); });
 * ```
 */
export async function guarded(
  name: string,
  body: () => Promise<void> | void,
  options: { settleMs?: number } = {},
): Promise<void> {
  const baseline = liveSnapshot();
  await body();
  await assertNothingLeft(`test '${name}'`, baseline, options);
}

/**
 * Counts `onDone` calls per handle: a handle that never settles is *lost*,
 * one whose callbacks ran twice settled *more than once*.
 *
 * @example
 * ```ts
 * const tracker = new SettleTracker();
 * tracker.track(q.submit(() => 1));
 * await q.run();
 * tracker.assertEachSettledOnce("the run");
 * ```
 */
export class SettleTracker {
  #counts: number[] = [];
  #handles: TaskHandle<unknown>[] = [];

  /** Starts counting `handle`'s `onDone` calls; returns the handle. */
  track<T>(handle: TaskHandle<T>): TaskHandle<T> {
    const index = this.#counts.length;
    this.#counts.push(0);
    this.#handles.push(handle as TaskHandle<unknown>);
    handle.onDone(() => void this.#counts[index]++);
    return handle;
  }

  /** Tracks each handle of `handles`; returns them. */
  trackAll<T>(handles: Iterable<TaskHandle<T>>): TaskHandle<T>[] {
    const list = [...handles];
    for (const handle of list) this.track(handle);
    return list;
  }

  /** Handles tracked. */
  get size(): number {
    return this.#counts.length;
  }

  /** Handles whose callbacks have not run. */
  get lost(): number {
    return this.#counts.filter((count) => count === 0).length;
  }

  /** Handles whose callbacks ran more than once. */
  get repeated(): number {
    return this.#counts.filter((count) => count > 1).length;
  }

  /** Handles by final status. */
  statusCounts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const handle of this.#handles) counts[handle.status] = (counts[handle.status] ?? 0) + 1;
    return counts;
  }

  /** Asserts every tracked handle settled exactly once (after a few turns, to catch late repeats). */
  async assertEachSettledOnce(what: string): Promise<void> {
    for (let i = 0; i < 3; i++) await new Promise((resolve) => setTimeout(resolve, 0));
    assert.equal(this.lost, 0, `${what}: ${this.lost} handle(s) never settled`);
    assert.equal(this.repeated, 0, `${what}: ${this.repeated} handle(s) settled more than once`);
    for (const handle of this.#handles) {
      assert.ok(handle.done(), `${what}: ${handle} reports not done`);
    }
  }
}

/** Expected counts of a {@linkcode RunSummary}. */
export interface ExpectedCounts {
  readonly total: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly cancelled: number;
  readonly timedOut?: boolean;
}

/**
 * Asserts a summary's counts, and that they add up to its results.
 *
 * @example
 * ```ts
 * assertCounts(summary, { total: 3, succeeded: 2, failed: 1, cancelled: 0 }, "run");
 * ```
 */
export function assertCounts(summary: RunSummary, expected: ExpectedCounts, what: string): void {
  const actual = {
    total: summary.totalSubmitted,
    succeeded: summary.succeeded,
    failed: summary.failed,
    cancelled: summary.cancelled,
    timedOut: summary.timedOut,
  };
  assert.deepEqual(actual, { timedOut: false, ...expected }, `${what}: summary counts`);
  assert.equal(summary.results.length, expected.total, `${what}: results in the summary`);
  assert.equal(
    summary.succeeded + summary.failed + summary.cancelled,
    summary.totalSubmitted,
    `${what}: counts add up`,
  );
}

/**
 * Collects what `onHookError` receives.
 *
 * @example
 * ```ts
 * const hookErrors = new HookErrors();
 * const q = new AsyncQueue({ onStart: () => { throw 1; }, onHookError: hookErrors.handler });
 * ```
 */
export class HookErrors {
  readonly seen: { error: unknown; hook: string }[] = [];
  readonly handler = (error: unknown, hook: string): void => {
    this.seen.push({ error, hook });
  };

  /** How many errors each hook reported. */
  byHook(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const { hook } of this.seen) counts[hook] = (counts[hook] ?? 0) + 1;
    return counts;
  }
}

/**
 * Replaces `console.error` while `body` runs and returns what was written
 * (the library's fallback report when `onHookError` itself throws).
 *
 * @example
 * ```ts
 * const lines = await captureConsoleError(async () => { … });
 * ```
 */
export async function captureConsoleError(body: () => Promise<void> | void): Promise<unknown[][]> {
  const original = console.error;
  const lines: unknown[][] = [];
  console.error = (...args: unknown[]) => void lines.push(args);
  try {
    await body();
  } finally {
    console.error = original;
  }
  return lines;
}

/** Lets pending promise jobs and `turns` timer turns run. */
export async function turns(count = 3): Promise<void> {
  for (let i = 0; i < count; i++) await new Promise((resolve) => setTimeout(resolve, 0));
}
