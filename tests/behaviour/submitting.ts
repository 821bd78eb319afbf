/**
 * Submitting: `submit` (both forms), `map`, `starmap`, `group`, `task`,
 * option handling, task names, and batch validation.
 *
 * @module
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { TaskGroup, TaskHandle, type TaskOptions, TaskSerializationError } from "../../mod.ts";
import type { BackendUnderTest } from "./backend.ts";
import { withQueue } from "../helpers/leaks.ts";
import { sortedNumbers } from "../helpers/asserts.ts";

/**
 * `bound.withOptions(options)` as the API sheet describes it: a submitter
 * with per-call options merged onto the bound ones.
 */
function withOptions(
  bound: unknown,
  options: TaskOptions,
): (...args: unknown[]) => TaskHandle<unknown> {
  const method = (bound as { withOptions?: unknown }).withOptions;
  assert.equal(typeof method, "function", "a bound task has withOptions()");
  return (method as (o: TaskOptions) => (...args: unknown[]) => TaskHandle<unknown>).call(
    bound,
    options,
  );
}

/** Defines the submission tests for `b`. */
export function submittingTests(b: BackendUnderTest): void {
  const t = b.tasks;

  describe("submit", () => {
    it("runs two submitted tasks and summarises them", async () => {
      await withQueue(() => b.make(), async (q) => {
        q.submit(t.double, [5]);
        q.submit(t.double, [10]);
        const summary = await q.run();
        assert.equal(summary.ok, true);
        assert.equal(summary.succeeded, 2);
        assert.equal(summary.totalSubmitted, 2);
        assert.deepEqual(sortedNumbers(summary.values), [10, 20]);
      });
    });

    it("returns a TaskHandle with the default options", async () => {
      await withQueue(() => b.make(), async (q) => {
        const h = q.submit(t.double, [1]);
        assert.ok(h instanceof TaskHandle);
        assert.equal(typeof h.id, "string");
        assert.ok(h.id.length > 0);
        assert.equal(h.name, "double");
        assert.equal(h.priority, 3);
        assert.equal(h.mustComplete, false);
        assert.equal(h.detached, false);
        assert.equal(h.groupId, null);
        assert.equal(h.scheduledFor, null);
        assert.equal(h.metadata, undefined);
        assert.equal(h.status, "pending");
        assert.equal(h.attempts, 0);
        assert.equal(h.done(), false);
        await q.run();
      });
    });

    it("gives every task its own id", async () => {
      await withQueue(() => b.make(), async (q) => {
        const handles = q.map(t.double, [1, 2, 3, 4]);
        assert.equal(new Set(handles.map((h) => h.id)).size, 4);
        await q.run();
      });
    });

    it("applies options passed with the arguments", async () => {
      await withQueue(() => b.make(), async (q) => {
        const h = q.submit(t.double, [5], { priority: 1, retries: 2 });
        const summary = await q.run();
        assert.equal(summary.ok, true);
        assert.equal(h.priority, 1);
        assert.equal(h.value(), 10);
      });
    });

    it("names a task after its option, then its function", async () => {
      await withQueue(() => b.make(), async (q) => {
        const custom = q.submit(t.double, [5], { priority: 1, name: "custom" });
        const plain = q.submit(t.add, [1, 2]);
        assert.equal(custom.name, "custom");
        assert.equal(custom.priority, 1);
        assert.equal(plain.name, "add");
        const summary = await q.run();
        assert.deepEqual(summary.byName().get("custom")?.map((r) => r.value), [10]);
      });
    });

    it("names a task without a function name 'anonymous'", async () => {
      await withQueue(() => b.make(), async (q) => {
        const h = q.submit(() => 7);
        assert.equal(h.name, "anonymous");
        await q.run();
        assert.equal(h.result().name, "anonymous");
        assert.equal(h.value(), 7);
      });
    });

    it("accepts self-contained inline functions with arguments", async () => {
      await withQueue(() => b.make(), async (q) => {
        const sum = q.submit((a: number, b: number) => a + b, [2, 3]);
        const later = q.submit(async (x: number) => {
          await new Promise((resolve) => setTimeout(resolve, 5));
          return x * 3;
        }, [4]);
        await q.run();
        assert.equal(sum.value(), 5);
        assert.equal(later.value(), 12);
      });
    });

    it("takes options as the second argument for a task without arguments", async () => {
      await withQueue(() => b.make(), async (q) => {
        const h = q.submit(t.answer, { name: "the-answer", priority: 0 });
        await q.run();
        assert.equal(h.name, "the-answer");
        assert.equal(h.priority, 0);
        assert.equal(h.value(), 42);
      });
    });

    it("uses the function's default parameters when arguments are left out", async () => {
      await withQueue(() => b.make(), async (q) => {
        const hello = q.submit(t.greet, ["World"]);
        const hi = q.submit(t.greet, ["World", "Hi"]);
        await q.run();
        assert.equal(hello.value(), "Hello, World!");
        assert.equal(hi.value(), "Hi, World!");
      });
    });

    it("runs async task functions", async () => {
      await withQueue(() => b.make(), async (q) => {
        const h = q.submit(t.asyncDouble, [21]);
        await q.run();
        assert.equal(h.value(), 42);
      });
    });

    it("rejects unknown task options with a TypeError naming them, sorted", async () => {
      await withQueue(() => b.make(), (q) => {
        assert.throws(() => q.submit(t.double, [1], { bogus: true } as never), {
          name: "TypeError",
          message: "Unknown task option(s): bogus",
        });
        assert.throws(() => q.submit(t.answer, { zeta: 1, alpha: 2 } as never), {
          name: "TypeError",
          message: "Unknown task option(s): alpha, zeta",
        });
        assert.equal(q.pendingCount, 0);
      });
    });

    it("rejects a promise passed as the task with a TypeError", async () => {
      await withQueue(() => b.make(), (q) => {
        const promise = Promise.resolve(1);
        assert.throws(() => q.submit(promise as never), (error: unknown) => {
          assert.ok(error instanceof TypeError);
          assert.match(error.message, /promise/i);
          return true;
        });
        assert.throws(() => q.submit(42 as never), TypeError);
        assert.equal(q.pendingCount, 0);
      });
    });
  });

  describe("argument checks", () => {
    it("rejects arguments that are not an array, and options that are not an object", async () => {
      await withQueue(() => b.make(), (q) => {
        assert.throws(() => q.submit(t.double, 5 as never), TypeError);
        assert.throws(() => q.submit(t.double, [1], 5 as never), TypeError);
        assert.throws(() => q.map(t.double, 5 as never), TypeError);
        assert.throws(() => q.starmap(t.add, [[1, 2]], "fast" as never), TypeError);
        assert.equal(q.pendingCount, 0);
      });
    });
  });

  describe("map and starmap", () => {
    it("map calls the function with each item and returns handles in input order", async () => {
      await withQueue(() => b.make(), async (q) => {
        const handles = q.map(t.double, [1, 2, 3, 4, 5]);
        assert.equal(handles.length, 5);
        const summary = await q.run();
        assert.equal(summary.succeeded, 5);
        assert.deepEqual(sortedNumbers(summary.values), [2, 4, 6, 8, 10]);
        assert.deepEqual(handles.map((h) => h.value()), [2, 4, 6, 8, 10]);
      });
    });

    it("map passes arrays and objects as one argument", async () => {
      await withQueue(() => b.make(), async (q) => {
        const handles = q.map(t.identity, [[1, 2], { name: "Alice" }, "text"]);
        q.start();
        assert.deepEqual(await Promise.all(handles), [[1, 2], { name: "Alice" }, "text"]);
      });
    });

    it("starmap spreads each argument list", async () => {
      await withQueue(() => b.make(), async (q) => {
        const handles = q.starmap(t.add, [[1, 2], [3, 4]]);
        const summary = await q.run();
        assert.deepEqual(sortedNumbers(summary.values), [3, 7]);
        assert.deepEqual(handles.map((h) => h.value()), [3, 7]);
      });
    });

    it("map applies its options to every task", async () => {
      await withQueue(() => b.make(), async (q) => {
        const handles = q.map(t.double, [1, 2], { priority: 0, name: "dbl", metadata: "m" });
        for (const h of handles) {
          assert.equal(h.priority, 0);
          assert.equal(h.name, "dbl");
          assert.equal(h.metadata, "m");
        }
        await q.run();
      });
    });

    it("map and starmap of nothing submit nothing", async () => {
      await withQueue(() => b.make(), async (q) => {
        assert.deepEqual(q.map(t.double, []), []);
        assert.deepEqual(q.starmap(t.add, []), []);
        const summary = await q.run();
        assert.equal(summary.totalSubmitted, 0);
        assert.equal(summary.ok, true);
      });
    });
  });

  describe("batch validation", () => {
    it("a starmap with a bad element submits nothing", async () => {
      await withQueue(() => b.make(), async (q) => {
        assert.throws(() => q.starmap(t.add, [[1, 2], 5, [3, 4]] as never), TypeError);
        assert.equal(q.pendingCount, 0);
        assert.equal(q.stats.pending, 0);
        const summary = await q.run();
        assert.equal(summary.totalSubmitted, 0);
      });
    });

    it("a heterogeneous group with a bad entry submits nothing", async () => {
      await withQueue(() => b.make(), async (q) => {
        assert.throws(() => q.group([[t.double, 1], [] as never, [t.double, 2]]), TypeError);
        assert.throws(() => q.group([[t.double, 1], "double" as never]), TypeError);
        assert.throws(() => q.group([[t.double, 1], [42 as never]]), TypeError);
        assert.throws(() => q.group([[t.double, 1], [Promise.resolve(1) as never]]), TypeError);
        assert.equal(q.pendingCount, 0);
        const summary = await q.run();
        assert.equal(summary.totalSubmitted, 0);
      });
    });

    it("a batch with bad options submits nothing", async () => {
      await withQueue(() => b.make(), async (q) => {
        assert.throws(() => q.map(t.double, [1, 2], { retries: -1 }), RangeError);
        assert.throws(() => q.group(t.double, [1, 2], { bogus: 1 } as never), TypeError);
        assert.throws(() => q.starmap(t.add, [[1, 2]], { priority: Number.NaN }), RangeError);
        assert.equal(q.pendingCount, 0);
        const summary = await q.run();
        assert.equal(summary.totalSubmitted, 0);
      });
    });

    it("a batch that does not fit a bounded queue submits nothing", async () => {
      await withQueue(() => b.make({ size: 2 }), async (q) => {
        assert.throws(() => q.map(t.double, [1, 2, 3]), { name: "QueueFullError" });
        assert.equal(q.pendingCount, 0);
        q.map(t.double, [1, 2]);
        const summary = await q.run();
        assert.equal(summary.totalSubmitted, 2);
      });
    });
  });

  describe("bound tasks (task())", () => {
    it("calling a bound task submits it and returns its handle", async () => {
      await withQueue(() => b.make(), async (q) => {
        const addOne = q.task(t.addOne, { retries: 1 });
        const h = addOne(10);
        assert.ok(h instanceof TaskHandle);
        assert.equal(h.name, "addOne");
        const summary = await q.run();
        assert.equal(summary.ok, true);
        assert.equal(h.value(), 11);
      });
    });

    it("map and group of a bound task", async () => {
      await withQueue(() => b.make(), async (q) => {
        const square = q.task(t.square);
        const handles = square.map([1, 2, 3]);
        const g = square.group([4, 5]);
        assert.ok(g instanceof TaskGroup);
        const summary = await q.run();
        assert.deepEqual(sortedNumbers(summary.values), [1, 4, 9, 16, 25]);
        assert.deepEqual(handles.map((h) => h.value()), [1, 4, 9]);
        assert.deepEqual(await g.values(), [16, 25]);
      });
    });

    it("per-call options merge onto the bound options", async () => {
      await withQueue(() => b.make(), async (q) => {
        const failing = q.task(t.failAlways, { retries: 2, priority: 1 });
        const renamed = withOptions(failing, { name: "renamed" })("x");
        const mapped = failing.map(["y"], { priority: 0 });
        assert.equal(renamed.name, "renamed");
        assert.equal(renamed.priority, 1);
        assert.equal(mapped[0].priority, 0);
        await q.run();
        assert.equal(renamed.result().attempts, 3);
        assert.equal(mapped[0].result().attempts, 3);
      });
    });

    it("rejects unknown bound options at once", async () => {
      await withQueue(() => b.make(), (q) => {
        assert.throws(() => q.task(t.double, { bogus: true } as never), {
          name: "TypeError",
          message: "Unknown task option(s): bogus",
        });
        const bound = q.task(t.double);
        assert.throws(() => withOptions(bound, { nope: 1 } as never)(2), {
          name: "TypeError",
          message: "Unknown task option(s): nope",
        });
      });
    });
  });

  describe("what cannot reach a worker is refused at submit", () => {
    it("a function that uses a variable from its surroundings (not on AsyncQueue)", async () => {
      // An object, not a number: a transpiler may inline a numeric constant.
      const settings = { factor: 3 };
      const scale = (x: number) => x * settings.factor;
      await withQueue(() => b.make(), async (q) => {
        const submitAll = [
          () => q.submit(scale, [2]),
          () => q.map(scale, [1, 2]),
          () => q.group([[t.double, 1], [scale, 2]]),
          () => q.task(scale),
        ];
        for (const submit of submitAll) {
          if (b.name === "async") {
            submit();
            continue;
          }
          assert.throws(submit, (error: unknown) =>
            error instanceof TaskSerializationError &&
            /^task 'scale' uses 'settings' from its surroundings;.*taskModule\(\)$/.test(
              error.message,
            ));
        }
        const expected = b.name === "async" ? 5 : 0;
        assert.equal(q.pendingCount, expected, "a refused batch submits nothing");
        await q.run();
      });
    });

    it("transfer with retries, on every backend", async () => {
      await withQueue(() => b.make(), async (q) => {
        const buffer = new ArrayBuffer(8);
        assert.throws(
          () => q.submit(t.double, [1], { transfer: [buffer], retries: 1 }),
          (error: unknown) =>
            error instanceof RangeError &&
            /'transfer' and 'retries' are mutually exclusive/.test(error.message),
        );
        assert.equal(q.pendingCount, 0);
      });
    });
  });
}
