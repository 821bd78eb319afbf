/**
 * What a run reports: `TaskResult` fields from a real queue, `endedBy`,
 * `detached`, `metadata`, `groupId`, values that cross to the task and back,
 * and the backend's shortcut (`amap`, `tmap`, `pmap`).
 *
 * @module
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ExecutionError, RunSummary, TaskResult } from "../../mod.ts";
import type { BackendUnderTest } from "./backend.ts";
import { withQueue } from "../helpers/leaks.ts";
import { rejectsWith } from "../helpers/asserts.ts";

/** Defines the result tests for `b`. */
export function resultTests(b: BackendUnderTest): void {
  const t = b.tasks;

  describe("results", () => {
    it("a succeeded result carries the handle's fields and its timing", async () => {
      await withQueue(() => b.make(), async (q) => {
        // A pool's worker is booted first: its first task's start is seen with its "ready"
        // message, which a loaded machine may deliver together with the task's reply.
        q.start();
        await q.submit(t.double, [1]);
        const h = q.submit(t.sleepThen, [20, "v"], { priority: 2, mustComplete: true });
        const summary = await q.run();
        assert.ok(summary instanceof RunSummary);
        const result = summary.results[0];
        assert.ok(result instanceof TaskResult);
        assert.ok(Object.isFrozen(result));
        assert.equal(result, h.result());
        assert.equal(result.taskId, h.id);
        assert.equal(result.id, h.id);
        assert.equal(result.name, "sleepThen");
        assert.equal(result.status, "succeeded");
        assert.equal(result.value, "v");
        assert.equal(result.exception, undefined);
        assert.equal(result.attempts, 1);
        assert.equal(result.priority, 2);
        assert.equal(result.mustComplete, true);
        assert.equal(result.groupId, null);
        assert.equal(result.detached, false);
        assert.equal(result.scheduledFor, null);
        assert.equal(result.message, "");
        assert.equal(result.endedBy, "returned");
        assert.equal(result.createdAt, h.createdAt);
        assert.ok(result.startedAt !== null);
        assert.ok(result.createdAt <= result.startedAt);
        assert.ok(result.startedAt <= result.finishedAt);
        assert.equal(result.duration, result.finishedAt - result.startedAt);
        assert.ok(result.duration >= 10, `duration ${result.duration}ms`);
        if (b.name === "async") assert.equal(result.worker, null);
        else assert.equal(typeof result.worker, "number");
      });
    });

    it("endedBy says how the last attempt ended", async () => {
      await withQueue(() => b.make(), async (q) => {
        const returned = q.submit(t.double, [1]);
        const threw = q.submit(t.failAlways, []);
        const timedOut = q.submit(t.slow, [10_000], { timeout: 50 });
        const neverRan = q.submit(t.double, [1], { delay: 5_000 });
        neverRan.cancel();
        await q.run();
        assert.equal(returned.result().endedBy, "returned");
        assert.equal(threw.result().endedBy, "threw");
        assert.equal(timedOut.result().endedBy, "timeout");
        assert.equal(neverRan.result().endedBy, null);
      });
    });

    it("detached tasks run but stay out of the summary", async () => {
      await withQueue(() => b.make(), async (q) => {
        const detached = q.submit(t.double, [10], { detached: true });
        q.submit(t.double, [10]);
        const summary = await q.run();
        assert.equal(summary.totalSubmitted, 1);
        assert.deepEqual(summary.values, [20]);
        assert.equal(detached.detached, true);
        assert.equal(detached.done(), true);
        assert.equal(detached.value(), 20);
        assert.ok(q.results.some((r) => r.detached && r.taskId === detached.id));
      });
    });

    it("metadata is carried on the handle and the result", async () => {
      await withQueue(() => b.make(), async (q) => {
        const metadata = { source: "unit-test" };
        const h = q.submit(t.double, [1], { metadata });
        assert.deepEqual(h.metadata, { source: "unit-test" });
        const summary = await q.run();
        assert.deepEqual(summary.results[0].metadata, { source: "unit-test" });
      });
    });

    it("a groupId given to submit labels the handle and result", async () => {
      await withQueue(() => b.make(), async (q) => {
        const h = q.submit(t.double, [1], { groupId: "batch-1" });
        q.submit(t.double, [2]);
        assert.equal(h.groupId, "batch-1");
        const summary = await q.run();
        assert.equal(h.result().groupId, "batch-1");
        assert.equal(summary.byGroup().get("batch-1")?.length, 1);
        assert.equal(summary.byGroup().get(null)?.length, 1);
      });
    });

    it("summary results are in completion order", async () => {
      await withQueue(() => b.make({ workers: 3 }), async (q) => {
        // Boot the three workers first: a child that boots late under load would
        // otherwise finish its 10 ms task after another's 100 ms one.
        q.start();
        q.starmap(t.sleepThen, [[50, "w"], [50, "w"], [50, "w"]]);
        await q.join();
        q.submit(t.sleepThen, [200, "c"]);
        q.submit(t.sleepThen, [10, "a"]);
        q.submit(t.sleepThen, [100, "b"]);
        const summary = await q.run();
        assert.deepEqual(summary.values, ["a", "b", "c"]);
        assert.ok(summary.duration >= 150, `run duration ${summary.duration}ms`);
      });
    });

    it("a summary converts to JSON", async () => {
      await withQueue(() => b.make(), async (q) => {
        q.submit(t.double, [1]);
        q.submit(t.failAlways, ["json"]);
        const summary = await q.run();
        const json = JSON.parse(JSON.stringify(summary));
        assert.equal(json.totalSubmitted, 2);
        assert.equal(json.results.length, 2);
        const failed = json.results.find((r: { status: string }) => r.status === "failed");
        assert.equal(failed.exception.message, "json");
      });
    });

    it("arguments and values keep their structure", async () => {
      await withQueue(() => b.make(), async (q) => {
        const argument = { when: new Date(5), tags: new Set(["x"]), nested: [1, { a: null }] };
        const echoed = q.submit(t.identity, [argument]);
        const made = q.submit(t.structured, []);
        await q.run();
        assert.deepEqual(echoed.value(), argument);
        assert.deepEqual(made.value(), {
          date: new Date(0),
          map: new Map([["a", 1]]),
          set: new Set([1, 2]),
          big: 10n,
          bytes: new Uint8Array([1, 2, 3]),
          nothing: undefined,
        });
      });
    });
  });

  describe("shortcut", () => {
    it("maps a function over items and returns the values in order", async () => {
      assert.ok(b.shortcut !== undefined, "every backend has its shortcut");
      assert.deepEqual(await b.shortcut(t.double, [3, 1, 2], { workers: 4 }), [6, 2, 4]);
    });

    it("throws ExecutionError when a task fails", async () => {
      assert.ok(b.shortcut !== undefined, "every backend has its shortcut");
      await rejectsWith(() => b.shortcut!(t.failAlways, ["a", "b"]), ExecutionError);
    });
  });
}
