/**
 * Groups (from a real queue on each backend) in both forms, and
 * `asCompleted` over handles.
 *
 * @module
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { asCompleted, ExecutionError, TaskGroup, type TaskHandle } from "../../mod.ts";
import type { BackendUnderTest } from "./backend.ts";
import { withQueue } from "../helpers/leaks.ts";
import { rejectsWith, sortedNumbers } from "../helpers/asserts.ts";
import { tick, waitFor } from "../helpers/timing.ts";

/**
 * The handle a `for await` loop over `asCompleted` yields. The type checker
 * types such a loop variable as the awaited value (handles are thenable), but
 * at run time it is the handle itself.
 */
function handleOf<T>(yielded: unknown): TaskHandle<T> {
  return yielded as TaskHandle<T>;
}

/** Defines the group and asCompleted tests for `b`. */
export function groupTests(b: BackendUnderTest): void {
  const t = b.tasks;

  describe("groups", () => {
    it("a heterogeneous group of entries", async () => {
      await withQueue(() => b.make(), async (q) => {
        const g = q.group([[t.double, 10], [t.double, 20], [t.double, 30]]);
        assert.ok(g instanceof TaskGroup);
        assert.equal(g.size, 3);
        assert.equal(g.handles.length, 3);
        const summary = await q.run();
        assert.equal(summary.ok, true);
        const waited = await g.wait();
        assert.deepEqual(waited.values, [20, 40, 60]);
        assert.deepEqual(await g.values(), [20, 40, 60]);
      });
    });

    it("a homogeneous group calls the function with each item", async () => {
      await withQueue(() => b.make(), async (q) => {
        const g = q.group(t.double, [1, 2, 3]);
        await q.run();
        assert.deepEqual((await g.wait()).values, [2, 4, 6]);
      });
    });

    it("groupId labels every handle and result, and byGroup finds them", async () => {
      await withQueue(() => b.make(), async (q) => {
        const g = q.group([[t.double, 5], [t.add, 2, 3]], { groupId: "mixed" });
        assert.equal(g.groupId, "mixed");
        for (const h of g) assert.equal(h.groupId, "mixed");
        const summary = await q.run();
        const grouped = summary.byGroup().get("mixed");
        assert.equal(grouped?.length, 2);
        assert.deepEqual(sortedNumbers(grouped!.map((r) => r.value)), [5, 10]);
        assert.ok(grouped!.every((r) => r.groupId === "mixed"));
      });
    });

    it("groups without a groupId get distinct generated ids", async () => {
      await withQueue(() => b.make(), async (q) => {
        const first = q.group(t.double, [1]);
        const second = q.group(t.double, [2]);
        assert.equal(typeof first.groupId, "string");
        assert.notEqual(first.groupId, second.groupId);
        assert.equal(first.handles[0].groupId, first.groupId);
        await q.run();
        assert.equal(first.handles[0].result().groupId, first.groupId);
      });
    });

    it("group options apply to every task", async () => {
      await withQueue(() => b.make(), async (q) => {
        const g = q.group(t.double, [1, 2], { priority: 0, metadata: { batch: 7 } });
        for (const h of g) {
          assert.equal(h.priority, 0);
          assert.deepEqual(h.metadata, { batch: 7 });
        }
        await q.run();
      });
    });

    it("iterates its handles in submission order", async () => {
      await withQueue(() => b.make(), async (q) => {
        const g = q.group(t.identity, ["a", "b", "c"]);
        const handles: TaskHandle<unknown>[] = [...g];
        assert.deepEqual(handles, [...g.handles]);
        await q.run();
        assert.deepEqual(handles.map((h) => h.value()), ["a", "b", "c"]);
      });
    });

    it("an empty group", async () => {
      await withQueue(() => b.make(), async (q) => {
        const g = q.group(t.double, []);
        assert.equal(g.size, 0);
        assert.equal(g.cancel(), 0);
        const summary = await g.wait();
        assert.equal(summary.totalSubmitted, 0);
        assert.equal(summary.ok, true);
        assert.deepEqual(await g.values(), []);
      });
    });

    it("wait() lists results in submission order; a run lists them in completion order", async () => {
      await withQueue(() => b.make({ workers: 2 }), async (q) => {
        const g = q.group([[t.sleepThen, 150, "slow"], [t.sleepThen, 10, "fast"]]);
        const summary = await q.run();
        assert.deepEqual(summary.values, ["fast", "slow"]);
        assert.deepEqual((await g.wait()).values, ["slow", "fast"]);
        assert.deepEqual(
          (await g.wait()).results.map((r) => r.taskId),
          g.handles.map((h) => h.id),
        );
      });
    });

    it("wait() counts mixed outcomes", async () => {
      await withQueue(() => b.make({ workers: 3 }), async (q) => {
        const g = q.group([[t.double, 1], [t.failAlways, "x"], [t.sleepThen, 5_000, "never"]]);
        q.start();
        const [ok, failed, running] = g.handles;
        await ok;
        await failed.wait();
        await waitFor(() => running.status === "running", 2_000, "task running");
        running.cancel();
        const summary = await g.wait();
        assert.equal(summary.totalSubmitted, 3);
        assert.equal(summary.succeeded, 1);
        assert.equal(summary.failed, 1);
        assert.equal(summary.cancelled, 1);
        assert.equal(summary.timedOut, false);
        assert.equal(summary.results.length, 3);
      });
    });

    it("wait() on finished handles", async () => {
      await withQueue(() => b.make(), async (q) => {
        const g = q.group(t.identity, ["alpha", "beta"]);
        await q.run();
        const summary = await g.wait();
        assert.equal(summary.totalSubmitted, 2);
        assert.equal(summary.succeeded, 2);
        assert.equal(summary.failed, 0);
        assert.equal(summary.cancelled, 0);
        assert.equal(summary.timedOut, false);
        assert.equal(summary.results.length, 2);
        assert.deepEqual(await g.values(), ["alpha", "beta"]);
      });
    });

    it("wait() waits for handles that finish later, without starting the queue", async () => {
      await withQueue(() => b.make(), async (q) => {
        const g = q.group([[t.sleepThen, 40, "later"]]);
        let settled = false;
        const waiting = g.wait().then((summary) => {
          settled = true;
          return summary;
        });
        await tick();
        assert.equal(settled, false);
        q.start();
        assert.deepEqual((await waiting).values, ["later"]);
      });
    });

    it("values() rejects with ExecutionError holding only the failed results", async () => {
      await withQueue(() => b.make(), async (q) => {
        const g = q.group([[t.identity, "fine"], [t.failAlways, "bad"]]);
        await q.run();
        const error = await rejectsWith(() => g.values(), ExecutionError) as ExecutionError;
        assert.equal(error.results.length, 1);
        assert.equal(error.results[0].taskId, g.handles[1].id);
        assert.equal(error.message, "1 task(s) failed");
      });
    });

    it("values() also rejects when a task was cancelled", async () => {
      await withQueue(() => b.make(), async (q) => {
        const g = q.group(t.double, [1, 2]);
        g.handles[1].cancel();
        await q.run();
        const error = await rejectsWith(() => g.values(), ExecutionError) as ExecutionError;
        assert.equal(error.message, "1 task(s) cancelled");
      });
    });

    it("cancel() counts the tasks it cancelled", async () => {
      await withQueue(() => b.make({ workers: 1 }), async (q) => {
        const g = q.group([[t.double, 1], [t.sleepThen, 5_000, "never"], [t.double, 3]]);
        q.start();
        await g.handles[0];
        await waitFor(() => g.handles[1].status === "running", 2_000, "task running");
        assert.equal(g.cancel(), 2);
        assert.deepEqual(g.handles.map((h) => h.status), ["succeeded", "cancelled", "cancelled"]);
        const summary = await g.wait();
        assert.deepEqual(summary.results.map((r) => r.message), [
          "",
          "cancelled",
          "cancelled before execution",
        ]);
        assert.equal(g.cancel(), 0, "nothing left to cancel");
      });
    });

    it("asCompleted() of a group yields every handle as it finishes", async () => {
      const q = b.make();
      const values = await q.scope(async (queue) => {
        const g = queue.group(t.double, [1, 2, 3]);
        const got: number[] = [];
        for await (const h of g.asCompleted()) got.push(handleOf<number>(h).value());
        return got;
      });
      assert.deepEqual(sortedNumbers(values), [2, 4, 6]);
    });
  });

  describe("asCompleted", () => {
    it("yields handles in completion order", async () => {
      await withQueue(() => b.make({ workers: 2 }), async (q) => {
        const slowOne = q.submit(t.sleepThen, [200, "slow"]);
        const fastOne = q.submit(t.sleepThen, [10, "fast"]);
        q.start();
        const order: TaskHandle<unknown>[] = [];
        for await (const h of asCompleted([slowOne, fastOne])) order.push(handleOf(h));
        assert.deepEqual(order, [fastOne, slowOne]);
      });
    });

    it("yields every handle of a started queue", async () => {
      await withQueue(() => b.make(), async (q) => {
        const handles = q.map(t.double, [1, 2, 3]);
        q.start();
        const values: number[] = [];
        for await (const h of asCompleted(handles)) values.push(handleOf<number>(h).value());
        assert.deepEqual(sortedNumbers(values), [2, 4, 6]);
      });
    });

    it("yields nothing for no handles", async () => {
      let count = 0;
      for await (const _ of asCompleted([])) count++;
      assert.equal(count, 0);
    });

    it("leaving early does not cancel the remaining tasks", async () => {
      // One worker runs them in order: "a" is always the first to finish, and "b" is left.
      await withQueue(() => b.make({ workers: 1 }), async (q) => {
        const handles = [q.submit(t.sleepThen, [10, "a"]), q.submit(t.sleepThen, [80, "b"])];
        q.start();
        for await (const h of asCompleted(handles)) {
          assert.equal(handleOf(h).value(), "a");
          break;
        }
        assert.equal(await handles[1], "b");
      });
    });
  });
}
