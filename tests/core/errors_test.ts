import { describe, it } from "node:test";
import assert from "node:assert/strict";

import {
  CancelledError,
  ClosedError,
  ExecutionError,
  InvalidStateError,
  OsiisoError,
  QueueFullError,
  TaskSerializationError,
  TaskTimeoutError,
  WorkerCrashedError,
} from "../../src/core/errors.ts";
import { TaskResult, type TaskStatus } from "../../src/core/result.ts";

function result(taskId: string, status: TaskStatus): TaskResult {
  return new TaskResult({ taskId, name: "task", status });
}

describe("OsiisoError", () => {
  it("has an empty message by default and keeps a given one", () => {
    assert.equal(new OsiisoError().message, "");
    assert.equal(String(new OsiisoError()), "OsiisoError");
    assert.equal(new OsiisoError("something broke").message, "something broke");
    assert.equal(String(new OsiisoError("something broke")), "OsiisoError: something broke");
  });

  it("is an Error", () => {
    const error = new OsiisoError("x");
    assert.ok(error instanceof Error);
    assert.equal(Object.prototype.toString.call(error), "[object Error]");
    assert.equal(typeof error.stack, "string");
  });

  it("keeps a cause", () => {
    const cause = new TypeError("inner");
    assert.equal(new OsiisoError("outer", { cause }).cause, cause);
    assert.equal("cause" in new OsiisoError("outer"), false);
  });
});

describe("error classes", () => {
  const cases: [string, OsiisoError][] = [
    ["OsiisoError", new OsiisoError("m")],
    ["ClosedError", new ClosedError("m")],
    ["QueueFullError", new QueueFullError("m")],
    ["InvalidStateError", new InvalidStateError("m")],
    ["CancelledError", new CancelledError("m")],
    ["TaskTimeoutError", new TaskTimeoutError("m", 1)],
    ["WorkerCrashedError", new WorkerCrashedError("m")],
    ["TaskSerializationError", new TaskSerializationError("m")],
    ["ExecutionError", new ExecutionError([])],
  ];

  for (const [name, error] of cases) {
    it(`${name} has name '${name}' and can be caught as OsiisoError and Error`, () => {
      assert.equal(error.name, name);
      assert.ok(error instanceof OsiisoError);
      assert.ok(error instanceof Error);
      assert.equal(String(error).split(":")[0], name);
    });
  }

  it("keeps `name` off the instance, like the built-in errors", () => {
    for (const [, error] of cases) {
      assert.equal(Object.hasOwn(error, "name"), false);
      assert.equal(Object.keys(error).includes("name"), false);
    }
  });

  it("a subclass without its own name inherits its parent's", () => {
    class CustomClosed extends ClosedError {}
    const error = new CustomClosed("m");
    assert.equal(error.name, "ClosedError");
    assert.ok(error instanceof ClosedError);
  });

  it("ClosedError and QueueFullError keep their messages", () => {
    assert.equal(
      new ClosedError("queue is not accepting tasks").message,
      "queue is not accepting tasks",
    );
    assert.equal(
      new QueueFullError("queue is full (3 tasks outstanding)").message,
      "queue is full (3 tasks outstanding)",
    );
    assert.equal(new InvalidStateError("result not ready").message, "result not ready");
    assert.equal(new TaskSerializationError("cannot clone").message, "cannot clone");
  });

  it("every class accepts a cause", () => {
    const cause = new Error("root");
    const errors: Error[] = [
      new ClosedError("m", { cause }),
      new QueueFullError("m", { cause }),
      new InvalidStateError("m", { cause }),
      new CancelledError("m", { cause }),
      new TaskTimeoutError("t", 5, { cause }),
      new WorkerCrashedError("m", { cause }),
      new TaskSerializationError("m", { cause }),
      new ExecutionError([], { cause }),
    ];
    for (const error of errors) assert.equal(error.cause, cause, error.name);
  });
});

describe("CancelledError", () => {
  it("says 'cancelled' by default", () => {
    assert.equal(new CancelledError().message, "cancelled");
    assert.equal(
      new CancelledError("cancelled before execution").message,
      "cancelled before execution",
    );
  });
});

describe("TaskTimeoutError", () => {
  it("formats the message and keeps the task name and timeout", () => {
    const error = new TaskTimeoutError("x", 100);
    assert.equal(error.message, "task 'x' exceeded 100ms timeout");
    assert.equal(error.taskName, "x");
    assert.equal(error.timeout, 100);
  });

  it("prints the timeout as String(ms) does", () => {
    assert.equal(new TaskTimeoutError("f", 0.5).message, "task 'f' exceeded 0.5ms timeout");
    assert.equal(new TaskTimeoutError("f", 5_000).message, "task 'f' exceeded 5000ms timeout");
  });
});

describe("WorkerCrashedError", () => {
  it("has null details when none are known", () => {
    const error = new WorkerCrashedError("worker died");
    assert.equal(error.message, "worker died");
    assert.equal(error.worker, null);
    assert.equal(error.exitCode, null);
    assert.equal(error.signal, null);
    assert.equal("cause" in error, false);
  });

  it("keeps the worker, exit code and signal", () => {
    const error = new WorkerCrashedError("worker process died (exit code 137)", {
      worker: 4242,
      exitCode: 137,
      signal: "SIGKILL",
    });
    assert.equal(error.worker, 4242);
    assert.equal(error.exitCode, 137);
    assert.equal(error.signal, "SIGKILL");
  });

  it("keeps worker index 0 and exit code 0 (not confused with unknown)", () => {
    const error = new WorkerCrashedError("exited", { worker: 0, exitCode: 0 });
    assert.equal(error.worker, 0);
    assert.equal(error.exitCode, 0);
    assert.equal(error.signal, null);
  });
});

describe("ExecutionError", () => {
  it("copies the results into an array holding the same objects", () => {
    const failed = result("a", "failed");
    const cancelled = result("b", "cancelled");
    const input = [failed, cancelled];
    const error = new ExecutionError(input);
    assert.deepEqual(error.results, [failed, cancelled]);
    assert.equal(error.results[0], failed);
    assert.equal(error.results[1], cancelled);
    assert.notEqual(error.results, input);
    input.push(result("c", "failed"));
    assert.equal(error.results.length, 2);
  });

  it("accepts any iterable", () => {
    const failed = result("a", "failed");
    function* generate(): Generator<TaskResult> {
      yield failed;
    }
    assert.deepEqual(new ExecutionError(generate()).results, [failed]);
    assert.deepEqual(new ExecutionError(new Set([failed])).results, [failed]);
  });

  it("counts failures", () => {
    const three = [result("a", "failed"), result("b", "failed"), result("c", "failed")];
    assert.equal(new ExecutionError(three).message, "3 task(s) failed");
    assert.equal(new ExecutionError([result("a", "failed")]).message, "1 task(s) failed");
  });

  it("counts failures first, then cancellations", () => {
    const mixed = [result("a", "cancelled"), result("b", "failed"), result("c", "cancelled")];
    assert.equal(new ExecutionError(mixed).message, "1 task(s) failed; 2 task(s) cancelled");
  });

  it("counts cancellations alone", () => {
    assert.equal(new ExecutionError([result("a", "cancelled")]).message, "1 task(s) cancelled");
  });

  it("counts any status that is not 'failed' as cancelled, as the original does", () => {
    assert.equal(new ExecutionError([result("a", "succeeded")]).message, "1 task(s) cancelled");
  });

  it("with no results says '0 task(s) failed'", () => {
    const error = new ExecutionError([]);
    assert.deepEqual(error.results, []);
    assert.equal(error.message, "0 task(s) failed");
  });
});
