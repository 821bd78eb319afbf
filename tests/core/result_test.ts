import { describe, it } from "node:test";
import assert from "node:assert/strict";
import vm from "node:vm";

import { ExecutionError, TaskTimeoutError } from "../../src/core/errors.ts";
import {
  type ErrorJSON,
  RunSummary,
  TaskResult,
  type TaskResultInit,
  type TaskResultJSON,
} from "../../src/core/result.ts";

/** A result with handy defaults (attempts 1, started and finished), like the original's tests. */
function makeResult(init: Partial<TaskResultInit> = {}): TaskResult {
  return new TaskResult({
    taskId: "aaa",
    name: "task",
    status: "succeeded",
    attempts: 1,
    startedAt: 1_000,
    finishedAt: 2_000,
    duration: 1_000,
    ...init,
  });
}

/** A summary through fromResults with a fixed clock: run from 5 s to 10 s. */
function makeSummary(results: TaskResult[], timedOut = false): RunSummary {
  return RunSummary.fromResults(results, { runStart: 5_000, now: 10_000, timedOut });
}

const FIELD_ORDER = [
  "taskId",
  "name",
  "status",
  "value",
  "exception",
  "attempts",
  "priority",
  "mustComplete",
  "groupId",
  "detached",
  "scheduledFor",
  "createdAt",
  "startedAt",
  "finishedAt",
  "duration",
  "message",
  "metadata",
  "worker",
  "endedBy",
  "cancelReason",
];

describe("TaskResult", () => {
  it("stores every field it is given", () => {
    const exception = new RangeError("boom");
    const metadata = { user: "ada" };
    const r = new TaskResult({
      taskId: "abc123",
      name: "myTask",
      status: "failed",
      value: undefined,
      exception,
      attempts: 3,
      priority: 2,
      mustComplete: true,
      groupId: "grp1",
      detached: true,
      scheduledFor: 100,
      createdAt: 90,
      startedAt: 95,
      finishedAt: 99,
      duration: 4,
      message: "it broke",
      metadata,
      worker: 7,
      endedBy: "timeout",
    });
    assert.equal(r.taskId, "abc123");
    assert.equal(r.name, "myTask");
    assert.equal(r.status, "failed");
    assert.equal(r.value, undefined);
    assert.equal(r.exception, exception);
    assert.equal(r.attempts, 3);
    assert.equal(r.priority, 2);
    assert.equal(r.mustComplete, true);
    assert.equal(r.groupId, "grp1");
    assert.equal(r.detached, true);
    assert.equal(r.scheduledFor, 100);
    assert.equal(r.createdAt, 90);
    assert.equal(r.startedAt, 95);
    assert.equal(r.finishedAt, 99);
    assert.equal(r.duration, 4);
    assert.equal(r.message, "it broke");
    assert.equal(r.metadata, metadata);
    assert.equal(r.worker, 7);
    assert.equal(r.endedBy, "timeout");
  });

  it("is frozen: assigning or adding a field throws a TypeError", () => {
    const r = makeResult();
    assert.ok(Object.isFrozen(r));
    assert.throws(() => {
      (r as { name: string }).name = "other";
    }, TypeError);
    assert.throws(() => {
      (r as unknown as { extra: number }).extra = 1;
    }, TypeError);
    assert.equal(r.name, "task");
  });

  it("needs only taskId, name and status; the rest have the original's defaults", () => {
    const r = new TaskResult({ taskId: "x", name: "t", status: "succeeded" });
    assert.equal(r.value, undefined);
    assert.equal(r.exception, undefined);
    assert.equal(r.attempts, 0);
    assert.equal(r.priority, 0);
    assert.equal(r.mustComplete, false);
    assert.equal(r.groupId, null);
    assert.equal(r.detached, false);
    assert.equal(r.scheduledFor, null);
    assert.equal(r.createdAt, 0);
    assert.equal(r.startedAt, null);
    assert.equal(r.finishedAt, 0);
    assert.equal(r.duration, 0);
    assert.equal(r.message, "");
    assert.equal(r.metadata, undefined);
    assert.equal(r.worker, null);
  });

  it("derives endedBy from the status unless given", () => {
    assert.equal(
      new TaskResult({ taskId: "a", name: "t", status: "succeeded" }).endedBy,
      "returned",
    );
    assert.equal(new TaskResult({ taskId: "a", name: "t", status: "failed" }).endedBy, "threw");
    assert.equal(
      new TaskResult({ taskId: "a", name: "t", status: "cancelled" }).endedBy,
      "cancelled",
    );
    const crashed = new TaskResult({
      taskId: "a",
      name: "t",
      status: "failed",
      endedBy: "worker-crashed",
    });
    assert.equal(crashed.endedBy, "worker-crashed");
    assert.equal(
      new TaskResult({ taskId: "a", name: "t", status: "failed", endedBy: null }).endedBy,
      null,
    );
  });

  it("keeps falsy values that are not missing (0, empty string, false)", () => {
    const r = new TaskResult({
      taskId: "a",
      name: "t",
      status: "succeeded",
      value: 0,
      worker: 0,
      startedAt: 0,
      scheduledFor: 0,
    });
    assert.equal(r.value, 0);
    assert.equal(r.worker, 0);
    assert.equal(r.startedAt, 0);
    assert.equal(r.scheduledFor, 0);
  });

  it("has `id` as an alias of taskId, on the prototype", () => {
    const r = makeResult({ taskId: "t-42" });
    assert.equal(r.id, "t-42");
    assert.equal(Object.hasOwn(r, "id"), false);
  });

  it("has its fields as own properties in a fixed order", () => {
    assert.deepEqual(Object.keys(makeResult()), FIELD_ORDER);
    assert.deepEqual(
      Object.keys(new TaskResult({ taskId: "x", name: "t", status: "failed" })),
      FIELD_ORDER,
    );
  });

  it("types `value` from its type parameter", () => {
    const r = new TaskResult<number>({ taskId: "a", name: "t", status: "succeeded", value: 2 });
    const value: number | undefined = r.value;
    assert.equal(value, 2);
  });
});

describe("TaskResult.toJSON", () => {
  it("returns every field as plain data", () => {
    const r = new TaskResult({
      taskId: "abc",
      name: "job",
      status: "succeeded",
      value: { n: 1 },
      attempts: 2,
      priority: 1,
      mustComplete: true,
      groupId: "g",
      detached: true,
      scheduledFor: 10,
      createdAt: 5,
      startedAt: 11,
      finishedAt: 20,
      duration: 9,
      message: "",
      metadata: { tag: "x" },
      worker: 3,
    });
    const json = r.toJSON();
    assert.deepEqual(Object.keys(json), FIELD_ORDER);
    assert.equal(Object.getPrototypeOf(json), Object.prototype);
    assert.deepEqual(
      json,
      {
        taskId: "abc",
        name: "job",
        status: "succeeded",
        value: { n: 1 },
        exception: undefined,
        attempts: 2,
        priority: 1,
        mustComplete: true,
        groupId: "g",
        detached: true,
        scheduledFor: 10,
        createdAt: 5,
        startedAt: 11,
        finishedAt: 20,
        duration: 9,
        message: "",
        metadata: { tag: "x" },
        worker: 3,
        endedBy: "returned",
        cancelReason: null,
      } satisfies TaskResultJSON,
    );
  });

  it("leaves out a missing exception when stringified", () => {
    const parsed = JSON.parse(JSON.stringify(makeResult({ value: 42 })));
    assert.equal("exception" in parsed, false);
    assert.equal(parsed.value, 42);
    assert.equal(parsed.endedBy, "returned");
    assert.equal(parsed.startedAt, 1_000);
    assert.equal(parsed.groupId, null);
  });

  it("renders an Error exception as { name, message, stack }", () => {
    const exception = new TaskTimeoutError("job", 100);
    const json = makeResult({ status: "failed", exception }).toJSON();
    assert.deepEqual(json.exception, {
      name: "TaskTimeoutError",
      message: "task 'job' exceeded 100ms timeout",
      stack: exception.stack,
    });
    assert.equal(typeof (json.exception as ErrorJSON).stack, "string");
  });

  it("renders the cause chain in the same shape", () => {
    const root = new TypeError("root");
    const middle = new Error("middle", { cause: root });
    const top = new Error("top", { cause: middle });
    const json = makeResult({ status: "failed", exception: top }).toJSON();
    assert.deepEqual(json.exception, {
      name: "Error",
      message: "top",
      stack: top.stack,
      cause: {
        name: "Error",
        message: "middle",
        stack: middle.stack,
        cause: { name: "TypeError", message: "root", stack: root.stack },
      },
    });
  });

  it("renders a cause that is not an Error with String()", () => {
    const json = makeResult({
      status: "failed",
      exception: new Error("top", { cause: 404 }),
    }).toJSON();
    assert.equal((json.exception as ErrorJSON).cause, "404");
  });

  it("stops a cause chain that loops", () => {
    const a = new Error("a");
    const b = new Error("b", { cause: a });
    (a as { cause?: unknown }).cause = b;
    const exception = makeResult({ status: "failed", exception: a }).toJSON()
      .exception as ErrorJSON;
    assert.equal(exception.message, "a");
    assert.equal((exception.cause as ErrorJSON).message, "b");
    assert.equal((exception.cause as ErrorJSON).cause, undefined);
    assert.doesNotThrow(() => JSON.stringify(makeResult({ status: "failed", exception: a })));
  });

  it("renders an Error from another realm as an Error", () => {
    const foreign = vm.runInNewContext("new RangeError('far away')") as Error;
    assert.equal(foreign instanceof Error, false);
    const json = makeResult({ status: "failed", exception: foreign }).toJSON();
    assert.equal((json.exception as ErrorJSON).name, "RangeError");
    assert.equal((json.exception as ErrorJSON).message, "far away");
  });

  it("renders any other thrown value with String()", () => {
    assert.equal(
      makeResult({ status: "failed", exception: "plain string" }).toJSON().exception,
      "plain string",
    );
    assert.equal(makeResult({ status: "failed", exception: 42 }).toJSON().exception, "42");
    assert.equal(makeResult({ status: "failed", exception: null }).toJSON().exception, "null");
    assert.equal(
      makeResult({ status: "failed", exception: { code: 1 } }).toJSON().exception,
      "[object Object]",
    );
  });

  it("never throws on a thrown value String() cannot convert", () => {
    const bare = Object.create(null);
    assert.equal(
      makeResult({ status: "failed", exception: bare }).toJSON().exception,
      "[object Object]",
    );
  });
});

describe("RunSummary: ok", () => {
  it("is true when everything succeeded", () => {
    const summary = makeSummary([makeResult({ taskId: "1" }), makeResult({ taskId: "2" })]);
    assert.equal(summary.ok, true);
  });

  it("is true for an empty run", () => {
    assert.equal(makeSummary([]).ok, true);
  });

  it("is false with a failure", () => {
    const summary = makeSummary([
      makeResult({ taskId: "1" }),
      makeResult({ taskId: "2", status: "failed", exception: new Error("x") }),
    ]);
    assert.equal(summary.ok, false);
  });

  it("is false with a cancellation", () => {
    assert.equal(makeSummary([makeResult({ taskId: "1", status: "cancelled" })]).ok, false);
  });

  it("is false when the run timed out, even with no failures", () => {
    assert.equal(makeSummary([makeResult({ taskId: "1" })], true).ok, false);
  });
});

describe("RunSummary: selections", () => {
  const ok = makeResult({ taskId: "1", value: 42 });
  const failed = makeResult({ taskId: "2", status: "failed", exception: new Error("x") });
  const hello = makeResult({ taskId: "3", value: "hello" });
  const cancelled = makeResult({ taskId: "4", status: "cancelled" });
  const failed2 = makeResult({ taskId: "5", status: "failed", exception: new Error("y") });
  const summary = makeSummary([ok, failed, hello, cancelled, failed2]);

  it("errors holds only the failed results, in order", () => {
    assert.deepEqual(summary.errors, [failed, failed2]);
    assert.equal(summary.errors[0], failed);
  });

  it("values holds only the succeeded values, in order", () => {
    assert.deepEqual(summary.values, [42, "hello"]);
  });

  it("successes() and cancellations() filter by status", () => {
    assert.deepEqual(summary.successes(), [ok, hello]);
    assert.deepEqual(summary.cancellations(), [cancelled]);
  });

  it("byTaskId() maps ids to the same objects", () => {
    const index = summary.byTaskId();
    assert.equal(index.size, 5);
    assert.equal(index.get("1"), ok);
    assert.equal(index.get("2"), failed);
    assert.deepEqual([...index.keys()], ["1", "2", "3", "4", "5"]);
  });

  it("byName() groups in first-seen order", () => {
    const r1 = makeResult({ taskId: "1", name: "alpha" });
    const r2 = makeResult({ taskId: "2", name: "beta" });
    const r3 = makeResult({ taskId: "3", name: "alpha" });
    const grouped = makeSummary([r1, r2, r3]).byName();
    assert.deepEqual([...grouped.keys()], ["alpha", "beta"]);
    assert.deepEqual(grouped.get("alpha"), [r1, r3]);
    assert.deepEqual(grouped.get("beta"), [r2]);
  });

  it("byGroup() groups in first-seen order, with a null key for ungrouped tasks", () => {
    const r1 = makeResult({ taskId: "1", groupId: null });
    const r2 = makeResult({ taskId: "2", groupId: "g1" });
    const r3 = makeResult({ taskId: "3", groupId: "g1" });
    const r4 = makeResult({ taskId: "4" });
    const grouped = makeSummary([r1, r2, r3, r4]).byGroup();
    assert.deepEqual([...grouped.keys()], [null, "g1"]);
    assert.deepEqual(grouped.get("g1"), [r2, r3]);
    assert.deepEqual(grouped.get(null), [r1, r4]);
  });

  it("returns fresh collections each call (the summary itself cannot change)", () => {
    summary.errors.pop();
    summary.byName().clear();
    assert.equal(summary.errors.length, 2);
    assert.equal(summary.byName().size, 1);
  });

  it("types values from the type parameter", () => {
    const typed = RunSummary.fromResults(
      [new TaskResult<number>({ taskId: "a", name: "t", status: "succeeded", value: 7 })],
      { runStart: 0, now: 1 },
    );
    const values: number[] = typed.values;
    assert.deepEqual(values, [7]);
  });
});

describe("RunSummary.raiseForErrors", () => {
  it("throws ExecutionError carrying the failed results", () => {
    const failed = makeResult({ taskId: "1", status: "failed", exception: new Error("x") });
    const summary = makeSummary([makeResult({ taskId: "0" }), failed]);
    assert.throws(
      () => summary.raiseForErrors(),
      (error: unknown) => {
        assert.ok(error instanceof ExecutionError);
        assert.deepEqual(error.results, [failed]);
        assert.equal(error.results[0], failed);
        assert.equal(error.message, "1 task(s) failed");
        return true;
      },
    );
  });

  it("does nothing when everything succeeded", () => {
    assert.doesNotThrow(() => makeSummary([makeResult()]).raiseForErrors());
  });

  it("ignores cancellations unless asked", () => {
    const cancelled = makeResult({ taskId: "1", status: "cancelled" });
    const summary = makeSummary([cancelled]);
    assert.doesNotThrow(() => summary.raiseForErrors());
    assert.doesNotThrow(() => summary.raiseForErrors({ includeCancelled: false }));
    assert.throws(() => summary.raiseForErrors({ includeCancelled: true }), {
      name: "ExecutionError",
      message: "1 task(s) cancelled",
    });
  });

  it("with includeCancelled lists failures first, then cancellations", () => {
    const cancelled = makeResult({ taskId: "1", status: "cancelled" });
    const failed = makeResult({ taskId: "2", status: "failed" });
    const summary = makeSummary([cancelled, failed]);
    assert.throws(
      () => summary.raiseForErrors({ includeCancelled: true }),
      (error: unknown) => {
        assert.ok(error instanceof ExecutionError);
        assert.deepEqual(error.results, [failed, cancelled]);
        assert.equal(error.message, "1 task(s) failed; 1 task(s) cancelled");
        return true;
      },
    );
  });
});

describe("RunSummary.format and display", () => {
  const bar = "-".repeat(40);

  it("lays out a passed run exactly", () => {
    const summary = new RunSummary({
      results: [makeResult(), makeResult({ taskId: "b" })],
      duration: 123,
    });
    assert.equal(
      summary.format(),
      [
        bar,
        "  Run Summary: PASSED",
        bar,
        "  Total tasks : 2",
        "  Succeeded   : 2",
        "  Failed      : 0",
        "  Cancelled   : 0",
        "  Duration    : 0.123s",
        bar,
      ].join("\n"),
    );
  });

  it("lays out failures with attempts and messages exactly", () => {
    const summary = new RunSummary({
      results: [
        makeResult({ taskId: "1" }),
        makeResult({
          taskId: "2",
          name: "flakyTask",
          status: "failed",
          attempts: 3,
          message: "Error: x",
        }),
        makeResult({ taskId: "3", name: "quietTask", status: "failed", attempts: 1, message: "" }),
        makeResult({ taskId: "4", status: "cancelled" }),
      ],
      duration: 5_000,
    });
    assert.equal(
      summary.format(),
      [
        bar,
        "  Run Summary: COMPLETED WITH ERRORS",
        bar,
        "  Total tasks : 4",
        "  Succeeded   : 1",
        "  Failed      : 2",
        "  Cancelled   : 1",
        "  Duration    : 5.000s",
        bar,
        "  Failures:",
        "    - flakyTask (3 attempts)",
        "      Error: x",
        "    - quietTask",
        bar,
      ].join("\n"),
    );
  });

  it("says TIMED OUT when the run timed out, before anything else", () => {
    assert.match(makeSummary([makeResult()], true).format(), /Run Summary: TIMED OUT/);
    const failedAndTimedOut = makeSummary([makeResult({ status: "failed" })], true).format();
    assert.match(failedAndTimedOut, /Run Summary: TIMED OUT/);
    assert.doesNotMatch(failedAndTimedOut, /COMPLETED WITH ERRORS/);
  });

  it("says COMPLETED WITH ERRORS with no failure list for a run with only cancellations", () => {
    const text = makeSummary([makeResult({ status: "cancelled" })]).format();
    assert.match(text, /Run Summary: COMPLETED WITH ERRORS/);
    assert.doesNotMatch(text, /Failures:/);
    assert.equal(text.split("\n").length, 9);
  });

  it("shows the attempt count only when more than one", () => {
    const text = makeSummary([
      makeResult({ taskId: "1", name: "once", status: "failed", attempts: 1 }),
      makeResult({ taskId: "2", name: "twice", status: "failed", attempts: 2 }),
    ]).format();
    assert.match(text, /^ {4}- once$/m);
    assert.match(text, /^ {4}- twice \(2 attempts\)$/m);
    assert.doesNotMatch(text, /1 attempts/);
  });

  it("prints the duration in seconds with three decimals", () => {
    assert.match(makeSummary([]).format(), /Duration {4}: 5\.000s/);
    assert.match(new RunSummary({ results: [], duration: 0 }).format(), /Duration {4}: 0\.000s/);
    assert.match(
      new RunSummary({ results: [], duration: 61_250 }).format(),
      /Duration {4}: 61\.250s/,
    );
  });

  it("lists maxFailures failures and counts the rest in one line", () => {
    const failures = Array.from(
      { length: 75 },
      (_, i) => makeResult({ taskId: `${i}`, name: `job${i}`, status: "failed", message: "503" }),
    );
    const text = makeSummary(failures).format({ maxFailures: 5 });
    assert.match(text, /^ {4}- job4$/m);
    assert.doesNotMatch(text, /job5\b/);
    assert.match(text, /^ {4}… and 70 more failures$/m);
    assert.equal(text.split("\n").length, 9 + 2 + 5 * 2 + 1);
    const byDefault = makeSummary(failures).format();
    assert.match(byDefault, /^ {4}- job19$/m);
    assert.match(byDefault, /^ {4}… and 55 more failures$/m);
    assert.doesNotMatch(makeSummary(failures).format({ maxFailures: Infinity }), /more failure/);
    assert.match(
      makeSummary(failures.slice(0, 2)).format({ maxFailures: 1 }),
      /… and 1 more failure$/m,
    );
    assert.doesNotMatch(makeSummary(failures.slice(0, 2)).format({ maxFailures: 2 }), /more/);
  });

  it("rejects a bad maxFailures and unknown format options", () => {
    const summary = makeSummary([]);
    assert.throws(() => summary.format({ maxFailures: -1 }), {
      name: "RangeError",
      message:
        "Cannot format summary as 'maxFailures' must be a non-negative integer: current value is -1",
    });
    assert.throws(() => summary.format({ maxFailure: 3 } as never), {
      name: "TypeError",
      message: "Unknown format option(s): maxFailure",
    });
  });

  it("counts cancellations by reason and says what ended the run early", () => {
    const summary = RunSummary.fromResults([
      makeResult({ taskId: "1", status: "cancelled", cancelReason: "signal" }),
      makeResult({ taskId: "2", status: "cancelled", cancelReason: "signal" }),
      makeResult({ taskId: "3", status: "cancelled", cancelReason: "cancel" }),
    ], { runStart: 0, now: 10, timedOut: true, interrupted: "signal" });
    const text = summary.format();
    assert.match(text, /^ {2}Run Summary: INTERRUPTED$/m);
    assert.match(text, /^ {2}Cancelled {3}: 3 \(2 signal, 1 cancel\)$/m);
    assert.match(text, /^ {2}Ended early : signal$/m);
    const timedOut = RunSummary.fromResults([], {
      runStart: 0,
      timedOut: true,
      interrupted: "timeout",
    });
    assert.match(timedOut.format(), /Run Summary: TIMED OUT/);
    assert.match(timedOut.format(), /Ended early : timeout/);
  });

  it("keeps cancelReason only on a cancelled result", () => {
    assert.equal(
      makeResult({ status: "cancelled", cancelReason: "failFirst" }).cancelReason,
      "failFirst",
    );
    assert.equal(makeResult({ status: "cancelled" }).cancelReason, null);
    assert.equal(makeResult({ status: "failed", cancelReason: "cancel" }).cancelReason, null);
    assert.equal(
      makeResult({ status: "cancelled", cancelReason: "timeout" }).toJSON().cancelReason,
      "timeout",
    );
  });

  it("display() prints format() with console.log", () => {
    const summary = makeSummary([
      makeResult({ name: "bad", status: "failed", attempts: 3, message: "boom" }),
    ]);
    const printed: unknown[][] = [];
    const original = console.log;
    console.log = (...args: unknown[]) => {
      printed.push(args);
    };
    try {
      summary.display();
    } finally {
      console.log = original;
    }
    assert.deepEqual(printed, [[summary.format()]]);
    assert.match(String(printed[0][0]), /bad \(3 attempts\)/);
    assert.match(String(printed[0][0]), /^ {6}boom$/m);
  });
});

describe("RunSummary construction", () => {
  it("fromResults counts by status and measures now - runStart", () => {
    const summary = makeSummary([
      makeResult({ taskId: "1" }),
      makeResult({ taskId: "2" }),
      makeResult({ taskId: "3", status: "failed" }),
      makeResult({ taskId: "4", status: "cancelled" }),
      makeResult({ taskId: "5", status: "cancelled" }),
      makeResult({ taskId: "6", status: "cancelled" }),
    ]);
    assert.equal(summary.totalSubmitted, 6);
    assert.equal(summary.succeeded, 2);
    assert.equal(summary.failed, 1);
    assert.equal(summary.cancelled, 3);
    assert.equal(summary.timedOut, false);
    assert.equal(summary.duration, 5_000);
    assert.equal(summary.results.length, 6);
  });

  it("fromResults keeps timedOut", () => {
    assert.equal(
      RunSummary.fromResults([], { runStart: 0, now: 0, timedOut: true }).timedOut,
      true,
    );
    assert.equal(RunSummary.fromResults([], { runStart: 0, now: 0 }).timedOut, false);
  });

  it("fromResults measures to the system clock when `now` is not given", () => {
    const runStart = performance.timeOrigin + performance.now() - 50;
    const summary = RunSummary.fromResults([], { runStart });
    assert.ok(summary.duration >= 50, `duration ${summary.duration}`);
    assert.ok(summary.duration < 60_000, `duration ${summary.duration}`);
  });

  it("the constructor defaults to no timeout and zero duration", () => {
    const summary = new RunSummary({ results: [makeResult()] });
    assert.equal(summary.timedOut, false);
    assert.equal(summary.duration, 0);
    assert.equal(summary.totalSubmitted, 1);
  });

  it("keeps the results in the order given, as a copy", () => {
    const a = makeResult({ taskId: "a" });
    const b = makeResult({ taskId: "b" });
    const input = [b, a];
    const summary = new RunSummary({ results: input });
    input.push(makeResult({ taskId: "c" }));
    assert.deepEqual(summary.results, [b, a]);
    assert.notEqual(summary.results, input);
  });

  it("accepts any iterable of results", () => {
    const a = makeResult({ taskId: "a" });
    function* generate(): Generator<TaskResult> {
      yield a;
    }
    assert.deepEqual(new RunSummary({ results: generate() }).results, [a]);
  });

  it("is frozen: assigning a field throws a TypeError", () => {
    const summary = makeSummary([makeResult()]);
    assert.ok(Object.isFrozen(summary));
    assert.throws(() => {
      (summary as { failed: number }).failed = 3;
    }, TypeError);
    assert.equal(summary.failed, 0);
  });
});

describe("RunSummary.toJSON", () => {
  it("returns the counts, ok and every result as plain data", () => {
    const ok = makeResult({ taskId: "1", value: 1 });
    const failed = makeResult({
      taskId: "2",
      status: "failed",
      exception: new Error("x"),
      message: "x",
    });
    const summary = makeSummary([ok, failed]);
    const json = summary.toJSON();
    assert.deepEqual(Object.keys(json), [
      "totalSubmitted",
      "succeeded",
      "failed",
      "cancelled",
      "timedOut",
      "interrupted",
      "duration",
      "ok",
      "results",
    ]);
    assert.equal(json.totalSubmitted, 2);
    assert.equal(json.succeeded, 1);
    assert.equal(json.failed, 1);
    assert.equal(json.cancelled, 0);
    assert.equal(json.timedOut, false);
    assert.equal(json.interrupted, null);
    assert.equal(json.duration, 5_000);
    assert.equal(json.ok, false);
    assert.deepEqual(json.results, [ok.toJSON(), failed.toJSON()]);
  });

  it("survives a JSON round trip", () => {
    const summary = makeSummary([
      makeResult({ taskId: "1", value: "v" }),
      makeResult({ taskId: "2", status: "failed", exception: new TypeError("bad") }),
    ]);
    const parsed = JSON.parse(JSON.stringify(summary));
    assert.equal(parsed.ok, false);
    assert.equal(parsed.results[0].value, "v");
    assert.equal(parsed.results[1].exception.name, "TypeError");
    assert.equal(parsed.results[1].exception.message, "bad");
    assert.equal(parsed.results[1].endedBy, "threw");
  });
});
