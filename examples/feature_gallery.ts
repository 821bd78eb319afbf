/**
 * A runnable, offline tour of osiiso: every AsyncQueue feature, in the
 * order of the Python osiiso's feature gallery. Run it with `npm run demo`
 * (Deno) or `bun examples/feature_gallery.ts`.
 *
 * @module
 */

import {
  amap,
  asCompleted,
  AsyncQueue,
  CancelledError,
  ExecutionError,
  ManualClock,
  pmap,
  ProcessQueue,
  QueueFullError,
  run,
  type TaskContext,
  taskModule,
  ThreadQueue,
  tmap,
} from "../mod.ts";
import type * as GalleryTasks from "./gallery_tasks.ts";

const tasks = taskModule<typeof GalleryTasks>(new URL("./gallery_tasks.ts", import.meta.url));

/** Sleeps `ms`, or rejects as soon as `signal` aborts (so a cancelled task stops at once). */
const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(signal.reason);
    }, { once: true });
  });

async function asyncFetch(label: string, delay = 20): Promise<string> {
  await sleep(delay);
  return `async:${label}`;
}

async function asyncAdd(a: number, b: number): Promise<number> {
  await sleep(10);
  return a + b;
}

function heading(title: string): void {
  console.log(`\n=== ${title} ${"=".repeat(Math.max(0, 60 - title.length))}`);
}

async function basics(): Promise<void> {
  heading("AsyncQueue: submit, map, group, task, hooks");
  const events: string[] = [];
  const q = new AsyncQueue({
    workers: 3,
    onStart: (h) => void events.push(`start:${h.name}`),
    onComplete: (r) => void events.push(`done:${r.name}:${r.status}`),
    onRetry: (h, error) => void events.push(`retry:${h.name}:${String(error)}`),
  });
  const decorated = q.task((label: string) => asyncFetch(label), {
    retries: 1,
    retryDelay: 10,
    timeout: 1_000,
    name: "decorated-async",
  });
  q.submit(asyncFetch, ["urgent"], { priority: 0, mustComplete: true, name: "urgent-fetch" });
  q.map((label: string) => asyncFetch(label), ["map-a", "map-b"], {
    groupId: "mapped",
    priority: 2,
    name: "mapped-fetch",
  });
  q.group([[asyncAdd, 2, 3], [asyncFetch, "grouped"]], { groupId: "mixed" });
  decorated.submit(["decorator-call"], { priority: 1 });
  const summary = await q.run({ strict: true });
  summary.display();
  console.log("groups:", [...summary.byGroup().keys()]);
  console.log("first events:", events.slice(0, 6));

  heading("asCompleted: handles in completion order");
  q.reset();
  const handles = q.starmap(asyncFetch, [["slow", 40], ["fast", 10], ["mid", 20]]);
  q.start();
  const order: string[] = [];
  for await (const h of asCompleted(handles)) order.push(h.value());
  await q.shutdown();
  console.log(order); // ["async:fast", "async:mid", "async:slow"]
}

async function retriesAndTimeouts(): Promise<void> {
  heading("Retries with backoff, retryOn, timeouts that abort");
  let calls = 0;
  await using q = new AsyncQueue({ workers: 2 });
  const flaky = q.submit(async () => {
    calls++;
    if (calls < 3) throw new Error(`flaky attempt ${calls}`);
    return "recovered";
  }, { retries: 3, retryDelay: 5, backoff: 2, maxRetryDelay: 50, name: "flaky" });
  const picky = q.submit(async () => {
    throw new TypeError("not worth retrying");
  }, { retries: 5, retryOn: (error) => !(error instanceof TypeError), name: "picky" });
  const slow = q.submit(async (ctx: TaskContext) => {
    await new Promise((_, reject) =>
      ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason))
    );
  }, { bind: true, timeout: 30, name: "slow" });
  await q.run();
  const show = (
    name: string,
    r: { status: string; attempts: number; endedBy: unknown; message: string },
  ) =>
    console.log(
      `${name}: ${r.status} after ${r.attempts} attempt(s), ended by ${r.endedBy}` +
        (r.message === "" ? "" : ` (${r.message})`),
    );
  show("flaky", await flaky.wait());
  show("picky", await picky.wait());
  show("slow", await slow.wait());
}

async function policies(): Promise<void> {
  heading("failFirst, mustComplete, run timeout, cancel");
  const q = new AsyncQueue({ workers: 1, failPolicy: "failFirst" });
  q.submit(async () => {
    throw new Error("first failure");
  }, { name: "fails" });
  const protectedTask = q.submit(() => asyncFetch("protected", 10), { mustComplete: true });
  const ordinary = q.submit(() => asyncFetch("ordinary", 10));
  const summary = await q.run();
  console.log(
    `failed=${summary.failed} cancelled=${summary.cancelled}`,
    `protected=${protectedTask.status} ordinary=${ordinary.status}`,
  );

  const timed = new AsyncQueue({ workers: 2 });
  const important = timed.submit(() => asyncFetch("important", 30), { mustComplete: true });
  timed.submit((ctx: TaskContext) => sleep(10_000, ctx.signal), { name: "too-slow", bind: true });
  const cut = await timed.run({ timeout: 15 });
  console.log(`timedOut=${cut.timedOut} important=${await important}`);
  await timed.shutdown();

  const q2 = new AsyncQueue().start();
  const victim = q2.submit((ctx: TaskContext) => sleep(10_000, ctx.signal), {
    name: "victim",
    bind: true,
  });
  await sleep(5);
  victim.cancel();
  try {
    await victim;
  } catch (error) {
    console.log(`victim: ${error instanceof CancelledError ? "CancelledError" : error}`);
  }
  await q2.shutdown();
}

async function scheduling(): Promise<void> {
  heading("delay, runAt, priorities, rate limits (on a ManualClock)");
  const clock = new ManualClock();
  const order: string[] = [];
  const q = new AsyncQueue({ workers: 1, clock, rate: 2 });
  q.submit(() => order.push("later"), { delay: 5_000 });
  q.submit(() => order.push("low"), { priority: 9 });
  q.submit(() => order.push("high"), { priority: 1 });
  q.submit(() => order.push("at"), { runAt: clock.wallNow() + 2_000 });
  q.start();
  await clock.advance(10_000);
  console.log(order); // ["high", "low", "at", "later"]: rate 2/s spaces the starts 500 ms apart
  await q.shutdown();
}

async function boundsAndResults(): Promise<void> {
  heading("Bounded queue, detached tasks, metadata, results");
  const q = new AsyncQueue({ size: 2, workers: 2 });
  q.submit(() => asyncFetch("one"));
  q.submit(() => asyncFetch("two"));
  try {
    q.submit(() => asyncFetch("three"));
  } catch (error) {
    console.log(`third submit: ${error instanceof QueueFullError ? error.message : error}`);
  }
  q.start();
  await q.whenSpace();
  q.submit(() => "background", { detached: true });
  await q.whenSpace();
  q.submit(() => "tagged", { metadata: { source: "gallery" } });
  const summary = await q.run();
  console.log(`summary covers ${summary.totalSubmitted}; queue recorded ${q.results.length}`);
  console.log(`metadata: ${JSON.stringify(summary.results.find((r) => r.metadata)?.metadata)}`);
  console.log("stats:", q.stats);
  console.log("as JSON:", JSON.stringify(summary.toJSON().results[0]));
  await q.shutdown();
}

async function shortcutsAndScopes(): Promise<void> {
  heading("amap, scope(), ExecutionError");
  console.log(await amap(async (n: number) => n * 2, [3, 1, 2], { workers: 4 }));
  try {
    await amap(async (n: number) => {
      if (n === 2) throw new Error("two is bad");
      return n;
    }, [1, 2, 3]);
  } catch (error) {
    if (error instanceof ExecutionError) console.log(`amap: ${error.message}`);
  }
  const total = await new AsyncQueue().scope(async (q) => {
    const values = await Promise.all(q.map(async (n: number) => n * n, [1, 2, 3]));
    return values.reduce((a, b) => a + b, 0);
  });
  console.log(`scope total: ${total}`);
}

async function threads(): Promise<void> {
  heading("ThreadQueue: Web Workers, module tasks and inline functions");
  const q = new ThreadQueue({ workers: 3 });
  const flaky = q.submit(tasks.failOnce, ["gallery"], {
    retries: 1,
    retryDelay: 10,
    name: "flaky-thread",
  });
  q.map(tasks.blockingFetch, ["map-a", "map-b"], { groupId: "mapped", name: "mapped-thread" });
  const group = q.group([[tasks.blockingFetch, "grouped"], [tasks.add, 10, 5]], {
    groupId: "mixed",
  });
  q.submit(tasks.blockingFetch, ["delayed"], {
    delay: 10,
    priority: 0,
    mustComplete: true,
    name: "delayed-thread",
  });
  // A self-contained function is sent as source; one that used an outside
  // variable would fail with TaskSerializationError (use taskModule then).
  const inline = q.submit((n: number) => n.toString(2), [10], { name: "inline" });
  const summary = await q.run({ strict: true });
  console.log("group values:", await group.values()); // ["thread:grouped", 15]
  console.log(
    `flaky: ${flaky.value()} after ${flaky.attempts} attempts; inline: ${inline.value()}`,
  );
  console.log("workers used:", [...new Set(summary.results.map((r) => r.worker))].sort());
  summary.display();
  const timedOut = q.submit((ctx: TaskContext) => {
    // Cooperative: the signal aborts in the worker on timeout.
    return new Promise((_, reject) =>
      ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason))
    );
  }, { bind: true, timeout: 50, name: "stopped-in-worker" });
  await q.run();
  console.log(`timeout: ${timedOut.result().message}`);
  await q.shutdown();
  console.log("tmap:", await tmap(tasks.square, [1, 2, 3], { workers: 2 }));
}

async function processes(): Promise<void> {
  heading("ProcessQueue: persistent subprocesses");
  const q = new ProcessQueue({ workers: 2 });
  q.map(tasks.square, [2, 3, 4], { groupId: "squares", name: "square" });
  const group = q.group([[tasks.add, 20, 22], [tasks.square, 9]], { groupId: "mixed-process" });
  const pids = q.map(tasks.pid, [undefined, undefined, undefined, undefined] as never[]);
  const crash = q.submit(() => {
    // A hard crash takes only this task (and its child) down.
    (globalThis as unknown as { process: { exit(code: number): never } }).process.exit(13);
  }, { name: "crash" });
  const summary = await q.run();
  console.log("group values:", await group.values()); // [42, 81]
  console.log("child pids:", [...new Set(pids.map((h) => h.value()))].length, "distinct");
  console.log(`crash: ${crash.result().endedBy}: ${crash.result().message}`);
  console.log(`succeeded=${summary.succeeded} failed=${summary.failed}`);
  await q.shutdown();
  console.log("pmap:", await pmap(tasks.square, [5, 6], { workers: 2 }));
}

await run(async () => {
  await basics();
  await retriesAndTimeouts();
  await policies();
  await scheduling();
  await boundsAndResults();
  await shortcutsAndScopes();
  await threads();
  await processes();
  console.log("\nGallery finished.");
});
