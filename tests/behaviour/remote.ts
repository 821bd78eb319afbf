/**
 * Worker-side submission: Web Workers submit into the queue through
 * `queue.connect()` and `connectQueue(port)`, and the tasks join the queue
 * like local ones.
 *
 * @module
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ClosedError, connectQueue, TaskHandle } from "../../mod.ts";
import type { BackendUnderTest } from "./backend.ts";
import { withQueue } from "../helpers/leaks.ts";
import { waitFor } from "../helpers/timing.ts";

const workerUrl = new URL("../fixtures/remote_worker.ts", import.meta.url);

/** Starts the fixture worker with `order`; resolves with its one answer. */
function askWorker(port: MessagePort, order: Record<string, unknown>): {
  answer: Promise<unknown>;
  worker: Worker;
} {
  const worker = new Worker(workerUrl, { type: "module" });
  const answer = new Promise<unknown>((resolve, reject) => {
    worker.onmessage = (event) => resolve(event.data);
    worker.onerror = (event) => {
      event.preventDefault();
      reject(new Error(`worker failed: ${event.message}`));
    };
  });
  worker.postMessage({ ...order, port }, [port]);
  return { answer, worker };
}

/** The values the fixture worker's "work" mode must get back. */
function expectedWork(worker: number): unknown[] {
  const base = worker * 1000;
  const range = (n: number) => Array.from({ length: n }, (_, i) => i);
  return [
    range(20).map((i) => base + i),
    range(10).map((i) => 2 * (base + i)),
    range(10).map((i) => base * i),
    range(10).map((i) => (i + worker) ** 2),
  ];
}

/** Defines the worker-side submission tests for `b`. */
export function remoteTests(b: BackendUnderTest): void {
  const t = b.tasks;

  describe("worker-side submission", () => {
    it("4 workers × 50 submissions: exact results, counted in the run, hooks here", async () => {
      let started = 0;
      await withQueue(
        () => b.make({ mode: "infinite", workers: 2, onStart: () => started++ }),
        async (q) => {
          const running = q.run();
          const workers = [0, 1, 2, 3].map((n) =>
            askWorker(q.connect(), { worker: n, mode: "work" })
          );
          try {
            const answers = await Promise.all(workers.map((w) => w.answer));
            answers.forEach((answer, n) => {
              const [submitted, mapped, starmapped, grouped, groupId, status] = answer as unknown[];
              assert.deepEqual([submitted, mapped, starmapped, grouped], expectedWork(n));
              assert.match(String(groupId), /^group-\d+$/);
              assert.equal(status, "succeeded");
            });
          } finally {
            for (const w of workers) w.worker.terminate();
          }
          await q.shutdown();
          const summary = await running;
          assert.equal(summary.totalSubmitted, 200);
          assert.equal(summary.succeeded, 200);
          assert.equal(started, 200);
        },
      );
    });

    it("after the queue shut down, the port still answers: ClosedError, and bad options as here", async () => {
      await withQueue(() => b.make(), async (q) => {
        const port = q.connect();
        await q.shutdown();
        const { answer, worker } = askWorker(port, { mode: "late" });
        try {
          assert.deepEqual(await answer, {
            refused: {
              name: "ClosedError",
              message: "queue is not accepting tasks",
              className: "ClosedError",
            },
            badOption: {
              name: "RangeError",
              message:
                "Cannot submit task as 'retries' must be a non-negative integer: current value is -1",
              className: "RangeError",
            },
          });
        } finally {
          worker.terminate();
        }
      });
    });

    it("a worker that ends with tasks outstanding leaves them running", async () => {
      const finished: unknown[] = [];
      await withQueue(
        () => b.make({ onComplete: (result) => finished.push(result.value) }),
        async (q) => {
          q.start();
          const { answer, worker } = askWorker(q.connect(), { mode: "abandon" });
          try {
            assert.equal(await answer, "abandoned");
          } finally {
            worker.terminate();
          }
          await waitFor(() => finished.length === 5, 10_000);
          assert.deepEqual(finished.sort(), [0, 1, 2, 3, 4]);
        },
      );
    });

    it("in one thread: handles are TaskHandles; cancel and close reach the queue", async () => {
      await withQueue(() => b.make({ workers: 1 }), async (q) => {
        const remote = connectQueue(q.connect());
        const first = remote.submit(t.sleepThen, [200, "first"]);
        const second = remote.submit(t.double, [4]);
        assert.ok(first instanceof TaskHandle);
        q.start();
        await waitFor(() => q.activeCount === 1 && q.pendingCount === 1);
        assert.equal(second.cancel(), true);
        assert.equal((await second.wait()).status, "cancelled");
        assert.equal(await first, "first");
        assert.equal(first.id, q.results[1]?.taskId ?? first.id);
        remote.close();
        assert.equal(remote.closed, true);
        const after = remote.submit(t.double, [1]);
        await assert.rejects(Promise.resolve(after), /remote queue is closed/);
        assert.throws(() => connectQueue({} as MessagePort), /'port' must be a MessagePort/);
        await q.shutdown();
        const late = connectQueue(q.connect());
        await assert.rejects(Promise.resolve(late.submit(t.double, [1])), ClosedError);
        late.close();
      });
    });
  });
}
