/**
 * MEM: heap retained per finished task while the queue and its results stay
 * alive (an AsyncQueue keeps every TaskResult until `clearResults()`).
 *
 * @module
 */

import { expectAllSucceeded, loadOsiiso } from "../lib/osiiso.ts";
import { collectGarbage, heapUsed } from "../lib/runtime.ts";
import type { Workload } from "../types.ts";

const TASKS = 200_000;
const WARM_UP_TASKS = 1_000;
const CONCURRENCY = 16;

// deno-lint-ignore require-await -- the workload is an async function that never waits
async function increment(i: number): Promise<number> {
  return i + 1;
}

function settledHeap(): number {
  // Two passes: the first may only queue finalizers that free more on the second.
  collectGarbage();
  collectGarbage();
  return heapUsed();
}

/** MEM as the registry lists it. */
export const memRetained: Workload = {
  describe: `heap retained per finished task, ${TASKS.toLocaleString("en-US")} trivial tasks ` +
    `kept with their queue`,
  unit: "B/task",
  better: "lower",
  ours: "osiiso",
  target: "≤ 1 KiB (1,024 B) retained per finished task",
  timeoutMs: 120_000,
  denoFlags: ["--v8-flags=--expose-gc"],
  formatCell: (bytes) => bytes.toFixed(0),
  impls: {
    osiiso: async () => {
      const { AsyncQueue } = await loadOsiiso();
      // A small run first, so compiled code and lazily built structures land
      // in the baseline rather than in the per-task figure.
      const warmUp = new AsyncQueue({ workers: CONCURRENCY });
      for (let i = 0; i < WARM_UP_TASKS; i++) warmUp.submit(increment, [i]);
      expectAllSucceeded(await warmUp.run(), WARM_UP_TASKS);
      await warmUp.shutdown();

      const before = settledHeap();
      const queue = new AsyncQueue({ workers: CONCURRENCY });
      for (let i = 0; i < TASKS; i++) queue.submit(increment, [i]);
      const summary = await queue.run();
      const after = settledHeap();
      // Read both after measuring so neither can be collected before it.
      expectAllSucceeded(summary, TASKS);
      const kept = summary.results.length;
      await queue.shutdown();
      return {
        value: (after - before) / TASKS,
        detail: { heapBefore: before, heapAfter: after, keptResults: kept },
      };
    },
  },
};
