/**
 * Hooks: `onStart` (every attempt), `onRetry`, `onComplete` (every status),
 * sync or async, and errors reported to `onHookError` without touching the
 * task's outcome.
 *
 * @module
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { BackendUnderTest } from "./backend.ts";
import { withQueue } from "../helpers/leaks.ts";
import { waitFor } from "../helpers/timing.ts";

/** Defines the hook tests for `b`. */
export function hookTests(b: BackendUnderTest): void {
  const t = b.tasks;

  describe("hooks", () => {
    it("onComplete receives each final result", async () => {
      const statuses: string[] = [];
      await withQueue(
        () => b.make({ onComplete: (r) => void statuses.push(r.status) }),
        async (q) => {
          q.map(t.double, [1, 2]);
          await q.run();
          assert.deepEqual(statuses, ["succeeded", "succeeded"]);
        },
      );
    });

    it("onStart receives the handle, named after the function", async () => {
      const names: string[] = [];
      await withQueue(() => b.make({ onStart: (h) => void names.push(h.name) }), async (q) => {
        q.submit(t.double, [1]);
        await q.run();
        assert.deepEqual(names, ["double"]);
      });
    });

    it("on one worker, each task's start and end are seen in order, also when pipelined", async () => {
      const events: string[] = [];
      let recording = false;
      await withQueue(
        () =>
          b.make({
            workers: 1,
            onStart: (h) => void (recording && events.push(`start ${h.metadata}`)),
            onComplete: (r) => void (recording && events.push(`end ${r.metadata}`)),
          }),
        async (q) => {
          // Quick tasks, after a warm-up that lets a pool's window grow: it
          // then sends them together and they come back in batches.
          q.map(t.double, Array.from({ length: 300 }, (_, i) => i));
          await q.run();
          recording = true;
          for (let i = 0; i < 40; i++) q.submit(t.double, [i], { metadata: i });
          await q.run();
          const expected = Array.from({ length: 40 }, (_, i) => [`start ${i}`, `end ${i}`]).flat();
          assert.deepEqual(events, expected);
        },
      );
    });

    it("onStart fires for every attempt; onRetry for every retry", async () => {
      const events: string[] = [];
      await withQueue(
        () =>
          b.make({
            onStart: (h) => void events.push(`start ${h.attempts}`),
            onRetry: (_h, error) => void events.push(`retry ${(error as Error).message}`),
          }),
        async (q) => {
          q.submit(t.failAlways, ["fail"], { retries: 1 });
          await q.run();
          assert.deepEqual(events, ["start 1", "retry fail", "start 2"]);
        },
      );
    });

    it("onComplete fires for cancelled and failed tasks too", async () => {
      const seen: string[] = [];
      await withQueue(
        () => b.make({ onComplete: (r) => void seen.push(`${r.name}:${r.status}`) }),
        async (q) => {
          const h = q.submit(t.double, [1]);
          q.submit(t.failAlways, []);
          h.cancel();
          await q.run();
          assert.deepEqual(seen.sort(), ["double:cancelled", "failAlways:failed"]);
        },
      );
    });

    it("a throwing onStart or onComplete does not change the outcome", async () => {
      const reported: [string, string][] = [];
      await withQueue(
        () =>
          b.make({
            onStart: () => {
              throw new Error("start hook failed");
            },
            onComplete: () => {
              throw new Error("complete hook failed");
            },
            onHookError: (error, hook) => void reported.push([hook, (error as Error).message]),
          }),
        async (q) => {
          q.submit(t.double, [5]);
          const summary = await q.run();
          assert.equal(summary.ok, true);
          assert.deepEqual(summary.values, [10]);
          assert.deepEqual(reported.sort(), [
            ["onComplete", "complete hook failed"],
            ["onStart", "start hook failed"],
          ]);
        },
      );
    });

    it("a throwing onRetry does not stop the retry", async () => {
      const reported: string[] = [];
      await withQueue(
        () =>
          b.make({
            onRetry: () => {
              throw new Error("retry hook failed");
            },
            onHookError: (_error, hook) => void reported.push(hook),
          }),
        async (q) => {
          const h = q.submit(t.failUntilAttempt, [2], { bind: true, retries: 1 });
          await q.run();
          assert.equal(h.value(), 2);
          assert.deepEqual(reported, ["onRetry"]);
        },
      );
    });

    it("async hooks run; their rejections go to onHookError", async () => {
      const reported: [string, string][] = [];
      const completed: string[] = [];
      await withQueue(
        () =>
          b.make({
            onStart: async () => {
              await Promise.resolve();
              throw new Error("async start failed");
            },
            onComplete: async (r) => {
              await Promise.resolve();
              completed.push(r.status);
            },
            onHookError: (error, hook) => void reported.push([hook, (error as Error).message]),
          }),
        async (q) => {
          const h = q.submit(t.double, [2]);
          const summary = await q.run();
          assert.equal(summary.ok, true);
          assert.equal(h.value(), 4);
          await waitFor(
            () => reported.length === 1 && completed.length === 1,
            1_000,
            "async hooks",
          );
          assert.deepEqual(reported, [["onStart", "async start failed"]]);
          assert.deepEqual(completed, ["succeeded"]);
        },
      );
    });
  });
}
