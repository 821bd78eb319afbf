/**
 * W6-runs: a program that calls `run()` in a loop. Ten finite runs of 100
 * tiny tasks (`add`) each on one 2-worker ThreadQueue, timed from before the
 * queue is made to the last summary. Started with `start()`, the queue keeps
 * its workers across the runs; the "not started" row shows what each run
 * costs when its end lets the workers go (Deno: a Web Worker there cannot be
 * unreferenced, so an unstarted queue's finite run ends its workers).
 *
 * @module
 */

import type { Measurement, Workload } from "../types.ts";
import { loadThreadQueue } from "./w3_pools.ts";

const RUNS = 10;
const TASKS_PER_RUN = 100;
const WORKERS = 2;

async function tenRuns(startFirst: boolean): Promise<Measurement> {
  const { Queue, tasks } = await loadThreadQueue();
  const start = performance.now();
  const queue = new Queue({ workers: WORKERS });
  try {
    if (startFirst) queue.start();
    for (let run = 0; run < RUNS; run++) {
      for (let i = 0; i < TASKS_PER_RUN; i++) queue.submit(tasks.add, [i, 1]);
      const summary = await queue.run();
      if (summary.succeeded !== TASKS_PER_RUN) {
        throw new Error(`run ${run}: ${summary.succeeded} of ${TASKS_PER_RUN} succeeded`);
      }
    }
    return { value: performance.now() - start };
  } finally {
    await queue.shutdown();
  }
}

/** W6-runs as the registry lists it. */
export const w6ThreadRuns: Workload = {
  describe: `${RUNS} run()s of ${TASKS_PER_RUN} tiny tasks on one ${WORKERS}-worker ThreadQueue`,
  unit: "ms",
  better: "lower",
  ours: "osiiso",
  target: "started: no worker boot after the first run, on Deno and Bun",
  timeoutMs: 60_000,
  formatCell: (ms) => ms.toFixed(1),
  impls: {
    osiiso: () => tenRuns(true),
    "osiiso, not started": () => tenRuns(false),
  },
};
