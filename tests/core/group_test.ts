import { describe, it } from "node:test";
import assert from "node:assert/strict";

import { AsyncQueue } from "../../src/backends/async_queue.ts";
import { ManualClock } from "../../src/core/clock.ts";
import { ExecutionError } from "../../src/core/errors.ts";
import { TaskGroup } from "../../src/core/group.ts";
import { TaskHandle } from "../../src/core/handle.ts";
import { TaskResult, type TaskStatus } from "../../src/core/result.ts";
import { useLeakCheck, withQueue } from "../helpers/leaks.ts";
import { deferred, sleep, tick } from "../helpers/timing.ts";

function done<T>(taskId: string, status: TaskStatus, value?: T): TaskHandle<T> {
  return TaskHandle.fromResult(
    new TaskResult<T>({
      taskId,
      name: `task-${taskId}`,
      status,
      value,
      exception: status === "failed" ? new Error(`${taskId} failed`) : undefined,
      message: status === "failed" ? `${taskId} failed` : status === "cancelled" ? "cancelled" : "",
    }),
  );
}

describe("TaskGroup of hand-built handles", () => {
  it("has a size, its group id, and its handles in order", () => {
    const handles = [
      done("a1", "succeeded", 1),
      done("a2", "succeeded", 2),
      done<number>("a3", "failed"),
    ];
    const group = new TaskGroup("gid", handles);
    assert.equal(group.groupId, "gid");
    assert.equal(group.size, 3);
    assert.deepEqual(group.handles, handles);
    assert.deepEqual([...group], handles);
    const seen: TaskHandle<number>[] = [];
    for (const h of group) seen.push(h);
    assert.deepEqual(seen, handles);
  });

  it("copies the handles it is given (an iterable is read once)", () => {
    const handles = [done("a1", "succeeded", 1)];
    const group = new TaskGroup("g", handles);
    handles.push(done("a2", "succeeded", 2));
    assert.equal(group.size, 1);
    function* generate(): Generator<TaskHandle<number>> {
      yield done("b1", "succeeded", 1);
      yield done("b2", "succeeded", 2);
    }
    const fromGenerator = new TaskGroup("g", generate());
    assert.equal(fromGenerator.size, 2);
    assert.equal([...fromGenerator].length, 2);
    assert.equal([...fromGenerator].length, 2); // iterable again
  });

  it("an empty group has size 0, an empty ok summary, no values and cancels nothing", async () => {
    const group = new TaskGroup<number>("empty", []);
    assert.equal(group.size, 0);
    assert.deepEqual([...group], []);
    const summary = await group.wait();
    assert.equal(summary.totalSubmitted, 0);
    assert.equal(summary.ok, true);
    assert.deepEqual(await group.values(), []);
    assert.equal(group.cancel(), 0);
    const yielded: unknown[] = [];
    for await (const h of group.asCompleted()) yielded.push(h);
    assert.deepEqual(yielded, []);
  });

  it("wait() on finished handles summarises them: 2 of 2 succeeded", async () => {
    const group = new TaskGroup("g", [done("a1", "succeeded", "x"), done("a2", "succeeded", "y")]);
    const summary = await group.wait();
    assert.equal(summary.totalSubmitted, 2);
    assert.equal(summary.succeeded, 2);
    assert.equal(summary.failed, 0);
    assert.equal(summary.cancelled, 0);
    assert.equal(summary.timedOut, false);
    assert.equal(summary.results.length, 2);
    assert.equal(summary.ok, true);
  });

  it("wait() counts mixed statuses 1/1/1 and keeps submission order", async () => {
    const handles = [done("c", "cancelled"), done("a", "succeeded", 1), done("b", "failed")];
    const summary = await new TaskGroup("g", handles).wait();
    assert.equal(summary.succeeded, 1);
    assert.equal(summary.failed, 1);
    assert.equal(summary.cancelled, 1);
    assert.equal(summary.ok, false);
    assert.deepEqual(summary.results.map((r) => r.taskId), ["c", "a", "b"]);
    assert.deepEqual(summary.results, handles.map((h) => h.result()));
  });

  it("wait() measures its duration on the group's clock", async () => {
    const clock = new ManualClock(1_000);
    const group = new TaskGroup("g", [done("a", "succeeded", 1)], clock);
    const summary = await group.wait();
    assert.equal(summary.duration, 0);
  });

  it("values() gives the values in submission order", async () => {
    const group = new TaskGroup("g", [
      done("a1", "succeeded", "alpha"),
      done("a2", "succeeded", "beta"),
    ]);
    assert.deepEqual(await group.values(), ["alpha", "beta"]);
  });

  it("values() throws ExecutionError holding only the failed result", async () => {
    const failed = done<string>("a2", "failed");
    const group = new TaskGroup("g", [done("a1", "succeeded", "alpha"), failed]);
    await assert.rejects(group.values(), (error: unknown) => {
      assert.ok(error instanceof ExecutionError);
      assert.equal(error.message, "1 task(s) failed");
      assert.equal(error.results.length, 1);
      assert.equal(error.results[0], failed.result());
      assert.equal(error.results[0].taskId, "a2");
      return true;
    });
  });

  it("values() throws on cancellations too, with the failed then the cancelled results", async () => {
    const cancelled = done<number>("c1", "cancelled");
    const failed = done<number>("f1", "failed");
    const group = new TaskGroup("g", [cancelled, done("ok", "succeeded", 1), failed]);
    await assert.rejects(group.values(), (error: unknown) => {
      assert.ok(error instanceof ExecutionError);
      assert.equal(error.message, "1 task(s) failed; 1 task(s) cancelled");
      assert.deepEqual(error.results, [failed.result(), cancelled.result()]);
      return true;
    });
    await assert.rejects(
      new TaskGroup("g", [cancelled]).values(),
      (error: unknown) =>
        error instanceof ExecutionError && error.message === "1 task(s) cancelled",
    );
  });

  it("cancel() is 0 when every handle is done", () => {
    const group = new TaskGroup("g", [done("a", "succeeded", 1), done("b", "failed")]);
    assert.equal(group.cancel(), 0);
    assert.equal(group.handles[0].status, "succeeded");
  });

  it("asCompleted() yields the handles themselves", async () => {
    const handles = [done("a", "succeeded", 1), done("b", "succeeded", 2)];
    const yielded: unknown[] = [];
    for await (const h of new TaskGroup("g", handles).asCompleted()) {
      yielded.push(h);
      assert.equal(typeof h.value(), "number");
    }
    assert.deepEqual(yielded, handles);
  });

  it("toString looks like TaskGroup('gid', tasks=N)", () => {
    assert.equal(
      String(new TaskGroup("gid", [done("a", "succeeded")])),
      "TaskGroup('gid', tasks=1)",
    );
    assert.equal(`${new TaskGroup("x", [])}`, "TaskGroup('x', tasks=0)");
  });
});

describe("TaskGroup with handles from an AsyncQueue", () => {
  useLeakCheck();

  it("cancel() counts the handles it cancelled: 2 of 3 when one is already done", async () => {
    await withQueue(() => new AsyncQueue(), async (q) => {
      const ran: number[] = [];
      const live = [q.submit(() => ran.push(1)), q.submit(() => ran.push(2))];
      const group = new TaskGroup("g", [done("finished", "succeeded", 0), ...live]);
      assert.equal(group.cancel(), 2);
      assert.ok(live.every((h) => h.cancelled()));
      assert.equal(group.cancel(), 0);
      await q.run();
      assert.deepEqual(ran, []);
    });
  });

  it("q.group() gives a group whose handles carry its id", async () => {
    await withQueue(() => new AsyncQueue(), async (q) => {
      const group = q.group((n: number) => n * 10, [1, 2, 3], { groupId: "tens" });
      assert.equal(group.groupId, "tens");
      assert.equal(group.size, 3);
      assert.ok(group.handles.every((h) => h.groupId === "tens"));
      await q.run();
      assert.deepEqual(await group.values(), [10, 20, 30]);
    });
  });

  it("wait() waits for handles finished later, and keeps submission order", async () => {
    await withQueue(() => new AsyncQueue({ workers: 3 }), async (q) => {
      const slow = async (ms: number): Promise<number> => {
        await sleep(ms);
        return ms;
      };
      const group = q.group(slow, [40, 5, 20]);
      let settled = false;
      const waiting = group.wait().then((summary) => {
        settled = true;
        return summary;
      });
      await tick();
      assert.equal(settled, false);
      q.start();
      const summary = await waiting;
      assert.equal(summary.succeeded, 3);
      assert.deepEqual(summary.values, [40, 5, 20]);
      assert.deepEqual(summary.results.map((r) => r.taskId), group.handles.map((h) => h.id));
      assert.deepEqual(await group.values(), [40, 5, 20]);
    });
  });

  it("wait() does not start the queue", async () => {
    await withQueue(() => new AsyncQueue(), async (q) => {
      const group = q.group((n: number) => n, [1]);
      let settled = false;
      void group.wait().then(() => (settled = true));
      await sleep(20);
      assert.equal(settled, false);
      assert.equal(group.handles[0].status, "pending");
      await q.run();
      await tick();
      assert.equal(settled, true);
    });
  });

  it("wait() duration is the queue clock's time from the call to the last finish", async () => {
    const clock = new ManualClock(10_000);
    await withQueue(() => new AsyncQueue({ clock }), async (q) => {
      const group = q.group((n: number) => n, [1, 2], { delay: 250 });
      q.start();
      const waiting = group.wait();
      await clock.advance(250);
      const summary = await waiting;
      assert.equal(summary.succeeded, 2);
      assert.equal(summary.duration, 250);
    });
  });

  it("values() of a live group with a failure throws ExecutionError with just that result", async () => {
    await withQueue(() => new AsyncQueue(), async (q) => {
      const error = new RangeError("three is bad");
      const group = q.group((n: number) => {
        if (n === 3) throw error;
        return n;
      }, [1, 3, 5]);
      const values = group.values();
      // It rejects during run(): mark it handled until assert.rejects looks at it.
      values.catch(() => {});
      await q.run();
      await assert.rejects(values, (e: unknown) => {
        assert.ok(e instanceof ExecutionError);
        assert.equal(e.results.length, 1);
        assert.equal(e.results[0], group.handles[1].result());
        assert.equal(e.results[0].exception, error);
        return true;
      });
    });
  });

  it("asCompleted() yields the handles in completion order", async () => {
    await withQueue(() => new AsyncQueue({ workers: 3 }), async (q) => {
      const gates = [deferred<void>(), deferred<void>(), deferred<void>()];
      const group = q.group(async (i: number) => {
        await gates[i].promise;
        return i;
      }, [0, 1, 2]);
      q.start();
      const order: number[] = [];
      const reading = (async () => {
        for await (const h of group.asCompleted()) order.push(h.value());
      })();
      gates[2].resolve();
      await sleep(5);
      gates[0].resolve();
      await sleep(5);
      gates[1].resolve();
      await reading;
      assert.deepEqual(order, [2, 0, 1]);
    });
  });
});
