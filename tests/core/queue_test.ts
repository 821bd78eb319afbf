/**
 * The engine's lifecycle phases, seen through a queue: which phases admit
 * tasks, and what ends an abort. (The behaviour suite covers the rest of the
 * engine against every backend.)
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";

import { AsyncQueue } from "../../src/backends/async_queue.ts";
import { ClosedError } from "../../src/core/errors.ts";
import { useLeakCheck, withQueue } from "../helpers/leaks.ts";
import { deferred, tick } from "../helpers/timing.ts";

describe("queue lifecycle", () => {
  useLeakCheck();

  it("a fail-first abort refuses submissions until its run returns, then admits again", async () => {
    await withQueue(() => new AsyncQueue({ failPolicy: "failFirst", workers: 2 }), async (q) => {
      const hold = deferred<void>();
      const spared = q.submit(() => hold.promise.then(() => "spared"), { mustComplete: true });
      q.submit(() => {
        throw new Error("first failure");
      });
      const running = q.run();
      await tick();
      assert.throws(() => q.submit(() => 1), ClosedError);
      hold.resolve();
      const summary = await running;
      assert.equal(summary.failed, 1);
      assert.equal(spared.value(), "spared");
      const again = q.submit(() => "admitted");
      await q.run();
      assert.equal(again.value(), "admitted");
    });
  });

  it("start() ends an abort made outside a run", async () => {
    await withQueue(() => new AsyncQueue({ failPolicy: "failFirst" }), async (q) => {
      q.start();
      const failed = q.submit(() => {
        throw new Error("boom");
      });
      await failed.wait();
      assert.throws(() => q.submit(() => 1), ClosedError);
      q.start();
      assert.equal(await q.submit(() => "after start"), "after start");
    });
  });

  it("a graceful shutdown refuses submissions while it drains", async () => {
    await withQueue(() => new AsyncQueue(), async (q) => {
      const hold = deferred<void>();
      const pending = q.submit(() => hold.promise.then(() => "drained"));
      const closing = q.shutdown();
      await tick();
      assert.equal(q.closed, false);
      assert.throws(() => q.submit(() => 1), ClosedError);
      hold.resolve();
      await closing;
      assert.equal(q.closed, true);
      assert.equal(pending.value(), "drained");
    });
  });

  it("reset() after a shutdown watches the signal again", async () => {
    const controller = new AbortController();
    await withQueue(() => new AsyncQueue({ signal: controller.signal }), async (q) => {
      await q.shutdown();
      q.reset();
      q.start();
      const waiting = q.submit(() => new Promise(() => {}));
      controller.abort();
      const result = await waiting.wait();
      assert.equal(result.status, "cancelled");
      assert.equal(q.closed, true);
    });
  });
});
