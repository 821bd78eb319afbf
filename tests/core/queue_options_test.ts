import { describe, it } from "node:test";
import assert from "node:assert/strict";

import { type Clock, ManualClock, systemClock } from "../../src/core/clock.ts";
import {
  FAIL_POLICIES,
  MODES,
  QUEUE_OPTION_NAMES,
  resolveQueueOptions,
  resolveRunOptions,
  TIMEOUT_POLICIES,
} from "../../src/core/queue_options.ts";
import { describeValue } from "../../src/core/validate.ts";

const PREFIX = "Cannot create queue as";

/** Has `now()` but no `setTimer()`: not a clock. */
class HalfClock {
  now(): number {
    return 0;
  }
}

type ErrorClass = typeof TypeError | typeof RangeError;

function assertThrowsExactly(fn: () => unknown, kind: ErrorClass, message: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof kind, `expected ${kind.name}, got ${String(error)}`);
    assert.equal((error as Error).constructor, kind);
    assert.equal((error as Error).message, message);
    return true;
  });
}

describe("resolveQueueOptions", () => {
  it("gives the defaults for no options and for {}", () => {
    for (const options of [undefined, {}]) {
      const resolved = resolveQueueOptions(options);
      assert.equal(resolved.workers, undefined);
      assert.equal(resolved.size, 0);
      assert.equal(resolved.timeout, undefined);
      assert.equal(resolved.mode, "finite");
      assert.equal(resolved.failPolicy, "continue");
      assert.equal(resolved.onTimeout, "complete");
      assert.equal(resolved.rate, undefined);
      assert.equal(resolved.burst, 1);
      assert.equal(resolved.onStart, undefined);
      assert.equal(resolved.onComplete, undefined);
      assert.equal(resolved.onRetry, undefined);
      assert.equal(typeof resolved.onHookError, "function");
      assert.equal(resolved.signal, undefined);
      assert.equal(resolved.clock, systemClock);
      assert.equal(resolved.progress, "auto");
    }
  });

  it("takes progress as true, false or 'auto'", () => {
    for (const progress of [true, false, "auto"] as const) {
      assert.equal(resolveQueueOptions({ progress }).progress, progress);
    }
  });

  it("the default onHookError writes the hook's name and the error to console.error", () => {
    const resolved = resolveQueueOptions(undefined);
    const logged: unknown[][] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => void logged.push(args);
    const error = new Error("hook broke");
    try {
      resolved.onHookError(error, "onComplete");
    } finally {
      console.error = original;
    }
    assert.equal(logged.length, 1);
    assert.ok(String(logged[0][0]).includes("onComplete"), String(logged[0][0]));
    assert.ok(logged[0].includes(error));
  });

  it("stores every given value", () => {
    const onStart = (): void => {};
    const onComplete = (): void => {};
    const onRetry = (): void => {};
    const onHookError = (): void => {};
    const controller = new AbortController();
    const clock = new ManualClock();
    const resolved = resolveQueueOptions({
      workers: 8,
      size: 100,
      timeout: 5_000,
      mode: "infinite",
      failPolicy: "failFirst",
      onTimeout: "cancel",
      rate: 2.5,
      burst: 4,
      onStart,
      onComplete,
      onRetry,
      onHookError,
      signal: controller.signal,
      clock,
      autoStart: true,
      progress: true,
    });
    assert.deepEqual(resolved, {
      workers: 8,
      size: 100,
      timeout: 5_000,
      mode: "infinite",
      failPolicy: "failFirst",
      onTimeout: "cancel",
      rate: 2.5,
      burst: 4,
      onStart,
      onComplete,
      onRetry,
      onHookError,
      signal: controller.signal,
      clock,
      autoStart: true,
      progress: true,
    });
    assert.equal(resolved.clock, clock);
    assert.equal(resolved.signal, controller.signal);
  });

  it("accepts the boundary values: workers 1, size 0, burst 1, tiny timeout and rate", () => {
    const resolved = resolveQueueOptions({
      workers: 1,
      size: 0,
      burst: 1,
      timeout: 0.001,
      rate: 0.001,
    });
    assert.equal(resolved.workers, 1);
    assert.equal(resolved.size, 0);
    assert.equal(resolved.burst, 1);
    assert.equal(resolved.timeout, 0.001);
    assert.equal(resolved.rate, 0.001);
  });

  it("treats timeout, rate and clock given as null as not given", () => {
    const resolved = resolveQueueOptions({ timeout: null, rate: null, clock: null });
    assert.equal(resolved.timeout, undefined);
    assert.equal(resolved.rate, undefined);
    assert.equal(resolved.clock, systemClock);
  });

  it("leaves a backend's own option to the backend and gives every queue the same set of fields", () => {
    const resolved = resolveQueueOptions({ workers: 3, context: { a: 1 } }, ["context"]);
    assert.equal(resolved.workers, 3);
    assert.equal("context" in resolved, false);
    assert.deepEqual(Object.keys(resolved), Object.keys(resolveQueueOptions(undefined)));
  });

  it("treats hooks given as undefined as not given", () => {
    const resolved = resolveQueueOptions({
      onStart: undefined,
      onComplete: undefined,
      onRetry: undefined,
      onHookError: undefined,
    });
    assert.equal(resolved.onStart, undefined);
    assert.equal(typeof resolved.onHookError, "function");
  });

  it("accepts any object with now() and setTimer() as a clock", () => {
    const clock: Clock = {
      now: () => 0,
      wallNow: () => 0,
      setTimer: () => ({ pending: true }),
      clearTimer: () => {},
    };
    assert.equal(resolveQueueOptions({ clock }).clock, clock);
  });

  it("accepts an already-aborted signal (the queue decides what to do with it)", () => {
    const signal = AbortSignal.abort();
    assert.equal(resolveQueueOptions({ signal }).signal, signal);
  });

  it("accepts every listed mode, failPolicy and onTimeout", () => {
    assert.deepEqual([...MODES], ["finite", "infinite"]);
    assert.deepEqual([...FAIL_POLICIES], ["continue", "failFirst"]);
    assert.deepEqual([...TIMEOUT_POLICIES], ["complete", "cancel"]);
    for (const mode of MODES) assert.equal(resolveQueueOptions({ mode }).mode, mode);
    for (const failPolicy of FAIL_POLICIES) {
      assert.equal(resolveQueueOptions({ failPolicy }).failPolicy, failPolicy);
    }
    for (const onTimeout of TIMEOUT_POLICIES) {
      assert.equal(resolveQueueOptions({ onTimeout }).onTimeout, onTimeout);
    }
  });

  describe("validation messages", () => {
    const cases: [string, unknown, ErrorClass, string][] = [
      ["workers", 0, RangeError, "a positive integer: current value is 0"],
      ["workers", -1, RangeError, "a positive integer: current value is -1"],
      ["workers", 1.5, RangeError, "a positive integer: current value is 1.5"],
      ["workers", Infinity, RangeError, "a positive integer: current value is Infinity"],
      ["workers", "4", TypeError, "a positive integer: current value is '4'"],
      ["workers", null, TypeError, "a positive integer: current value is null"],
      ["size", -1, RangeError, "a non-negative integer: current value is -1"],
      ["size", 2.5, RangeError, "a non-negative integer: current value is 2.5"],
      ["size", "10", TypeError, "a non-negative integer: current value is '10'"],
      ["timeout", 0, RangeError, "a positive number: current value is 0"],
      ["timeout", -100, RangeError, "a positive number: current value is -100"],
      ["timeout", Number.NaN, RangeError, "a positive number: current value is NaN"],
      ["timeout", "1s", TypeError, "a positive number: current value is '1s'"],
      ["rate", 0, RangeError, "a positive number: current value is 0"],
      ["rate", Infinity, RangeError, "a positive number: current value is Infinity"],
      ["rate", {}, TypeError, "a positive number: current value is an object"],
      ["burst", 0, RangeError, "a positive integer: current value is 0"],
      ["burst", 1.5, RangeError, "a positive integer: current value is 1.5"],
      ["burst", true, TypeError, "a positive integer: current value is true"],
      ["mode", "bogus", RangeError, "one of 'finite' or 'infinite': current value is 'bogus'"],
      ["mode", "Finite", RangeError, "one of 'finite' or 'infinite': current value is 'Finite'"],
      ["mode", 1, TypeError, "one of 'finite' or 'infinite': current value is 1"],
      [
        "failPolicy",
        "fail_first",
        RangeError,
        "one of 'continue' or 'failFirst': current value is 'fail_first'",
      ],
      ["failPolicy", null, TypeError, "one of 'continue' or 'failFirst': current value is null"],
      [
        "onTimeout",
        "abort",
        RangeError,
        "one of 'complete' or 'cancel': current value is 'abort'",
      ],
      ["onTimeout", false, TypeError, "one of 'complete' or 'cancel': current value is false"],
      ["onStart", 5, TypeError, "a function: current value is 5"],
      ["onStart", null, TypeError, "a function: current value is null"],
      ["onComplete", "log", TypeError, "a function: current value is 'log'"],
      ["onRetry", {}, TypeError, "a function: current value is an object"],
      ["onHookError", [], TypeError, "a function: current value is array(0)"],
      ["signal", {}, TypeError, "an AbortSignal: current value is an object"],
      ["signal", null, TypeError, "an AbortSignal: current value is null"],
      ["signal", new Map(), TypeError, "an AbortSignal: current value is a Map"],
      ["clock", {}, TypeError, "a Clock: current value is an object"],
      ["autoStart", "yes", TypeError, "a boolean: current value is 'yes'"],
      ["clock", new HalfClock(), TypeError, "a Clock: current value is a HalfClock"],
      ["clock", Date, TypeError, "a Clock: current value is function Date"],
      ["clock", 5, TypeError, "a Clock: current value is 5"],
      ["progress", "always", RangeError, "true, false or 'auto': current value is 'always'"],
      ["progress", 1, TypeError, "true, false or 'auto': current value is 1"],
      ["progress", null, TypeError, "true, false or 'auto': current value is null"],
    ];
    for (const [name, value, kind, rest] of cases) {
      it(`'${name}' = ${describeValue(value)} is a ${kind.name}`, () => {
        assertThrowsExactly(
          () => resolveQueueOptions({ [name]: value }),
          kind,
          `${PREFIX} '${name}' must be ${rest}`,
        );
      });
    }

    it("checks the options object itself", () => {
      assertThrowsExactly(
        () => resolveQueueOptions(null),
        TypeError,
        `${PREFIX} 'options' must be an object: current value is null`,
      );
      assertThrowsExactly(
        () => resolveQueueOptions(4),
        TypeError,
        `${PREFIX} 'options' must be an object: current value is 4`,
      );
      assertThrowsExactly(
        () => resolveQueueOptions([{ workers: 2 }]),
        TypeError,
        `${PREFIX} 'options' must be an object: current value is array(1)`,
      );
    });

    it("names unknown options, sorted", () => {
      assertThrowsExactly(
        () => resolveQueueOptions({ zzz: 1, workers: 2, aaa: 3 }),
        TypeError,
        "Unknown queue option(s): aaa, zzz",
      );
      // The original's snake_case names are unknown here.
      assertThrowsExactly(
        () => resolveQueueOptions({ fail_policy: "continue", on_timeout: "cancel" }),
        TypeError,
        "Unknown queue option(s): fail_policy, on_timeout",
      );
    });

    it("rejects the names every object inherits, and __proto__ as an own name", () => {
      assertThrowsExactly(
        () => resolveQueueOptions({ toString: 1, constructor: 2, hasOwnProperty: 3 }),
        TypeError,
        "Unknown queue option(s): constructor, hasOwnProperty, toString",
      );
      assertThrowsExactly(
        () => resolveQueueOptions(JSON.parse('{"__proto__": {"workers": 2}, "size": 1}')),
        TypeError,
        "Unknown queue option(s): __proto__",
      );
    });

    it("accepts a backend's own option names, and still rejects the rest", () => {
      const extra = ["initializer", "killGrace"];
      const resolved = resolveQueueOptions({ workers: 2, killGrace: 5, initializer: "x" }, extra);
      assert.equal(resolved.workers, 2);
      assertThrowsExactly(
        () => resolveQueueOptions({ killGrace: 5, bogus: 1 }, extra),
        TypeError,
        "Unknown queue option(s): bogus",
      );
      assertThrowsExactly(
        () => resolveQueueOptions({ killGrace: 5 }),
        TypeError,
        "Unknown queue option(s): killGrace",
      );
    });

    it("QUEUE_OPTION_NAMES lists every shared option", () => {
      assert.deepEqual([...QUEUE_OPTION_NAMES].sort(), [
        "autoStart",
        "burst",
        "clock",
        "failPolicy",
        "mode",
        "onComplete",
        "onHookError",
        "onRetry",
        "onStart",
        "onTimeout",
        "progress",
        "rate",
        "signal",
        "size",
        "timeout",
        "workers",
      ]);
    });
  });
});

describe("resolveRunOptions", () => {
  it("gives the defaults for no options and for {}", () => {
    for (const options of [undefined, {}]) {
      assert.deepEqual(resolveRunOptions(options), {
        timeout: undefined,
        strict: false,
        failPolicy: undefined,
      });
    }
  });

  it("keeps timeout null apart from undefined (null: no limit, even if the queue has one)", () => {
    assert.equal(resolveRunOptions({ timeout: null }).timeout, null);
    assert.equal(resolveRunOptions({ timeout: undefined }).timeout, undefined);
  });

  it("stores every given value", () => {
    assert.deepEqual(resolveRunOptions({ timeout: 250, strict: true, failPolicy: "failFirst" }), {
      timeout: 250,
      strict: true,
      failPolicy: "failFirst",
    });
    assert.equal(resolveRunOptions({ failPolicy: "continue" }).failPolicy, "continue");
  });

  const cases: [string, unknown, ErrorClass, string][] = [
    ["timeout", 0, RangeError, "a positive number: current value is 0"],
    ["timeout", -1, RangeError, "a positive number: current value is -1"],
    ["timeout", "5", TypeError, "a positive number: current value is '5'"],
    ["strict", "yes", TypeError, "a boolean: current value is 'yes'"],
    ["strict", 1, TypeError, "a boolean: current value is 1"],
    ["failPolicy", "stop", RangeError, "one of 'continue' or 'failFirst': current value is 'stop'"],
    ["failPolicy", 0, TypeError, "one of 'continue' or 'failFirst': current value is 0"],
  ];
  for (const [name, value, kind, rest] of cases) {
    it(`'${name}' = ${describeValue(value)} is a ${kind.name}`, () => {
      assertThrowsExactly(
        () => resolveRunOptions({ [name]: value }),
        kind,
        `Cannot run queue as '${name}' must be ${rest}`,
      );
    });
  }

  it("checks the options object and names unknown options, sorted", () => {
    assertThrowsExactly(
      () => resolveRunOptions(null),
      TypeError,
      "Cannot run queue as 'options' must be an object: current value is null",
    );
    assertThrowsExactly(
      () => resolveRunOptions({ workers: 2, mode: "finite" }),
      TypeError,
      "Unknown run option(s): mode, workers",
    );
  });
});
