/**
 * W3: 20,000 tiny tasks (`add(i, 1)`) over 2 Web Workers. Measures what a
 * pool costs per task: every task crosses to a worker and back. The pool is
 * started and warmed (2,000 tasks through it) before the clock starts, so
 * pool start is excluded here; W6 measures it. Submission is timed.
 *
 * @module
 */

import { expectValues } from "../lib/check.ts";
import { expectAllSucceeded } from "../lib/osiiso.ts";
import type { Measurement, Workload } from "../types.ts";
import {
  loadThreadQueue,
  minimalPool,
  piscinaPool,
  poolifierPool,
  type PoolUnderTest,
} from "./w3_pools.ts";

const TASKS = 20_000;
const WARMUP = 2_000;
const WORKERS = 2;
/** osiiso's default `maxInFlightPerWorker`, so the pipelined minimal pool holds as much. */
const PIPELINE_WINDOW = 32;

function expectedSum(count: number): number {
  // Sum of (i + 1) for i in [0, count).
  return (count * (count + 1)) / 2;
}

function throughput(start: number): Measurement {
  const ms = performance.now() - start;
  return { value: (TASKS / ms) * 1000, detail: { ms } };
}

async function batch(pool: PoolUnderTest, count: number): Promise<number[]> {
  const pending: Promise<number>[] = [];
  for (let i = 0; i < count; i++) pending.push(pool.call("add", [i, 1]));
  return await Promise.all(pending);
}

/** Runs the warm-up, then the timed batch, on a pool made by `open`. */
async function measurePool(open: () => Promise<PoolUnderTest>): Promise<Measurement> {
  const pool = await open();
  try {
    expectValues(await batch(pool, WARMUP), WARMUP, expectedSum(WARMUP));
    const start = performance.now();
    const values = await batch(pool, TASKS);
    const measurement = throughput(start);
    expectValues(values, TASKS, expectedSum(TASKS));
    return measurement;
  } finally {
    await pool.close();
  }
}

/** W3 as the registry lists it. */
export const w3ThreadTiny: Workload = {
  describe: `${TASKS.toLocaleString("en-US")} tiny tasks add(i, 1) over ${WORKERS} Web Workers ` +
    `(pool started and warmed with ${WARMUP.toLocaleString("en-US")} tasks before timing)`,
  unit: "tasks/s",
  better: "higher",
  ours: "osiiso",
  target: "osiiso ≥ 2× piscina and ≥ poolifier-web-worker on both runtimes",
  timeoutMs: 120_000,
  impls: {
    osiiso: async () => {
      const { Queue, tasks } = await loadThreadQueue();
      const queue = new Queue({ workers: WORKERS });
      try {
        for (let i = 0; i < WARMUP; i++) queue.submit(tasks.add, [i, 1]);
        expectAllSucceeded(await queue.run(), WARMUP);
        const start = performance.now();
        for (let i = 0; i < TASKS; i++) queue.submit(tasks.add, [i, 1]);
        const summary = await queue.run();
        const measurement = throughput(start);
        expectAllSucceeded(summary, TASKS);
        expectValues(summary.values, TASKS, expectedSum(TASKS));
        return measurement;
      } finally {
        await queue.shutdown();
      }
    },
    piscina: () => measurePool(() => piscinaPool(WORKERS)),
    "poolifier-web-worker": () => measurePool(() => poolifierPool(WORKERS)),
    minimal: () => measurePool(() => minimalPool(WORKERS, 1)),
    "minimal-pipelined": () => measurePool(() => minimalPool(WORKERS, PIPELINE_WINDOW)),
  },
};
