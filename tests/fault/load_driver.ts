/**
 * The load driver shared by `tests/fault/load_test.ts` (per-commit sizes)
 * and `bench/soak.ts` (`deno task soak`, the long mode): many tasks with
 * injected random failures, timeouts, flaky tasks that succeed on retry,
 * cancellations and random priorities, from a seeded generator so that the
 * expected counts are known exactly. It proves every handle settles exactly
 * once with the injected outcome, and measures peak RSS and the heap
 * retained per finished task.
 *
 * @module
 */

import type { TaskHandle, TaskQueue } from "../../mod.ts";
import type { FaultBackend } from "./backends.ts";
import { seededRandom } from "../helpers/random.ts";

/** What a load run injects. Rates are fractions of all tasks. */
export interface LoadPlan {
  readonly tasks: number;
  readonly workers: number;
  /** Tasks that throw. Default 0.10. */
  readonly failRate?: number;
  /** Tasks that never finish and hit their timeout. Default 0.05. */
  readonly timeoutRate?: number;
  /** Tasks that fail once and succeed on their retry. Default 0.02. */
  readonly flakyRate?: number;
  /** Tasks cancelled while queued. Default 0.01. */
  readonly cancelRate?: number;
  /** The per-task timeout of the timeout tasks, in ms. Default 5. */
  readonly timeoutMs?: number;
  /** Seed of the generator. Default 7. */
  readonly seed?: number;
  /** Submit while running through a bounded queue (`size`) and `whenSpace()`. */
  readonly bounded?: number;
}

/** What a load run found. */
export interface LoadReport {
  readonly backend: string;
  readonly mode: string;
  readonly tasks: number;
  /** Handles whose `onDone` ran exactly once. */
  readonly settled: number;
  /** Handles that never settled. */
  readonly lost: number;
  /** Handles that settled more than once. */
  readonly repeated: number;
  /** Handles whose outcome differs from the injected one. */
  readonly wrong: number;
  readonly injected: Readonly<Record<Kind, number>>;
  readonly expected: {
    readonly succeeded: number;
    readonly failed: number;
    readonly cancelled: number;
  };
  readonly summary: {
    readonly total: number;
    readonly succeeded: number;
    readonly failed: number;
    readonly cancelled: number;
    readonly timedOut: boolean;
  };
  /** `onComplete` calls. */
  readonly completions: number;
  /** Results the queue holds after the run. */
  readonly results: number;
  /** Highest resident set size seen, in bytes. */
  readonly peakRss: number;
  /** Heap growth from before the queue to after the run (queue, results and summary alive), per task. */
  readonly bytesPerTask: number;
  readonly seconds: number;
  /** Most outstanding tasks seen at once (bounded mode: must stay within `size`). */
  readonly peakOutstanding: number;
}

/** The outcome a task is set up to have. */
export type Kind = "ok" | "fail" | "timeout" | "flaky" | "cancel";
const KINDS: readonly Kind[] = ["ok", "fail", "timeout", "flaky", "cancel"];

interface BunLike {
  gc(force: boolean): void;
}

let gcFunction: (() => void) | undefined;

/**
 * A full garbage collection on either runtime: `gc()` when exposed
 * (`--expose-gc`), `Bun.gc(true)` on Bun, else V8's flag set at run time.
 */
export async function collectGarbage(): Promise<void> {
  if (gcFunction === undefined) {
    const exposed = (globalThis as { gc?: () => void }).gc;
    const bun = (globalThis as { Bun?: BunLike }).Bun;
    if (typeof exposed === "function") gcFunction = exposed;
    else if (bun !== undefined) gcFunction = () => bun.gc(true);
    else {
      const v8 = await import("node:v8");
      const vm = await import("node:vm");
      v8.setFlagsFromString("--expose-gc");
      gcFunction = vm.runInNewContext("gc") as () => void;
    }
  }
  // Two passes: the first may only queue finalizers that free more on the second.
  gcFunction();
  gcFunction();
}

async function settledHeap(): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, 0));
  await collectGarbage();
  return process.memoryUsage().heapUsed;
}

/**
 * Runs `plan` on a fresh queue of `backend` and reports what happened. It
 * throws only if the run itself throws; the caller asserts on the report.
 *
 * @example
 * ```ts
 * const report = await runLoad(faultBackends()[0], { tasks: 10_000, workers: 64 });
 * console.log(report.lost); // 0
 * ```
 */
export async function runLoad(backend: FaultBackend, plan: LoadPlan): Promise<LoadReport> {
  const n = plan.tasks;
  const random = seededRandom(plan.seed ?? 7);
  const failRate = plan.failRate ?? 0.1;
  const timeoutRate = plan.timeoutRate ?? 0.05;
  const flakyRate = plan.flakyRate ?? 0.02;
  const cancelRate = plan.cancelRate ?? 0.01;
  const timeoutMs = plan.timeoutMs ?? 5;

  // Everything the driver keeps per task is allocated before the heap baseline.
  const kinds = new Uint8Array(n);
  const priorities = new Uint8Array(n);
  const calls = new Uint8Array(n);
  const wrong = new Uint8Array(n);
  const injected: Record<Kind, number> = { ok: 0, fail: 0, timeout: 0, flaky: 0, cancel: 0 };
  for (let i = 0; i < n; i++) {
    const r = random();
    const kind = r < failRate
      ? 1
      : r < failRate + timeoutRate
      ? 2
      : r < failRate + timeoutRate + flakyRate
      ? 3
      : r < failRate + timeoutRate + flakyRate + cancelRate
      ? 4
      : 0;
    kinds[i] = kind;
    injected[KINDS[kind]]++;
    priorities[i] = Math.floor(random() * 10);
  }
  const cancelLater: TaskHandle<unknown>[] = [];
  cancelLater.length = injected.cancel;
  cancelLater.length = 0;

  const t = backend.tasks;
  // One options object per kind and priority, made once: what a program
  // reusing its options does, and no per-task garbage from the driver.
  const optionsFor: Record<string, unknown>[][] = KINDS.map((kind) =>
    Array.from({ length: 10 }, (_, priority) => {
      if (kind === "timeout") return { priority, timeout: timeoutMs, bind: backend.pooled };
      if (kind === "flaky") return { priority, bind: true, retries: 1 };
      return { priority };
    })
  );

  let peakRss = process.memoryUsage().rss;
  let completions = 0;
  const sampleRss = () => {
    const rss = process.memoryUsage().rss;
    if (rss > peakRss) peakRss = rss;
  };
  const sampler = setInterval(sampleRss, 100);
  const heapBefore = await settledHeap();
  const started = performance.now();

  let queue: TaskQueue | undefined = backend.make({
    workers: plan.workers,
    size: plan.bounded ?? 0,
    // A producer that submits while running needs a run that waits for shutdown().
    mode: plan.bounded === undefined ? "finite" : "infinite",
    onComplete: () => {
      if ((++completions & 4095) === 0) sampleRss();
    },
  });
  const q = queue;
  let peakOutstanding = 0;

  const submitOne = (i: number): void => {
    const kind = kinds[i];
    const options = optionsFor[kind][priorities[i]] as never;
    let handle: TaskHandle<unknown>;
    switch (kind) {
      case 1:
        handle = q.submit(t.boom, [i], options);
        break;
      case 2:
        handle = backend.pooled
          ? q.submit(t.sleepAbortable, [60_000], options)
          : q.submit(t.hang, [], options);
        break;
      case 3:
        handle = q.submit(t.flaky, [1, i], options);
        break;
      default:
        handle = q.submit(t.increment, [i], options);
    }
    if (kind === 4) cancelLater.push(handle);
    handle.onDone((h) => {
      calls[i]++;
      const result = h.result();
      let right: boolean;
      switch (kind) {
        case 0:
        case 3:
          right = result.status === "succeeded" && result.value === i + 1 &&
            result.attempts === (kind === 3 ? 2 : 1);
          break;
        case 1:
          right = result.status === "failed" && result.message === `load failure ${i}`;
          break;
        case 2:
          right = result.status === "failed" && result.endedBy === "timeout";
          break;
        default:
          right = result.status === "cancelled";
      }
      if (!right) wrong[i] = 1;
    });
  };

  let summary;
  if (plan.bounded === undefined) {
    for (let i = 0; i < n; i++) submitOne(i);
    const running = q.run();
    // run() has started the queue; dispatch waits for a microtask, so these are still queued.
    for (const handle of cancelLater) handle.cancel();
    summary = await running;
  } else {
    // A producer that submits while the queue runs, waiting for space.
    const running = q.run();
    let nextCancel = 0;
    for (let i = 0; i < n; i++) {
      if (q.activeCount + q.pendingCount >= plan.bounded) await q.whenSpace();
      submitOne(i);
      const outstanding = q.activeCount + q.pendingCount;
      if (outstanding > peakOutstanding) peakOutstanding = outstanding;
      // Cancel each cancel-kind task as soon as it is queued.
      while (nextCancel < cancelLater.length) cancelLater[nextCancel++].cancel();
    }
    await q.shutdown();
    summary = await running;
  }
  const seconds = (performance.now() - started) / 1_000;
  sampleRss();
  const heapAfter = await settledHeap();
  clearInterval(sampler);
  sampleRss();
  const results = q.results.length;
  const summaryCounts = {
    total: summary.totalSubmitted,
    succeeded: summary.succeeded,
    failed: summary.failed,
    cancelled: summary.cancelled,
    timedOut: summary.timedOut,
  };
  await q.shutdown({ force: true });
  queue = undefined;
  void queue;

  let settled = 0;
  let lost = 0;
  let repeated = 0;
  let wrongCount = 0;
  for (let i = 0; i < n; i++) {
    if (calls[i] === 1) settled++;
    else if (calls[i] === 0) lost++;
    else repeated++;
    wrongCount += wrong[i];
  }
  return {
    backend: backend.name,
    mode: plan.bounded === undefined ? "all at once" : `bounded (size ${plan.bounded})`,
    tasks: n,
    settled,
    lost,
    repeated,
    wrong: wrongCount,
    injected,
    expected: {
      succeeded: injected.ok + injected.flaky,
      failed: injected.fail + injected.timeout,
      cancelled: injected.cancel,
    },
    summary: summaryCounts,
    completions,
    results,
    peakRss,
    bytesPerTask: (heapAfter - heapBefore) / n,
    seconds,
    peakOutstanding,
  };
}

/** One line of figures for a report. */
export function formatLoadReport(report: LoadReport): string {
  const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
  return `${report.backend} ${report.mode}: ${report.tasks} tasks, ${report.settled} settled, ` +
    `${report.lost} lost, ${report.repeated} repeated, ${report.wrong} wrong; summary ` +
    `${report.summary.succeeded}/${report.summary.failed}/${report.summary.cancelled} ` +
    `(expected ${report.expected.succeeded}/${report.expected.failed}/${report.expected.cancelled}); ` +
    `peak RSS ${mib(report.peakRss)}, ${report.bytesPerTask.toFixed(0)} B/task retained, ` +
    `${report.seconds.toFixed(1)} s`;
}
