/**
 * W5: ProcessQueue against a hand-written pool of persistent children on
 * the same runtime (see bench/lib/minimal_process_pool.ts), 2 children,
 * tiny tasks `add(i, 1)`. Three tables:
 *
 * - `W5`: 20,000 tasks, after a warm-up of 2,000 (pool start excluded);
 * - `W5-200`: batches of 200 tasks on a warmed pool, median of 20 batches;
 * - `W5-cold`: pool creation to the first result of one task.
 *
 * @module
 */

import { expectValues } from "../lib/check.ts";
import { MinimalProcessPool } from "../lib/minimal_process_pool.ts";
import { median } from "../lib/report.ts";
import { expectAllSucceeded } from "../lib/osiiso.ts";
import type { Measurement, Workload } from "../types.ts";
import { loadQueue, type PoolQueueLike, type TaskReferenceLike } from "./w3_pools.ts";

const CHILDREN = 2;
const TASKS = 20_000;
const SMALL = 200;
const SMALL_BATCHES = 20;
const WARMUP = 2_000;
/** osiiso's default `maxInFlightPerWorker`, so the minimal pool holds as much per child. */
const PIPELINE_WINDOW = 32;

function expectedSum(count: number): number {
  // Sum of (i + 1) for i in [0, count).
  return (count * (count + 1)) / 2;
}

/** Something that runs a batch of `add(i, 1)` and returns the values. */
type BatchRunner = (count: number) => Promise<readonly unknown[]>;

/** A warmed pool: a batch runner plus how to close it. */
interface OpenPool {
  readonly batch: BatchRunner;
  readonly close: () => Promise<void>;
}

function loadProcessQueue(): ReturnType<typeof loadQueue> {
  return loadQueue("ProcessQueue", "src/backends/process_queue.ts");
}

function osiisoBatch(queue: PoolQueueLike, add: TaskReferenceLike): BatchRunner {
  return async (count) => {
    for (let i = 0; i < count; i++) queue.submit(add, [i, 1]);
    const summary = await queue.run();
    expectAllSucceeded(summary, count);
    return summary.values;
  };
}

async function openOsiiso(): Promise<OpenPool> {
  const { Queue, tasks } = await loadProcessQueue();
  const queue = new Queue({ workers: CHILDREN });
  return { batch: osiisoBatch(queue, tasks.add), close: () => queue.shutdown() };
}

function openMinimal(): Promise<OpenPool> {
  const pool = new MinimalProcessPool(CHILDREN, PIPELINE_WINDOW);
  return Promise.resolve({
    batch: (count) => Promise.all(Array.from({ length: count }, (_, i) => pool.run("add", [i, 1]))),
    close: () => pool.close(),
  });
}

async function timedBatch(batch: BatchRunner, count: number): Promise<number> {
  const start = performance.now();
  const values = await batch(count);
  const ms = performance.now() - start;
  expectValues(values, count, expectedSum(count));
  return ms;
}

async function bulk(open: () => Promise<OpenPool>): Promise<Measurement> {
  const pool = await open();
  try {
    await timedBatch(pool.batch, WARMUP);
    const ms = await timedBatch(pool.batch, TASKS);
    return { value: (TASKS / ms) * 1000, detail: { ms } };
  } finally {
    await pool.close();
  }
}

async function smallBatches(open: () => Promise<OpenPool>): Promise<Measurement> {
  const pool = await open();
  try {
    await timedBatch(pool.batch, WARMUP);
    const times: number[] = [];
    for (let round = 0; round < SMALL_BATCHES; round++) {
      times.push(await timedBatch(pool.batch, SMALL));
    }
    const ms = median(times) as number;
    return { value: (SMALL / ms) * 1000, detail: { medianMs: ms, minMs: Math.min(...times) } };
  } finally {
    await pool.close();
  }
}

async function coldStart(open: () => Promise<OpenPool>): Promise<Measurement> {
  const start = performance.now();
  const pool = await open();
  try {
    const ms = await timedBatch(pool.batch, 1);
    return { value: performance.now() - start, detail: { firstBatchMs: ms } };
  } finally {
    await pool.close();
  }
}

const target = "osiiso ≥ 0.7× minimal on the same runtime";

/** W5 (20,000 tasks) as the registry lists it. */
export const w5ProcessTiny: Workload = {
  describe: `ProcessQueue: ${TASKS.toLocaleString("en-US")} tiny tasks add(i, 1) over ` +
    `${CHILDREN} children (pool started and warmed with ${WARMUP.toLocaleString("en-US")} ` +
    `tasks before timing)`,
  unit: "tasks/s",
  better: "higher",
  ours: "osiiso",
  target,
  timeoutMs: 120_000,
  impls: {
    osiiso: () => bulk(openOsiiso),
    minimal: () => bulk(openMinimal),
  },
};

/** W5-200 (small batches) as the registry lists it. */
export const w5ProcessSmall: Workload = {
  describe: `ProcessQueue: batches of ${SMALL} tiny tasks over ${CHILDREN} warmed children ` +
    `(median of ${SMALL_BATCHES} batches per process)`,
  unit: "tasks/s",
  better: "higher",
  ours: "osiiso",
  target,
  timeoutMs: 120_000,
  impls: {
    osiiso: () => smallBatches(openOsiiso),
    minimal: () => smallBatches(openMinimal),
  },
};

/** W5-cold (pool start to first result) as the registry lists it. */
export const w5ProcessCold: Workload = {
  describe: `ProcessQueue: pool of ${CHILDREN} children created → first result of one task`,
  unit: "ms",
  better: "lower",
  ours: "osiiso",
  target,
  timeoutMs: 60_000,
  formatCell: (ms) => ms.toFixed(1),
  impls: {
    osiiso: async () => {
      // Import the library before the clock starts, as the minimal pool's code is.
      await loadProcessQueue();
      return await coldStart(openOsiiso);
    },
    minimal: () => coldStart(openMinimal),
  },
};
