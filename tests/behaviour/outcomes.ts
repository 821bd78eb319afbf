/**
 * How tasks end: retries and `retryOn`, fail policies, per-task timeouts
 * (settled at once, retried), run timeouts with `onTimeout`,
 * `mustComplete`, `strict`, and the `TaskContext` of bound tasks.
 *
 * @module
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ClosedError, ExecutionError, TaskTimeoutError } from "../../mod.ts";
import type { BackendUnderTest } from "./backend.ts";
import { withQueue } from "../helpers/leaks.ts";
import { rejectsWith, sortedNumbers, uniqueKey } from "../helpers/asserts.ts";
import { ranFor, stopwatch, waitFor } from "../helpers/timing.ts";

/** Defines the outcome tests for `b`. */
export function outcomeTests(b: BackendUnderTest): void {
  const t = b.tasks;

  it("a result whose 'then' getter throws is the task's own error (threw)", async () => {
    await withQueue(() => b.make({ workers: 1 }), async (q) => {
      const h = q.submit(() => ({
        get then(): never {
          throw new Error("then getter");
        },
      }));
      const after = q.submit(() => "after");
      await q.run();
      const result = h.result();
      assert.equal(result.status, "failed");
      assert.equal(result.endedBy, "threw", result.message);
      assert.equal(result.message, "then getter");
      assert.equal(after.value(), "after", "the worker lives on");
    });
  });

  describe("retries", () => {
    it("retries a flaky task until it succeeds", async () => {
      await withQueue(() => b.make({ workers: 1 }), async (q) => {
        const h = q.submit(t.flaky, [uniqueKey("flaky"), 2], { retries: 3 });
        const summary = await q.run();
        assert.equal(summary.ok, true);
        assert.equal(h.value(), 3, "called three times");
        assert.equal(h.result().attempts, 3);
        assert.equal(h.attempts, 3);
      });
    });

    it("fails once the retries are exhausted", async () => {
      await withQueue(() => b.make(), async (q) => {
        const h = q.submit(t.failAlways, ["boom"], { retries: 2 });
        const summary = await q.run();
        assert.equal(summary.failed, 1);
        assert.equal(summary.ok, false);
        const result = h.result();
        assert.equal(result.status, "failed");
        assert.equal(result.attempts, 3);
        assert.equal(result.message, "boom");
        assert.equal(result.endedBy, "threw");
        assert.ok(result.exception instanceof Error);
        assert.equal((result.exception as Error).message, "boom");
      });
    });

    it("retryOn decides which errors are retried", async () => {
      const seen: string[] = [];
      const retryOn = (error: unknown): boolean => {
        seen.push((error as Error).name);
        return (error as Error).name !== "RangeError";
      };
      await withQueue(() => b.make(), async (q) => {
        const notRetried = q.submit(t.failRange, ["no"], { retries: 3, retryOn });
        const retried = q.submit(t.failAlways, ["yes"], { retries: 3, retryOn });
        await q.run();
        assert.equal(notRetried.result().attempts, 1);
        assert.equal(retried.result().attempts, 4);
        assert.equal(notRetried.result().status, "failed");
        assert.equal(seen.filter((name) => name === "RangeError").length, 1);
        assert.equal(seen.filter((name) => name === "Error").length, 3);
      });
    });

    it("bound tasks see their attempt number", async () => {
      await withQueue(() => b.make(), async (q) => {
        const h = q.submit(t.failUntilAttempt, [3], { bind: true, retries: 5 });
        await q.run();
        assert.equal(h.value(), 3);
        assert.equal(h.result().attempts, 3);
      });
    });
  });

  describe("fail policies", () => {
    it("continue: a failure does not stop the others", async () => {
      await withQueue(() => b.make({ failPolicy: "continue" }), async (q) => {
        q.submit(t.failAlways, []);
        q.submit(t.double, [2]);
        const summary = await q.run();
        assert.equal(summary.failed, 1);
        assert.equal(summary.succeeded, 1);
      });
    });

    it("failFirst: the first failure cancels the rest", async () => {
      await withQueue(() => b.make({ failPolicy: "failFirst", workers: 1 }), async (q) => {
        q.submit(t.failAlways, []);
        const rest = q.map(t.double, [1, 2]);
        const summary = await q.run();
        assert.ok(summary.failed >= 1);
        assert.equal(summary.failed, 1);
        assert.equal(summary.cancelled, 2);
        for (const h of rest) assert.equal(h.result().message, "cancelled before execution");
        assert.equal(summary.results[0].status, "failed", "the failure is recorded first");
      });
    });

    it("failFirst spares mustComplete tasks", async () => {
      await withQueue(() => b.make({ failPolicy: "failFirst", workers: 1 }), async (q) => {
        q.submit(t.failAlways, []);
        const protectedTask = q.submit(t.sleepThen, [50, "protected"], { mustComplete: true });
        const ordinary = q.submit(t.double, [5]);
        const summary = await q.run();
        assert.equal(summary.failed, 1);
        assert.equal(protectedTask.status, "succeeded");
        assert.equal(protectedTask.value(), "protected");
        assert.equal(ordinary.status, "cancelled");
      });
    });

    it("failFirst interrupts running tasks that are not mustComplete", async () => {
      await withQueue(() => b.make({ failPolicy: "failFirst", workers: 2 }), async (q) => {
        // Never ends by itself: the run can only end by interrupting it.
        const running = q.submit(t.hang);
        const run = q.run();
        await waitFor(() => running.status === "running", 10_000, "task running");
        q.submit(t.failAfter, [50]);
        const summary = await run;
        assert.equal(summary.failed, 1);
        assert.equal(running.status, "cancelled");
        assert.equal(running.result().message, "cancelled");
      });
    });

    it("cancellations do not trip failFirst", async () => {
      await withQueue(() => b.make({ failPolicy: "failFirst", workers: 1 }), async (q) => {
        const victim = q.submit(t.sleepThen, [5_000, "never"]);
        const others = q.map(t.double, [2, 3]);
        const running = q.run();
        await waitFor(() => victim.status === "running", 2_000, "task running");
        assert.equal(victim.cancel(), true);
        const summary = await running;
        assert.equal(summary.cancelled, 1);
        assert.deepEqual(others.map((h) => h.value()), [4, 6]);
      });
    });

    it("after failFirst trips, submissions are refused until the run ends", async () => {
      await withQueue(() => b.make({ failPolicy: "failFirst", workers: 2 }), async (q) => {
        const failing = q.submit(t.failAfter, [20]);
        const kept = q.submit(t.sleepThen, [150, "kept"], { mustComplete: true });
        const running = q.run();
        await failing.wait();
        assert.throws(() => q.submit(t.double, [1]), ClosedError);
        const summary = await running;
        assert.equal(summary.failed, 1);
        assert.equal(kept.value(), "kept");
        const after = q.submit(t.double, [2]);
        assert.deepEqual((await q.run()).values, [4]);
        assert.equal(after.value(), 4);
      });
    });

    it("failFirst tripping outside a run halts the queue until the next start()", async () => {
      await withQueue(() => b.make({ failPolicy: "failFirst" }), async (q) => {
        q.start();
        await q.submit(t.failAlways, []).wait();
        assert.throws(() => q.submit(t.double, [1]), ClosedError);
        q.start();
        assert.equal(await q.submit(t.double, [1]), 2);
      });
    });

    it("run({ failPolicy }) overrides the policy for that run only", async () => {
      await withQueue(() => b.make({ workers: 1 }), async (q) => {
        q.submit(t.failAlways, []);
        q.submit(t.double, [1]);
        const strictRun = await q.run({ failPolicy: "failFirst" });
        assert.equal(strictRun.cancelled, 1);
        q.submit(t.failAlways, []);
        q.submit(t.double, [1]);
        const normalRun = await q.run();
        assert.equal(normalRun.failed, 1);
        assert.equal(normalRun.succeeded, 1);
      });
    });
  });

  describe("per-task timeouts", () => {
    it("settles a timed-out attempt at once with TaskTimeoutError", async () => {
      await withQueue(() => b.make(), async (q) => {
        const h = q.submit(t.slow, [10_000], { timeout: 100 });
        const summary = await q.run();
        // From the task's start: a worker's boot is not the task's time.
        const ran = ranFor(h.result());
        assert.ok(ran < 1_000, `the timeout settled ${ran}ms after the task started`);
        assert.equal(summary.failed, 1);
        const result = h.result();
        assert.equal(result.status, "failed");
        assert.equal(result.endedBy, "timeout");
        assert.ok(result.exception instanceof TaskTimeoutError);
        assert.equal(result.message, "task 'slow' exceeded 100ms timeout");
        assert.equal((result.exception as TaskTimeoutError).message, result.message);
      });
    });

    it("names the task in the timeout message", async () => {
      await withQueue(() => b.make(), async (q) => {
        const h = q.submit(t.slow, [10_000], { timeout: 50, name: "custom" });
        await q.run();
        assert.equal(h.result().message, "task 'custom' exceeded 50ms timeout");
      });
    });

    it("retries timed-out attempts", async () => {
      const retried: unknown[] = [];
      await withQueue(
        () => b.make({ onRetry: (_h, error) => void retried.push(error) }),
        async (q) => {
          const h = q.submit(t.slow, [10_000], { timeout: 80, retries: 1 });
          await q.run();
          const ran = ranFor(h.result());
          assert.ok(ran >= 140, `two 80ms attempts took ${ran}ms`);
          assert.ok(ran < 2_000, `two 80ms attempts took ${ran}ms`);
          assert.equal(h.result().attempts, 2);
          assert.equal(h.result().endedBy, "timeout");
          assert.equal(retried.length, 1);
          assert.ok(retried[0] instanceof TaskTimeoutError);
        },
      );
    });

    it("a task that finishes in time is not affected by its timeout", async () => {
      await withQueue(() => b.make(), async (q) => {
        const h = q.submit(t.sleepThen, [10, "quick"], { timeout: 2_000 });
        await q.run();
        assert.equal(h.value(), "quick");
        assert.equal(h.result().endedBy, "returned");
      });
    });

    it("aborts the context signal of a timed-out attempt", async () => {
      await withQueue(() => b.make({ workers: 1 }), async (q) => {
        const key = uniqueKey("timeout-abort");
        const h = q.submit(t.awaitAbort, [key, 5_000], { bind: true, timeout: 80 });
        await q.run();
        assert.equal(h.result().endedBy, "timeout");
        const seen = q.submit(t.abortSeen, [key]);
        await q.run();
        assert.notEqual(seen.value(), null, "the task saw its signal abort");
      });
    });

    it("aborts the context signal of a cancelled attempt", async () => {
      await withQueue(() => b.make({ workers: 1 }), async (q) => {
        const key = uniqueKey("cancel-abort");
        const h = q.submit(t.awaitAbort, [key, 5_000], { bind: true });
        q.start();
        await waitFor(() => h.status === "running", 2_000, "task running");
        await new Promise((resolve) => setTimeout(resolve, 30));
        assert.equal(h.cancel(), true);
        assert.equal((await h.wait()).endedBy, "cancelled");
        const seen = q.submit(t.abortSeen, [key]);
        assert.notEqual(await seen, null, "the task saw its signal abort");
      });
    });

    it("passes id, name and attempt in the context", async () => {
      await withQueue(() => b.make(), async (q) => {
        const h = q.submit(t.contextInfo, ["extra"], { bind: true, name: "ctx" });
        await q.run();
        assert.deepEqual(h.value(), {
          id: h.id,
          name: "ctx",
          attempt: 1,
          aborted: false,
          extra: "extra",
        });
      });
    });
  });

  describe("run timeouts", () => {
    it("run({ timeout }) cancels what is left and reports timedOut", async () => {
      await withQueue(() => b.make(), async (q) => {
        const h = q.submit(t.slow, [10_000]);
        const elapsed = stopwatch();
        const summary = await q.run({ timeout: 200 });
        assert.ok(elapsed() < 2_000, `run returned after ${elapsed()}ms`);
        assert.equal(summary.timedOut, true);
        assert.equal(summary.ok, false);
        assert.equal(summary.cancelled, 1);
        assert.equal(h.status, "cancelled");
        assert.equal(q.closed, false, "a timeout does not close the queue");
        q.submit(t.double, [1]);
        const next = await q.run();
        assert.equal(next.timedOut, false);
        assert.deepEqual(next.values, [2]);
      });
    });

    it("the queue's timeout option is the default run timeout", async () => {
      await withQueue(() => b.make({ timeout: 150 }), async (q) => {
        q.submit(t.slow, [10_000]);
        const summary = await q.run();
        assert.equal(summary.timedOut, true);
      });
    });

    it("onTimeout 'complete' lets mustComplete tasks finish", async () => {
      await withQueue(() => b.make({ workers: 3, onTimeout: "complete" }), async (q) => {
        const kept = q.submit(t.sleepThen, [400, "kept"], { mustComplete: true });
        const dropped = q.submit(t.slow, [10_000]);
        const queuedKept = q.submit(t.double, [3], { mustComplete: true, delay: 250 });
        const elapsed = stopwatch();
        const summary = await q.run({ timeout: 150 });
        assert.equal(summary.timedOut, true);
        assert.ok(elapsed() >= 350, `run waited ${elapsed()}ms for the protected task`);
        assert.equal(kept.status, "succeeded");
        assert.equal(kept.value(), "kept");
        assert.equal(queuedKept.value(), 6);
        assert.equal(dropped.status, "cancelled");
      });
    });

    it("onTimeout 'cancel' cancels everything, mustComplete included", async () => {
      await withQueue(() => b.make({ workers: 2, onTimeout: "cancel" }), async (q) => {
        const a = q.submit(t.slow, [10_000], { mustComplete: true });
        const c = q.submit(t.double, [2], { delay: 5_000 });
        const summary = await q.run({ timeout: 150 });
        assert.equal(summary.timedOut, true);
        assert.equal(a.done(), true);
        assert.equal(c.done(), true);
        assert.ok(summary.cancelled >= 1);
        assert.equal(a.status, "cancelled");
        assert.equal(c.status, "cancelled");
      });
    });
  });

  describe("strict runs and summaries", () => {
    it("run({ strict: true }) throws ExecutionError after a failure", async () => {
      await withQueue(() => b.make(), async (q) => {
        q.submit(t.failAlways, []);
        q.submit(t.double, [1]);
        const error = await rejectsWith(() => q.run({ strict: true }), ExecutionError);
        assert.equal((error as ExecutionError).message, "1 task(s) failed");
        assert.equal((error as ExecutionError).results.length, 1);
        q.submit(t.double, [2]);
        assert.deepEqual((await q.run({ strict: true })).values, [4], "the queue is reusable");
      });
    });

    it("strict does not throw for cancellations", async () => {
      await withQueue(() => b.make(), async (q) => {
        q.submit(t.slow, [10_000]);
        const summary = await q.run({ strict: true, timeout: 100 });
        assert.equal(summary.cancelled, 1);
      });
    });

    it("a mixed summary counts exactly", async () => {
      await withQueue(() => b.make(), async (q) => {
        q.submit(t.double, [1]);
        q.submit(t.failAlways, []);
        const summary = await q.run();
        assert.equal(summary.totalSubmitted, 2);
        assert.equal(summary.succeeded, 1);
        assert.equal(summary.failed, 1);
        assert.equal(summary.cancelled, 0);
        assert.equal(summary.ok, false);
        assert.equal(summary.errors.length, 1);
        assert.equal(summary.values.length, 1);
        assert.throws(() => summary.raiseForErrors(), (error: unknown) => {
          assert.ok(error instanceof ExecutionError);
          assert.match(error.message, /1 task/);
          return true;
        });
      });
    });

    it("byName groups results by task name", async () => {
      await withQueue(() => b.make(), async (q) => {
        q.map(t.double, [1, 2]);
        q.submit(t.add, [1, 1]);
        const summary = await q.run();
        assert.equal(summary.byName().get("double")?.length, 2);
        assert.equal(summary.byName().get("add")?.length, 1);
        assert.deepEqual(sortedNumbers(summary.byName().get("double")!.map((r) => r.value)), [
          2,
          4,
        ]);
      });
    });
  });
}
