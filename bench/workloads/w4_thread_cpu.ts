/**
 * W4: CPU-bound work on 1 and on 2 Web Workers: 64 × fib(30), about 1–2 s on
 * one worker. The figure is the speed-up (1-worker time / 2-worker time),
 * both measured in the same process on fresh, warmed pools; the times are
 * in the JSON detail. It can only approach 2× on a machine with 2 idle cores.
 *
 * @module
 */

import { expectValues } from "../lib/check.ts";
import { expectAllSucceeded } from "../lib/osiiso.ts";
import { fib } from "../tasks.ts";
import type { Measurement, Workload } from "../types.ts";
import {
  loadThreadQueue,
  minimalPool,
  piscinaPool,
  poolifierPool,
  type PoolUnderTest,
} from "./w3_pools.ts";

const TASKS = 64;
const N = 30;
const WARMUP_N = 20;
const FIB_N = fib(N);
const FIB_WARMUP = fib(WARMUP_N);

/** Times the batch on 1 worker, then on 2; `timeOn(workers)` returns ms. */
async function speedUp(timeOn: (workers: number) => Promise<number>): Promise<Measurement> {
  const ms1 = await timeOn(1);
  const ms2 = await timeOn(2);
  return { value: ms1 / ms2, detail: { ms1, ms2 } };
}

async function timePool(open: () => Promise<PoolUnderTest>, workers: number): Promise<number> {
  const pool = await open();
  try {
    // Warm every worker (start, module load, JIT) before timing.
    const warm = await Promise.all(
      Array.from({ length: 4 * workers }, () => pool.call("fib", [WARMUP_N])),
    );
    expectValues(warm, 4 * workers, 4 * workers * FIB_WARMUP);
    const start = performance.now();
    const values = await Promise.all(
      Array.from({ length: TASKS }, () => pool.call("fib", [N])),
    );
    const ms = performance.now() - start;
    expectValues(values, TASKS, TASKS * FIB_N);
    return ms;
  } finally {
    await pool.close();
  }
}

async function timeOsiiso(workers: number): Promise<number> {
  const { Queue, tasks } = await loadThreadQueue();
  const queue = new Queue({ workers });
  try {
    for (let i = 0; i < 4 * workers; i++) queue.submit(tasks.fib, [WARMUP_N]);
    expectAllSucceeded(await queue.run(), 4 * workers);
    const start = performance.now();
    for (let i = 0; i < TASKS; i++) queue.submit(tasks.fib, [N]);
    const summary = await queue.run();
    const ms = performance.now() - start;
    expectAllSucceeded(summary, TASKS);
    expectValues(summary.values, TASKS, TASKS * FIB_N);
    return ms;
  } finally {
    await queue.shutdown();
  }
}

/** W4 as the registry lists it. */
export const w4ThreadCpu: Workload = {
  describe: `${TASKS} × fib(${N}) on 1 vs 2 Web Workers: speed-up of 2 workers ` +
    `(pools warmed before timing; ${navigator.hardwareConcurrency} CPUs)`,
  unit: "× speed-up",
  better: "higher",
  ours: "osiiso",
  target: "osiiso ≥ 1.9× (needs 2 idle cores)",
  timeoutMs: 180_000,
  formatCell: (value) => `${value.toFixed(2)}×`,
  impls: {
    osiiso: () => speedUp(timeOsiiso),
    piscina: () => speedUp((workers) => timePool(() => piscinaPool(workers), workers)),
    "poolifier-web-worker": () =>
      speedUp((workers) => timePool(() => poolifierPool(workers), workers)),
    minimal: () => speedUp((workers) => timePool(() => minimalPool(workers, 1), workers)),
  },
};
