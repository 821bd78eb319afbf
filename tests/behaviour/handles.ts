/**
 * Task handles (from a real queue on each backend): statuses and
 * attempts, the synchronous accessors, `await handle` (the value) versus
 * `wait()` (the result), cancellation, and `onDone`.
 *
 * @module
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { CancelledError, InvalidStateError, type TaskHandle } from "../../mod.ts";
import type { BackendUnderTest } from "./backend.ts";
import { withQueue } from "../helpers/leaks.ts";
import { rejectsWith } from "../helpers/asserts.ts";
import { sleep, tick, waitFor } from "../helpers/timing.ts";

function isNotReady(error: unknown): boolean {
  assert.ok(error instanceof InvalidStateError, String(error));
  assert.equal(error.message, "result not ready");
  return true;
}

/** Defines the handle tests for `b`. */
export function handleTests(b: BackendUnderTest): void {
  const t = b.tasks;

  describe("handle state", () => {
    it("done() is false until the task finishes", async () => {
      await withQueue(() => b.make(), async (q) => {
        const h = q.submit(t.double, [5]);
        assert.equal(h.done(), false);
        await q.run();
        assert.equal(h.done(), true);
        assert.equal(h.cancelled(), false);
        assert.equal(h.value(), 10);
      });
    });

    it("goes pending → running → retrying → running → succeeded, counting attempts", async () => {
      const seen: string[] = [];
      const record = (h: { status: string; attempts: number }, where: string): void =>
        void seen.push(`${where}:${h.status}:${h.attempts}`);
      await withQueue(
        () =>
          b.make({
            onStart: (h) => record(h, "start"),
            onRetry: (h) => record(h, "retry"),
          }),
        async (q) => {
          const h = q.submit(t.failUntilAttempt, [2], { bind: true, retries: 1 });
          record(h, "submitted");
          await q.run();
          record(h, "finished");
          assert.deepEqual(seen, [
            "submitted:pending:0",
            "start:running:1",
            "retry:retrying:1",
            "start:running:2",
            "finished:succeeded:2",
          ]);
        },
      );
    });

    it("hooks receive the same handle object that submit returned", async () => {
      const started: TaskHandle<unknown>[] = [];
      await withQueue(() => b.make({ onStart: (h) => void started.push(h) }), async (q) => {
        const h = q.submit(t.double, [1]);
        await q.run();
        assert.equal(started.length, 1);
        assert.equal(started[0], h);
      });
    });

    it("the synchronous accessors throw 'result not ready' while pending", async () => {
      await withQueue(() => b.make(), async (q) => {
        const h = q.submit(t.double, [1]);
        assert.throws(() => h.result(), isNotReady);
        assert.throws(() => h.value(), isNotReady);
        assert.throws(() => h.exception(), isNotReady);
        await q.run();
        assert.equal(h.result(), h.result(), "result() returns the same object");
        assert.equal(h.exception(), undefined);
      });
    });

    it("value() rethrows the task's own error, the same object exception() returns", async () => {
      await withQueue(() => b.make(), async (q) => {
        const h = q.submit(t.failAlways, ["bad input"]);
        await q.run();
        const error = h.exception();
        assert.ok(error instanceof Error);
        assert.equal(error.message, "bad input");
        assert.equal(h.exception(), error);
        assert.throws(() => h.value(), (thrown: unknown) => thrown === error);
        await rejectsWith(() => h, (thrown: unknown) => thrown === error);
      });
    });

    it("a thrown non-Error is the failure, with its String() as message", async () => {
      await withQueue(() => b.make(), async (q) => {
        const h = q.submit(t.throwString, ["plain text"]);
        await q.run();
        assert.equal(h.status, "failed");
        assert.equal(h.exception(), "plain text");
        assert.equal(h.result().message, "plain text");
      });
    });
  });

  describe("await and wait()", () => {
    it("await handle gives the value; wait() gives the TaskResult", async () => {
      await withQueue(() => b.make(), async (q) => {
        const h = q.submit(t.answer, {});
        q.start();
        assert.equal(await h, 42);
        const result = await h.wait();
        assert.equal(result.status, "succeeded");
        assert.equal(result.value, 42);
        assert.equal(result, h.result());
      });
    });

    it("Promise.all over handles gives the values in order", async () => {
      await withQueue(() => b.make(), async (q) => {
        const handles = q.map(t.double, [3, 1, 2]);
        q.start();
        assert.deepEqual(await Promise.all(handles), [6, 2, 4]);
      });
    });

    it("await rejects with the error; wait() never rejects", async () => {
      await withQueue(() => b.make(), async (q) => {
        const h = q.submit(t.failAlways, ["nope"]);
        q.start();
        const result = await h.wait();
        assert.equal(result.status, "failed");
        await rejectsWith(() => h, { message: "nope" });
      });
    });

    it("two waiters get the same result object", async () => {
      await withQueue(() => b.make(), async (q) => {
        const h = q.submit(t.sleepThen, [20, "shared"]);
        q.start();
        const [first, second] = await Promise.all([h.wait(), h.wait()]);
        assert.equal(first, second);
        assert.equal(await h.wait(), first, "an already finished handle resolves at once");
      });
    });

    it("wait() waits for a task that finishes later", async () => {
      await withQueue(() => b.make(), async (q) => {
        const h = q.submit(t.sleepThen, [60, "late"]);
        q.start();
        let settled = false;
        const waiting = h.wait().then((result) => {
          settled = true;
          return result;
        });
        await tick();
        assert.equal(settled, false);
        assert.equal((await waiting).value, "late");
      });
    });

    it("a failed handle nobody awaits causes no unhandled rejection", async () => {
      await withQueue(() => b.make(), async (q) => {
        q.submit(t.failAlways, ["ignored"]);
        const cancelled = q.submit(t.double, [1], { delay: 5_000 });
        cancelled.cancel();
        const summary = await q.run();
        assert.equal(summary.failed, 1);
        await sleep(20);
      });
    });
  });

  describe("cancel", () => {
    it("cancelling a queued task records it at once as cancelled before execution", async () => {
      await withQueue(() => b.make(), (q) => {
        const h = q.submit(t.double, [1]);
        assert.equal(h.cancel(), true);
        assert.equal(h.done(), true);
        assert.equal(h.cancelled(), true);
        assert.equal(h.status, "cancelled");
        const result = h.result();
        assert.equal(result.message, "cancelled before execution");
        assert.equal(result.attempts, 0);
        assert.equal(result.startedAt, null);
        assert.equal(result.duration, 0);
        assert.equal(result.endedBy, null);
        assert.equal(h.cancel(), false, "a finished task cannot be cancelled again");
      });
    });

    it("cancelling a running task", async () => {
      await withQueue(() => b.make(), async (q) => {
        const h = q.submit(t.sleepThen, [5_000, "never"]);
        q.start();
        await waitFor(() => h.status === "running", 2_000, "task running");
        assert.equal(h.cancel(), true);
        const result = await h.wait();
        assert.equal(h.done(), true);
        assert.equal(h.cancelled(), true);
        assert.equal(result.status, "cancelled");
        assert.equal(result.message, "cancelled");
        assert.equal(result.endedBy, "cancelled");
        assert.equal(result.attempts, 1);
        assert.throws(() => h.value(), (error: unknown) => {
          assert.ok(error instanceof CancelledError);
          assert.equal(error.message, "cancelled");
          return true;
        });
        await rejectsWith(() => h, CancelledError);
      });
    });

    it("cancelling a scheduled task", async () => {
      await withQueue(() => b.make(), (q) => {
        const h = q.submit(t.double, [1], { delay: 5_000 });
        q.start();
        assert.equal(h.cancel(), true);
        assert.equal(h.result().message, "cancelled before execution");
        assert.equal(q.stats.scheduled, 0);
      });
    });

    it("cancel returns false once the task is done, and the first outcome stays", async () => {
      await withQueue(() => b.make(), async (q) => {
        const h = q.submit(t.sleepThen, [40, "finished late"]);
        q.start();
        await waitFor(() => h.status === "running", 2_000, "task running");
        h.cancel();
        const first = h.result();
        await sleep(80);
        assert.equal(h.status, "cancelled");
        assert.equal(h.result(), first);
        assert.equal(h.cancel(), false);
        const done = q.submit(t.double, [1]);
        await done;
        assert.equal(done.cancel(), false);
        assert.equal(done.status, "succeeded");
      });
    });
  });

  describe("onDone", () => {
    it("fires when the task finishes", async () => {
      await withQueue(() => b.make(), async (q) => {
        const got: unknown[] = [];
        const h = q.submit(t.double, [3]);
        h.onDone((done) => void got.push(done.value()));
        assert.deepEqual(got, []);
        await q.run();
        assert.deepEqual(got, [6]);
      });
    });

    it("fires at once, synchronously, on a finished handle", async () => {
      await withQueue(() => b.make(), async (q) => {
        const h = q.submit(t.double, [3]);
        await q.run();
        let fired: unknown;
        h.onDone((done) => void (fired = done));
        assert.equal(fired, h);
      });
    });

    it("callbacks fire in order; one that throws is reported and does not stop the others", async () => {
      const hookErrors: [unknown, string][] = [];
      await withQueue(
        () => b.make({ onHookError: (error, hook) => void hookErrors.push([error, hook]) }),
        async (q) => {
          const order: number[] = [];
          const h = q.submit(t.double, [1]);
          h.onDone(() => void order.push(1));
          h.onDone(() => {
            throw new Error("callback failed");
          });
          h.onDone(() => void order.push(2));
          const summary = await q.run();
          assert.deepEqual(order, [1, 2]);
          assert.equal(summary.ok, true);
          assert.equal(h.value(), 2);
          assert.equal(hookErrors.length, 1);
          assert.equal((hookErrors[0][0] as Error).message, "callback failed");
          assert.equal(hookErrors[0][1], "onDone");
        },
      );
    });
  });
}
