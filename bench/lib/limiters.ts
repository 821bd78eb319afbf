/**
 * The four limiters W1 and W2 compare (osiiso's AsyncQueue, p-limit, p-queue
 * and the bare baseline), each running the same async task over the same
 * indices with the same concurrency, submission inside the timing.
 *
 * @module
 */

import { BareQueue } from "./bare_queue.ts";
import { expectValues } from "./check.ts";
import { expectAllSucceeded, loadOsiiso } from "./osiiso.ts";
import type { Impl, Measurement } from "../types.ts";

/** What one limiter workload runs and how it is measured. */
export interface LimiterRun {
  /** The task, called with each index in [0, count). */
  readonly task: (i: number) => Promise<number>;
  /** How many tasks. */
  readonly count: number;
  /** How many may run at once. */
  readonly concurrency: number;
  /** The sum of the values every correct run returns. */
  readonly expectedSum: number;
  /** Turns the start time (`performance.now()`) into the measurement, at the end. */
  readonly measure: (start: number) => Measurement;
}

/**
 * The idiom most users write first: `await Promise.all(items.map((i) =>
 * q.submit(task, [i])))` on a started infinite queue, each handle awaited;
 * against p-limit, whose own way is the same idiom.
 */
export function awaitedImpls(run: LimiterRun): Record<string, Impl> {
  const { task, count, concurrency, expectedSum, measure } = run;
  return {
    osiiso: async () => {
      const { AsyncQueue } = await loadOsiiso();
      const indices = Array.from({ length: count }, (_, i) => i);
      const start = performance.now();
      const queue = new AsyncQueue({ workers: concurrency, mode: "infinite" }).start();
      const values = await Promise.all(indices.map((i) => queue.submit(task, [i])));
      const measurement = measure(start);
      expectValues(values, count, expectedSum);
      await queue.shutdown();
      return measurement;
    },
    // p-limit's way is this idiom already: W1's p-limit row, run again in this table.
    "p-limit": limiterImpls(run)["p-limit"],
  };
}

/** The four implementations of `run`, by the names the tables use. */
export function limiterImpls(run: LimiterRun): Record<string, Impl> {
  const { task, count, concurrency, expectedSum, measure } = run;
  return {
    osiiso: async () => {
      const { AsyncQueue } = await loadOsiiso();
      const start = performance.now();
      const queue = new AsyncQueue({ workers: concurrency });
      for (let i = 0; i < count; i++) queue.submit(task, [i]);
      const summary = await queue.run();
      const measurement = measure(start);
      expectAllSucceeded(summary, count);
      expectValues(summary.values, count, expectedSum);
      await queue.shutdown();
      return measurement;
    },
    "p-limit": async () => {
      const { default: pLimit } = await import("p-limit");
      const start = performance.now();
      const limit = pLimit(concurrency);
      const pending: Promise<number>[] = [];
      for (let i = 0; i < count; i++) pending.push(limit(task, i));
      const values = await Promise.all(pending);
      const measurement = measure(start);
      expectValues(values, count, expectedSum);
      return measurement;
    },
    "p-queue": async () => {
      const { default: PQueue } = await import("p-queue");
      const start = performance.now();
      const queue = new PQueue({ concurrency });
      const jobs: (() => Promise<number>)[] = [];
      for (let i = 0; i < count; i++) jobs.push(() => task(i));
      const values = await queue.addAll(jobs);
      const measurement = measure(start);
      expectValues(values, count, expectedSum);
      return measurement;
    },
    bare: async () => {
      const start = performance.now();
      const queue = new BareQueue<number, number>(concurrency);
      for (let i = 0; i < count; i++) queue.submit(task, i);
      await queue.run();
      const measurement = measure(start);
      expectValues(queue.results, count, expectedSum);
      return measurement;
    },
  };
}
