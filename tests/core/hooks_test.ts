import { describe, it } from "node:test";
import assert from "node:assert/strict";

import { callHook, reportHookError, retryAllowed } from "../../src/core/hooks.ts";
import { resolveTaskOptions } from "../../src/core/options.ts";
import type { HookName } from "../../src/core/queue_options.ts";

/** An onHookError that records what it is handed. */
function recorder(): { seen: [unknown, HookName][]; handler: (e: unknown, h: HookName) => void } {
  const seen: [unknown, HookName][] = [];
  return { seen, handler: (error, hook) => void seen.push([error, hook]) };
}

/** Runs `body` with console.error recording its calls instead of printing them. */
function withConsoleError(body: (calls: unknown[][]) => void): void {
  const original = console.error;
  const calls: unknown[][] = [];
  console.error = (...args: unknown[]) => void calls.push(args);
  try {
    body(calls);
  } finally {
    console.error = original;
  }
}

describe("callHook", () => {
  it("calls the hook with its arguments and reports nothing when it returns", () => {
    const { seen, handler } = recorder();
    const got: unknown[] = [];
    callHook(handler, "onStart", (a: number, b: string) => void got.push(a, b), [1, "x"]);
    assert.deepEqual(got, [1, "x"]);
    assert.deepEqual(seen, []);
  });

  it("hands a throw to onHookError with the hook's name", () => {
    const { seen, handler } = recorder();
    const boom = new Error("boom");
    callHook(handler, "onComplete", () => {
      throw boom;
    }, []);
    assert.deepEqual(seen, [[boom, "onComplete"]]);
  });

  it("hands a rejection to onHookError once it happens", async () => {
    const { seen, handler } = recorder();
    const boom = new Error("later");
    callHook(handler, "onRetry", () => Promise.reject(boom), []);
    assert.deepEqual(seen, []);
    await new Promise((resolve) => setTimeout(resolve, 0));
    assert.deepEqual(seen, [[boom, "onRetry"]]);
  });
});

describe("reportHookError", () => {
  it("logs an error that onHookError raises itself, naming the hook", () => {
    const again = new Error("handler broke");
    withConsoleError((calls) => {
      reportHookError(
        () => {
          throw again;
        },
        new Error("first"),
        "onDone",
      );
      assert.equal(calls.length, 1);
      assert.equal(calls[0][0], "osiiso: onHookError raised while reporting a onDone error");
      assert.equal(calls[0][1], again);
    });
  });
});

describe("retryAllowed", () => {
  it("allows every retry without retryOn", () => {
    const { handler } = recorder();
    assert.equal(retryAllowed(resolveTaskOptions({}), new Error("x"), handler), true);
  });

  it("allows a retry only when retryOn returns true", () => {
    const { seen, handler } = recorder();
    const options = resolveTaskOptions({
      retryOn: (error: unknown) =>
        error instanceof TypeError ? true : ("yes" as unknown as boolean),
    });
    assert.equal(retryAllowed(options, new TypeError("t"), handler), true);
    assert.equal(retryAllowed(options, new Error("e"), handler), false);
    assert.deepEqual(seen, []);
  });

  it("says no when retryOn throws, and reports that as a retryOn hook error", () => {
    const { seen, handler } = recorder();
    const boom = new Error("retryOn broke");
    const options = resolveTaskOptions({
      retryOn: () => {
        throw boom;
      },
    });
    assert.equal(retryAllowed(options, new Error("e"), handler), false);
    assert.deepEqual(seen, [[boom, "retryOn"]]);
  });
});
