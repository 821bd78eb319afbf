/**
 * The error codec: thrown values out and back, class, fields and cause kept.
 *
 * @module
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { deserializeThrown, serializeThrown } from "../../src/core/error_codec.ts";
import { TaskTimeoutError, WorkerCrashedError } from "../../src/core/errors.ts";

/** What crossing a worker boundary does: codec out, structured clone, codec in. */
function roundTrip(thrown: unknown): unknown {
  return deserializeThrown(structuredClone(serializeThrown(thrown)));
}

describe("error codec", () => {
  it("keeps built-in classes, message, stack and a cause chain", () => {
    const inner = new RangeError("inner");
    const error = new TypeError("outer", { cause: inner });
    const copy = roundTrip(error) as TypeError;
    assert.ok(copy instanceof TypeError);
    assert.equal(copy.message, "outer");
    assert.equal(copy.stack, error.stack);
    assert.ok(copy.cause instanceof RangeError);
    assert.equal((copy.cause as Error).message, "inner");
    assert.equal(Object.keys(copy).length, 0, "cause and stack stay non-enumerable");
  });

  it("keeps own data fields, and the library's own classes with their fields", () => {
    const copy = roundTrip(new TaskTimeoutError("fetch", 100)) as TaskTimeoutError;
    assert.ok(copy instanceof TaskTimeoutError);
    assert.equal(copy.name, "TaskTimeoutError");
    assert.equal(copy.message, "task 'fetch' exceeded 100ms timeout");
    assert.deepEqual([copy.taskName, copy.timeout], ["fetch", 100]);
    const crash = roundTrip(new WorkerCrashedError("died", { worker: 2, exitCode: 1 }));
    assert.ok(crash instanceof WorkerCrashedError);
    assert.equal(crash.exitCode, 1);
  });

  it("rebuilds an unknown class as an Error carrying its name", () => {
    class ParseError extends SyntaxError {
      constructor(message: string, readonly line: number) {
        super(message);
        this.name = "ParseError";
      }
    }
    const copy = roundTrip(new ParseError("bad token", 3)) as Error & { line: number };
    assert.ok(copy instanceof SyntaxError, "the nearest known class");
    assert.equal(copy.name, "ParseError");
    assert.equal(copy.line, 3);
    assert.match(String(copy), /^ParseError: bad token/);
  });

  it("keeps AggregateError.errors, DOMException names and thrown non-errors", () => {
    const aggregate = roundTrip(
      new AggregateError([new Error("a"), "b"], "both"),
    ) as AggregateError;
    assert.ok(aggregate instanceof AggregateError);
    assert.equal((aggregate.errors[0] as Error).message, "a");
    assert.equal(aggregate.errors[1], "b");
    const abort = roundTrip(new DOMException("stop", "AbortError")) as DOMException;
    assert.ok(abort instanceof DOMException);
    assert.equal(abort.name, "AbortError");
    assert.deepEqual(roundTrip({ code: 7 }), { code: 7 });
    assert.equal(roundTrip("plain"), "plain");
    assert.equal(roundTrip(undefined), undefined);
  });

  it("survives a cause cycle, and reduces what cannot be cloned in safe mode", () => {
    const a = new Error("a");
    const b = new Error("b", { cause: a });
    (a as { cause?: unknown }).cause = b;
    const copy = roundTrip(a) as Error;
    assert.equal((copy.cause as Error).cause as unknown, "[circular cause]");
    const withFunction = Object.assign(new Error("f"), {
      callback: () => 1,
      handle: { fn: () => 2 },
    });
    assert.throws(() => structuredClone(serializeThrown(withFunction)));
    const safe = deserializeThrown(structuredClone(serializeThrown(withFunction, true))) as
      & Error
      & {
        handle: unknown;
        callback?: unknown;
      };
    assert.equal(safe.handle, "[object Object]");
    assert.equal(safe.callback, undefined, "functions are left out");
  });
});
