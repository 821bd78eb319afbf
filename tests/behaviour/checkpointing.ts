/**
 * Resuming from a `Checkpoint`: `map`, `starmap`, `group` (both forms), bound
 * tasks and the shortcut record each success, and a second submission of the
 * same work gets restored handles for what was recorded and runs the rest.
 *
 * @module
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Checkpoint, InvalidStateError, type TaskResult } from "../../mod.ts";
import { checkpointStore } from "../../src/core/checkpoint.ts";
import type { BackendUnderTest } from "./backend.ts";
import { withQueue } from "../helpers/leaks.ts";
import { rejectsWith, sortedNumbers } from "../helpers/asserts.ts";
import { sleep, waitFor } from "../helpers/timing.ts";

/** Defines the checkpoint tests for `b`. */
export function checkpointTests(b: BackendUnderTest): void {
  const t = b.tasks;

  describe("checkpoints", () => {
    it("map records successes only, and a resume runs only what was not recorded", async () => {
      await using checkpoint = new Checkpoint();
      await withQueue(() => b.make({ workers: 2 }), async (q) => {
        const handles = q.map(t.boomOnOdd, [1, 2, 3, 4], { checkpoint });
        const summary = await q.run();
        assert.equal(summary.succeeded, 2);
        assert.equal(summary.failed, 2);
        assert.equal(handles.length, 4);
        // In the store before run() resolved: nothing is left to write.
        assert.equal(checkpointStore(checkpoint).pending, 0);
      });
      assert.deepEqual(await checkpoint.namespaces(), ["boomOnOdd"]);
      assert.equal(await checkpoint.count("boomOnOdd"), 2);
      assert.deepEqual([...(await checkpoint.lookup("boomOnOdd", ["2", "4"])).values()], [
        { value: 20, hasValue: true },
        { value: 40, hasValue: true },
      ]);
      await withQueue(() => b.make({ workers: 2 }), async (q) => {
        // The recorded items are restored; the odd ones run again, now as `double`.
        const group = q.group(t.double, [1, 2, 3, 4], { checkpoint, namespace: "boomOnOdd" });
        const summary = await q.run();
        assert.equal(summary.totalSubmitted, 2);
        assert.deepEqual(sortedNumbers(summary.values), [2, 6]);
        assert.deepEqual(await group.values(), [2, 20, 6, 40]);
      });
      assert.equal(await checkpoint.count("boomOnOdd"), 4);
    });

    it("a restored handle is born succeeded, fires no hooks and stays out of the summary", async () => {
      await using checkpoint = new Checkpoint();
      await checkpoint.record("double", "21", 42);
      const hooks: string[] = [];
      await withQueue(
        () =>
          b.make({
            onStart: (h) => hooks.push(`start ${h.name}`),
            onComplete: (r: TaskResult) => hooks.push(`complete ${r.value}`),
          }),
        async (q) => {
          const [restored, fresh] = q.map(t.double, [21, 2], { checkpoint, metadata: "m" });
          assert.equal(restored.done(), true);
          assert.equal(fresh.done(), false);
          assert.equal(q.pendingCount, 1);
          const result = restored.result();
          assert.equal(result.status, "succeeded");
          assert.equal(result.value, 42);
          assert.equal(result.attempts, 0);
          assert.equal(result.startedAt, null);
          assert.equal(result.duration, 0);
          assert.equal(result.message, "restored from checkpoint");
          assert.equal(result.metadata, "m");
          assert.equal(restored.name, "double");
          assert.equal(restored.cancel(), false);
          assert.equal(await restored, 42);
          const summary = await q.run();
          assert.equal(summary.totalSubmitted, 1);
          assert.deepEqual(summary.values, [4]);
          assert.equal(q.results.length, 1);
          assert.deepEqual(hooks, ["start double", "complete 4"]);
        },
      );
    });

    it("a fully restored run submits nothing; the group's values come from the store", async () => {
      await using checkpoint = new Checkpoint();
      await withQueue(() => b.make(), async (q) => {
        q.group(t.double, [1, 2, 3], { checkpoint });
        await q.run();
      });
      await withQueue(() => b.make(), async (q) => {
        const group = q.group(t.neverRun, [1, 2, 3], { checkpoint, namespace: "double" });
        const summary = await q.run();
        assert.equal(summary.totalSubmitted, 0);
        assert.deepEqual(await group.values(), [2, 4, 6]);
        assert.match(group.groupId, /^group-/);
        for (const handle of group) assert.equal(handle.groupId, group.groupId);
      });
    });

    it("a pre-recorded value is what the restored handle gives", async () => {
      await using checkpoint = new Checkpoint();
      await checkpoint.record("double", "2", 999);
      await withQueue(() => b.make(), async (q) => {
        const group = q.group(t.double, [1, 2, 3], { checkpoint });
        await q.run();
        assert.deepEqual(await group.values(), [2, 999, 6]);
      });
    });

    it("storeValues: false restores undefined, and says the value was not retained", async () => {
      await using checkpoint = new Checkpoint(":memory:", { storeValues: false });
      await withQueue(() => b.make(), async (q) => {
        q.map(t.double, [1, 2], { checkpoint });
        await q.run();
      });
      await withQueue(() => b.make(), async (q) => {
        const handles = q.map(t.neverRun, [1, 2], { checkpoint, namespace: "double" });
        await q.run();
        assert.deepEqual(handles.map((h) => h.value()), [undefined, undefined]);
        assert.equal(
          handles[0].result().message,
          "restored from checkpoint (value not retained)",
        );
      });
    });

    it("a key function derives the key from the item", async () => {
      await using checkpoint = new Checkpoint();
      await checkpoint.record("identity", "1", "cached");
      await withQueue(() => b.make(), async (q) => {
        const rows = [{ id: 1, v: "a" }, { id: 2, v: "b" }];
        const handles = q.map(t.identity, rows, { checkpoint, key: (row) => row.id });
        await q.run();
        assert.deepEqual(handles.map((h) => h.value()), ["cached", rows[1]]);
      });
      assert.deepEqual((await checkpoint.lookup("identity", ["2"])).get("2")?.value, {
        id: 2,
        v: "b",
      });
    });

    it("an item with no canonical JSON throws at the call, before anything is submitted", async () => {
      await using checkpoint = new Checkpoint();
      await withQueue(() => b.make(), async (q) => {
        assert.throws(
          () => q.map(t.identity, [1, new Map()], { checkpoint }),
          (error: unknown) => error instanceof TypeError && /'key'/.test(error.message),
        );
        assert.equal(q.pendingCount, 0);
        assert.throws(
          () => q.map(t.identity, [1], { checkpoint: "run.db" as never }),
          /'checkpoint' must be a Checkpoint: current value is/,
        );
        assert.throws(
          () => q.map(t.identity, [1], { namespace: "x" }),
          /'checkpoint' must be a Checkpoint when 'key' or 'namespace' is given/,
        );
        assert.throws(
          () => q.map(t.identity, [1], { checkpoint, namespace: 5 as never }),
          /'namespace' must be a string/,
        );
      });
    });

    it("starmap is keyed by the argument list", async () => {
      await using checkpoint = new Checkpoint();
      await checkpoint.record("add", "[1,2]", 30);
      await withQueue(() => b.make(), async (q) => {
        const handles = q.starmap(t.add, [[1, 2], [3, 4]], { checkpoint });
        await q.run();
        assert.deepEqual(handles.map((h) => h.value()), [30, 7]);
      });
      assert.equal(await checkpoint.isDone("add", "[3,4]"), true);
    });

    it("a heterogeneous group needs a stable name, checked before its entries", async () => {
      await using checkpoint = new Checkpoint();
      await withQueue(() => b.make(), async (q) => {
        assert.throws(
          () => q.group([[t.add, 1, 2]], { checkpoint }),
          (error: unknown) => error instanceof TypeError && /stable name/.test(error.message),
        );
        assert.throws(
          () => q.group(["not an entry"] as never, { checkpoint }),
          (error: unknown) => error instanceof TypeError && /stable name/.test(error.message),
        );
        assert.throws(
          () => q.group(["not an entry"] as never, { checkpoint, namespace: "n" }),
          /entries\[0\]/,
        );
      });
    });

    it("a heterogeneous group: groupId is the namespace; the default key holds the task's name", async () => {
      await using checkpoint = new Checkpoint();
      await withQueue(() => b.make(), async (q) => {
        const group = q.group([[t.add, 1, 2], [t.add, 1, 2], [t.double, 5]], {
          checkpoint,
          groupId: "etl-1",
        });
        await q.run();
        assert.deepEqual(await group.values(), [3, 3, 10]);
      });
      assert.deepEqual(await checkpoint.namespaces(), ["etl-1"]);
      assert.equal(await checkpoint.count("etl-1"), 2);
      assert.equal(await checkpoint.isDone("etl-1", '["add",[1,2]]'), true);
      await withQueue(() => b.make(), async (q) => {
        // Same arguments, another function: another key, so it runs (and fails).
        const group = q.group([[t.add, 1, 2], [t.neverRun, 5]], {
          checkpoint,
          groupId: "etl-1",
        });
        const summary = await q.run();
        assert.equal(summary.totalSubmitted, 1);
        assert.equal(summary.failed, 1);
        assert.equal(group.handles[0].value(), 3);
      });
    });

    it("a heterogeneous group with a key function resumes under other functions", async () => {
      await using checkpoint = new Checkpoint();
      const key = (entry: readonly unknown[]) => JSON.stringify(entry.slice(1));
      await withQueue(() => b.make(), async (q) => {
        q.group([[t.add, 1, 2], [t.double, 5]], { checkpoint, namespace: "mixed", key });
        await q.run();
      });
      await withQueue(() => b.make(), async (q) => {
        const group = q.group([[t.neverRun, 1, 2], [t.neverRun, 5]], {
          checkpoint,
          namespace: "mixed",
          key,
        });
        assert.deepEqual(await group.values(), [3, 10]);
      });
    });

    it("a bound task's map and group resume", async () => {
      await using checkpoint = new Checkpoint();
      await withQueue(() => b.make(), async (q) => {
        const bound = q.task(t.double, { name: "bound" });
        const handles = bound.map([1, 2], { checkpoint, namespace: "bound" });
        await q.run();
        assert.deepEqual(handles.map((h) => h.name), ["bound", "bound"]);
      });
      assert.equal(await checkpoint.count("bound"), 2);
      await checkpoint.record("bound", "1", 111);
      await withQueue(() => b.make(), async (q) => {
        const group = q.task(t.double).group([1, 2], { checkpoint, namespace: "bound" });
        assert.deepEqual(await group.values(), [111, 4]);
        const more = q.task(t.add).starmap([[1, 1]], { checkpoint });
        await q.run();
        assert.equal(more[0].value(), 2);
      });
      assert.equal(await checkpoint.isDone("add", "[1,1]"), true);
    });

    it("a restored item uses no size slot", async () => {
      await using checkpoint = new Checkpoint();
      for (const n of [1, 2, 3]) await checkpoint.record("double", String(n), n * 2);
      await withQueue(() => b.make({ size: 2 }), async (q) => {
        const handles = q.map(t.double, [1, 2, 3, 4, 5], { checkpoint });
        await q.run();
        assert.deepEqual(handles.map((h) => h.value()), [2, 4, 6, 8, 10]);
      });
    });

    it("a cancelled task is not recorded", async () => {
      await using checkpoint = new Checkpoint();
      await withQueue(() => b.make(), async (q) => {
        const handles = q.map(t.double, [1, 2], { checkpoint });
        for (const handle of handles) assert.equal(handle.cancel(), true);
        await q.run();
      });
      assert.equal(await checkpoint.count(), 0);
    });

    it("without run(), a burst of completions is written by the next macrotask", async () => {
      await using checkpoint = new Checkpoint();
      await withQueue(() => b.make().start(), async (q) => {
        const handles = q.map(t.double, [1, 2, 3], { checkpoint });
        await Promise.all(handles);
        await waitFor(() => checkpointStore(checkpoint).pending === 0);
        assert.equal(await checkpoint.count("double"), 3);
      });
    });

    it("join() and shutdown() resolve after the write", async () => {
      await using checkpoint = new Checkpoint();
      const store = checkpointStore(checkpoint);
      const q = b.make();
      q.map(t.double, [1, 2], { checkpoint });
      await q.join();
      assert.equal(store.pending, 0);
      assert.equal(await checkpoint.count(), 2);
      q.map(t.double, [3], { checkpoint });
      await q.shutdown();
      assert.equal(store.pending, 0);
      assert.equal(await checkpoint.count(), 3);
    });

    it("a closed checkpoint: the call throws, and a late record goes to onHookError", async () => {
      const checkpoint = new Checkpoint();
      await checkpoint.close();
      await withQueue(() => b.make(), (q) => {
        assert.throws(() => q.map(t.double, [1], { checkpoint }), InvalidStateError);
      });
      const open = new Checkpoint();
      const reported: [string, string][] = [];
      await withQueue(
        () => b.make({ onHookError: (error, hook) => reported.push([hook, String(error)]) }),
        async (q) => {
          const [handle] = q.map(t.slow, [30], { checkpoint: open });
          q.start();
          await open.close();
          assert.equal(await handle, 30);
          await q.run();
          assert.equal(reported.length, 1);
          assert.equal(reported[0][0], "checkpoint");
          assert.match(reported[0][1], /checkpoint is closed/);
        },
      );
    });

    it("two queues on one checkpoint record into it side by side", async () => {
      await using checkpoint = new Checkpoint();
      const items = Array.from({ length: 40 }, (_, i) => i);
      await withQueue(() => b.make({ workers: 2 }), async (q1) => {
        await withQueue(() => b.make({ workers: 2 }), async (q2) => {
          q1.map(t.double, items, { checkpoint, namespace: "one" });
          q2.map(t.square, items, { checkpoint, namespace: "one-squared" });
          q2.map(t.double, items, { checkpoint, namespace: "shared" });
          q1.map(t.double, items, { checkpoint, namespace: "shared" });
          await Promise.all([q1.run(), q2.run()]);
        });
      });
      assert.equal(await checkpoint.count("one"), 40);
      assert.equal(await checkpoint.count("one-squared"), 40);
      assert.equal(await checkpoint.count("shared"), 40);
      const squares = await checkpoint.lookup("one-squared", items.map(String));
      assert.deepEqual(items.map((i) => squares.get(String(i))?.value), items.map((i) => i * i));
    });

    if (b.shortcut !== undefined) {
      const shortcut = b.shortcut;
      it("the shortcut resumes, and a partial failure still records the successes", async () => {
        await using checkpoint = new Checkpoint();
        await rejectsWith(
          () => shortcut(t.boomOnOdd, [1, 2], { checkpoint, namespace: "boom" }),
          (error: unknown) => (error as Error).name === "ExecutionError",
        );
        assert.equal((await checkpoint.lookup("boom", ["2"])).get("2")?.value, 20);
        assert.deepEqual(await shortcut(t.double, [1, 2, 3], { checkpoint }), [2, 4, 6]);
        assert.deepEqual(
          await shortcut(t.neverRun, [1, 2, 3], { checkpoint, namespace: "double" }),
          [2, 4, 6],
        );
        await sleep(0);
      });
    }
  });
}
