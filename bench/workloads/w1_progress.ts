/**
 * W1-progress: W1 with the progress line forced on (drawn on the child's
 * stderr, a pipe) against the same run with it off, in CPU time: the line
 * must cost at most 3 %. CPU time, not wall time, because the line's
 * redraws and a noisy shared machine both show up in wall time.
 *
 * @module
 */

import { expectAllSucceeded, loadOsiiso } from "../lib/osiiso.ts";
import { cpuTimeMs } from "../lib/runtime.ts";
import type { Impl, Workload } from "../types.ts";

const TASKS = 200_000;
const CONCURRENCY = 16;

// deno-lint-ignore require-await -- the workload is an async function that never waits
async function increment(i: number): Promise<number> {
  return i + 1;
}

/** W1 with `progress` set to `mode`, in tasks per CPU-second. */
function withProgress(mode: boolean | "auto"): Impl {
  return async () => {
    const { AsyncQueue } = await loadOsiiso();
    const startCpu = cpuTimeMs();
    const start = performance.now();
    const queue = new AsyncQueue({ workers: CONCURRENCY, progress: mode });
    for (let i = 0; i < TASKS; i++) queue.submit(increment, [i]);
    const summary = await queue.run();
    const cpuMs = cpuTimeMs() - startCpu;
    const wallMs = performance.now() - start;
    expectAllSucceeded(summary, TASKS);
    await queue.shutdown();
    return { value: TASKS / cpuMs * 1000, detail: { cpuMs, wallMs } };
  };
}

/** W1-progress as the registry lists it. */
export const w1Progress: Workload = {
  describe: `W1 (${TASKS.toLocaleString("en-US")} trivial async tasks, ${CONCURRENCY} ` +
    `concurrent) with the progress line on vs off, per CPU-second`,
  unit: "tasks/CPU-s",
  better: "higher",
  ours: "progress on",
  target: "progress on ≥ 0.97× progress off (at most 3 % slower)",
  timeoutMs: 120_000,
  impls: {
    "progress on": withProgress(true),
    "progress off": withProgress(false),
    "default (auto)": withProgress("auto"),
  },
};
