import { describe, it } from "node:test";
import assert from "node:assert/strict";

import {
  DEFAULT_TASK_OPTIONS,
  resolveTaskOptions,
  retryDelayFor,
  TASK_OPTION_NAMES,
} from "../../src/core/options.ts";
import { describeValue } from "../../src/core/validate.ts";

const PREFIX = "Cannot submit task as";

/** Asserts that resolving `options` throws `kind` with exactly `message`. */
function rejects(
  options: unknown,
  kind: typeof TypeError | typeof RangeError,
  message: string,
): void {
  assert.throws(
    () => resolveTaskOptions(options),
    (error: unknown) => {
      assert.ok(error instanceof kind, `expected ${kind.name}, got ${String(error)}`);
      assert.equal((error as Error).constructor, kind);
      assert.equal((error as Error).message, message);
      return true;
    },
  );
}

describe("task option defaults", () => {
  it("are the original's (priority 3, retries 0, ...) plus the port's additions", () => {
    assert.deepEqual({ ...DEFAULT_TASK_OPTIONS }, {
      priority: 3,
      mustComplete: false,
      timeout: undefined,
      retries: 0,
      retryDelay: 0,
      backoff: 1,
      maxRetryDelay: Infinity,
      retryJitter: 0,
      delay: undefined,
      runAt: undefined,
      name: undefined,
      groupId: undefined,
      detached: false,
      metadata: undefined,
      retryOn: undefined,
      bind: false,
      transfer: undefined,
      recordSuccess: undefined,
    });
  });

  it("are frozen", () => {
    assert.ok(Object.isFrozen(DEFAULT_TASK_OPTIONS));
    assert.throws(() => {
      (DEFAULT_TASK_OPTIONS as { priority: number }).priority = 0;
    }, TypeError);
    assert.equal(DEFAULT_TASK_OPTIONS.priority, 3);
  });

  it("TASK_OPTION_NAMES lists exactly the resolved fields but the engine's own", () => {
    assert.deepEqual(
      [...TASK_OPTION_NAMES, "recordSuccess"].sort(),
      Object.keys(DEFAULT_TASK_OPTIONS).sort(),
    );
    assert.equal(TASK_OPTION_NAMES.size, 17);
  });
});

describe("resolveTaskOptions", () => {
  it("refuses transfer with retries: a transferred object cannot be sent again", () => {
    const buffer = new ArrayBuffer(8);
    assert.equal(resolveTaskOptions({ transfer: [buffer] }).transfer?.[0], buffer);
    assert.throws(() => resolveTaskOptions({ transfer: [buffer], retries: 2 }), {
      name: "RangeError",
      message:
        "Cannot submit task as 'transfer' and 'retries' are mutually exclusive (a transferred object leaves this thread with the first attempt, so a retry could not send it again; pass a copy instead): current values are 1 object(s) and 2",
    });
    // Also when a bound task's options and a call's overrides bring one each.
    const bound = resolveTaskOptions({ transfer: [buffer] });
    assert.throws(() => resolveTaskOptions({ retries: 1 }, bound), RangeError);
    assert.equal(resolveTaskOptions({ transfer: [], retries: 1 }).retries, 1);
  });

  it("returns the defaults themselves when there is nothing to merge (undefined and {})", () => {
    assert.equal(resolveTaskOptions(undefined), DEFAULT_TASK_OPTIONS);
    assert.equal(resolveTaskOptions({}), DEFAULT_TASK_OPTIONS);
  });

  it("returns the same base object when there is nothing to merge", () => {
    const base = resolveTaskOptions({ retries: 2, priority: 0 });
    assert.equal(resolveTaskOptions(undefined, base), base);
    assert.equal(resolveTaskOptions({}, base), base);
  });

  it("keeps the defaults for the options not given", () => {
    const options = resolveTaskOptions({ retries: 5 });
    assert.notEqual(options, DEFAULT_TASK_OPTIONS);
    assert.equal(options.retries, 5);
    assert.equal(options.priority, 3);
    assert.equal(options.timeout, undefined);
    assert.equal(options.mustComplete, false);
    assert.equal(options.detached, false);
    assert.equal(options.delay, undefined);
    assert.equal(options.runAt, undefined);
  });

  it("stores every custom value", () => {
    const retryOn = (error: unknown): boolean => error instanceof TypeError;
    // Empty: a transfer list with objects in it cannot go with retries (below).
    const transfer: Transferable[] = [];
    const metadata = { user: "ada" };
    const options = resolveTaskOptions({
      priority: -2.5,
      mustComplete: true,
      timeout: 250,
      retries: 4,
      retryDelay: 10,
      backoff: 1.5,
      maxRetryDelay: 1_000,
      retryJitter: 0.25,
      delay: 30,
      name: "fetch",
      groupId: "batch",
      detached: true,
      metadata,
      retryOn,
      bind: true,
      transfer,
    });
    assert.deepEqual({ ...options }, {
      priority: -2.5,
      mustComplete: true,
      timeout: 250,
      retries: 4,
      retryDelay: 10,
      backoff: 1.5,
      maxRetryDelay: 1_000,
      retryJitter: 0.25,
      delay: 30,
      runAt: undefined,
      name: "fetch",
      groupId: "batch",
      detached: true,
      metadata,
      retryOn,
      bind: true,
      transfer,
      recordSuccess: undefined,
    });
    assert.equal(options.metadata, metadata);
    assert.equal(options.retryOn, retryOn);
    assert.equal(options.transfer, transfer);
  });

  it("returns a frozen object and leaves the base unchanged", () => {
    const base = resolveTaskOptions({ priority: 1, retries: 2 });
    const merged = resolveTaskOptions({ retries: 7 }, base);
    assert.ok(Object.isFrozen(merged));
    assert.equal(base.retries, 2);
    assert.equal(merged.retries, 7);
  });

  it("merges overrides onto a base: the overrides win, the rest is kept", () => {
    const base = resolveTaskOptions({ priority: 0, retries: 3, timeout: 100, name: "base" });
    const merged = resolveTaskOptions({ retries: 1, name: "override" }, base);
    assert.equal(merged.priority, 0);
    assert.equal(merged.timeout, 100);
    assert.equal(merged.retries, 1);
    assert.equal(merged.name, "override");
  });

  it("clears nullable options given as null", () => {
    const base = resolveTaskOptions({ timeout: 100, delay: 5, groupId: "g" });
    const cleared = resolveTaskOptions({ timeout: null, delay: null, groupId: null }, base);
    assert.equal(cleared.timeout, undefined);
    assert.equal(cleared.delay, undefined);
    assert.equal(cleared.groupId, undefined);
  });

  it("treats an option given as undefined as not given (the base's value stays)", () => {
    const retryOn = () => true;
    const base = resolveTaskOptions({ name: "n", retries: 2, retryOn, metadata: { a: 1 } });
    const merged = resolveTaskOptions({
      name: undefined,
      retries: undefined,
      retryOn: undefined,
      transfer: undefined,
      metadata: undefined,
    }, base);
    assert.equal(merged, base);
    assert.equal(
      resolveTaskOptions({ retries: undefined, priority: undefined }),
      resolveTaskOptions(undefined),
    );
  });

  it("keeps any metadata as given, null included", () => {
    assert.deepEqual(resolveTaskOptions({ metadata: { a: 1 } }).metadata, { a: 1 });
    assert.equal(resolveTaskOptions({ metadata: null }).metadata, null);
  });

  describe("runAt", () => {
    it("takes epoch ms as given", () => {
      assert.equal(resolveTaskOptions({ runAt: 1_700_000_000_123 }).runAt, 1_700_000_000_123);
      assert.equal(resolveTaskOptions({ runAt: 0 }).runAt, 0);
    });

    it("turns a Date into epoch ms", () => {
      const when = new Date("2030-01-02T03:04:05.678Z");
      assert.equal(resolveTaskOptions({ runAt: when }).runAt, when.getTime());
    });

    it("takes a time in the past (it means now)", () => {
      assert.equal(resolveTaskOptions({ runAt: 5 }).runAt, 5);
      assert.equal(resolveTaskOptions({ runAt: new Date(0) }).runAt, 0);
    });

    it("rejects an invalid Date with a RangeError in the house form", () => {
      rejects(
        { runAt: new Date(Number.NaN) },
        RangeError,
        `${PREFIX} 'runAt' must be a valid Date or epoch ms: current value is Date(invalid)`,
      );
    });

    it("rejects a string with a TypeError", () => {
      rejects(
        { runAt: "2030-01-01" },
        TypeError,
        `${PREFIX} 'runAt' must be a Date or epoch ms: current value is '2030-01-01'`,
      );
    });

    it("rejects a non-finite number with a RangeError", () => {
      rejects(
        { runAt: Number.NaN },
        RangeError,
        `${PREFIX} 'runAt' must be a finite number: current value is NaN`,
      );
      rejects(
        { runAt: Infinity },
        RangeError,
        `${PREFIX} 'runAt' must be a finite number: current value is Infinity`,
      );
    });
  });

  describe("delay and runAt", () => {
    it("are mutually exclusive", () => {
      rejects(
        { delay: 5, runAt: 1_700_000_000_000 },
        RangeError,
        `${PREFIX} 'delay' and 'runAt' are mutually exclusive: current values are 5 and 1700000000000`,
      );
    });

    it("are mutually exclusive across a base and its overrides too", () => {
      const base = resolveTaskOptions({ delay: 5 });
      assert.throws(
        () => resolveTaskOptions({ runAt: 10 }, base),
        /'delay' and 'runAt' are mutually exclusive: current values are 5 and 10/,
      );
      // Clearing one while setting the other works.
      const moved = resolveTaskOptions({ delay: null, runAt: 10 }, base);
      assert.equal(moved.delay, undefined);
      assert.equal(moved.runAt, 10);
    });

    it("either alone is fine, and delay 0 with runAt null too", () => {
      assert.equal(resolveTaskOptions({ delay: 5 }).delay, 5);
      assert.equal(resolveTaskOptions({ runAt: 5 }).runAt, 5);
      const options = resolveTaskOptions({ delay: 0, runAt: null });
      assert.equal(options.delay, 0);
      assert.equal(options.runAt, undefined);
    });
  });

  describe("validation messages", () => {
    it("the original's example: retries -1", () => {
      rejects(
        { retries: -1 },
        RangeError,
        "Cannot submit task as 'retries' must be a non-negative integer: current value is -1",
      );
    });

    const cases: [string, unknown, typeof TypeError | typeof RangeError, string][] = [
      ["priority", Number.NaN, RangeError, "a finite number: current value is NaN"],
      ["priority", Infinity, RangeError, "a finite number: current value is Infinity"],
      ["priority", -Infinity, RangeError, "a finite number: current value is -Infinity"],
      ["priority", "1", TypeError, "a finite number: current value is '1'"],
      ["priority", null, TypeError, "a finite number: current value is null"],
      ["priority", 1n, TypeError, "a finite number: current value is 1n"],
      ["mustComplete", 1, TypeError, "a boolean: current value is 1"],
      ["mustComplete", "yes", TypeError, "a boolean: current value is 'yes'"],
      ["timeout", 0, RangeError, "a positive number: current value is 0"],
      ["timeout", -5, RangeError, "a positive number: current value is -5"],
      ["timeout", Infinity, RangeError, "a positive number: current value is Infinity"],
      ["timeout", Number.NaN, RangeError, "a positive number: current value is NaN"],
      ["timeout", "100", TypeError, "a positive number: current value is '100'"],
      ["retries", 1.5, RangeError, "a non-negative integer: current value is 1.5"],
      ["retries", Infinity, RangeError, "a non-negative integer: current value is Infinity"],
      ["retries", Number.NaN, RangeError, "a non-negative integer: current value is NaN"],
      ["retries", "3", TypeError, "a non-negative integer: current value is '3'"],
      ["retries", null, TypeError, "a non-negative integer: current value is null"],
      ["retryDelay", -1, RangeError, "a non-negative number: current value is -1"],
      ["retryDelay", Infinity, RangeError, "a non-negative number: current value is Infinity"],
      ["retryDelay", true, TypeError, "a non-negative number: current value is true"],
      ["backoff", 0, RangeError, "a positive number: current value is 0"],
      ["backoff", -2, RangeError, "a positive number: current value is -2"],
      ["maxRetryDelay", -1, RangeError, "a non-negative number: current value is -1"],
      ["maxRetryDelay", Number.NaN, RangeError, "a non-negative number: current value is NaN"],
      [
        "maxRetryDelay",
        -Infinity,
        RangeError,
        "a non-negative number: current value is -Infinity",
      ],
      ["maxRetryDelay", "1", TypeError, "a non-negative number: current value is '1'"],
      ["retryJitter", -0.1, RangeError, "a fraction in [0, 1]: current value is -0.1"],
      ["retryJitter", 1.5, RangeError, "a fraction in [0, 1]: current value is 1.5"],
      ["retryJitter", "0.1", TypeError, "a finite number: current value is '0.1'"],
      ["delay", -1, RangeError, "a non-negative number: current value is -1"],
      ["delay", Infinity, RangeError, "a non-negative number: current value is Infinity"],
      ["delay", [], TypeError, "a non-negative number: current value is array(0)"],
      ["name", 5, TypeError, "a string: current value is 5"],
      ["name", null, TypeError, "a string: current value is null"],
      ["groupId", 7, TypeError, "a string: current value is 7"],
      ["detached", "no", TypeError, "a boolean: current value is 'no'"],
      ["retryOn", 5, TypeError, "a function: current value is 5"],
      ["retryOn", null, TypeError, "a function: current value is null"],
      ["bind", 0, TypeError, "a boolean: current value is 0"],
      ["transfer", {}, TypeError, "an array: current value is an object"],
      ["transfer", new Map(), TypeError, "an array: current value is a Map"],
    ];
    for (const [name, value, kind, rest] of cases) {
      it(`'${name}' = ${describeValue(value)} is a ${kind.name}`, () => {
        rejects({ [name]: value }, kind, `${PREFIX} '${name}' must be ${rest}`);
      });
    }

    it("checks the options object itself", () => {
      rejects(null, TypeError, `${PREFIX} 'options' must be an object: current value is null`);
      rejects(5, TypeError, `${PREFIX} 'options' must be an object: current value is 5`);
      rejects(
        "fast",
        TypeError,
        `${PREFIX} 'options' must be an object: current value is 'fast'`,
      );
      rejects(
        [1, 2],
        TypeError,
        `${PREFIX} 'options' must be an object: current value is array(2)`,
      );
    });

    it("names unknown options, sorted, in the original's text", () => {
      rejects({ zeta: 1, alpha: 2, priority: 1 }, TypeError, "Unknown task option(s): alpha, zeta");
      rejects({ retry: 1 }, TypeError, "Unknown task option(s): retry");
      // The original's snake_case names are unknown here.
      rejects(
        { must_complete: true, retry_delay: 1 },
        TypeError,
        "Unknown task option(s): must_complete, retry_delay",
      );
    });

    it("reports unknown names before bad values", () => {
      rejects({ retries: -1, bogus: 1 }, TypeError, "Unknown task option(s): bogus");
    });

    it("validates overrides merged onto a base too", () => {
      const base = resolveTaskOptions({ retries: 2 });
      assert.throws(() => resolveTaskOptions({ retries: -1 }, base), RangeError);
      assert.throws(() => resolveTaskOptions({ nope: 1 }, base), /Unknown task option\(s\): nope/);
    });
  });
});

describe("retryDelayFor", () => {
  function delays(options: Parameters<typeof resolveTaskOptions>[0], count: number): number[] {
    const resolved = resolveTaskOptions(options);
    return Array.from({ length: count }, (_, i) => retryDelayFor(resolved, i + 1));
  }

  it("is 0 by default", () => {
    assert.deepEqual(delays(undefined, 3), [0, 0, 0]);
  });

  it("is the fixed retryDelay with backoff 1", () => {
    assert.deepEqual(delays({ retryDelay: 250 }, 3), [250, 250, 250]);
  });

  it("multiplies by backoff after each retry: retryDelay × backoff^(n−1)", () => {
    assert.deepEqual(delays({ retryDelay: 100, backoff: 2 }, 5), [100, 200, 400, 800, 1_600]);
    assert.deepEqual(delays({ retryDelay: 100, backoff: 0.5 }, 3), [100, 50, 25]);
  });

  it("caps every delay at maxRetryDelay", () => {
    assert.deepEqual(
      delays({ retryDelay: 100, backoff: 3, maxRetryDelay: 1_000 }, 5),
      [100, 300, 900, 1_000, 1_000],
    );
    assert.deepEqual(delays({ retryDelay: 500, maxRetryDelay: 200 }, 2), [200, 200]);
    assert.deepEqual(delays({ retryDelay: 500, maxRetryDelay: 0 }, 2), [0, 0]);
  });

  it("spreads each delay by up to retryJitter of it, either way, still capped", () => {
    const jittered = resolveTaskOptions({ retryDelay: 1_000, retryJitter: 0.2 });
    assert.equal(retryDelayFor(jittered, 1, () => 0), 800);
    assert.equal(retryDelayFor(jittered, 1, () => 0.5), 1_000);
    assert.equal(retryDelayFor(jittered, 1, () => 0.75), 1_100);
    const capped = resolveTaskOptions({ retryDelay: 1_000, retryJitter: 1, maxRetryDelay: 1_200 });
    assert.equal(retryDelayFor(capped, 1, () => 0.99), 1_200);
    assert.equal(retryDelayFor(capped, 1, () => 0), 0);
  });
});
