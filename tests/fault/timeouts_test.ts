/**
 * Tasks that do not end when they should: one that never returns, one that
 * ignores its abort signal and returns late, one that rejects after its
 * timeout, and a timed-out attempt whose late result arrives while the
 * retry is running. Each settles at its timeout, exactly once, and what the
 * abandoned attempt does later changes nothing: a timeout settles the attempt
 * at once and aborts its signal; a late result is dropped.
 */

import assert from "node:assert/strict";
import { describe } from "node:test";
import { TaskTimeoutError } from "../../mod.ts";
import { useLeakCheck } from "../helpers/leaks.ts";
import { ranFor, sleep, stopwatch } from "../helpers/timing.ts";
import { faultBackends } from "./backends.ts";
import { faultTest, SettleTracker } from "./harness.ts";

for (const backend of faultBackends()) {
  const t = backend.tasks;
  describe(`tasks that overrun on ${backend.name}`, () => {
    useLeakCheck();

    faultTest("a task that never returns times out on every attempt", async () => {
      const q = backend.make({ ...backend.onePerWorker, workers: 2 });
      try {
        const tracker = new SettleTracker();
        const h = tracker.track(q.submit(t.hang, [], { name: "stuck", timeout: 50, retries: 2 }));
        const ok = tracker.track(q.submit(t.increment, [1]));
        const elapsed = stopwatch();
        const summary = await q.run();
        assert.ok(elapsed() < 5_000, `run took ${elapsed()}ms`);
        const result = h.result();
        assert.equal(result.status, "failed");
        assert.equal(result.endedBy, "timeout");
        assert.equal(result.attempts, 3);
        assert.equal(result.message, "task 'stuck' exceeded 50ms timeout");
        assert.ok(result.exception instanceof TaskTimeoutError);
        assert.equal(ok.value(), 2);
        assert.equal(summary.failed, 1);
        await tracker.assertEachSettledOnce("never returns");
      } finally {
        await q.shutdown({ force: true });
      }
    });

    faultTest(
      "a task that ignores its signal settles at its timeout; its late return is ignored",
      async () => {
        let completions = 0;
        const q = backend.make({
          ...backend.onePerWorker,
          workers: 1,
          onComplete: () => void completions++,
        });
        try {
          const tracker = new SettleTracker();
          const h = tracker.track(
            q.submit(t.ignoreSignal, [400], { name: "deaf", bind: true, timeout: 40 }),
          );
          await q.run();
          // Timed from the task's start: a child's or a worker's boot is not the task's.
          const ran = ranFor(h.result());
          assert.ok(ran < 350, `settled ${ran}ms after it started, not at its timeout`);
          assert.equal(h.result().endedBy, "timeout");
          const resultsBefore = q.results.length;
          // Let the abandoned attempt return "late".
          await sleep(500);
          assert.equal(h.status, "failed");
          assert.equal(h.result().message, "task 'deaf' exceeded 40ms timeout");
          assert.equal(q.results.length, resultsBefore, "no second result");
          assert.equal(completions, 1, "onComplete ran once");
          await tracker.assertEachSettledOnce("ignores its signal");
        } finally {
          await q.shutdown({ force: true });
        }
      },
    );

    faultTest("a rejection after the timeout is neither unhandled nor recorded", async () => {
      const q = backend.make({ ...backend.onePerWorker, workers: 1 });
      try {
        const h = q.submit(t.rejectLate, [100], { name: "rejects-late", timeout: 20 });
        await q.run();
        assert.equal(h.result().endedBy, "timeout");
        await sleep(200);
        assert.equal(h.result().message, "task 'rejects-late' exceeded 20ms timeout");
        assert.equal(q.results.length, 1);
      } finally {
        await q.shutdown({ force: true });
      }
    });

    faultTest(
      "a timed-out attempt that returns while its retry runs does not settle the retry",
      async () => {
        const q = backend.make({ ...backend.onePerWorker, workers: 2 });
        try {
          const tracker = new SettleTracker();
          // Attempt 1 times out at ~100ms and returns at ~250ms, while attempt 2
          // (started at ~100ms) is running; attempt 2 times out at ~200ms+.
          const h = tracker.track(
            q.submit(t.ignoreSignal, [250], {
              name: "overlap",
              bind: true,
              timeout: 100,
              retries: 1,
            }),
          );
          await q.run();
          await sleep(300);
          const result = h.result();
          assert.equal(result.status, "failed");
          assert.equal(result.attempts, 2);
          assert.equal(result.endedBy, "timeout");
          assert.equal(q.results.length, 1);
          await tracker.assertEachSettledOnce("overlapping attempts");
        } finally {
          await q.shutdown({ force: true });
        }
      },
    );

    faultTest("a task that honours its signal stops at its timeout", async () => {
      const q = backend.make({ ...backend.onePerWorker, workers: 1 });
      try {
        const h = q.submit(t.sleepAbortable, [10_000], { name: "polite", bind: true, timeout: 30 });
        await q.run();
        assert.ok(ranFor(h.result()) < 2_000, `settled ${ranFor(h.result())}ms after it started`);
        assert.equal(h.result().endedBy, "timeout");
      } finally {
        await q.shutdown({ force: true });
      }
    });

    faultTest("a run timeout cancels a task that ignores its signal and ends the run", async () => {
      const q = backend.make({ ...backend.onePerWorker, workers: 1 });
      try {
        const tracker = new SettleTracker();
        const h = tracker.track(q.submit(t.ignoreSignal, [300], { bind: true }));
        const queued = tracker.track(q.submit(t.increment, [1]));
        const elapsed = stopwatch();
        const summary = await q.run({ timeout: 50 });
        assert.ok(elapsed() < 280, `the run ended after ${elapsed()}ms`);
        assert.equal(summary.timedOut, true);
        assert.equal(h.status, "cancelled");
        assert.equal(queued.status, "cancelled");
        await sleep(350);
        assert.equal(h.status, "cancelled");
        await tracker.assertEachSettledOnce("run timeout");
      } finally {
        await q.shutdown({ force: true });
      }
    });
  });
}
