/**
 * What W3, W4 and W6 share: loading osiiso's ThreadQueue (lazily, so a
 * missing or broken backend turns only the `osiiso` rows into "n/a"), and
 * starting each peer pool the same way, on the same task module.
 *
 * @module
 */

import type { RunSummaryLike } from "../lib/osiiso.ts";
import { MinimalWorkerPool } from "../lib/minimal_worker_pool.ts";
import type * as Tasks from "../tasks.ts";

/** An export of a task module, as `taskModule()` names it (opaque here). */
export interface TaskReferenceLike {
  readonly url: string;
  readonly exportName: string;
}

/** The part of a thread or process queue the pool workloads use (see /mod.ts). */
export interface PoolQueueLike {
  start(): unknown;
  submit(task: TaskReferenceLike, args: unknown[]): PromiseLike<unknown>;
  run(): Promise<RunSummaryLike>;
  shutdown(options?: { force?: boolean }): Promise<void>;
}

/** A queue class taking `{ workers }`, as ThreadQueue and ProcessQueue do. */
export type PoolQueueClass = new (options: { workers: number }) => PoolQueueLike;

/** `taskModule` as the workloads call it. */
export type TaskModuleLike = <M>(url: URL) => { readonly [K in keyof M]: TaskReferenceLike };

/** The references W3–W6 submit: exports of `bench/tasks.ts`. */
export type BenchTasks = { readonly [K in keyof typeof Tasks]: TaskReferenceLike };

/**
 * Imports one of the pool queues and `taskModule`: from mod.ts when it
 * exports them, else from the backend's own file (while mod.ts does not yet).
 */
export async function loadQueue(
  exportName: "ThreadQueue" | "ProcessQueue",
  backendPath: string,
): Promise<{ Queue: PoolQueueClass; tasks: BenchTasks }> {
  // Computed specifiers keep `deno check bench/` from following the library
  // (see bench/lib/osiiso.ts for why).
  const root = new URL("../../", import.meta.url);
  const mod = await importOrExplain(new URL("mod.ts", root).href, "mod.ts");
  let Queue = mod[exportName];
  if (typeof Queue !== "function") {
    const backend = await importOrExplain(new URL(backendPath, root).href, backendPath);
    Queue = backend[exportName];
    if (typeof Queue !== "function") {
      throw new Error(`neither mod.ts nor ${backendPath} exports ${exportName}`);
    }
  }
  const taskModule = mod.taskModule as TaskModuleLike | undefined;
  if (typeof taskModule !== "function") throw new Error("mod.ts does not export taskModule");
  const tasks = taskModule<typeof Tasks>(new URL("../tasks.ts", import.meta.url));
  return { Queue: Queue as PoolQueueClass, tasks };
}

/** ThreadQueue and the bench task references. */
export function loadThreadQueue(): Promise<{ Queue: PoolQueueClass; tasks: BenchTasks }> {
  return loadQueue("ThreadQueue", "src/backends/thread_queue.ts");
}

async function importOrExplain(url: string, label: string): Promise<Record<string, unknown>> {
  try {
    return await import(url);
  } catch (error) {
    const text = error instanceof Error ? error.message : String(error);
    throw new Error(`cannot import ${label}: ${text.split("\n")[0]}`);
  }
}

/** A started pool of N workers, seen through one call: run a task, await its value. */
export interface PoolUnderTest {
  /** Runs `addPair`-style `add(a, b)` or `fib(n)` in a worker. */
  call(task: "add" | "fib", args: number[]): Promise<number>;
  /** Ends the workers. */
  close(): Promise<void>;
}

/** The osiiso pool when used one call at a time (W4, W6): `submit` on a started queue. */
export async function osiisoPool(workers: number): Promise<PoolUnderTest> {
  const { Queue, tasks } = await loadThreadQueue();
  const queue = new Queue({ workers });
  queue.start();
  return {
    call: (task, args) => queue.submit(tasks[task], args) as Promise<number>,
    close: () => queue.shutdown(),
  };
}

/** piscina (node:worker_threads) with exactly `workers` threads. */
export async function piscinaPool(workers: number): Promise<PoolUnderTest> {
  const { Piscina } = await import("piscina");
  const pool = new Piscina({
    filename: new URL("../lib/piscina_worker.ts", import.meta.url).href,
    minThreads: workers,
    maxThreads: workers,
  });
  return {
    call: (task, args) =>
      task === "add"
        ? pool.run(args, { name: "addPair" }) as Promise<number>
        : pool.run(args[0], { name: "fibOf" }) as Promise<number>,
    close: () => pool.destroy(),
  };
}

/** poolifier-web-worker's FixedThreadPool of `workers` Web Workers. */
export async function poolifierPool(workers: number): Promise<PoolUnderTest> {
  const { FixedThreadPool } = await import("poolifier-web-worker");
  const pool = new FixedThreadPool<[number, number] | number, number>(
    workers,
    new URL("../lib/poolifier_worker.ts", import.meta.url),
  );
  return {
    call: (task, args) =>
      task === "add"
        ? pool.execute(args as [number, number], "addPair")
        : pool.execute(args[0], "fibOf"),
    close: () => pool.destroy(),
  };
}

/** The hand-written pool; `window` tasks in flight per worker (1 = one round trip each). */
export function minimalPool(workers: number, window: number): Promise<PoolUnderTest> {
  const pool = new MinimalWorkerPool(workers, window);
  return Promise.resolve({
    call: (task, args) => pool.run(task, args) as Promise<number>,
    close: () => Promise.resolve(pool.terminate()),
  });
}
