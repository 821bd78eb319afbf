import { describe, it } from "node:test";
import assert from "node:assert/strict";

import { AsyncQueue } from "../../src/backends/async_queue.ts";
import { CancelledError, InvalidStateError } from "../../src/core/errors.ts";
import { TaskHandle } from "../../src/core/handle.ts";
import type { HookName } from "../../src/core/queue_options.ts";
import { TaskResult, type TaskResultInit } from "../../src/core/result.ts";
import { useLeakCheck, withQueue } from "../helpers/leaks.ts";
import { deferred, sleep, tick, waitFor } from "../helpers/timing.ts";

function finished<T>(init: Partial<TaskResultInit<T>> & Pick<TaskResultInit<T>, "status">) {
  return TaskHandle.fromResult(
    new TaskResult<T>({ taskId: "abcdef0123456789", name: "job", ...init }),
  );
}

function isNotReady(error: unknown): boolean {
  assert.ok(error instanceof InvalidStateError, String(error));
  assert.equal(error.message, "result not ready");
  return true;
}

/** Captures console.error while `fn` runs. */
function capturingConsoleError(fn: () => void): unknown[][] {
  const logged: unknown[][] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => void logged.push(args);
  try {
    fn();
  } finally {
    console.error = original;
  }
  return logged;
}

describe("TaskHandle.fromResult", () => {
  it("copies the result's fields and is born done", () => {
    const metadata = { user: "ada" };
    const result = new TaskResult({
      taskId: "t-1",
      name: "cached",
      status: "succeeded",
      value: 42,
      attempts: 2,
      priority: -1,
      mustComplete: true,
      groupId: "g",
      detached: true,
      scheduledFor: 500,
      createdAt: 100,
      metadata,
    });
    const h = TaskHandle.fromResult(result);
    assert.equal(h.id, "t-1");
    assert.equal(h.name, "cached");
    assert.equal(h.priority, -1);
    assert.equal(h.mustComplete, true);
    assert.equal(h.groupId, "g");
    assert.equal(h.detached, true);
    assert.equal(h.scheduledFor, 500);
    assert.equal(h.createdAt, 100);
    assert.equal(h.metadata, metadata);
    assert.equal(h.attempts, 2);
    assert.equal(h.status, "succeeded");
    assert.equal(h.done(), true);
    assert.equal(h.result(), result);
  });

  it("takes the status of a failed or cancelled result", () => {
    assert.equal(finished({ status: "failed", exception: new Error("x") }).status, "failed");
    assert.equal(finished({ status: "cancelled" }).status, "cancelled");
  });

  it("has the handle defaults when the result has the result defaults", () => {
    const h = finished({ status: "succeeded" });
    assert.equal(h.groupId, null);
    assert.equal(h.scheduledFor, null);
    assert.equal(h.metadata, undefined);
    assert.equal(h.detached, false);
  });
});

describe("a succeeded handle", () => {
  it("gives its value and no exception; it is not cancelled", () => {
    const h = finished({ status: "succeeded", value: "alpha" });
    assert.equal(h.done(), true);
    assert.equal(h.cancelled(), false);
    assert.equal(h.value(), "alpha");
    assert.equal(h.exception(), undefined);
  });

  it("result() returns the same object every time", () => {
    const h = finished({ status: "succeeded", value: 1 });
    assert.equal(h.result(), h.result());
  });

  it("`await h` gives the value; wait() the result", async () => {
    const value = { big: true };
    const h = finished({ status: "succeeded", value });
    assert.equal(await h, value);
    assert.equal(await h, value);
    assert.equal(await h.wait(), h.result());
  });

  it("works with Promise.all and then/catch/finally", async () => {
    const handles = [1, 2, 3].map((value) => finished({ status: "succeeded", value }));
    assert.deepEqual(await Promise.all(handles), [1, 2, 3]);
    assert.equal(await handles[0].then((v) => v * 10), 10);
    assert.equal(await handles[1].catch(() => "never"), 2);
    let ran = false;
    assert.equal(await handles[2].finally(() => (ran = true)), 3);
    assert.ok(ran);
  });

  it("keeps undefined as a value", async () => {
    const h = finished({ status: "succeeded", value: undefined });
    assert.equal(h.value(), undefined);
    assert.equal(await h, undefined);
  });
});

describe("a failed handle", () => {
  it("value() rethrows the very error object, and exception() returns it", () => {
    const error = new RangeError("bad input");
    const h = finished({ status: "failed", exception: error, message: "bad input" });
    assert.equal(h.cancelled(), false);
    assert.equal(h.exception(), error);
    let thrown: unknown;
    try {
      h.value();
    } catch (e) {
      thrown = e;
    }
    assert.equal(thrown, error);
    assert.throws(() => h.value(), (e: unknown) => e === error);
  });

  it("`await h` rejects with the very error object, every time", async () => {
    const error = new Error("boom");
    const h = finished({ status: "failed", exception: error });
    await assert.rejects(async () => await h, (e: unknown) => e === error);
    await assert.rejects(async () => await h, (e: unknown) => e === error);
    assert.equal(await h.catch((e) => e), error);
    await assert.rejects(h.finally(() => {}), (e: unknown) => e === error);
  });

  it("rethrows a thrown non-Error as it was", async () => {
    const h = finished({ status: "failed", exception: "just a string" });
    assert.throws(() => h.value(), (e: unknown) => e === "just a string");
    assert.equal(h.exception(), "just a string");
    await assert.rejects(async () => await h, (e: unknown) => e === "just a string");
  });

  it("wait() never rejects: it gives the result", async () => {
    const h = finished({ status: "failed", exception: new Error("x") });
    const result = await h.wait();
    assert.equal(result.status, "failed");
    assert.equal(result, h.result());
  });

  it("nobody awaiting it causes no unhandled rejection", async () => {
    // Both test runners fail a test in which a promise rejects unhandled.
    const h = finished({ status: "failed", exception: new Error("ignored") });
    h.done();
    h.result();
    h.exception();
    await h.wait();
    await sleep(10);
  });
});

describe("a cancelled handle", () => {
  it("is cancelled; value() throws CancelledError with the result's message", () => {
    const h = finished({ status: "cancelled", message: "cancelled before execution" });
    assert.equal(h.done(), true);
    assert.equal(h.cancelled(), true);
    assert.equal(h.exception(), undefined);
    assert.throws(() => h.value(), (e: unknown) => {
      assert.ok(e instanceof CancelledError);
      assert.equal((e as Error).message, "cancelled before execution");
      return true;
    });
  });

  it("`await h` rejects with a CancelledError", async () => {
    const h = finished({ status: "cancelled", message: "cancelled" });
    await assert.rejects(async () => await h, (e: unknown) => {
      assert.ok(e instanceof CancelledError);
      assert.equal((e as Error).message, "cancelled");
      return true;
    });
  });

  it("cancel() on any finished handle returns false", () => {
    for (const status of ["succeeded", "failed", "cancelled"] as const) {
      const h = finished({ status });
      assert.equal(h.cancel(), false);
      assert.equal(h.status, status);
    }
  });
});

describe("onDone on a finished handle", () => {
  it("calls the callback at once, synchronously, with the handle", () => {
    const h = finished({ status: "succeeded", value: 7 });
    const seen: unknown[] = [];
    h.onDone((handle) => seen.push(handle, handle.value()));
    assert.deepEqual(seen, [h, 7]);
  });

  it("calls callbacks in the order they are added", () => {
    const h = finished({ status: "succeeded" });
    const order: number[] = [];
    h.onDone(() => order.push(1));
    h.onDone(() => order.push(2));
    h.onDone(() => order.push(3));
    assert.deepEqual(order, [1, 2, 3]);
  });

  it("a throwing callback is reported to console.error (no queue) and swallowed", () => {
    const h = finished({ status: "succeeded" });
    const error = new Error("callback broke");
    let after = false;
    const logged = capturingConsoleError(() => {
      h.onDone(() => {
        throw error;
      });
      h.onDone(() => (after = true));
    });
    assert.ok(after);
    assert.equal(logged.length, 1);
    assert.ok(logged[0].includes(error));
  });

  it("rejects a callback that is not a function, in the house message form", () => {
    const h = finished({ status: "succeeded" });
    for (const [value, shown] of [[42, "42"], ["cb", "'cb'"], [null, "null"]] as const) {
      assert.throws(
        () => h.onDone(value as unknown as () => void),
        (e: unknown) => {
          assert.ok(e instanceof TypeError);
          assert.equal(
            (e as Error).message,
            `Cannot add done callback as 'callback' must be a function: current value is ${shown}`,
          );
          return true;
        },
      );
    }
  });
});

describe("toString", () => {
  it("looks like TaskHandle('name', status='…', id=<first 8 chars>)", () => {
    const h = finished({ status: "succeeded" });
    assert.equal(String(h), "TaskHandle('job', status='succeeded', id=abcdef01)");
    assert.equal(
      `${finished({ status: "cancelled" })}`,
      "TaskHandle('job', status='cancelled', id=abcdef01)",
    );
  });

  it("keeps a short id whole", () => {
    const h = TaskHandle.fromResult(new TaskResult({ taskId: "x1", name: "n", status: "failed" }));
    assert.equal(h.toString(), "TaskHandle('n', status='failed', id=x1)");
  });
});

describe("handles from an AsyncQueue", () => {
  useLeakCheck();

  it("is pending, not done, and its accessors throw 'result not ready' until it runs", async () => {
    await withQueue(() => new AsyncQueue(), async (q) => {
      const h = q.submit((a: number) => a * 2, [21]);
      assert.equal(h.status, "pending");
      assert.equal(h.attempts, 0);
      assert.equal(h.done(), false);
      assert.equal(h.cancelled(), false);
      assert.throws(() => h.result(), isNotReady);
      assert.throws(() => h.value(), isNotReady);
      assert.throws(() => h.exception(), isNotReady);
      await q.run();
      assert.equal(h.done(), true);
      assert.equal(h.status, "succeeded");
      assert.equal(h.attempts, 1);
      assert.equal(h.value(), 42);
    });
  });

  it("is running while its task runs", async () => {
    await withQueue(() => new AsyncQueue(), async (q) => {
      const gate = deferred<void>();
      const h = q.submit(async () => {
        await gate.promise;
        return "ok";
      });
      q.start();
      await waitFor(() => h.status === "running");
      assert.equal(h.done(), false);
      assert.throws(() => h.result(), isNotReady);
      gate.resolve();
      assert.equal(await h, "ok");
    });
  });

  it("`await h` made before the queue starts resolves with the value", async () => {
    await withQueue(() => new AsyncQueue(), async (q) => {
      const h = q.submit(() => "late");
      const pending = (async () => await h)();
      await tick();
      q.start();
      assert.equal(await pending, "late");
    });
  });

  it("`await h` made before the task fails rejects with the very error object", async () => {
    const error = new TypeError("bad input");
    await withQueue(() => new AsyncQueue(), async (q) => {
      const h = q.submit(() => {
        throw error;
      });
      const pending = (async () => await h)();
      q.start();
      await assert.rejects(pending, (e: unknown) => e === error);
      assert.equal(h.exception(), error);
      assert.throws(() => h.value(), (e: unknown) => e === error);
    });
  });

  it("several concurrent wait() calls get the same result object", async () => {
    await withQueue(() => new AsyncQueue(), async (q) => {
      const h = q.submit(async () => {
        await sleep(5);
        return 3;
      });
      const waits = [h.wait(), h.wait(), h.wait()];
      q.start();
      const [a, b, c] = await Promise.all(waits);
      assert.equal(a, b);
      assert.equal(b, c);
      assert.equal(a, h.result());
      assert.equal(await h.wait(), a);
    });
  });

  it("a failed handle nobody awaits causes no unhandled rejection", async () => {
    // Both test runners fail a test in which a promise rejects unhandled.
    await withQueue(() => new AsyncQueue(), async (q) => {
      const h = q.submit(() => {
        throw new Error("nobody listens");
      });
      const summary = await q.run();
      assert.equal(summary.failed, 1);
      assert.equal(h.status, "failed");
      await sleep(10);
    });
  });

  it("a cancelled pending handle: cancel() true once, then false; await rejects CancelledError", async () => {
    await withQueue(() => new AsyncQueue(), async (q) => {
      let ran = false;
      const h = q.submit(() => (ran = true));
      assert.equal(h.cancel(), true);
      assert.equal(h.cancel(), false);
      assert.equal(h.done(), true);
      assert.equal(h.cancelled(), true);
      assert.equal(h.status, "cancelled");
      assert.equal(h.exception(), undefined);
      await assert.rejects(async () => await h, (e: unknown) => {
        assert.ok(e instanceof CancelledError);
        assert.equal((e as Error).message, h.result().message);
        return true;
      });
      await q.run();
      assert.equal(ran, false);
    });
  });

  it("onDone callbacks wait for the finish, run once, in order, with the handle", async () => {
    await withQueue(() => new AsyncQueue(), async (q) => {
      const h = q.submit(() => 7);
      const seen: string[] = [];
      h.onDone((handle) => seen.push(`first:${handle.value()}:${handle === h}`));
      h.onDone(() => seen.push("second"));
      assert.equal(seen.length, 0);
      await q.run();
      assert.deepEqual(seen, ["first:7:true", "second"]);
      h.onDone(() => seen.push("late"));
      assert.deepEqual(seen, ["first:7:true", "second", "late"]);
    });
  });

  it("a callback is done by the time it runs: done() and result() work inside it", async () => {
    await withQueue(() => new AsyncQueue(), async (q) => {
      const h = q.submit(() => {
        throw new Error("x");
      });
      let inside: string | undefined;
      h.onDone((handle) => (inside = `${handle.done()}:${handle.result().status}`));
      await q.run();
      assert.equal(inside, "true:failed");
    });
  });

  it("a throwing onDone is reported to onHookError as 'onDone' and swallowed", async () => {
    const reported: [unknown, HookName][] = [];
    const error = new Error("callback broke");
    await withQueue(
      () => new AsyncQueue({ onHookError: (e, hook) => void reported.push([e, hook]) }),
      async (q) => {
        const h = q.submit(() => "fine");
        let second = false;
        h.onDone(() => {
          throw error;
        });
        h.onDone(() => (second = true));
        const summary = await q.run();
        assert.equal(summary.succeeded, 1);
        assert.equal(h.value(), "fine");
        assert.ok(second);
        assert.deepEqual(reported, [[error, "onDone"]]);
        // Added after the finish: reported the same way.
        h.onDone(() => {
          throw error;
        });
        assert.deepEqual(reported, [[error, "onDone"], [error, "onDone"]]);
      },
    );
  });

  it("toString shows the live status and the part of the id that differs", async () => {
    await withQueue(() => new AsyncQueue(), async (q) => {
      const double = (n: number) => n * 2;
      const h = q.submit(double, [1]);
      const other = q.submit(double, [2]);
      const tail = (id: string) => id.slice(id.lastIndexOf("-") + 1);
      assert.equal(String(h), `TaskHandle('double', status='pending', id=${tail(h.id)})`);
      assert.notEqual(String(h), String(other));
      await q.run();
      assert.equal(String(h), `TaskHandle('double', status='succeeded', id=${tail(h.id)})`);
    });
  });

  it("ids are unique, ordered by submission, and share a per-process prefix", async () => {
    await withQueue(() => new AsyncQueue(), async (q) => {
      const handles = q.map((n: number) => n, Array.from({ length: 2_500 }, (_, i) => i));
      const ids = handles.map((h) => h.id);
      assert.equal(new Set(ids).size, ids.length);
      const prefix = ids[0].slice(0, ids[0].lastIndexOf("-") + 1);
      assert.match(ids[0], /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-\d{4,}$/);
      const numbers = ids.map((id) => {
        assert.ok(id.startsWith(prefix));
        return Number(id.slice(prefix.length));
      });
      for (let i = 1; i < numbers.length; i++) assert.equal(numbers[i], numbers[i - 1] + 1);
      assert.equal(handles[0].id, handles[0].id); // stable across reads
      await q.run();
      assert.equal(handles[7].result().taskId, handles[7].id);
    });
  });
});

describe("then() on an unfinished handle", () => {
  useLeakCheck();

  it("calls its callbacks after the finish, from a microtask, in call order", async () => {
    await withQueue(() => new AsyncQueue(), async (q) => {
      const gate = deferred<void>();
      const h = q.submit(async () => {
        await gate.promise;
        return 5;
      });
      const seen: string[] = [];
      const first = h.then((v) => seen.push(`first ${v}`));
      const second = h.then((v) => seen.push(`second ${v}`));
      const third = h.finally(() => seen.push("finally"));
      q.start();
      await tick();
      h.onDone(() => seen.push("onDone"));
      gate.resolve();
      await Promise.all([first, second, third]);
      assert.deepEqual(seen, ["onDone", "first 5", "second 5", "finally"]);
      assert.equal(await third, 5, "finally passes the value on");
    });
  });

  it("settles the promise it returned with what the callback returns or throws", async () => {
    await withQueue(() => new AsyncQueue(), async (q) => {
      const error = new RangeError("from the callback");
      const ok = q.submit(() => 2);
      const failing = q.submit(() => {
        throw new Error("task failed");
      });
      const doubled = ok.then((v) => v * 2);
      const adopted = ok.then((v) => Promise.resolve(v + 1));
      const thrown = ok.then(() => {
        throw error;
      });
      const recovered = failing.then(() => "not this", (e) => `caught ${(e as Error).message}`);
      const caught = failing.catch((e) => (e as Error).message);
      const passedOn = failing.then((v) => v);
      q.start();
      assert.deepEqual(await Promise.all([doubled, adopted, recovered, caught]), [
        4,
        3,
        "caught task failed",
        "task failed",
      ]);
      await assert.rejects(thrown, (e: unknown) => e === error);
      await assert.rejects(passedOn, /task failed/);
    });
  });

  it("a callback that finishes another task settles that one's awaiters too", async () => {
    await withQueue(() => new AsyncQueue({ workers: 1 }), async (q) => {
      const first = q.submit(() => "first");
      const second = q.submit(() => new Promise(() => {}));
      const cancelled = second.then(() => "ran", (e) => (e as Error).name);
      const chained = first.then((v) => {
        second.cancel();
        return v;
      });
      q.start();
      assert.equal(await chained, "first");
      assert.equal(await cancelled, "CancelledError");
    });
  });
});
