/**
 * The engine's lifecycle phases, seen through a queue: which phases admit
 * tasks, and what ends an abort. (The behaviour suite covers the rest of the
 * engine against every backend.)
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";

import { AsyncQueue } from "../../src/backends/async_queue.ts";
import { ManualClock } from "../../src/core/clock.ts";
import type { TaskContext } from "../../src/core/context.ts";
import { ClosedError } from "../../src/core/errors.ts";
import { useLeakCheck, withQueue } from "../helpers/leaks.ts";
import { deferred, sleep, tick } from "../helpers/timing.ts";

describe("queue lifecycle", () => {
  useLeakCheck();

  it("a fail-first abort refuses submissions until its run returns, then admits again", async () => {
    await withQueue(() => new AsyncQueue({ failPolicy: "failFirst", workers: 2 }), async (q) => {
      const hold = deferred<void>();
      const spared = q.submit(() => hold.promise.then(() => "spared"), { mustComplete: true });
      q.submit(() => {
        throw new Error("first failure");
      });
      const running = q.run();
      await tick();
      assert.throws(() => q.submit(() => 1), ClosedError);
      hold.resolve();
      const summary = await running;
      assert.equal(summary.failed, 1);
      assert.equal(spared.value(), "spared");
      const again = q.submit(() => "admitted");
      await q.run();
      assert.equal(again.value(), "admitted");
    });
  });

  it("start() ends an abort made outside a run", async () => {
    await withQueue(() => new AsyncQueue({ failPolicy: "failFirst" }), async (q) => {
      q.start();
      const failed = q.submit(() => {
        throw new Error("boom");
      });
      await failed.wait();
      assert.throws(() => q.submit(() => 1), ClosedError);
      q.start();
      assert.equal(await q.submit(() => "after start"), "after start");
    });
  });

  it("a graceful shutdown refuses submissions while it drains", async () => {
    await withQueue(() => new AsyncQueue(), async (q) => {
      const hold = deferred<void>();
      const pending = q.submit(() => hold.promise.then(() => "drained"));
      const closing = q.shutdown();
      await tick();
      assert.equal(q.closed, false);
      assert.throws(() => q.submit(() => 1), ClosedError);
      hold.resolve();
      await closing;
      assert.equal(q.closed, true);
      assert.equal(pending.value(), "drained");
    });
  });

  it("reset() after a shutdown watches the signal again", async () => {
    const controller = new AbortController();
    await withQueue(() => new AsyncQueue({ signal: controller.signal }), async (q) => {
      await q.shutdown();
      q.reset();
      q.start();
      const waiting = q.submit(() => new Promise(() => {}));
      controller.abort();
      const result = await waiting.wait();
      assert.equal(result.status, "cancelled");
      assert.equal(q.closed, true);
    });
  });
});

describe("a task waiting for its retry", () => {
  useLeakCheck();

  /** A task that fails on its first attempt and returns `value` on the next. */
  function failsOnce(value: string): (context: TaskContext) => string {
    return (context) => {
      if (context.attempt === 1) throw new Error(`${value} failed once`);
      return value;
    };
  }

  it("frees its worker: quick tasks behind it finish without waiting for the retry", async () => {
    const clock = new ManualClock();
    await withQueue(() => new AsyncQueue({ workers: 4, clock }), async (q) => {
      const retrying = ["r0", "r1", "r2", "r3"].map((name) =>
        q.submit(failsOnce(name), { bind: true, retries: 1, retryDelay: 1_000 })
      );
      const quick = q.map(async (n: number) => n, Array.from({ length: 20 }, (_, i) => i));
      q.start();
      assert.deepEqual(await Promise.all(quick), Array.from({ length: 20 }, (_, i) => i));
      assert.equal(clock.now(), 0, "no time passed");
      assert.ok(retrying.every((h) => h.status === "retrying" && h.attempts === 1));
      // Waiting for a retry is pending and scheduled, not active.
      assert.equal(q.activeCount, 0);
      assert.equal(q.pendingCount, 4);
      assert.equal(q.stats.scheduled, 4);
      await clock.advance(999);
      assert.ok(retrying.every((h) => !h.done()));
      await clock.advance(1);
      assert.deepEqual(await Promise.all(retrying), ["r0", "r1", "r2", "r3"]);
      assert.ok(retrying.every((h) => h.result().attempts === 2));
    });
  });

  it("comes due with its priority and its submission's place among equals", async () => {
    const clock = new ManualClock();
    const order: string[] = [];
    await withQueue(() => new AsyncQueue({ workers: 1, clock }), async (q) => {
      const record = (name: string) => (context: TaskContext) => {
        order.push(`${name}#${context.attempt}`);
        if (context.attempt === 1 && name.startsWith("retry")) throw new Error("again");
      };
      const retry = { bind: true, retries: 1, retryDelay: 100 } as const;
      q.submit(record("retry-a"), retry);
      q.submit(record("retry-b"), retry);
      q.start();
      await tick();
      // Submitted after the retries: equal priority, later sequence; and an urgent one.
      q.submit(record("late"), { bind: true, delay: 100 });
      q.submit(record("urgent"), { bind: true, delay: 100, priority: 1 });
      await clock.advance(100);
      await q.join();
      assert.deepEqual(order, [
        "retry-a#1",
        "retry-b#1",
        "urgent#1",
        "retry-a#2",
        "retry-b#2",
        "late#1",
      ]);
    });
  });

  it("is cancelled by a run timeout like a scheduled task, after its attempts", async () => {
    const clock = new ManualClock();
    await withQueue(() => new AsyncQueue({ clock, timeout: 500 }), async (q) => {
      const h = q.submit(failsOnce("never"), { bind: true, retries: 1, retryDelay: 1_000 });
      const running = q.run();
      await clock.advance(500);
      const summary = await running;
      assert.equal(summary.cancelled, 1);
      const result = h.result();
      assert.equal(result.status, "cancelled");
      assert.equal(result.attempts, 1);
      assert.equal(result.message, "cancelled");
    });
  });

  it("retryJitter spreads each delay within its share, the same under the same seed", async () => {
    const startsUnder = async (seed: number) => {
      const clock = new ManualClock(0, undefined, seed);
      const starts: number[] = [];
      await withQueue(() => new AsyncQueue({ workers: 8, clock }), async (q) => {
        const failFirst = (context: TaskContext) => {
          if (context.attempt === 1) throw new Error("once");
          starts.push(clock.now());
        };
        const options = { bind: true, retries: 1, retryDelay: 1_000, retryJitter: 0.5 } as const;
        for (let i = 0; i < 8; i++) q.submit(failFirst, options);
        q.start();
        await clock.advance(1_500);
        await q.join();
      });
      return starts;
    };
    const first = await startsUnder(7);
    assert.equal(first.length, 8);
    assert.ok(first.every((at) => at >= 500 && at <= 1_500), `retries at ${first}`);
    assert.ok(new Set(first).size > 1, "the delays are spread");
    assert.deepEqual(await startsUnder(7), first);
  });
});

describe("autoStart and awaiting a queue that is not started", () => {
  useLeakCheck();

  /** Collects what `console.warn` prints while `body` runs. */
  async function warnings(body: () => Promise<void>): Promise<string[]> {
    const printed: string[] = [];
    const original = console.warn;
    console.warn = (...args: unknown[]) => void printed.push(args.join(" "));
    try {
      await body();
    } finally {
      console.warn = original;
    }
    return printed;
  }

  it("autoStart: true runs the p-limit idiom with no start()", async () => {
    await withQueue(() => new AsyncQueue({ workers: 2, autoStart: true }), async (q) => {
      let running = 0;
      let peak = 0;
      const fetchLength = async (url: string) => {
        peak = Math.max(peak, ++running);
        await sleep(5);
        running--;
        return url.length;
      };
      const urls = ["a", "bb", "ccc", "dddd", "eeeee"];
      const lengths = await Promise.all(urls.map((u) => q.submit(fetchLength, [u])));
      assert.deepEqual(lengths, [1, 2, 3, 4, 5]);
      assert.equal(peak, 2, "workers still bounds concurrency");
    });
  });

  it("autoStart starts again at the first submission after a finished run", async () => {
    await withQueue(() => new AsyncQueue({ autoStart: true }), async (q) => {
      q.submit(() => 1);
      await q.run();
      assert.equal(await q.submit(() => "again"), "again");
    });
  });

  it("without autoStart, submitting does not start the queue", async () => {
    await withQueue(() => new AsyncQueue(), async (q) => {
      const h = q.submit(() => "later");
      await sleep(10);
      assert.equal(h.status, "pending");
      q.start();
      assert.equal(await h, "later");
    });
  });

  it("warns once when a task of a queue that is not started is awaited", async () => {
    await withQueue(() => new AsyncQueue(), async (q) => {
      const printed = await warnings(async () => {
        const all = Promise.all([q.submit(() => 1), q.submit(() => 2)]);
        const result = q.submit(() => 3).wait();
        await sleep(20);
        q.start();
        assert.deepEqual(await all, [1, 2]);
        assert.equal((await result).value, 3);
      });
      assert.equal(printed.length, 1);
      assert.match(printed[0], /awaited on a queue that is not started/);
      assert.match(printed[0], /start\(\), run\(\) or join\(\).*autoStart: true/);
    });
  });

  it("does not warn when the queue starts right after the await begins, or is started", async () => {
    await withQueue(() => new AsyncQueue(), async (q) => {
      const printed = await warnings(async () => {
        const all = Promise.all([q.submit(() => 1)]);
        q.start();
        await all;
        await q.submit(() => 2);
        const next = Promise.all([q.submit(() => 3)]);
        await q.run();
        await next;
        await sleep(10);
      });
      assert.deepEqual(printed, []);
    });
  });
});

describe("why a task was cancelled and why a run ended early", () => {
  useLeakCheck();

  const never = (context: TaskContext) =>
    new Promise((_, reject) =>
      context.signal.addEventListener("abort", () => reject(context.signal.reason))
    );

  it("cancel(): cancelReason 'cancel'; the run is not interrupted", async () => {
    await withQueue(() => new AsyncQueue({ workers: 1 }), async (q) => {
      const running = q.submit(never, { bind: true });
      const waiting = q.submit(() => 1);
      const summary = q.run();
      await tick();
      waiting.cancel();
      running.cancel();
      assert.deepEqual([waiting.result().cancelReason, running.result().cancelReason], [
        "cancel",
        "cancel",
      ]);
      assert.equal((await summary).interrupted, null);
    });
  });

  it("a run timeout: cancelReason and interrupted 'timeout'", async () => {
    const clock = new ManualClock();
    await withQueue(() => new AsyncQueue({ clock, timeout: 100 }), async (q) => {
      const h = q.submit(never, { bind: true });
      const running = q.run();
      await clock.advance(100);
      const summary = await running;
      assert.equal(h.result().cancelReason, "timeout");
      assert.equal(summary.interrupted, "timeout");
      assert.equal(summary.timedOut, true);
    });
  });

  it("failFirst: the others' cancelReason and the run's interrupted are 'failFirst'", async () => {
    await withQueue(() => new AsyncQueue({ failPolicy: "failFirst", workers: 2 }), async (q) => {
      const other = q.submit(never, { bind: true });
      const queued = q.submit(() => 1, { delay: 10_000 });
      q.submit(() => {
        throw new Error("first");
      });
      const summary = await q.run();
      assert.equal(other.result().cancelReason, "failFirst");
      assert.equal(queued.result().cancelReason, "failFirst");
      assert.equal(summary.interrupted, "failFirst");
      assert.equal(summary.timedOut, false);
      assert.equal(summary.results.find((r) => r.status === "failed")?.cancelReason, null);
    });
  });

  it("a forced shutdown: cancelReason 'shutdown'", async () => {
    const q = new AsyncQueue();
    const running = q.submit(never, { bind: true });
    const queued = q.submit(() => 1, { delay: 10_000 });
    q.start();
    await tick();
    await q.shutdown({ force: true });
    assert.equal(running.result().cancelReason, "shutdown");
    assert.equal(queued.result().cancelReason, "shutdown");
  });
});
