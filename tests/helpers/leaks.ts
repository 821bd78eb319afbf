/**
 * Leak checks for tests: after each test, nothing the library started (timer,
 * worker, child process, listener) may still be alive. Neither runtime's
 * sanitizer covers `node:test`, so the library counts its own resources
 * (`src/core/resources.ts`) and these hooks read that ledger.
 *
 * @module
 */

import { after, afterEach, beforeEach } from "node:test";
import { liveResourceLabels, liveResources, type ResourceKind } from "../../src/core/resources.ts";

const KINDS: readonly ResourceKind[] = ["timers", "workers", "children", "listeners"];

/** How long a check waits for resources to go (workers terminate asynchronously). */
export const LEAK_SETTLE_MS = 500;

type Counts = Readonly<Record<ResourceKind, number>>;

function grown(now: Counts, baseline: Counts): ResourceKind[] {
  return KINDS.filter((kind) => now[kind] > baseline[kind]);
}

const NONE: Counts = { timers: 0, workers: 0, children: 0, listeners: 0 };

/**
 * Waits up to {@linkcode LEAK_SETTLE_MS} for the library's live resources to
 * fall back to `baseline` (by default: none), and throws a message naming
 * what is left otherwise.
 *
 * @example
 * ```ts
 * await q.shutdown();
 * await assertNoLeaks("after shutdown");
 * ```
 */
export async function assertNoLeaks(what = "the test", baseline: Counts = NONE): Promise<void> {
  const deadline = performance.now() + LEAK_SETTLE_MS;
  let now = liveResources();
  while (grown(now, baseline).length > 0 && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    now = liveResources();
  }
  const kinds = grown(now, baseline);
  if (kinds.length === 0) return;
  const counts = kinds.map((kind) => `${now[kind] - baseline[kind]} ${kind}`).join(", ");
  const labels = liveResourceLabels();
  throw new Error(
    `${what} left library resources alive after ${LEAK_SETTLE_MS}ms: ${counts}` +
      (labels.length > 0 ? ` (${labels.join("; ")})` : ""),
  );
}

/**
 * Registers hooks that fail a test which leaves a library timer, worker,
 * child or listener alive. Call it at the top of every `describe` block
 * (not at the top level of a file).
 *
 * Each test is compared with what was alive when it began, so one leaky
 * test does not fail the ones after it. Bun fails the leaky test itself;
 * Deno's `node:test` ignores errors thrown by `afterEach`, so the enclosing
 * `describe` also fails at its end, naming every leaky test.
 *
 * @example
 * ```ts
 * describe("AsyncQueue", () => {
 *   useLeakCheck();
 *   it("runs", async () => {
 *     await withQueue(() => new AsyncQueue(), async (q) => {
 *       q.submit(() => 1);
 *       await q.run();
 *     });
 *   });
 * });
 * ```
 */
export function useLeakCheck(): void {
  let baseline: Counts = NONE;
  const leaky: string[] = [];
  beforeEach(() => {
    baseline = liveResources();
  });
  afterEach(async (context?: { name?: string }) => {
    const name = context?.name ?? "a test";
    try {
      await assertNoLeaks(`test '${name}'`, baseline);
    } catch (error) {
      leaky.push(`${(error as Error).message}`);
      throw error;
    }
  });
  after(() => {
    if (leaky.length === 0) return;
    const found = leaky.splice(0);
    throw new Error(`${found.length} test(s) leaked library resources:\n  ${found.join("\n  ")}`);
  });
}

/** The part of a queue {@linkcode withQueue} needs. */
export interface ShutdownCapable {
  shutdown(options?: { force?: boolean }): Promise<void>;
  readonly activeCount: number;
  readonly pendingCount: number;
}

/**
 * Makes a queue, passes it to `fn`, and always force-shuts it down
 * afterwards (even when `fn` throws); then checks that no task is left
 * unsettled.
 *
 * @example
 * ```ts
 * const summary = await withQueue(() => new AsyncQueue(), async (q) => {
 *   q.submit(() => 1);
 *   return await q.run();
 * });
 * ```
 */
export async function withQueue<Q extends ShutdownCapable, R>(
  make: () => Q,
  fn: (queue: Q) => R | Promise<R>,
): Promise<R> {
  const queue = make();
  let result: R;
  try {
    result = await fn(queue);
  } finally {
    await queue.shutdown({ force: true });
  }
  if (queue.activeCount !== 0 || queue.pendingCount !== 0) {
    throw new Error(
      `queue still holds tasks after a forced shutdown: ${queue.activeCount} active, ${queue.pendingCount} pending`,
    );
  }
  return result;
}
