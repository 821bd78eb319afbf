/**
 * Lifecycle: start, run, join, shutdown (graceful and forced), cancel,
 * reset, clearResults, scope and `await using`, the abort signal, infinite
 * mode, stats, and bounded queues.
 *
 * @module
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ClosedError, InvalidStateError, QueueFullError, type TaskQueue } from "../../mod.ts";
import type { BackendUnderTest } from "./backend.ts";
import { withQueue } from "../helpers/leaks.ts";
import { rejectsWith, sortedNumbers } from "../helpers/asserts.ts";
import { sleep, stopwatch, tick, waitFor } from "../helpers/timing.ts";

/** Defines the lifecycle tests for `b`. */
export function lifecycleTests(b: BackendUnderTest): void {
  const t = b.tasks;

  // Which workers ran `runs` finite runs of four tasks each, and the live workers after each.
  const workersPerRun = async (q: TaskQueue, runs: number) => {
    const tokens: string[][] = [];
    const live: number[] = [];
    for (let run = 0; run < runs; run++) {
      q.map(t.whichWorker, [0, 1, 2, 3]);
      tokens.push([...new Set((await q.run()).values as string[])]);
      live.push(q.stats.workers);
    }
    return { tokens, live };
  };

  describe("run", () => {
    it("returns at once with an empty ok summary when nothing is outstanding", async () => {
      await withQueue(() => b.make(), async (q) => {
        const elapsed = stopwatch();
        const summary = await q.run();
        assert.equal(summary.ok, true);
        assert.equal(summary.totalSubmitted, 0);
        assert.deepEqual(summary.results, []);
        assert.equal(summary.timedOut, false);
        assert.ok(elapsed() < 1_000);
      });
    });

    it("can run the same queue many times; each summary covers its own run", async () => {
      await withQueue(() => b.make(), async (q) => {
        q.submit(t.double, [1]);
        const first = await q.run();
        q.submit(t.double, [2]);
        q.submit(t.double, [3]);
        const second = await q.run();
        assert.deepEqual(first.values, [2]);
        assert.equal(second.totalSubmitted, 2);
        assert.deepEqual(sortedNumbers(second.values), [4, 6]);
        assert.equal(q.results.length, 3);
        assert.equal(q.closed, false);
      });
    });

    it("leaves out tasks that finished before the run began", async () => {
      await withQueue(() => b.make(), async (q) => {
        q.start();
        const early = q.submit(t.double, [1]);
        await early;
        q.submit(t.double, [2]);
        const summary = await q.run();
        assert.deepEqual(summary.values, [4]);
      });
    });

    it("waits for tasks submitted during the run (dynamic fan-out)", async () => {
      let queue: ReturnType<BackendUnderTest["make"]> | undefined;
      let followed = false;
      const onComplete = (result: { name: string; value: unknown }): void => {
        if (followed || result.name !== "double") return;
        followed = true;
        queue?.submit(t.add, [result.value as number, 1]);
      };
      await withQueue(() => (queue = b.make({ onComplete })), async (q) => {
        q.submit(t.double, [5]);
        const summary = await q.run();
        assert.equal(summary.totalSubmitted, 2);
        assert.deepEqual(sortedNumbers(summary.values), [10, 11]);
      });
    });

    it("refuses a second concurrent run; the first run is unaffected", async () => {
      await withQueue(() => b.make(), async (q) => {
        q.submit(t.sleepThen, [50, "x"]);
        const first = q.run();
        await rejectsWith(() => q.run(), (error: unknown) => {
          assert.ok(error instanceof InvalidStateError);
          assert.equal(error.message, "run() is already in progress");
          return true;
        });
        const summary = await first;
        assert.equal(summary.ok, true);
        assert.deepEqual(summary.values, ["x"]);
      });
    });

    it("refuses reset() during run(); the run is unaffected", async () => {
      await withQueue(() => b.make(), async (q) => {
        q.submit(t.sleepThen, [30, 1]);
        const running = q.run();
        assert.throws(() => q.reset(), (error: unknown) => {
          assert.ok(error instanceof InvalidStateError);
          assert.equal(error.message, "cannot reset during run()");
          return true;
        });
        const summary = await running;
        assert.equal(summary.ok, true);
      });
    });
  });

  describe("start, join and shutdown", () => {
    it("a started queue runs submitted tasks without run()", async () => {
      await withQueue(() => b.make(), async (q) => {
        assert.equal(q.start(), q);
        assert.equal(q.start(), q);
        const h = q.submit(t.double, [21]);
        assert.equal(await h, 42);
      });
    });

    it("join waits for everything, including tasks submitted after start", async () => {
      await withQueue(() => b.make(), async (q) => {
        const h1 = q.submit(t.double, [5]);
        const h2 = q.submit(t.double, [10]);
        q.start();
        const h3 = q.submit(t.double, [15]);
        await q.join();
        assert.deepEqual([h1, h2, h3].map((h) => h.done()), [true, true, true]);
        assert.deepEqual([h1.value(), h2.value(), h3.value()], [10, 20, 30]);
        assert.equal(q.closed, false);
        const h4 = q.submit(t.double, [1]);
        assert.equal(await h4, 2);
      });
    });

    if (b.name !== "async") {
      it("a started queue keeps its workers across finite runs, until shutdown()", async () => {
        await withQueue(() => b.make({ workers: 2 }), async (q) => {
          q.start();
          const { tokens, live } = await workersPerRun(q, 3);
          const first = new Set(tokens[0]);
          for (const run of tokens) {
            for (const token of run) assert.ok(first.has(token), "rebooted");
          }
          assert.ok(live[0] >= 1);
          assert.deepEqual(live, [live[0], live[0], live[0]]);
          await q.shutdown();
          assert.equal(q.stats.workers, 0);
        });
      });

      // On Deno a Web Worker cannot be unreferenced, so there the end of a finite
      // run lets the workers go (a program must be able to end); elsewhere idle
      // workers are unreferenced and stay.
      // A queue started by autoStart counts as one nobody started: only start() keeps workers.
      const letsGo = b.name === "thread" && "Deno" in globalThis;
      for (const autoStart of [false, true]) {
        const who = autoStart ? "a queue started only by autoStart" : "a queue nobody started";
        it(
          letsGo
            ? `${who} lets its idle workers go at the end of a finite run`
            : `${who} keeps its idle workers across finite runs`,
          async () => {
            await withQueue(() => b.make({ workers: 1, autoStart }), async (q) => {
              const { tokens, live } = await workersPerRun(q, 2);
              assert.equal(tokens[0].length, 1);
              assert.equal(tokens[1].length, 1);
              if (letsGo) {
                assert.notEqual(tokens[1][0], tokens[0][0]);
                assert.deepEqual(live, [0, 0]);
              } else {
                assert.equal(tokens[1][0], tokens[0][0]);
                assert.deepEqual(live, [1, 1]);
              }
            });
          },
        );
      }
    }

    it("join starts a queue that was never started", async () => {
      await withQueue(() => b.make(), async (q) => {
        const handles = q.map(t.double, [3, 7]);
        await q.join();
        assert.deepEqual(handles.map((h) => h.value()), [6, 14]);
      });
    });

    it("submit after shutdown throws ClosedError", async () => {
      await withQueue(() => b.make(), async (q) => {
        q.submit(t.double, [1]);
        await q.run();
        await q.shutdown();
        assert.equal(q.closed, true);
        assert.throws(() => q.submit(t.double, [1]), (error: unknown) => {
          assert.ok(error instanceof ClosedError);
          assert.equal(error.message, "queue is not accepting tasks");
          return true;
        });
        assert.throws(() => q.map(t.double, [1]), ClosedError);
        assert.throws(() => q.group(t.double, [1]), ClosedError);
      });
    });

    it("start() and run() after shutdown throw ClosedError", async () => {
      await withQueue(() => b.make(), async (q) => {
        await q.shutdown();
        await q.shutdown();
        assert.throws(() => q.start(), {
          name: "ClosedError",
          message: "queue has been shut down",
        });
        await rejectsWith(() => q.run(), {
          name: "ClosedError",
          message: "queue has been shut down",
        });
      });
    });

    it("graceful shutdown of a never-started queue runs what was submitted", async () => {
      await withQueue(() => b.make(), async (q) => {
        const handles = q.map(t.double, [1, 2, 3]);
        await q.shutdown();
        assert.deepEqual(handles.map((h) => h.status), ["succeeded", "succeeded", "succeeded"]);
      });
    });

    it("graceful shutdown waits for scheduled tasks", async () => {
      await withQueue(() => b.make(), async (q) => {
        const elapsed = stopwatch();
        const h = q.submit(t.double, [4], { delay: 150 });
        q.start();
        await q.shutdown();
        assert.equal(h.status, "succeeded");
        assert.equal(h.value(), 8);
        assert.ok(elapsed() >= 120, `shutdown returned after ${elapsed()}ms`);
      });
    });

    it("graceful shutdown runs every task, mustComplete or not", async () => {
      await withQueue(() => b.make(), async (q) => {
        const plain = q.submit(t.sleepThen, [30, "plain"]);
        const kept = q.submit(t.sleepThen, [30, "kept"], { mustComplete: true });
        q.start();
        await q.shutdown();
        assert.equal(plain.value(), "plain");
        assert.equal(kept.value(), "kept");
      });
    });

    it("forced shutdown cancels everything, mustComplete included", async () => {
      await withQueue(() => b.make({ workers: 1 }), async (q) => {
        const running = q.submit(t.sleepThen, [5_000, "never"], { mustComplete: true });
        const queued = q.submit(t.double, [1], { mustComplete: true });
        const scheduled = q.submit(t.double, [2], { delay: 5_000 });
        q.start();
        await waitFor(() => running.status === "running", 2_000, "task running");
        const elapsed = stopwatch();
        await q.shutdown({ force: true });
        assert.ok(elapsed() < 2_000, `forced shutdown took ${elapsed()}ms`);
        assert.equal(q.closed, true);
        assert.equal(running.status, "cancelled");
        assert.equal(running.result().message, "cancelled");
        assert.equal(queued.status, "cancelled");
        assert.equal(queued.result().message, "cancelled before execution");
        assert.equal(scheduled.status, "cancelled");
        assert.equal(scheduled.result().message, "cancelled before execution");
      });
    });

    it("cancel() shuts the queue down at once", async () => {
      await withQueue(() => b.make(), async (q) => {
        const h = q.submit(t.slow, [5_000]);
        q.start();
        await waitFor(() => h.status === "running", 2_000, "task running");
        await q.cancel();
        assert.equal(q.closed, true);
        assert.equal(h.cancelled(), true);
        assert.throws(() => q.submit(t.double, [1]), ClosedError);
      });
    });

    it("aborting the queue's signal shuts it down at once", async () => {
      const controller = new AbortController();
      await withQueue(() => b.make({ signal: controller.signal }), async (q) => {
        const h = q.submit(t.slow, [5_000]);
        q.start();
        await waitFor(() => h.status === "running", 2_000, "task running");
        controller.abort();
        const result = await h.wait();
        assert.equal(result.status, "cancelled");
        await waitFor(() => q.closed, 2_000, "queue closed");
      });
    });
  });

  describe("reset and clearResults", () => {
    it("reset empties the results and reopens a shut-down queue", async () => {
      await withQueue(() => b.make(), async (q) => {
        q.submit(t.double, [1]);
        await q.run();
        await q.shutdown();
        assert.equal(q.results.length, 1);
        q.reset();
        assert.equal(q.results.length, 0);
        assert.equal(q.closed, false);
        assert.equal(q.stats.completed, 0);
        const h = q.submit(t.double, [2]);
        const summary = await q.run();
        assert.deepEqual(summary.values, [4]);
        assert.equal(h.value(), 4);
      });
    });

    it("reset cancels tasks that never ran, firing onComplete", async () => {
      const completed: string[] = [];
      await withQueue(
        () => b.make({ onComplete: (r) => void completed.push(r.status) }),
        (q) => {
          const h = q.submit(t.double, [1]);
          q.reset();
          assert.equal(h.cancelled(), true);
          assert.equal(h.result().message, "cancelled before execution");
          assert.deepEqual(completed, ["cancelled"]);
          assert.equal(q.results.length, 0);
        },
      );
    });

    it("reset refuses while workers are running", async () => {
      await withQueue(() => b.make(), async (q) => {
        q.start();
        assert.throws(() => q.reset(), (error: unknown) => {
          assert.ok(error instanceof InvalidStateError);
          assert.equal(
            error.message,
            "cannot reset while workers are running — call shutdown() first",
          );
          return true;
        });
        await q.shutdown();
        q.reset();
        assert.equal(q.closed, false);
      });
    });

    it("clearResults empties the results only", async () => {
      await withQueue(() => b.make(), async (q) => {
        q.map(t.double, [1, 2]);
        await q.run();
        assert.equal(q.results.length, 2);
        assert.equal(q.stats.completed, 2);
        q.clearResults();
        assert.equal(q.results.length, 0);
        assert.equal(q.stats.completed, 0);
        assert.equal(q.closed, false);
      });
    });

    it("results is a snapshot that includes detached results", async () => {
      await withQueue(() => b.make(), async (q) => {
        q.submit(t.double, [1], { detached: true });
        await q.run();
        const snapshot = q.results;
        // A copy: emptying one leaves the queue's list alone.
        (q.results as unknown[]).length = 0;
        assert.equal(q.results.length, 1);
        assert.equal(snapshot.length, 1);
        assert.equal(snapshot[0].detached, true);
        q.submit(t.double, [2]);
        await q.run();
        assert.equal(snapshot.length, 1);
        assert.equal(q.results.length, 2);
      });
    });
  });

  describe("scope and await using", () => {
    it("scope returns the body's value and shuts down gracefully", async () => {
      const q = b.make();
      const summary = await q.scope(async (queue) => {
        queue.submit(t.double, [5]);
        return await queue.run();
      });
      assert.equal(summary.ok, true);
      assert.deepEqual(summary.values, [10]);
      assert.equal(q.closed, true);
    });

    it("scope without run() still runs every task (graceful exit)", async () => {
      const q = b.make();
      const handles = await q.scope((queue) => queue.map(t.double, [1, 2, 3]));
      assert.equal(q.closed, true);
      assert.deepEqual(handles.map((h) => h.status), ["succeeded", "succeeded", "succeeded"]);
      assert.deepEqual(handles.map((h) => h.value()), [2, 4, 6]);
    });

    it("scope starts the queue, so handles can be awaited inside", async () => {
      const q = b.make();
      const value = await q.scope(async (queue) => await queue.submit(t.double, [8]));
      assert.equal(value, 16);
    });

    it("an error thrown in scope propagates and forces the shutdown", async () => {
      const q = b.make();
      const boom = new Error("scope body failed");
      let running: { status: string; cancelled(): boolean } | undefined;
      await rejectsWith(
        () =>
          q.scope(async (queue) => {
            const h = queue.submit(t.sleepThen, [5_000, "never"], { mustComplete: true });
            running = h;
            await waitFor(() => h.status === "running", 2_000, "task running");
            throw boom;
          }),
        (error: unknown) => error === boom,
      );
      assert.equal(q.closed, true);
      assert.equal(running?.cancelled(), true);
    });

    it("await using shuts the queue down gracefully at the end of the block", async () => {
      let outside: { closed: boolean } | undefined;
      let h: { value(): unknown; status: string } | undefined;
      {
        await using q = b.make();
        outside = q;
        h = q.submit(t.sleepThen, [20, "done"]);
      }
      assert.equal(outside?.closed, true);
      assert.equal(h?.status, "succeeded");
      assert.equal(h?.value(), "done");
    });
  });

  describe("infinite mode", () => {
    it("runs tasks submitted to a started queue until shutdown", async () => {
      await withQueue(() => b.make({ mode: "infinite" }), async (q) => {
        q.start();
        const a = q.submit(t.double, [1]);
        const c = q.submit(t.double, [2]);
        await sleep(150);
        await q.shutdown();
        assert.deepEqual([a.value(), c.value()], [2, 4]);
        assert.equal(q.closed, true);
      });
    });

    it("run() returns only after shutdown, with every result of the run", async () => {
      await withQueue(() => b.make({ mode: "infinite" }), async (q) => {
        let settled = false;
        const running = q.run().then((summary) => {
          settled = true;
          return summary;
        });
        const h = q.submit(t.double, [3]);
        assert.equal(await h, 6);
        await sleep(30);
        assert.equal(settled, false);
        q.submit(t.double, [4]);
        await q.shutdown();
        const summary = await running;
        assert.deepEqual(sortedNumbers(summary.values), [6, 8]);
      });
    });

    it("a run timeout ends an infinite run without closing the queue", async () => {
      await withQueue(() => b.make({ mode: "infinite" }), async (q) => {
        const summary = await q.run({ timeout: 100 });
        assert.equal(summary.timedOut, true);
        assert.equal(q.closed, false);
      });
    });
  });

  describe("stats and counters", () => {
    it("a new queue has exactly the stats keys, all zero", async () => {
      await withQueue(() => b.make(), (q) => {
        const stats = q.stats;
        assert.deepEqual(Object.keys(stats).sort(), [
          "active",
          "closed",
          "completed",
          "pending",
          "scheduled",
          "workers",
        ]);
        assert.deepEqual({ ...stats }, {
          pending: 0,
          active: 0,
          scheduled: 0,
          completed: 0,
          workers: 0,
          closed: false,
        });
        assert.equal(q.activeCount, 0);
        assert.equal(q.pendingCount, 0);
        assert.equal(q.closed, false);
      });
    });

    it("counts pending, scheduled, active and completed tasks", async () => {
      await withQueue(() => b.make({ workers: 1 }), async (q) => {
        const running = q.submit(t.sleepThen, [5_000, 0]);
        q.submit(t.double, [1]);
        q.submit(t.double, [2], { delay: 5_000 });
        assert.equal(q.pendingCount, 3);
        assert.equal(q.stats.scheduled, 1);
        q.start();
        await waitFor(() => running.status === "running", 2_000, "task running");
        assert.equal(q.activeCount, 1);
        assert.equal(q.pendingCount, 2);
        assert.equal(q.stats.active, 1);
        assert.equal(q.stats.pending, 2);
        assert.equal(q.stats.scheduled, 1);
        running.cancel();
        await waitFor(() => q.stats.completed >= 2, 2_000, "queued task done");
        assert.equal(q.activeCount, 0);
        assert.equal(q.pendingCount, 1);
      });
    });

    it("a fixed worker count bounds concurrency", async () => {
      let live = 0;
      let peak = 0;
      await withQueue(
        () =>
          b.make({
            workers: 2,
            onStart: () => {
              live++;
              peak = Math.max(peak, live);
            },
            onComplete: () => void live--,
          }),
        async (q) => {
          q.map(t.slow, [40, 40, 40, 40, 40, 40]);
          const elapsed = stopwatch();
          const summary = await q.run();
          assert.equal(summary.succeeded, 6);
          assert.equal(peak, 2);
          assert.ok(elapsed() >= 100, `6 × 40ms on 2 workers took ${elapsed()}ms`);
        },
      );
    });
  });

  describe("bounded queues (size)", () => {
    it("throws QueueFullError when size tasks are outstanding", async () => {
      await withQueue(() => b.make({ size: 2 }), async (q) => {
        q.submit(t.double, [1]);
        q.submit(t.double, [2]);
        assert.throws(() => q.submit(t.double, [3]), (error: unknown) => {
          assert.ok(error instanceof QueueFullError);
          assert.equal(error.message, "queue is full (2 tasks outstanding)");
          return true;
        });
        const summary = await q.run();
        assert.equal(summary.totalSubmitted, 2);
      });
    });

    it("frees space as tasks finish", async () => {
      await withQueue(() => b.make({ size: 1 }), async (q) => {
        q.submit(t.double, [1]);
        await q.run();
        const h = q.submit(t.double, [2]);
        await q.run();
        assert.equal(h.value(), 4);
      });
    });

    it("whenSpace() resolves once a task has finished", async () => {
      await withQueue(() => b.make({ size: 1 }), async (q) => {
        const first = q.submit(t.sleepThen, [60, "first"]);
        q.start();
        await tick();
        assert.throws(() => q.submit(t.double, [1]), QueueFullError);
        const elapsed = stopwatch();
        await q.whenSpace();
        assert.ok(elapsed() >= 30, `whenSpace resolved after ${elapsed()}ms`);
        assert.equal(first.done(), true);
        const second = q.submit(t.double, [4]);
        assert.equal(await second, 8);
      });
    });

    it("whenSpace() resolves at once when there is room", async () => {
      await withQueue(() => b.make({ size: 3 }), async (q) => {
        q.submit(t.double, [1]);
        const elapsed = stopwatch();
        await q.whenSpace();
        assert.ok(elapsed() < 500);
        await q.run();
      });
    });
  });
}
