/**
 * Shutdown at every point of a queue's life, three ways: graceful
 * (`shutdown()`: everything outstanding runs), forced (`shutdown({ force:
 * true })`: everything unfinished is cancelled, `mustComplete` too) and
 * interrupted (a run timeout with `onTimeout: "complete"`, what the runner
 * does on SIGINT/SIGTERM: `mustComplete` tasks finish, the rest are
 * cancelled). The points: before start, during start-up, mid-run, during
 * retry back-off sleeps, during rate-gate waits, and with scheduled tasks.
 *
 * Every case checks each task's final status against the rule, that every
 * handle settled exactly once (`onDone`) and `onComplete` ran once per task,
 * the exact `RunSummary` counts, and that no timer is left (the ManualClock's
 * and the library's).
 */

import assert from "node:assert/strict";
import { describe } from "node:test";
import {
  ManualClock,
  type RunSummary,
  type TaskHandle,
  type TaskOptions,
  type TaskQueue,
} from "../../mod.ts";
import { useLeakCheck } from "../helpers/leaks.ts";
import { waitFor } from "../helpers/timing.ts";
import { type FaultBackend, faultBackends, type FaultTasks } from "./backends.ts";
import { assertCounts, faultTest, SettleTracker } from "./harness.ts";

type Mode = "graceful" | "forced" | "interrupt";
type Outcome = "succeeded" | "failed";

/** One task of a scenario and what it would do if nothing stopped it. */
interface Planned {
  readonly label: string;
  readonly handle: TaskHandle<unknown>;
  readonly mustComplete: boolean;
  readonly outcome: Outcome;
}

/** A point in a queue's life at which it is stopped. */
interface Point {
  readonly name: string;
  readonly modes: readonly Mode[];
  readonly queueOptions?: Record<string, unknown>;
  /** Whether a `run()` is in progress when the stop comes. */
  readonly withRun: boolean;
  /** Clock time of the stop: the run timeout in interrupt mode. */
  readonly stopAt: number;
  submit(q: TaskQueue, t: FaultTasks, clock: ManualClock): Planned[];
  /** Brings the queue to the point; absent means "stop synchronously, now". */
  reach?(q: TaskQueue, planned: readonly Planned[]): Promise<void>;
  /** Asserts the queue really is at the point (synchronous). */
  check(q: TaskQueue, planned: readonly Planned[]): void;
}

function planner(q: TaskQueue) {
  const planned: Planned[] = [];
  const plan = (
    label: string,
    task: unknown,
    args: unknown[],
    options: TaskOptions,
    outcome: Outcome = "succeeded",
  ) => {
    const handle = q.submit(task as never, args as never, { name: label, ...options });
    planned.push({ label, handle, mustComplete: options.mustComplete === true, outcome });
    return handle;
  };
  return { planned, plan };
}

const byLabel = (planned: readonly Planned[], label: string): TaskHandle<unknown> =>
  (planned.find((p) => p.label === label) as Planned).handle;

const POINTS: readonly Point[] = [
  {
    name: "before start",
    modes: ["graceful", "forced"],
    withRun: false,
    stopAt: 0,
    submit(q, t) {
      const { planned, plan } = planner(q);
      plan("a", t.increment, [1], { mustComplete: true });
      plan("b", t.increment, [2], {});
      plan("c", t.boom, [3], {}, "failed");
      plan("d", t.increment, [4], { delay: 2_000 });
      return planned;
    },
    check(q) {
      assert.equal(q.activeCount, 0);
      assert.equal(q.pendingCount, 4);
    },
  },
  {
    name: "during start-up",
    modes: ["graceful", "forced"],
    withRun: true,
    stopAt: 0,
    submit(q, t) {
      const { planned, plan } = planner(q);
      plan("a", t.increment, [1], { mustComplete: true });
      plan("b", t.increment, [2], {});
      plan("c", t.boom, [3], { mustComplete: true }, "failed");
      plan("d", t.sleepThen, [50, "d"], {});
      return planned;
    },
    check(q) {
      // run() has started the queue, but nothing has been dispatched yet.
      assert.equal(q.activeCount, 0);
      assert.equal(q.pendingCount, 4);
    },
  },
  {
    name: "mid-run",
    modes: ["graceful", "forced", "interrupt"],
    queueOptions: { workers: 2 },
    withRun: true,
    stopAt: 1,
    submit(q, t) {
      const { planned, plan } = planner(q);
      plan("done", t.increment, [0], {});
      plan("running-mc", t.sleepThen, [300, "r1"], { mustComplete: true });
      plan("running", t.sleepThen, [300, "r2"], {});
      plan("queued-mc", t.increment, [1], { mustComplete: true });
      plan("queued", t.increment, [2], {});
      plan("queued-mc-fails", t.boom, [3], { mustComplete: true }, "failed");
      return planned;
    },
    async reach(_q, planned) {
      await waitFor(
        () =>
          byLabel(planned, "done").done() && byLabel(planned, "running").status === "running" &&
          byLabel(planned, "running-mc").status === "running",
        5_000,
        "two tasks running",
      );
    },
    check(q) {
      assert.equal(q.activeCount, 2);
      assert.equal(q.pendingCount, 3);
    },
  },
  {
    name: "during retry back-off sleeps",
    modes: ["graceful", "forced", "interrupt"],
    queueOptions: { workers: 4 },
    withRun: true,
    stopAt: 1_000,
    submit(q, t) {
      const { planned, plan } = planner(q);
      const sleepy = { bind: true, retryDelay: 5_000 } as const;
      plan("flaky-mc", t.flaky, [1, 1], { ...sleepy, retries: 2, mustComplete: true });
      plan("flaky", t.flaky, [1, 2], { ...sleepy, retries: 2 });
      plan("fails-mc", t.alwaysFails, [], { ...sleepy, retries: 1, mustComplete: true }, "failed");
      plan("fails", t.alwaysFails, [], { ...sleepy, retries: 1 }, "failed");
      return planned;
    },
    async reach(_q, planned) {
      await waitFor(
        () => planned.every((p) => p.handle.status === "retrying"),
        5_000,
        "every task sleeping before its retry",
      );
    },
    check(q, planned) {
      // A task waiting for its retry holds no worker: it is pending and scheduled.
      assert.equal(q.activeCount, 0);
      assert.equal(q.pendingCount, 4);
      assert.equal(q.stats.scheduled, 4);
      assert.deepEqual(planned.map((p) => p.handle.attempts), [1, 1, 1, 1]);
    },
  },
  {
    name: "during rate-gate waits",
    modes: ["graceful", "forced", "interrupt"],
    queueOptions: { workers: 3, rate: 1 },
    withRun: true,
    stopAt: 500,
    submit(q, t) {
      const { planned, plan } = planner(q);
      plan("first", t.increment, [0], {});
      plan("gated-mc", t.increment, [1], { mustComplete: true });
      plan("gated", t.increment, [2], {});
      plan("gated-mc-2", t.increment, [3], { mustComplete: true });
      plan("queued", t.increment, [4], {});
      return planned;
    },
    async reach(_q, planned) {
      await waitFor(() => byLabel(planned, "first").done(), 5_000, "the first task done");
    },
    check(q, planned) {
      // Three tasks hold a worker while they wait for the gate; one is queued.
      assert.equal(q.activeCount, 3);
      assert.equal(q.pendingCount, 1);
      assert.deepEqual(planned.slice(1).map((p) => p.handle.attempts), [0, 0, 0, 0]);
    },
  },
  {
    name: "with scheduled tasks",
    modes: ["graceful", "forced", "interrupt"],
    withRun: true,
    stopAt: 1_000,
    submit(q, t, clock) {
      const { planned, plan } = planner(q);
      plan("now", t.increment, [0], {});
      plan("delayed-mc", t.increment, [1], { delay: 5_000, mustComplete: true });
      plan("delayed", t.increment, [2], { delay: 5_000 });
      plan("run-at-mc", t.increment, [3], { runAt: clock.wallNow() + 8_000, mustComplete: true });
      plan("delayed-mc-fails", t.boom, [4], { delay: 3_000, mustComplete: true }, "failed");
      return planned;
    },
    async reach(_q, planned) {
      await waitFor(() => byLabel(planned, "now").done(), 5_000, "the immediate task done");
    },
    check(q) {
      assert.equal(q.stats.scheduled, 4);
      assert.equal(q.activeCount, 0);
    },
  },
];

/** Advances `clock` in steps until `promise` settles (real tasks may need real time too). */
async function advanceUntil(
  clock: ManualClock,
  promise: Promise<unknown>,
  what: string,
): Promise<void> {
  let settled = false;
  promise.then(() => (settled = true), () => (settled = true));
  const deadline = performance.now() + 15_000;
  while (!settled) {
    if (performance.now() > deadline) throw new Error(`${what} did not settle`);
    await clock.advance(250);
  }
}

function expectedStatus(p: Planned, mode: Mode, before: ReadonlyMap<Planned, string>): string {
  const finished = before.get(p);
  if (finished !== undefined) return finished;
  if (mode === "graceful") return p.outcome;
  if (mode === "forced") return "cancelled";
  return p.mustComplete ? p.outcome : "cancelled";
}

async function stopAtPoint(b: FaultBackend, point: Point, mode: Mode): Promise<void> {
  const clock = new ManualClock();
  let completions = 0;
  const q = b.make({
    clock,
    onComplete: () => void completions++,
    ...b.onePerWorker,
    ...point.queueOptions,
  });
  try {
    const planned = point.submit(q, b.tasks, clock);
    const tracker = new SettleTracker();
    tracker.trackAll(planned.map((p) => p.handle));
    let running: Promise<RunSummary> | undefined;
    if (point.withRun) {
      running = q.run(mode === "interrupt" ? { timeout: point.stopAt } : undefined);
    }
    if (point.reach !== undefined) await point.reach(q, planned);
    point.check(q, planned);
    const before = new Map<Planned, string>();
    for (const p of planned) if (p.handle.done()) before.set(p, p.handle.status);

    let stopping: Promise<unknown>;
    if (mode === "interrupt") {
      assert.ok(running !== undefined);
      await clock.advance(point.stopAt - clock.now());
      stopping = running;
    } else {
      stopping = q.shutdown({ force: mode === "forced" });
    }
    await advanceUntil(clock, stopping, `the ${mode} stop`);
    if (running !== undefined) await advanceUntil(clock, running, "the run");
    const summary = running === undefined ? undefined : await running;
    await q.shutdown();

    const expected = planned.map((p) => `${p.label}: ${expectedStatus(p, mode, before)}`);
    assert.deepEqual(planned.map((p) => `${p.label}: ${p.handle.status}`), expected);
    await tracker.assertEachSettledOnce(`${point.name}, ${mode}`);
    assert.equal(completions, planned.length, "onComplete ran once per task");
    assert.equal(q.results.length, planned.length, "one result per task");
    if (summary !== undefined) {
      const statuses = planned.map((p) => p.handle.status);
      const count = (status: string) => statuses.filter((s) => s === status).length;
      assertCounts(summary, {
        total: planned.length,
        succeeded: count("succeeded"),
        failed: count("failed"),
        cancelled: count("cancelled"),
        timedOut: mode === "interrupt",
      }, `${point.name}, ${mode}`);
    }
    assert.equal(q.activeCount + q.pendingCount, 0, "nothing outstanding");
    assert.equal(clock.pendingTimers, 0, "no clock timer left");
  } finally {
    await q.shutdown({ force: true });
  }
}

for (const backend of faultBackends()) {
  describe(`shutdown at every point on ${backend.name}`, () => {
    useLeakCheck();
    for (const point of POINTS) {
      for (const mode of point.modes) {
        faultTest(`${mode} stop ${point.name}`, () => stopAtPoint(backend, point, mode));
      }
    }

    faultTest("a forced shutdown overtakes a graceful one that is waiting", async () => {
      const clock = new ManualClock();
      const q = backend.make({ ...backend.onePerWorker, clock, workers: 2 });
      try {
        const tracker = new SettleTracker();
        const t = backend.tasks;
        const retrying = q.submit(t.flaky, [1, 1], { bind: true, retries: 1, retryDelay: 60_000 });
        tracker.trackAll([
          q.submit(t.sleepThen, [200, "running"]),
          q.submit(t.increment, [1], { delay: 60_000 }),
          retrying,
        ]);
        q.start();
        await waitFor(
          () => q.activeCount === 1 && retrying.status === "retrying",
          5_000,
          "one task running, one waiting for its retry",
        );
        const graceful = q.shutdown();
        const forced = q.shutdown({ force: true });
        await Promise.all([graceful, forced]);
        assert.equal(q.closed, true);
        await tracker.assertEachSettledOnce("escalated shutdown");
        assert.deepEqual(tracker.statusCounts(), { cancelled: 3 });
        assert.equal(clock.pendingTimers, 0);
      } finally {
        await q.shutdown({ force: true });
      }
    });

    faultTest("concurrent graceful shutdowns all resolve after the work", async () => {
      const q = backend.make({ workers: 2 });
      try {
        const h = q.submit(backend.tasks.sleepThen, [50, "x"]);
        q.start();
        const all = await Promise.all([q.shutdown(), q.shutdown(), q.shutdown()]);
        assert.equal(all.length, 3);
        assert.equal(h.value(), "x");
      } finally {
        await q.shutdown({ force: true });
      }
    });

    faultTest("join() in progress resolves when the queue is shut down by force", async () => {
      const q = backend.make({ workers: 1 });
      try {
        const h = q.submit(backend.tasks.hang, []);
        const joining = q.join();
        await waitFor(() => h.status === "running", 5_000, "the task running");
        await q.shutdown({ force: true });
        await joining;
        assert.equal(h.status, "cancelled");
      } finally {
        await q.shutdown({ force: true });
      }
    });

    faultTest(
      "aborting the queue's signal mid-run cancels everything and ends the run",
      async () => {
        const controller = new AbortController();
        const q = backend.make({ ...backend.onePerWorker, workers: 1, signal: controller.signal });
        try {
          const tracker = new SettleTracker();
          tracker.trackAll([
            q.submit(backend.tasks.hang, [], { mustComplete: true }),
            q.submit(backend.tasks.increment, [1]),
          ]);
          const running = q.run();
          await waitFor(() => q.activeCount === 1, 5_000, "the task running");
          controller.abort();
          const summary = await running;
          assertCounts(
            summary,
            { total: 2, succeeded: 0, failed: 0, cancelled: 2 },
            "signal abort",
          );
          await tracker.assertEachSettledOnce("signal abort");
          assert.equal(q.closed, true);
        } finally {
          await q.shutdown({ force: true });
        }
      },
    );

    faultTest("a scope whose body throws cancels its tasks and rethrows", async () => {
      const q = backend.make({ workers: 1 });
      const tracker = new SettleTracker();
      await assert.rejects(
        q.scope((scoped) => {
          tracker.trackAll([
            scoped.submit(backend.tasks.hang, []),
            scoped.submit(backend.tasks.increment, [1], { delay: 60_000 }),
          ]);
          throw new Error("body failed");
        }),
        { message: "body failed" },
      );
      assert.equal(q.closed, true);
      await tracker.assertEachSettledOnce("scope error");
      assert.deepEqual(tracker.statusCounts(), { cancelled: 2 });
    });

    if (!backend.pooled) {
      faultTest("a task that force-shuts its own queue down", async () => {
        const q = backend.make({ workers: 2 });
        try {
          const tracker = new SettleTracker();
          const self = tracker.track(q.submit(async () => {
            await q.shutdown({ force: true });
            return "after";
          }));
          tracker.trackAll([
            q.submit(backend.tasks.hang, []),
            q.submit(backend.tasks.increment, [1]),
          ]);
          const summary = await q.run().catch((error) => error);
          await tracker.assertEachSettledOnce("self shutdown");
          assert.equal(self.status, "cancelled");
          assert.deepEqual(tracker.statusCounts(), { cancelled: 3 });
          assertCounts(
            summary as RunSummary,
            { total: 3, succeeded: 0, failed: 0, cancelled: 3 },
            "self shutdown",
          );
        } finally {
          await q.shutdown({ force: true });
        }
      });
    }
  });
}
