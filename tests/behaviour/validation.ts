/**
 * Bad input: queue options, task options and run options, with the one
 * message form (`Cannot submit task as 'retries' must be a non-negative
 * integer: current value is -1`; `TypeError` for a wrong type or unknown
 * name, `RangeError` for a value out of range).
 *
 * @module
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { BackendUnderTest } from "./backend.ts";
import { withQueue } from "../helpers/leaks.ts";
import { rejectsWith } from "../helpers/asserts.ts";

/** Defines the validation tests for `b`. */
export function validationTests(b: BackendUnderTest): void {
  const t = b.tasks;

  describe("queue options", () => {
    const rangeCases: [string, Record<string, unknown>, string][] = [
      [
        "size",
        { size: -1 },
        "Cannot create queue as 'size' must be a non-negative integer: current value is -1",
      ],
      [
        "workers",
        { workers: 0 },
        "Cannot create queue as 'workers' must be a positive integer: current value is 0",
      ],
      [
        "timeout",
        { timeout: -1 },
        "Cannot create queue as 'timeout' must be a positive number: current value is -1",
      ],
      [
        "rate",
        { rate: 0 },
        "Cannot create queue as 'rate' must be a positive number: current value is 0",
      ],
      [
        "burst",
        { burst: 0 },
        "Cannot create queue as 'burst' must be a positive integer: current value is 0",
      ],
      [
        "fractional workers",
        { workers: 1.5 },
        "Cannot create queue as 'workers' must be a positive integer: current value is 1.5",
      ],
    ];
    for (const [label, options, message] of rangeCases) {
      it(`rejects bad ${label} with a RangeError`, () => {
        assert.throws(() => b.make(options), { name: "RangeError", message });
      });
    }

    it("rejects a wrongly typed option with a TypeError", () => {
      assert.throws(() => b.make({ workers: "2" } as never), {
        name: "TypeError",
        message:
          "Cannot create queue as 'workers' must be a positive integer: current value is '2'",
      });
      assert.throws(() => b.make({ onStart: 1 } as never), TypeError);
    });

    it("validates mode, failPolicy and onTimeout", () => {
      const cases: [string, string[]][] = [
        ["mode", ["finite", "infinite"]],
        ["failPolicy", ["continue", "failFirst"]],
        ["onTimeout", ["complete", "cancel"]],
      ];
      for (const [name, choices] of cases) {
        assert.throws(() => b.make({ [name]: "bogus" } as never), (error: unknown) => {
          assert.ok(error instanceof RangeError, `${name}: ${error}`);
          assert.match(
            error.message,
            new RegExp(`^Cannot create queue as '${name}' must be one of `),
          );
          for (const choice of choices) {
            assert.ok(error.message.includes(`'${choice}'`), error.message);
          }
          assert.ok(error.message.endsWith("current value is 'bogus'"), error.message);
          return true;
        });
      }
      assert.throws(() => b.make({ failPolicy: "fail_first" } as never), RangeError);
    });

    it("rejects unknown queue options with a TypeError naming them, sorted", () => {
      assert.throws(() => b.make({ zeta: 1, alpha: 2 } as never), {
        name: "TypeError",
        message: "Unknown queue option(s): alpha, zeta",
      });
    });

    it("accepts the boundary values", async () => {
      const q = b.make({ size: 0, workers: 1, timeout: 1, rate: 0.5, burst: 1 });
      await q.shutdown();
      assert.equal(q.closed, true);
    });
  });

  describe("task options", () => {
    const rangeCases: [string, Record<string, unknown>, string][] = [
      [
        "retries",
        { retries: -1 },
        "Cannot submit task as 'retries' must be a non-negative integer: current value is -1",
      ],
      [
        "priority",
        { priority: Number.NaN },
        "Cannot submit task as 'priority' must be a finite number: current value is NaN",
      ],
      [
        "timeout",
        { timeout: 0 },
        "Cannot submit task as 'timeout' must be a positive number: current value is 0",
      ],
      [
        "retryDelay",
        { retryDelay: -1 },
        "Cannot submit task as 'retryDelay' must be a non-negative number: current value is -1",
      ],
      [
        "backoff",
        { backoff: 0 },
        "Cannot submit task as 'backoff' must be a positive number: current value is 0",
      ],
      [
        "delay",
        { delay: -1 },
        "Cannot submit task as 'delay' must be a non-negative number: current value is -1",
      ],
      [
        "maxRetryDelay",
        { maxRetryDelay: -1 },
        "Cannot submit task as 'maxRetryDelay' must be a non-negative number: current value is -1",
      ],
    ];
    for (const [label, options, message] of rangeCases) {
      it(`rejects bad ${label} with a RangeError`, async () => {
        await withQueue(() => b.make(), (q) => {
          assert.throws(() => q.submit(t.double, [1], options), { name: "RangeError", message });
          assert.equal(q.pendingCount, 0);
        });
      });
    }

    it("rejects wrongly typed task options with a TypeError", async () => {
      await withQueue(() => b.make(), (q) => {
        assert.throws(() => q.submit(t.double, [1], { retries: "2" } as never), {
          name: "TypeError",
          message:
            "Cannot submit task as 'retries' must be a non-negative integer: current value is '2'",
        });
        assert.throws(() => q.submit(t.double, [1], { mustComplete: 1 } as never), TypeError);
        assert.throws(() => q.submit(t.double, [1], { retryOn: true } as never), TypeError);
      });
    });

    it("rejects delay together with runAt", async () => {
      await withQueue(() => b.make(), (q) => {
        assert.throws(
          () => q.submit(t.double, [1], { delay: 10, runAt: Date.now() + 10 }),
          /'delay' and 'runAt' are mutually exclusive/,
        );
      });
    });

    it("accepts the boundary values", async () => {
      await withQueue(() => b.make(), async (q) => {
        const h = q.submit(t.double, [2], { timeout: 1_000, delay: 0, retries: 0, retryDelay: 0 });
        const tiny = q.submit(t.double, [3], { timeout: 1, priority: -5.5 });
        await q.run();
        assert.equal(h.value(), 4);
        assert.ok(tiny.done());
        assert.equal(tiny.priority, -5.5);
      });
    });
  });

  describe("run options", () => {
    it("rejects unknown and out-of-range run options", async () => {
      await withQueue(() => b.make(), async (q) => {
        await rejectsWith(() => q.run({ bogus: true } as never), {
          name: "TypeError",
          message: "Unknown run option(s): bogus",
        });
        await rejectsWith(() => q.run({ timeout: -1 }), RangeError);
        await rejectsWith(() => q.run({ failPolicy: "bogus" } as never), RangeError);
        const summary = await q.run();
        assert.equal(summary.ok, true);
      });
    });
  });
}
