/**
 * What the type checker accepts and rejects at the submit methods. `deno
 * check` (part of `npm test`) compiles this file: each `@ts-expect-error`
 * line must be a type error, or the check fails. The calls sit in functions
 * that are type-checked but never run; the last test runs what it must.
 *
 * @module
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  amap,
  type AsyncQueue,
  type MapOptions,
  type TaskContext,
  type TaskGroup,
  type TaskHandle,
  taskModule,
  type TaskOptions,
  ThreadQueue,
} from "../../mod.ts";
import { withQueue } from "../helpers/leaks.ts";

/** Compiles only when `A` and `B` are the same type. */
function sameType<A, B>(_proof: [A] extends [B] ? ([B] extends [A] ? true : false) : false): void {}

// Type-checked, never called.
function _accepted(q: AsyncQueue): void {
  sameType<TaskHandle<number>, typeof h1>(true);
  const h1 = q.submit((a: number, b: number) => a + b, [1, 2]);
  sameType<TaskHandle<string>, typeof h2>(true);
  const h2 = q.submit(async (context) => context.name, { bind: true });
  sameType<TaskHandle<string>, typeof h3>(true);
  const h3 = q.submit((context, url: string) => `${context.attempt} ${url}`, ["u"], {
    bind: true,
    retries: 2,
  });
  // A zero-parameter task may take bind: true (it ignores the context).
  q.submit(() => 1, { bind: true });
  // Options typed as TaskOptions (bind?: boolean) are still accepted.
  const options: TaskOptions = { retries: 1 };
  q.submit((x: number) => x, [1], options);
  q.map((x: number) => x, [1, 2], { priority: 1 });
  q.starmap((a: number, b: string) => a + b, [[1, "a"]], { retries: 1 });
  q.task((x: number) => x, { name: "x" });
  // The one-call shortcuts take bind: true for a task whose first parameter is a TaskContext.
  void amap((context, n: number) => `${context.attempt}:${n}`, [1], { bind: true });
  void amap((n: number) => n * 2, [1], { retries: 1 });
  const mapOptions: MapOptions = { retries: 1 };
  void amap((n: number) => n * 2, [1], mapOptions);
  // Typed group values.
  const group: TaskGroup<number> = q.group((n: number) => n * 2, [1, 2]);
  sameType<Promise<number[]>, ReturnType<typeof group.values>>(true);
  // An untyped task module can be submitted with any arguments.
  const untyped = taskModule(new URL("../fixtures/thread_tasks.ts", import.meta.url));
  q.submit(untyped.add, [20, 22]);
  q.submit(untyped.anything, [1, "two", { three: 3 }]);
}

// Type-checked, never called.
function _rejected(q: AsyncQueue): void {
  // bind: true on a task whose first parameter is not a TaskContext.
  // @ts-expect-error the context would arrive as `url`
  q.submit((url: string) => url.length, ["u"], { bind: true });
  // @ts-expect-error the context would arrive as `n`
  q.map((n: number) => n, [1], { bind: true });
  // @ts-expect-error the context would arrive as `n`
  q.task((n: number) => n, { bind: true });
  // @ts-expect-error the context would arrive as `n`
  void amap((n: number) => n, [1], { bind: true });
  // A task that takes a TaskContext first, submitted without bind: true.
  // @ts-expect-error args ask for { bind: true }
  q.submit((context: TaskContext, url: string) => `${context.id}${url}`, ["u"]);
  // An unknown option name.
  // @ts-expect-error 'retriez' is not an option
  q.submit((x: number) => x, [1], { retriez: 1 });
  // @ts-expect-error 'bogus' is not an option
  q.submit((x: number) => x, [1], { retries: 1, bogus: true });
  // Arguments that do not match the parameters.
  // @ts-expect-error a string for a number
  q.submit((x: number) => x, ["1"]);
}

describe("submit types", () => {
  it("an untyped taskModule export runs with the arguments given", async () => {
    await withQueue(() => new ThreadQueue({ workers: 1 }), async (q) => {
      const untyped = taskModule(new URL("../fixtures/thread_tasks.ts", import.meta.url));
      const h = q.submit(untyped.add, [20, 22]);
      await q.run();
      assert.equal(h.value(), 42);
      assert.equal(typeof _accepted, "function");
      assert.equal(typeof _rejected, "function");
    });
  });
});
