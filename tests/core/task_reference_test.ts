import { describe, it } from "node:test";
import assert from "node:assert/strict";

import {
  isTaskReference,
  resolveTaskReference,
  reviveFunction,
  sourceName,
  taskModule,
  type TaskReference,
  type TaskReferenceArgs,
  type TaskReferenceResult,
} from "../../src/core/task_reference.ts";
import type * as Tasks from "../fixtures/task_source_tasks.ts";

const tsUrl = new URL("../fixtures/task_source_tasks.ts", import.meta.url);
const jsUrl = new URL("../fixtures/task_source_tasks.js", import.meta.url);

describe("taskModule", () => {
  it("names an export by absolute URL and export name", () => {
    const tasks = taskModule<typeof Tasks>(tsUrl);
    const add = tasks.add;
    assert.equal(add.url, tsUrl.href);
    assert.equal(add.exportName, "add");
    assert.equal(add.name, "add");
    assert.ok(Object.isFrozen(add));
    assert.deepEqual(Object.keys(add), ["url", "exportName", "name"]);
  });

  it("accepts an absolute URL string and normalises it", () => {
    const tasks = taskModule("file:///srv/app/../tasks.ts");
    assert.equal(tasks.score.url, "file:///srv/tasks.ts");
  });

  it("returns the same reference for the same export", () => {
    const tasks = taskModule<typeof Tasks>(tsUrl);
    assert.equal(tasks.add, tasks.add);
    assert.notEqual(tasks.add, tasks.greet);
  });

  it("rejects a relative or non-URL module with the house message", () => {
    assert.throws(() => taskModule("./x.ts"), {
      name: "TypeError",
      message:
        "Cannot create task module as 'url' must be an absolute URL: current value is './x.ts'",
    });
    assert.throws(() => taskModule("/srv/tasks.ts"), TypeError);
    assert.throws(() => taskModule(42 as unknown as string), {
      name: "TypeError",
      message: "Cannot create task module as 'url' must be an absolute URL: current value is 42",
    });
  });

  it("does not treat `then` or symbols as exports, so it can be awaited", async () => {
    const tasks = taskModule(tsUrl);
    assert.equal((tasks as Record<string, unknown>).then, undefined);
    assert.equal((tasks as unknown as Record<symbol, unknown>)[Symbol.iterator], undefined);
    assert.equal(await Promise.resolve(tasks), tasks);
    const load = async () => {
      await null;
      return tasks;
    };
    assert.equal(await load(), tasks);
  });

  it("cannot be written to", () => {
    const tasks = taskModule(tsUrl) as Record<string, unknown>;
    assert.throws(() => {
      tasks.add = 1;
    }, TypeError);
  });
});

describe("isTaskReference", () => {
  it("recognises references and nothing else", () => {
    const tasks = taskModule(tsUrl);
    assert.equal(isTaskReference(tasks.add), true);
    assert.equal(isTaskReference({ url: tsUrl.href, exportName: "add", name: "add" }), false);
    assert.equal(isTaskReference({ ...tasks.add }), false);
    assert.equal(isTaskReference(tasks), false);
    assert.equal(isTaskReference(null), false);
    assert.equal(isTaskReference(() => 1), false);
  });

  it("crosses to a worker as plain data", () => {
    const copy = structuredClone(taskModule(tsUrl).add);
    assert.deepEqual(copy, { url: tsUrl.href, exportName: "add", name: "add" });
    assert.equal(isTaskReference(copy), false);
  });
});

describe("resolveTaskReference", () => {
  it("imports a TypeScript module and returns the export", async () => {
    const tasks = taskModule<typeof Tasks>(tsUrl);
    const add = await resolveTaskReference(tasks.add);
    assert.equal(add(2, 3), 5);
    const greet = await resolveTaskReference(tasks.greet);
    assert.equal(await greet("ada"), "hello ada");
  });

  it("imports a JavaScript module", async () => {
    const double = await resolveTaskReference(taskModule(jsUrl).double);
    assert.equal(double(21), 42);
  });

  it("accepts the plain data a reference becomes in a worker, and caches", async () => {
    const first = await resolveTaskReference({ url: tsUrl.href, exportName: "add" });
    const second = await resolveTaskReference(taskModule(tsUrl).add);
    assert.equal(first, second);
  });

  it("rejects a missing export", async () => {
    await assert.rejects(resolveTaskReference(taskModule(tsUrl).nope), {
      name: "Error",
      message: `module '${tsUrl.href}' has no export 'nope'`,
    });
  });

  it("rejects an export that is not a function", async () => {
    await assert.rejects(resolveTaskReference(taskModule(tsUrl).LIMIT), {
      name: "TypeError",
      message: `module '${tsUrl.href}' export 'LIMIT' is not a function: it is number`,
    });
    await assert.rejects(resolveTaskReference(taskModule(jsUrl).settings), {
      name: "TypeError",
      message: `module '${jsUrl.href}' export 'settings' is not a function: it is object`,
    });
  });

  it("rejects a module that cannot be imported, keeping the cause", async () => {
    const missing = new URL("../fixtures/task_source_missing.ts", import.meta.url);
    const error = await resolveTaskReference(taskModule(missing).add).then(
      () => assert.fail("resolved"),
      (error: Error) => error,
    );
    assert.ok(error.message.startsWith(`cannot import task module '${missing.href}': `));
    assert.ok(error.cause instanceof Error);
  });
});

describe("task reference types", () => {
  it("carry the export's parameters and result", () => {
    const tasks = taskModule<typeof Tasks>(tsUrl);
    const args: TaskReferenceArgs<typeof tasks.add> = [1, 2];
    const result: TaskReferenceResult<typeof tasks.greet> = Promise.resolve("x");
    // @ts-expect-error: add takes numbers
    const wrong: TaskReferenceArgs<typeof tasks.add> = ["1", 2];
    // A queue's submit infers its argument types through the reference.
    const submit = <A extends unknown[], R>(
      _task: ((...args: A) => R) | TaskReference<(...args: A) => R>,
      _args: A,
    ): R | undefined => undefined;
    submit(tasks.add, [1, 2]);
    // @ts-expect-error: wrong argument type for the referenced export
    submit(tasks.add, ["1", 2]);
    // @ts-expect-error: LIMIT is not a function, so it is not a task
    tasks.LIMIT;
    assert.deepEqual([args, wrong], [[1, 2], ["1", 2]]);
    assert.ok(result instanceof Promise);
  });
});

describe("sourceName", () => {
  it("is the function's name, the export's name, or anonymous", () => {
    function resize(): void {}
    assert.equal(sourceName(resize), "resize");
    assert.equal(sourceName(taskModule(tsUrl).greet), "greet");
    assert.equal(sourceName(reviveFunction("() => 1")), "anonymous");
  });
});

describe("reviveFunction", () => {
  it("returns the same function for the same source", () => {
    assert.equal(reviveFunction("(a) => a"), reviveFunction("(a) => a"));
  });

  it("rejects text that is not a function", () => {
    assert.throws(() => reviveFunction("42"), TypeError);
    assert.throws(() => reviveFunction("(a) =>"), SyntaxError);
  });
});
