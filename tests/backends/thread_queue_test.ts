/**
 * ThreadQueue: the shared behaviour suite on Web Workers, plus what only the
 * thread backend does (its options, crashes seen through the engine, the
 * worker index on results).
 *
 * @module
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { tmap } from "../../src/backends/shortcuts.ts";
import { ThreadQueue } from "../../src/backends/thread_queue.ts";
import { TaskTimeoutError, WorkerCrashedError } from "../../src/core/errors.ts";
import { taskModule } from "../../src/core/task_reference.ts";
import { behaviourSuite, behaviourTasks } from "../behaviour/suite.ts";
import { useLeakCheck, withQueue } from "../helpers/leaks.ts";
import type * as Tasks from "../fixtures/thread_tasks.ts";

const tasks = taskModule<typeof Tasks>(new URL("../fixtures/thread_tasks.ts", import.meta.url));

behaviourSuite({
  name: "thread",
  make: (options) => new ThreadQueue(options),
  tasks: behaviourTasks,
  shortcut: (fn, items, options) => tmap(fn as never, items, options),
});

describe("ThreadQueue only", () => {
  useLeakCheck();

  it("checks its own options", () => {
    const bad: [Record<string, unknown>, RegExp, typeof TypeError | typeof RangeError][] = [
      [{ maxTasksPerWorker: 0 }, /'maxTasksPerWorker' must be a positive integer/, RangeError],
      [
        { maxInFlightPerWorker: 1.5 },
        /'maxInFlightPerWorker' must be a positive integer/,
        RangeError,
      ],
      [{ killGrace: -1 }, /'killGrace' must be a non-negative number/, RangeError],
      [{ idleTimeout: "soon" }, /'idleTimeout' must be a non-negative number/, TypeError],
      [{ initializer: 42 }, /'initializer' must be a function or a task reference/, TypeError],
      [{ initArgs: "db" }, /'initArgs' must be an array/, TypeError],
      [{ workerz: 2 }, /Unknown queue option\(s\): workerz/, TypeError],
    ];
    for (const [options, message, errorClass] of bad) {
      assert.throws(() => new ThreadQueue(options as never), (error: unknown) => {
        assert.ok(error instanceof errorClass, `${JSON.stringify(options)}: ${error}`);
        assert.match((error as Error).message, /^Cannot create queue as |^Unknown/);
        assert.match((error as Error).message, message);
        return true;
      });
    }
  });

  it("records which worker ran each task", async () => {
    await withQueue(() => new ThreadQueue({ workers: 2 }), async (q) => {
      q.map(tasks.add.name === "add" ? (n: number) => n * 2 : () => 0, [1, 2, 3, 4]);
      const summary = await q.run();
      assert.deepEqual([...summary.values].sort(), [2, 4, 6, 8]);
      for (const result of summary.results) assert.ok(result.worker === 0 || result.worker === 1);
    });
  });

  it("retries a task that kills its worker, and reports the crash when retries run out", async () => {
    await withQueue(() => new ThreadQueue({ workers: 1 }), async (q) => {
      const crashing = q.submit(tasks.exitProcess, [9], { retries: 2 });
      const fine = q.submit(tasks.add, [1, 2]);
      await q.run();
      const result = crashing.result();
      assert.equal(result.status, "failed");
      assert.equal(result.endedBy, "worker-crashed");
      assert.equal(result.attempts, 3);
      assert.ok(result.exception instanceof WorkerCrashedError);
      assert.equal((result.exception as WorkerCrashedError).exitCode, 9);
      assert.equal(fine.value(), 3);
    });
  });

  it("lets a later higher-priority task overtake long tasks not yet started", async () => {
    await withQueue(() => new ThreadQueue({ workers: 1 }), async (q) => {
      const order: string[] = [];
      for (const i of [1, 2, 3, 4]) {
        q.submit(tasks.echoLater, [`slow ${i}`, 40]).onDone((h) =>
          void order.push(String(h.value()))
        );
      }
      q.start();
      await new Promise((resolve) => setTimeout(resolve, 10));
      q.submit(tasks.echoLater, ["urgent", 1], { priority: 0 })
        .onDone((h) => void order.push(String(h.value())));
      await q.run();
      assert.deepEqual(order, ["slow 1", "urgent", "slow 2", "slow 3", "slow 4"]);
    });
  });

  it("times out a task in the worker, and the next task runs on a live worker", async () => {
    await withQueue(() => new ThreadQueue({ workers: 1, killGrace: 100 }), async (q) => {
      const slow = q.submit(tasks.echoLater, ["late", 5_000], { timeout: 50 });
      const after = q.submit(tasks.add, [2, 2]);
      await q.run();
      assert.equal(slow.result().endedBy, "timeout");
      assert.ok(slow.exception() instanceof TaskTimeoutError);
      assert.equal(after.value(), 4);
    });
  });
});
