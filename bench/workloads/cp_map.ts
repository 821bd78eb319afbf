/**
 * CP-map: what a checkpoint costs a fast queue. The same 200,000-item `map`
 * of a trivial async task on an `AsyncQueue` of 16, with a checkpoint file
 * (every success recorded, the batches written once per burst and before
 * `run()` resolves) and without one. Submission is inside the timing.
 *
 * @module
 */

import { expectAllSucceeded, loadOsiiso, type RunSummaryLike } from "../lib/osiiso.ts";
import type { Measurement, Workload } from "../types.ts";

const ITEMS = 200_000;
const CONCURRENCY = 16;

// deno-lint-ignore require-await -- the workload is an async function that never waits
async function increment(i: number): Promise<number> {
  return i + 1;
}

interface CheckpointLike {
  count(namespace?: string): Promise<number>;
  close(): Promise<void>;
}

interface MapQueue {
  map(task: (i: number) => Promise<number>, items: number[], options?: object): unknown[];
  run(): Promise<RunSummaryLike>;
  shutdown(): Promise<void>;
}

interface Modules {
  AsyncQueue: new (options: { workers: number }) => MapQueue;
  Checkpoint: new (path: string) => CheckpointLike;
}

const { getBuiltinModule } = (globalThis as unknown as {
  process: { getBuiltinModule(id: string): unknown };
}).process;

interface FileSystem {
  mkdtempSync(prefix: string): string;
  rmSync(path: string, options: { recursive: boolean; force: boolean }): void;
}

/** One timed map, with a checkpoint file or without; tasks per second. */
async function timedMap(withCheckpoint: boolean): Promise<Measurement> {
  const { AsyncQueue, Checkpoint } = (await loadOsiiso()) as unknown as Modules;
  const fs = getBuiltinModule("node:fs") as FileSystem;
  const { tmpdir } = getBuiltinModule("node:os") as { tmpdir(): string };
  const dir = fs.mkdtempSync(`${tmpdir()}/osiiso-cp-map-`);
  const items = Array.from({ length: ITEMS }, (_, i) => i);
  try {
    const checkpoint = withCheckpoint ? new Checkpoint(`${dir}/map.db`) : undefined;
    const start = performance.now();
    const queue = new AsyncQueue({ workers: CONCURRENCY });
    queue.map(increment, items, checkpoint === undefined ? undefined : { checkpoint });
    const summary = await queue.run();
    const ms = performance.now() - start;
    expectAllSucceeded(summary, ITEMS);
    await queue.shutdown();
    if (checkpoint !== undefined) {
      const recorded = await checkpoint.count("increment");
      await checkpoint.close();
      if (recorded !== ITEMS) throw new Error(`expected ${ITEMS} records, found ${recorded}`);
    }
    return { value: (ITEMS / ms) * 1000, detail: { ms } };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** CP-map as the registry lists it. */
export const cpMap: Workload = {
  describe: `${ITEMS.toLocaleString("en-US")}-item map of a trivial async task, ` +
    `${CONCURRENCY} concurrent, with a checkpoint file against the same map without`,
  unit: "tasks/s",
  better: "higher",
  ours: "checkpoint",
  target: "with a checkpoint ≥ 0.5× the same map without",
  timeoutMs: 180_000,
  impls: {
    checkpoint: () => timedMap(true),
    "no checkpoint": () => timedMap(false),
  },
};
