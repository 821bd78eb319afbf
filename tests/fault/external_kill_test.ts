/**
 * A child killed from outside (SIGKILL) mid-task with other tasks in flight,
 * through the whole ProcessQueue: every handle settles, the killed task is
 * retried and succeeds, the pool is back to full size, and nothing is left.
 *
 * @module
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ProcessQueue } from "../../mod.ts";
import { useLeakCheck } from "../helpers/leaks.ts";
import { descendantsOf, processTable, selfPid } from "../helpers/process_table.ts";

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Our children that are live (not zombies). */
function liveChildren(): number[] {
  const table = processTable();
  return descendantsOf(selfPid, table).filter((p) => p.ppid === selfPid && p.state !== "Z")
    .map((p) => p.pid);
}

describe("a ProcessQueue child killed with SIGKILL from outside", () => {
  useLeakCheck();

  it("settles every handle, retries the killed task, and refills the pool", async () => {
    const before = new Set(liveChildren());
    const q = new ProcessQueue({ workers: 2 });
    try {
      const handles = q.map(
        async (n: number) => {
          await new Promise((resolve) => setTimeout(resolve, 300));
          return n * 10;
        },
        [1, 2, 3, 4, 5, 6],
        { retries: 1 },
      );
      const settled = new Set<number>();
      handles.forEach((h, i) => h.onDone(() => settled.add(i)));
      const running = q.run();
      let victims: number[] = [];
      for (let i = 0; i < 500 && victims.length < 2; i++) {
        await sleep(20);
        victims = liveChildren().filter((pid) => !before.has(pid));
      }
      assert.equal(victims.length, 2, "both children started");
      await sleep(100); // mid-task
      process.kill(victims[0], "SIGKILL");
      const summary = await running;
      assert.equal(settled.size, 6, "every handle settled, once");
      assert.equal(summary.succeeded, 6, JSON.stringify(summary.errors.map((r) => r.message)));
      assert.deepEqual(handles.map((h) => h.value()), [10, 20, 30, 40, 50, 60]);
      const retried = summary.results.filter((r) => r.attempts === 2);
      assert.ok(retried.length >= 1, "the task the kill interrupted ran again");
      assert.ok(!summary.results.some((r) => r.worker === victims[0] && r.attempts === 1));
      q.start();
      await q.submit((n: number) => n, [1]);
      await q.submit((n: number) => n, [2]);
      assert.equal(q.stats.workers, 2, "the pool is back to full size");
    } finally {
      await q.shutdown({ force: true });
    }
    for (let i = 0; i < 40 && liveChildren().some((pid) => !before.has(pid)); i++) await sleep(50);
    assert.deepEqual(liveChildren().filter((pid) => !before.has(pid)), [], "no child left");
  });
});

describe("shutdown while a crashed worker is being replaced", () => {
  useLeakCheck();

  for (const force of [false, true]) {
    it(`${force ? "forced" : "graceful"} shutdown right after a crash settles everything`, async () => {
      const before = new Set(liveChildren());
      let shutting: Promise<void> | undefined;
      const q = new ProcessQueue({
        workers: 1,
        onComplete: (result) => {
          // The child just died; its replacement is starting now.
          if (result.name === "crash") shutting = q.shutdown({ force });
        },
      });
      const crash = q.submit(() => {
        (globalThis as unknown as { process: { exit(code: number): never } }).process.exit(3);
      }, { name: "crash" });
      const rest = q.map((n: number) => n + 1, [1, 2, 3]);
      q.start();
      await crash.wait();
      await shutting;
      assert.equal(crash.result().endedBy, "worker-crashed");
      for (const h of rest) assert.ok(h.done(), "every handle settled");
      if (force) {
        for (const h of rest) assert.equal(h.result().status, "cancelled");
      } else {
        assert.deepEqual(rest.map((h) => h.value()), [2, 3, 4]);
      }
      assert.equal(q.closed, true);
      for (let i = 0; i < 40 && liveChildren().some((pid) => !before.has(pid)); i++) {
        await sleep(50);
      }
      assert.deepEqual(liveChildren().filter((pid) => !before.has(pid)), [], "no child left");
    });
  }
});
