import { describe, it } from "node:test";
import assert from "node:assert/strict";

import { AsyncQueue } from "../../src/backends/async_queue.ts";
import { asCompleted } from "../../src/core/as_completed.ts";
import { TaskHandle } from "../../src/core/handle.ts";
import { TaskResult, type TaskStatus } from "../../src/core/result.ts";
import { useLeakCheck, withQueue } from "../helpers/leaks.ts";
import { type Deferred, deferred, sleep, tick } from "../helpers/timing.ts";

function done<T>(taskId: string, status: TaskStatus, value?: T): TaskHandle<T> {
  return TaskHandle.fromResult(new TaskResult<T>({ taskId, name: taskId, status, value }));
}

/** Submits one task per gate; task i returns i once its gate opens. */
function gatedTasks(q: AsyncQueue, count: number): {
  gates: Deferred<void>[];
  handles: TaskHandle<number>[];
} {
  const gates = Array.from({ length: count }, () => deferred<void>());
  const handles = gates.map((gate, i) =>
    q.submit(async () => {
      await gate.promise;
      return i;
    })
  );
  return { gates, handles };
}

/** Whether `promise` settles within a few timer turns. */
async function settlesSoon(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  promise.then(() => (settled = true), () => (settled = true));
  for (let i = 0; i < 5 && !settled; i++) await sleep(5);
  return settled;
}

describe("asCompleted with finished handles", () => {
  it("yields nothing for empty input", async () => {
    const iterator = asCompleted<number>([]);
    assert.deepEqual(await iterator.next(), { value: undefined, done: true });
    assert.deepEqual(await iterator.next(), { value: undefined, done: true });
    const seen: unknown[] = [];
    for await (const h of asCompleted([])) seen.push(h);
    assert.deepEqual(seen, []);
  });

  it("yields handles already done in input order", async () => {
    const handles = [done("a", "succeeded", 1), done("b", "failed"), done("c", "cancelled")];
    const seen: unknown[] = [];
    for await (const h of asCompleted(handles)) seen.push(h);
    assert.deepEqual(seen, handles);
  });

  it("yields the handle object itself, not its value (handles are thenable)", async () => {
    const h = done("a", "succeeded", "value");
    for await (const yielded of asCompleted([h])) {
      assert.equal(yielded, h);
      assert.equal(yielded.value(), "value");
      assert.equal(yielded.result().status, "succeeded");
    }
  });

  it("is its own async iterator and accepts any iterable", async () => {
    const iterator = asCompleted(new Set([done("a", "succeeded", 1)]));
    assert.equal(iterator[Symbol.asyncIterator](), iterator);
    function* generate(): Generator<TaskHandle<number>> {
      yield done("x", "succeeded", 1);
      yield done("y", "succeeded", 2);
    }
    const values: number[] = [];
    for await (const h of asCompleted(generate())) values.push(h.value());
    assert.deepEqual(values, [1, 2]);
  });

  it("after return() it is finished", async () => {
    const iterator = asCompleted([done("a", "succeeded", 1), done("b", "succeeded", 2)]);
    assert.equal((await iterator.next()).done, false);
    assert.deepEqual(await iterator.return?.(), { value: undefined, done: true });
    assert.deepEqual(await iterator.next(), { value: undefined, done: true });
  });
});

describe("asCompleted with live handles", () => {
  useLeakCheck();

  it("yields done handles first (input order), then the rest in completion order", async () => {
    await withQueue(() => new AsyncQueue({ workers: 3 }), async (q) => {
      const { gates, handles } = gatedTasks(q, 3);
      const early = [done("early-1", "succeeded", 10), done("early-2", "succeeded", 20)];
      const input = [handles[0], early[0], handles[1], early[1], handles[2]];
      q.start();
      const seen: unknown[] = [];
      const reading = (async () => {
        for await (const h of asCompleted(input)) seen.push(h.value());
      })();
      await tick();
      assert.deepEqual(seen, [10, 20]);
      gates[1].resolve();
      await sleep(5);
      gates[2].resolve();
      await sleep(5);
      gates[0].resolve();
      await reading;
      assert.deepEqual(seen, [10, 20, 1, 2, 0]);
    });
  });

  it("yields failed and cancelled handles too, without throwing", async () => {
    await withQueue(() => new AsyncQueue(), async (q) => {
      const failing = q.submit(() => {
        throw new Error("no");
      });
      const cancelled = q.submit(() => 1);
      const ok = q.submit(() => 2);
      cancelled.cancel();
      q.start();
      const statuses: string[] = [];
      for await (const h of asCompleted([failing, cancelled, ok])) statuses.push(h.status);
      assert.deepEqual([...statuses].sort(), ["cancelled", "failed", "succeeded"]);
      assert.equal(statuses[0], "cancelled"); // already done when the iteration began
    });
  });

  it("an early break stops the iteration but does not cancel the tasks", async () => {
    await withQueue(() => new AsyncQueue({ workers: 3 }), async (q) => {
      const { gates, handles } = gatedTasks(q, 3);
      q.start();
      const iterator = asCompleted(handles);
      gates[1].resolve();
      for await (const h of iterator) {
        assert.equal(h, handles[1]);
        break;
      }
      // The loop's break called return(): the iterator is finished.
      assert.deepEqual(await iterator.next(), { value: undefined, done: true });
      gates[0].resolve();
      gates[2].resolve();
      assert.deepEqual(await Promise.all(handles), [0, 1, 2]);
      assert.ok(handles.every((h) => h.status === "succeeded"));
      assert.deepEqual(await iterator.next(), { value: undefined, done: true });
    });
  });

  it("waits for as many handles as it was given, no more", async () => {
    await withQueue(() => new AsyncQueue({ workers: 2 }), async (q) => {
      const { gates, handles } = gatedTasks(q, 2);
      q.start();
      const iterator = asCompleted(handles);
      const first = iterator.next();
      assert.equal(await settlesSoon(first), false);
      gates[0].resolve();
      assert.equal((await first).value, handles[0]);
      gates[1].resolve();
      assert.equal((await iterator.next()).value, handles[1]);
      assert.deepEqual(await iterator.next(), { value: undefined, done: true });
    });
  });

  it("answers next() calls made before any handle finished, each with its own handle", async () => {
    await withQueue(() => new AsyncQueue({ workers: 2 }), async (q) => {
      const { gates, handles } = gatedTasks(q, 2);
      q.start();
      const iterator = asCompleted(handles);
      // Two requests in flight at once, as the async iterator protocol allows.
      const a = iterator.next();
      const b = iterator.next();
      gates[0].resolve();
      gates[1].resolve();
      await Promise.all(handles);
      const settled = await Promise.all([settlesSoon(a), settlesSoon(b)]);
      assert.deepEqual(settled, [true, true], "a next() call was left pending forever");
      const got = [(await a).value, (await b).value];
      assert.deepEqual(new Set(got), new Set(handles));
    });
  });

  it("a next() still waiting when return() is called settles once its handle finishes", async () => {
    await withQueue(() => new AsyncQueue(), async (q) => {
      const { gates, handles } = gatedTasks(q, 1);
      q.start();
      const iterator = asCompleted(handles);
      const waiting = iterator.next();
      assert.deepEqual(await iterator.return?.(), { value: undefined, done: true });
      gates[0].resolve();
      await handles[0];
      // Settling either way (with the handle, as an async generator would, or
      // as done) is fine; staying pending forever is not.
      assert.equal(await settlesSoon(waiting), true, "the waiting next() never settled");
    });
  });
});
