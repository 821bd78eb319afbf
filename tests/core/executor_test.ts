/**
 * The engine with an executor that drives attempts itself (as the BullMQ
 * executor does): it gets every task at once, arms no timeout, retries
 * nothing, and counts the attempts the executor tells it about.
 *
 * @module
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ManualClock } from "../../src/core/clock.ts";
import { TaskTimeoutError } from "../../src/core/errors.ts";
import { type AttemptRequest, type Executor, REPORTED_LATER } from "../../src/core/executor.ts";
import { TaskQueue } from "../../src/core/task_queue.ts";
import type { QueueOptions } from "../../src/core/queue_options.ts";
import { useLeakCheck } from "../helpers/leaks.ts";

/** Keeps every attempt it is handed, for the test to drive. */
class DrivingExecutor implements Executor {
  readonly kind = "distributed" as const;
  readonly drivesAttempts = true;
  readonly handed: AttemptRequest[] = [];
  validateSource(): void {}
  autoWorkers(): number {
    return 1;
  }
  capacity(): number {
    return Infinity;
  }
  liveWorkers(): number | undefined {
    return undefined;
  }
  execute(request: AttemptRequest): unknown {
    this.handed.push(request);
    return REPORTED_LATER;
  }
  start(): void {}
  close(): Promise<void> {
    return Promise.resolve();
  }
}

class DrivenQueue extends TaskQueue {
  constructor(options: QueueOptions, readonly executor = new DrivingExecutor()) {
    super(options, executor);
  }
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("An executor that drives attempts", () => {
  useLeakCheck();

  it("gets delayed tasks at once, all of them, with their options", async () => {
    const clock = new ManualClock();
    const q = new DrivenQueue({ clock, workers: 1 });
    q.submit(() => 1, { delay: 5_000, priority: 7 });
    q.submit(() => 2, { runAt: clock.wallNow() + 9_000 });
    q.submit(() => 3);
    q.start();
    await tick();
    assert.equal(q.executor.handed.length, 3);
    const delayed = q.executor.handed.find((request) => request.options.priority === 7);
    assert.equal(delayed?.options.delay, 5_000);
    for (const request of q.executor.handed) request.report(true, "done");
    await q.shutdown();
  });

  it("counts each attempt it reports, fires onStart and onRetry, retries nothing itself", async () => {
    const clock = new ManualClock();
    const events: string[] = [];
    const q = new DrivenQueue({
      clock,
      onStart: (handle) => void events.push(`start ${handle.attempts}`),
      onRetry: (_handle, error) => void events.push(`retry ${(error as Error).message}`),
    });
    const handle = q.submit(() => 1, { retries: 3, timeout: 100 });
    q.start();
    await tick();
    const [request] = q.executor.handed;
    assert.equal(request.began(), true);
    await clock.advance(1_000); // past the timeout: the engine does not act on it
    assert.equal(handle.status, "running");
    request.retrying(new Error("first"));
    assert.equal(handle.status, "retrying");
    assert.equal(request.began(), true);
    request.report(false, new TaskTimeoutError("anonymous", 100));
    await tick();
    assert.equal(q.executor.handed.length, 1, "the engine started no retry of its own");
    const result = handle.result();
    assert.equal(result.attempts, 2);
    assert.equal(result.endedBy, "timeout");
    assert.deepEqual(events, ["start 1", "retry first", "start 2"]);
    await q.shutdown();
  });
});
