/**
 * When tasks start: priority order (FIFO among equals), `delay` and `runAt`,
 * retry delays with backoff and `maxRetryDelay`, and the rate gate. These use
 * real time with generous bounds so that they hold for every backend; the
 * AsyncQueue tests repeat the timing rules exactly with a `ManualClock`.
 *
 * @module
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ManualClock } from "../../mod.ts";
import type { BackendUnderTest } from "./backend.ts";
import { withQueue } from "../helpers/leaks.ts";
import { uniqueKey } from "../helpers/asserts.ts";
import { stopwatch } from "../helpers/timing.ts";

/** Records the real time at which each attempt starts (onStart runs on the main thread). */
function startTimes(): { times: number[]; onStart: () => void } {
  const times: number[] = [];
  return { times, onStart: () => void times.push(performance.now()) };
}

function gaps(times: readonly number[]): number[] {
  return times.slice(1).map((time, i) => time - times[i]);
}

/** Defines the scheduling tests for `b`. */
export function schedulingTests(b: BackendUnderTest): void {
  const t = b.tasks;

  describe("ordering", () => {
    it("starts lower priorities first on one worker", async () => {
      await withQueue(() => b.make({ workers: 1 }), async (q) => {
        q.submit(t.identity, ["low"], { priority: 9 });
        q.submit(t.identity, ["high"], { priority: 1 });
        q.submit(t.identity, ["mid"], { priority: 5 });
        const summary = await q.run();
        assert.deepEqual(summary.values, ["high", "mid", "low"]);
      });
    });

    it("keeps submission order among equal priorities", async () => {
      await withQueue(() => b.make({ workers: 1 }), async (q) => {
        q.map(t.identity, ["a", "b", "c", "d"]);
        q.submit(t.identity, ["first"], { priority: 0 });
        const summary = await q.run();
        assert.deepEqual(summary.values, ["first", "a", "b", "c", "d"]);
      });
    });

    it("a long task does not hold back short ones: the other worker takes them all", async () => {
      await withQueue(() => b.make({ workers: 2 }), async (q) => {
        const long = q.submit(t.sleepThen, [900, "long"]);
        const short = q.map(t.slow, Array.from({ length: 12 }, () => 10));
        await q.run({ strict: true });
        const longEnd = long.result().finishedAt;
        // Before the adaptive window, a process pool committed half of these behind the long task.
        for (const h of short) {
          assert.ok(h.result().finishedAt < longEnd, `a short task waited for the long one`);
          if (b.name !== "async") assert.notEqual(h.result().worker, long.result().worker);
        }
      });
    });

    it("a delayed task does not hold up an immediate one", async () => {
      await withQueue(() => b.make({ workers: 1 }), async (q) => {
        const elapsed = stopwatch();
        q.submit(t.identity, ["delayed"], { delay: 150 });
        q.submit(t.identity, ["immediate"]);
        const summary = await q.run();
        assert.deepEqual(summary.values, ["immediate", "delayed"]);
        assert.ok(elapsed() >= 120, `the run took ${elapsed()}ms`);
      });
    });
  });

  describe("delay and runAt", () => {
    it("delay starts the task that many ms after submit", async () => {
      const starts = startTimes();
      await withQueue(() => b.make({ onStart: starts.onStart }), async (q) => {
        const submitted = performance.now();
        const h = q.submit(t.double, [5], { delay: 100 });
        assert.ok(h.scheduledFor !== null);
        const ahead = h.scheduledFor - h.createdAt;
        assert.ok(ahead >= 99 && ahead <= 110, `scheduledFor is ${ahead}ms after createdAt`);
        await q.run();
        assert.equal(h.value(), 10);
        assert.ok(
          starts.times[0] - submitted >= 80,
          `started ${starts.times[0] - submitted}ms after submit`,
        );
      });
    });

    it("runAt (epoch ms) starts the task at that time", async () => {
      await withQueue(() => b.make(), async (q) => {
        const elapsed = stopwatch();
        const h = q.submit(t.double, [7], { runAt: Date.now() + 150 });
        assert.ok(h.scheduledFor !== null);
        await q.run();
        assert.equal(h.value(), 14);
        assert.ok(elapsed() >= 120, `ran after ${elapsed()}ms`);
      });
    });

    it("runAt accepts a Date", async () => {
      await withQueue(() => b.make(), async (q) => {
        const elapsed = stopwatch();
        const h = q.submit(t.double, [8], { runAt: new Date(Date.now() + 120) });
        await q.run();
        assert.equal(h.value(), 16);
        assert.ok(elapsed() >= 90, `ran after ${elapsed()}ms`);
      });
    });

    it("runAt in the past means now", async () => {
      await withQueue(() => b.make(), async (q) => {
        const elapsed = stopwatch();
        const h = q.submit(t.double, [1], { runAt: Date.now() - 60_000 });
        await q.run();
        assert.equal(h.value(), 2);
        assert.ok(elapsed() < 1_000);
      });
    });

    it("a delayed task waits without occupying a worker", async () => {
      // On the queue's own clock the delay cannot pass while the others run, however slowly
      // a loaded machine boots the worker: had the delayed task taken the one worker, the
      // others would never finish.
      const clock = new ManualClock();
      await withQueue(() => b.make({ workers: 1, clock }), async (q) => {
        const delayed = q.submit(t.identity, ["delayed"], { delay: 200 });
        const quick = q.map(t.identity, ["a", "b", "c"]);
        q.start();
        await Promise.all(quick);
        assert.equal(delayed.done(), false);
        assert.equal(delayed.status, "pending");
        await clock.advance(200);
        await q.join();
        assert.equal(delayed.value(), "delayed");
      });
    });
  });

  describe("retry delays", () => {
    it("waits retryDelay, multiplied by backoff after each retry", async () => {
      const starts = startTimes();
      await withQueue(() => b.make({ onStart: starts.onStart }), async (q) => {
        const h = q.submit(t.failAlways, [], { retries: 2, retryDelay: 50, backoff: 2 });
        await q.run();
        assert.equal(h.result().attempts, 3);
        const [first, second] = gaps(starts.times);
        assert.ok(first >= 40, `first retry after ${first}ms`);
        assert.ok(second >= 80, `second retry after ${second}ms`);
      });
    });

    it("maxRetryDelay caps each delay", async () => {
      const starts = startTimes();
      await withQueue(() => b.make({ onStart: starts.onStart }), async (q) => {
        q.submit(t.failAlways, [], { retries: 2, retryDelay: 40, backoff: 10, maxRetryDelay: 60 });
        await q.run();
        const [first, second] = gaps(starts.times);
        assert.ok(first >= 30, `first retry after ${first}ms`);
        assert.ok(second >= 50, `second retry after ${second}ms`);
        assert.ok(second < 300, `second retry after ${second}ms; uncapped it would be 400ms`);
      });
    });
  });

  describe("rate limits", () => {
    it("spaces attempts 1/rate apart", async () => {
      const starts = startTimes();
      await withQueue(() => b.make({ rate: 20, onStart: starts.onStart }), async (q) => {
        q.map(t.double, [1, 2, 3, 4, 5, 6]);
        const summary = await q.run();
        assert.equal(summary.succeeded, 6);
        const spread = starts.times[5] - starts.times[0];
        assert.ok(spread >= 200, `6 starts at rate 20 spread over ${spread}ms`);
      });
    });

    it("lets a burst start back to back", async () => {
      const starts = startTimes();
      await withQueue(() => b.make({ rate: 5, burst: 4, onStart: starts.onStart }), async (q) => {
        q.map(t.double, [1, 2, 3, 4]);
        await q.run();
        const spread = starts.times[3] - starts.times[0];
        assert.ok(spread < 500, `a burst of 4 spread over ${spread}ms`);
      });
    });

    it("counts retries as attempts", async () => {
      const starts = startTimes();
      await withQueue(
        () => b.make({ rate: 10, workers: 1, onStart: starts.onStart }),
        async (q) => {
          const h = q.submit(t.flaky, [uniqueKey("rated"), 2], { retries: 2 });
          await q.run();
          assert.equal(h.value(), 3);
          for (const gap of gaps(starts.times)) {
            assert.ok(gap >= 80, `retry started after ${gap}ms`);
          }
        },
      );
    });
  });
}
