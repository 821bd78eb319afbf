import { describe, it } from "node:test";
import assert from "node:assert/strict";

import { AsyncQueue, ManualClock, TaskResult, type TaskResultInit } from "../../mod.ts";
import { attemptRecords, freezeHistory } from "../../src/core/attempt_records.ts";

function result(init: Partial<TaskResultInit>): TaskResult {
  return new TaskResult({ taskId: "t", name: "job", status: "succeeded", attempts: 1, ...init });
}

const threw = (attempt: number, startedAt: number, finishedAt: number) => ({
  attempt,
  startedAt,
  finishedAt,
  worker: 3,
  endedBy: "threw" as const,
  message: `boom ${attempt}`,
});

describe("attemptRecords", () => {
  it("describes a task that ran once by its result alone", () => {
    const { records, slots } = attemptRecords([
      result({ startedAt: 10, finishedAt: 30, worker: 3 }),
      result({ taskId: "never", status: "cancelled", attempts: 0, startedAt: null }),
    ]);
    assert.equal(slots, false);
    assert.deepEqual(records, [{
      taskId: "t",
      name: "job",
      attempt: 1,
      worker: 3,
      startedAt: 10,
      finishedAt: 30,
      endedBy: "returned",
      message: "",
    }]);
  });

  it("takes earlier attempts from history and the last one's start kept with it", () => {
    const history = freezeHistory([threw(1, 10, 20), threw(2, 40, 50)], 75);
    assert.ok(Object.isFrozen(history));
    assert.deepEqual(Object.keys(history), ["0", "1"], "the kept start is not enumerable");
    const { records } = attemptRecords([
      result({ attempts: 3, startedAt: 10, finishedAt: 90, worker: 4, history }),
    ]);
    assert.deepEqual(
      records.map((r) => [r.attempt, r.startedAt, r.finishedAt, r.worker, r.endedBy, r.message]),
      [
        [1, 10, 20, 3, "threw", "boom 1"],
        [2, 40, 50, 3, "threw", "boom 2"],
        [3, 75, 90, 4, "returned", ""],
      ],
    );
  });

  it("starts the last attempt where the one before ended when no start was kept", () => {
    const { records } = attemptRecords([
      result({ attempts: 2, startedAt: 10, finishedAt: 90, history: [threw(1, 10, 20)] }),
    ]);
    assert.deepEqual(records.map((r) => [r.startedAt, r.finishedAt]), [[10, 20], [20, 90]]);
  });

  it("adds no attempt after a history that holds them all (cancelled while waiting to retry)", () => {
    const { records } = attemptRecords([
      result({
        status: "cancelled",
        endedBy: "cancelled",
        attempts: 1,
        startedAt: 10,
        finishedAt: 60,
        history: [threw(1, 10, 20)],
      }),
    ]);
    assert.deepEqual(records.map((r) => r.endedBy), ["threw"]);
  });

  it("places attempts with no worker in the lowest slot free at their start", () => {
    const { records, slots } = attemptRecords([
      result({ taskId: "a", startedAt: 0, finishedAt: 10 }),
      result({ taskId: "b", startedAt: 5, finishedAt: 20 }),
      result({ taskId: "c", startedAt: 10, finishedAt: 12 }),
      result({ taskId: "d", startedAt: 11, finishedAt: 30 }),
    ]);
    assert.equal(slots, true);
    assert.deepEqual(
      Object.fromEntries(records.map((r) => [r.taskId, r.worker])),
      { a: 0, b: 1, c: 0, d: 2 },
    );
  });

  it("rebuilds a real run's attempts: the retry's own start, a cancel during a retry wait", async () => {
    const clock = new ManualClock();
    const q = new AsyncQueue({ clock, workers: 2 });
    let calls = 0;
    const sleep = (ms: number) => new Promise<void>((resolve) => clock.setTimer(resolve, ms));
    const retried = q.submit(async () => {
      await sleep(10);
      if (++calls === 1) throw new Error("first");
    }, { retries: 1, retryDelay: 100 });
    const cancelled = q.submit(async () => {
      await sleep(5);
      throw new Error("again");
    }, { retries: 1, retryDelay: 1_000 });
    const running = q.run();
    await clock.advance(50);
    cancelled.cancel();
    await clock.advance(200);
    const summary = await running;
    const { records } = attemptRecords(summary.results);
    const of = (id: string) =>
      records.filter((r) => r.taskId === id).map((r) => [r.startedAt, r.finishedAt, r.endedBy]);
    // The retry waited 100 ms: it started at 110, a time only the kept start holds.
    assert.deepEqual(of(retried.id), [[0, 10, "threw"], [110, 120, "returned"]]);
    assert.deepEqual(of(cancelled.id), [[0, 5, "threw"]]);
    assert.equal(cancelled.result().endedBy, "cancelled");
    assert.equal(cancelled.result().history.length, 1);
  });
});
