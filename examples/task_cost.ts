/**
 * How long a task must be for `ThreadQueue` to pay off: the same CPU-bound
 * task (0.1–10 ms of arithmetic, measured on this thread first) run as one batch on an `AsyncQueue` (the
 * calling thread) and on a `ThreadQueue` of 2 workers, with the wall time of
 * each and the speed-up (the best of 3 tries). The batch is sized to about
 * 400 ms of work; the thread pool is started and warmed before it is timed.
 *
 * Run: `deno run -A examples/task_cost.ts` or `bun examples/task_cost.ts`.
 *
 * @module
 */

import { AsyncQueue, type TaskQueue, ThreadQueue } from "../mod.ts";

/**
 * A fixed amount of CPU work: `rounds` steps of a xorshift generator
 * (self-contained: it is sent to workers as source). Work, not wall time, so
 * that two threads sharing one core show no gain.
 */
function churn(rounds: number): number {
  let x = 2463534242;
  for (let i = 0; i < rounds; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
  }
  return x >>> 0;
}

/** How many rounds of `churn` take 1 ms here (the best of several tries). */
function roundsPerMs(): number {
  const rounds = 2_000_000;
  let best = Infinity;
  for (let i = 0; i < 7; i++) {
    const started = performance.now();
    churn(rounds);
    best = Math.min(best, performance.now() - started);
  }
  return rounds / best;
}

const COSTS_MS = [0.1, 0.25, 0.5, 1, 1.5, 2, 5, 10];
const WORK_MS = 400;
const runtime = "Bun" in globalThis ? "Bun" : "Deno";

const TRIES = 3;

/** Wall time of `count` tasks of `rounds` each on `q`, in ms (the best of a few tries). */
async function timeBatch(q: TaskQueue, rounds: number, count: number): Promise<number> {
  let best = Infinity;
  for (let i = 0; i < TRIES; i++) {
    const started = performance.now();
    q.map(churn, Array.from({ length: count }, () => rounds));
    const summary = await q.run({ strict: true });
    if (summary.succeeded !== count) throw new Error(`${summary.succeeded} of ${count} succeeded`);
    best = Math.min(best, performance.now() - started);
  }
  return best;
}

const rows: string[] = [];
const asyncQueue = new AsyncQueue({ workers: 2 });
const threadQueue = new ThreadQueue({ workers: 2 }).start();
const perMs = roundsPerMs();
try {
  await timeBatch(threadQueue, Math.round(perMs), 20); // boot and warm both workers
  for (const cost of COSTS_MS) {
    const count = Math.round(WORK_MS / cost);
    const rounds = Math.round(cost * perMs);
    const asyncMs = await timeBatch(asyncQueue, rounds, count);
    const threadMs = await timeBatch(threadQueue, rounds, count);
    rows.push(
      `| ${cost} ms | ${count} | ${asyncMs.toFixed(0)} ms | ${threadMs.toFixed(0)} ms | ${
        (asyncMs / threadMs).toFixed(2)
      }× |`,
    );
  }
} finally {
  await threadQueue.shutdown();
  await asyncQueue.shutdown();
}
console.log(`${runtime}: ${WORK_MS} ms of CPU work per row, ThreadQueue with 2 workers`);
console.log("| task | tasks | AsyncQueue | ThreadQueue | speed-up |");
console.log("| ---- | ----- | ---------- | ----------- | -------- |");
for (const row of rows) console.log(row);
