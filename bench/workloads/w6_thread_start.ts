/**
 * W6: pool start to first result. Each pool is created with 1 worker, sent
 * one tiny task (`add(1, 2)`), and the clock stops when its value is back;
 * the baseline is a bare `new Worker` doing the same round trip. Imports are
 * done before the clock starts; closing the pool is not timed.
 *
 * @module
 */

import type { Measurement, Workload } from "../types.ts";
import { loadThreadQueue, piscinaPool, poolifierPool, type PoolUnderTest } from "./w3_pools.ts";

function expectThree(value: unknown): void {
  if (value !== 3) throw new Error(`wrong result: ${String(value)}, expected 3`);
}

async function firstResult(open: () => Promise<PoolUnderTest>): Promise<Measurement> {
  const start = performance.now();
  const pool = await open();
  try {
    const value = await pool.call("add", [1, 2]);
    const ms = performance.now() - start;
    expectThree(value);
    return { value: ms };
  } finally {
    await pool.close();
  }
}

/** W6 as the registry lists it. */
export const w6ThreadStart: Workload = {
  describe: "pool start → first result: a 1-worker pool runs add(1, 2) once",
  unit: "ms",
  better: "lower",
  ours: "osiiso",
  target: "osiiso ≤ 10 ms over bare Worker on the same runtime",
  timeoutMs: 60_000,
  formatCell: (ms) => ms.toFixed(1),
  impls: {
    osiiso: async () => {
      const { Queue, tasks } = await loadThreadQueue();
      const start = performance.now();
      const queue = new Queue({ workers: 1 });
      try {
        queue.start();
        const value = await queue.submit(tasks.add, [1, 2]);
        const ms = performance.now() - start;
        expectThree(value);
        return { value: ms };
      } finally {
        await queue.shutdown();
      }
    },
    "bare Worker": async () => {
      const start = performance.now();
      const worker = new Worker(new URL("../lib/minimal_worker.ts", import.meta.url), {
        type: "module",
      });
      try {
        const reply = new Promise<[number, boolean, unknown]>((resolve, reject) => {
          worker.addEventListener("message", (event) => resolve(event.data), { once: true });
          worker.addEventListener("error", (event) => {
            event.preventDefault();
            reject(event.error ?? new Error(event.message));
          });
        });
        worker.postMessage([0, "add", [1, 2]]);
        const [, , value] = await reply;
        const ms = performance.now() - start;
        expectThree(value);
        return { value: ms };
      } finally {
        worker.terminate();
      }
    },
    piscina: async () => {
      await import("piscina");
      return await firstResult(() => piscinaPool(1));
    },
    "poolifier-web-worker": async () => {
      await import("poolifier-web-worker");
      return await firstResult(() => poolifierPool(1));
    },
  },
};
