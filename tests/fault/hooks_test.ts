/**
 * Faulty hooks: `onStart`, `onComplete`, `onRetry`, `retryOn` and `onDone`
 * callbacks that throw (an `Error` or a plain value), reject (an async hook,
 * a promise that rejects later) or never settle. Task outcomes must be
 * exactly those of a run with well-behaved hooks, and `onHookError` must
 * receive every error with the hook's name: a hook's returned promise is not
 * awaited, and its rejection, like a throw, never changes a task's outcome.
 */

import assert from "node:assert/strict";
import { describe } from "node:test";
import type { QueueOptions, TaskHandle, TaskQueue } from "../../mod.ts";
import { useLeakCheck } from "../helpers/leaks.ts";
import { sleep } from "../helpers/timing.ts";
import { type FaultBackend, faultBackends } from "./backends.ts";
import { captureConsoleError, faultTest, HookErrors, SettleTracker } from "./harness.ts";

/** How a faulty hook misbehaves. */
interface Misbehaviour {
  readonly name: string;
  /** Builds the hook body: it is called with a fresh error for each call. */
  make(error: () => unknown): (...args: unknown[]) => unknown;
  /** Whether each call reports an error. */
  readonly reports: boolean;
  /** How long after the run reports may still arrive. */
  readonly lateMs: number;
}

const MISBEHAVIOURS: readonly Misbehaviour[] = [
  {
    name: "throws an Error",
    make: (error) => () => {
      throw error();
    },
    reports: true,
    lateMs: 0,
  },
  {
    name: "throws a string",
    make: () => () => {
      throw "hook failed as a string";
    },
    reports: true,
    lateMs: 0,
  },
  {
    name: "is async and throws",
    make: (error) => async () => {
      await Promise.resolve();
      throw error();
    },
    reports: true,
    lateMs: 0,
  },
  {
    name: "returns a promise that rejects later",
    make: (error) => () => sleep(20).then(() => Promise.reject(error())),
    reports: true,
    lateMs: 100,
  },
  {
    name: "returns a promise that never settles",
    make: () => () => new Promise(() => {}),
    reports: false,
    lateMs: 0,
  },
];

type HookUnderTest = "onStart" | "onComplete" | "onRetry";

/** The workload every hook test runs, and how many times each hook fires on it. */
const CALLS: Record<HookUnderTest, number> = {
  // ok 1 + fails 1 + flaky 2 + alwaysFails 2 attempts; the cancelled task never starts.
  onStart: 6,
  // one per task, the cancelled one included
  onComplete: 5,
  // one retry each for flaky and alwaysFails
  onRetry: 2,
};

interface Outcome {
  readonly name: string;
  readonly status: string;
  readonly value: unknown;
  readonly attempts: number;
  readonly message: string;
  readonly endedBy: string | null;
}

async function runWorkload(b: FaultBackend, options: QueueOptions): Promise<Outcome[]> {
  const q = b.make({ workers: 2, ...options });
  try {
    const t = b.tasks;
    const tracker = new SettleTracker();
    const handles: TaskHandle<unknown>[] = [
      q.submit(t.increment, [1], { name: "ok" }),
      q.submit(t.boom, [2], { name: "fails" }),
      q.submit(t.flaky, [1, 3], { name: "flaky", bind: true, retries: 1 }),
      q.submit(t.alwaysFails, [], { name: "alwaysFails", bind: true, retries: 1 }),
      q.submit(t.increment, [5], { name: "cancelled" }),
    ];
    tracker.trackAll(handles);
    handles[4].cancel();
    const summary = await q.run();
    await tracker.assertEachSettledOnce("hook workload");
    // The task cancelled before run() is outside that run's summary.
    assert.equal(summary.totalSubmitted, 4);
    return handles.map((h) => {
      const r = h.result();
      return {
        name: r.name,
        status: r.status,
        value: r.value,
        attempts: r.attempts,
        message: r.message,
        endedBy: r.endedBy,
      };
    });
  } finally {
    await q.shutdown({ force: true });
  }
}

/** The outcomes with well-behaved hooks, computed once per backend (pools are slow to start). */
const controls = new Map<FaultBackend, Promise<Outcome[]>>();
function control(b: FaultBackend): Promise<Outcome[]> {
  let outcomes = controls.get(b);
  if (outcomes === undefined) controls.set(b, outcomes = runWorkload(b, {}));
  return outcomes;
}

function checkHookFaults(b: FaultBackend, hook: HookUnderTest, misbehaviour: Misbehaviour): void {
  faultTest(`${hook} ${misbehaviour.name}`, async () => {
    const expected = await control(b);
    const hookErrors = new HookErrors();
    let made = 0;
    const thrown: unknown[] = [];
    const body = misbehaviour.make(() => {
      const error = new Error(`${hook} failure ${++made}`);
      thrown.push(error);
      return error;
    });
    let calls = 0;
    const counted = (...args: unknown[]) => {
      calls++;
      return body(...args);
    };
    const outcomes = await runWorkload(b, { [hook]: counted, onHookError: hookErrors.handler });
    if (misbehaviour.lateMs > 0) await sleep(misbehaviour.lateMs);
    assert.deepEqual(outcomes, expected, "outcomes are those of a run with good hooks");
    assert.equal(calls, CALLS[hook], `${hook} calls`);
    const reported = misbehaviour.reports ? CALLS[hook] : 0;
    assert.deepEqual(hookErrors.byHook(), reported === 0 ? {} : { [hook]: reported });
    if (misbehaviour.reports && thrown.length > 0) {
      assert.deepEqual(
        new Set(hookErrors.seen.map((seen) => seen.error)),
        new Set(thrown),
        "onHookError received the errors thrown",
      );
    }
  });
}

for (const backend of faultBackends()) {
  describe(`faulty hooks on ${backend.name}`, () => {
    useLeakCheck();
    for (const hook of ["onStart", "onComplete", "onRetry"] as const) {
      for (const misbehaviour of MISBEHAVIOURS) checkHookFaults(backend, hook, misbehaviour);
    }

    faultTest("every hook throwing at once changes no outcome", async () => {
      const expected = await control(backend);
      const hookErrors = new HookErrors();
      const fail = () => {
        throw new Error("all hooks fail");
      };
      const outcomes = await runWorkload(backend, {
        onStart: fail,
        onComplete: fail,
        onRetry: fail,
        onHookError: hookErrors.handler,
      });
      assert.deepEqual(outcomes, expected);
      assert.deepEqual(hookErrors.byHook(), CALLS);
    });

    faultTest("onDone callbacks that throw are reported, and the others still run", async () => {
      const hookErrors = new HookErrors();
      const q = backend.make({ workers: 2, onHookError: hookErrors.handler });
      try {
        const t = backend.tasks;
        const handles = [q.submit(t.increment, [1]), q.submit(t.boom, [2])];
        const ran: string[] = [];
        for (const handle of handles) {
          handle.onDone(() => {
            throw new Error(`onDone of ${handle.name}`);
          });
          handle.onDone(() => void ran.push(handle.name));
          handle.onDone(() => {
            throw "onDone threw a string";
          });
        }
        const summary = await q.run();
        assert.equal(summary.succeeded, 1);
        assert.equal(summary.failed, 1);
        assert.deepEqual([...ran].sort(), handles.map((h) => h.name).sort());
        assert.equal(ran.length, 2);
        assert.deepEqual(hookErrors.byHook(), { onDone: 4 });
        // On a finished handle the callback runs at once; its throw is reported, not raised.
        handles[0].onDone(() => {
          throw new Error("late onDone");
        });
        assert.deepEqual(hookErrors.byHook(), { onDone: 5 });
        assert.equal(handles[0].value(), 2);
      } finally {
        await q.shutdown({ force: true });
      }
    });

    faultTest("an onHookError that throws falls back to console.error", async () => {
      let outcomes: Outcome[] = [];
      const expected = await control(backend);
      const lines = await captureConsoleError(async () => {
        outcomes = await runWorkload(backend, {
          onStart: () => {
            throw new Error("hook");
          },
          onHookError: () => {
            throw new Error("the error handler failed too");
          },
        });
      });
      assert.deepEqual(outcomes, expected);
      assert.equal(lines.length, CALLS.onStart, "one console.error line per failed report");
    });

    faultTest("a retryOn that throws is reported and stops the retries", async () => {
      const hookErrors = new HookErrors();
      const q = backend.make({ workers: 1, onHookError: hookErrors.handler });
      try {
        const h = q.submit(backend.tasks.alwaysFails, [], {
          bind: true,
          retries: 3,
          retryOn: () => {
            throw new Error("retryOn broke");
          },
        });
        await q.run();
        const result = h.result();
        assert.equal(result.status, "failed");
        assert.equal(result.attempts, 1);
        assert.equal(result.message, "error attempt 1", "the task's own error is kept");
        assert.deepEqual(hookErrors.byHook(), { retryOn: 1 });
        assert.equal((hookErrors.seen[0].error as Error).message, "retryOn broke");
      } finally {
        await q.shutdown({ force: true });
      }
    });

    faultTest("a hook that force-shuts the queue down on the first start", async () => {
      let q: TaskQueue | undefined;
      let stops = 0;
      q = backend.make({
        workers: 2,
        onStart: () => {
          if (stops++ === 0) void q?.shutdown({ force: true });
        },
      });
      try {
        const tracker = new SettleTracker();
        tracker.trackAll(q.map(backend.tasks.increment, [1, 2, 3, 4]));
        const summary = await q.run().catch((error) => error);
        await tracker.assertEachSettledOnce("shutdown from onStart");
        assert.deepEqual(tracker.statusCounts(), { cancelled: 4 });
        assert.equal(summary.cancelled, 4);
        assert.equal(q.closed, true);
      } finally {
        await q.shutdown({ force: true });
        q = undefined;
      }
    });

    faultTest(
      "a hook that shuts the queue down gracefully mid-run lets the work finish",
      async () => {
        let q: TaskQueue | undefined;
        let closing: Promise<void> | undefined;
        q = backend.make({
          workers: 2,
          onComplete: () => {
            closing ??= q?.shutdown();
          },
        });
        try {
          const tracker = new SettleTracker();
          tracker.trackAll(q.map(backend.tasks.increment, [1, 2, 3, 4]));
          const summary = await q.run();
          await closing;
          await tracker.assertEachSettledOnce("graceful shutdown from onComplete");
          assert.deepEqual(tracker.statusCounts(), { succeeded: 4 });
          assert.equal(summary.succeeded, 4);
          assert.equal(q.closed, true);
        } finally {
          await q.shutdown({ force: true });
          q = undefined;
        }
      },
    );
  });
}
