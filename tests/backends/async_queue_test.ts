/**
 * AsyncQueue: the shared behaviour suite, plus what only AsyncQueue does
 * (closures and sync functions as tasks, the context signal seen from the
 * main thread) and the timing rules checked exactly with a `ManualClock`.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  amap,
  AsyncQueue,
  CancelledError,
  type Clock,
  InvalidStateError,
  ManualClock,
  type TaskContext,
  TaskHandle,
  taskModule,
  TaskTimeoutError,
} from "../../mod.ts";
import { promiseHandlesPay } from "../../src/runtime/detect.ts";
import { behaviourSuite, behaviourTasks } from "../behaviour/suite.ts";
import { useLeakCheck, withQueue } from "../helpers/leaks.ts";
import { sortedNumbers } from "../helpers/asserts.ts";
import { sleep, stopwatch, waitFor } from "../helpers/timing.ts";

behaviourSuite({
  name: "async",
  make: (options) => new AsyncQueue(options),
  tasks: behaviourTasks,
  shortcut: (fn, items, options) => amap(fn as never, items, options),
});

const never = (): Promise<never> => new Promise<never>(() => {});

describe("AsyncQueue only", () => {
  useLeakCheck();

  it("a graceful shutdown() from inside one of the queue's own tasks is an InvalidStateError, not a deadlock", async () => {
    await withQueue(() => new AsyncQueue({ workers: 1 }), async (q) => {
      const h = q.submit(async () => {
        await q.shutdown();
        return "never";
      });
      const forced = q.submit(async () => "after");
      await q.run();
      assert.ok(h.result().exception instanceof InvalidStateError, h.result().message);
      assert.match(h.result().message, /from inside one of its own tasks/);
      assert.equal(forced.value(), "after");
    });
  });

  it("a graceful shutdown() from onStart is refused the same way, with and without a task timeout", async () => {
    for (const timeout of [undefined, 1_000]) {
      const refusals: Promise<unknown>[] = [];
      const queue = new AsyncQueue({
        workers: 1,
        onStart: () => void refusals.push(queue.shutdown().then(() => "shut down", (e) => e)),
      });
      await withQueue(() => queue, async (q) => {
        const h = q.submit(async () => "ran", { timeout });
        const summary = await q.run();
        assert.equal(h.value(), "ran", `timeout ${timeout}`);
        assert.equal(summary.succeeded, 1);
        assert.equal(refusals.length, 1);
        const refused = await refusals[0];
        assert.ok(refused instanceof InvalidStateError, `timeout ${timeout}: ${refused}`);
        assert.match(refused.message, /from inside one of its own tasks/);
        assert.equal(q.closed, false);
      });
    }
  });

  it("a task submitted to a started queue has a handle that await takes as it is where that pays (Deno), and that behaves the same", async () => {
    await withQueue(() => new AsyncQueue({ workers: 1 }), async (q) => {
      const before = q.submit(async () => "queued");
      q.start();
      const ok = q.submit(async (n: number) => n * 2, [21]);
      const boom = new Error("boom");
      const failed = q.submit(async () => {
        throw boom;
      });
      const cancelled = q.submit(never);
      assert.ok(ok instanceof TaskHandle && before instanceof TaskHandle);
      const takenAsIs = (h: TaskHandle<unknown>) => Promise.resolve(h) === (h as unknown);
      assert.equal(takenAsIs(ok), promiseHandlesPay);
      assert.equal(takenAsIs(before), false, "submitted before start()");
      assert.equal(await ok.then((v) => v + 1), 43);
      assert.deepEqual(await Promise.all([before, ok]), ["queued", 42]);
      await assert.rejects(async () => await failed, (error) => error === boom);
      assert.equal(failed.exception(), boom);
      assert.equal(cancelled.cancel(), true);
      await assert.rejects(async () => await cancelled, CancelledError);
      assert.equal(cancelled.status, "cancelled");
    });
  });

  describe("task functions", () => {
    it("runs closures", async () => {
      let counter = 0;
      const seen: number[] = [];
      await withQueue(() => new AsyncQueue({ workers: 1 }), async (q) => {
        q.submit(() => void seen.push(++counter));
        q.submit(() => void seen.push(++counter));
        await q.run();
        assert.deepEqual(seen, [1, 2]);
      });
    });

    it("runs sync functions and awaits a promise they return", async () => {
      await withQueue(() => new AsyncQueue(), async (q) => {
        const sync = q.submit(() => 42);
        const returnsPromise = q.submit(() => Promise.resolve(5));
        const throwsSync = q.submit(() => {
          throw new Error("sync failure");
        });
        const summary = await q.run();
        assert.deepEqual(sync.value(), 42);
        assert.equal(returnsPromise.value(), 5);
        assert.equal(throwsSync.result().message, "sync failure");
        assert.equal(summary.succeeded, 2);
      });
    });

    it("returns functions and other values as they are", async () => {
      await withQueue(() => new AsyncQueue(), async (q) => {
        const shared = { same: true };
        const lambda = q.submit(behaviourTasks.returnsLambda, []);
        const object = q.submit(() => shared);
        await q.run();
        assert.equal(typeof lambda.value(), "function");
        assert.equal(object.value(), shared);
      });
    });

    it("fails the task, not the submit, when a module has no such export", async () => {
      const missing = taskModule<{ nope(): void }>(
        new URL("../fixtures/behaviour_tasks.ts", import.meta.url),
      );
      await withQueue(() => new AsyncQueue(), async (q) => {
        const h = q.submit(missing.nope, []);
        await q.run();
        assert.equal(h.status, "failed");
        assert.match(h.result().message, /nope/);
      });
    });

    it("tasks may submit more tasks during a run", async () => {
      await withQueue(() => new AsyncQueue(), async (q) => {
        q.submit(() => {
          q.submit((x: number) => x + 1, [1]);
          return 1;
        });
        const summary = await q.run();
        assert.equal(summary.totalSubmitted, 2);
        assert.deepEqual(sortedNumbers(summary.values), [1, 2]);
      });
    });

    it("auto-scales to at least 4 concurrent tasks", async () => {
      let live = 0;
      let peak = 0;
      const work = async (): Promise<void> => {
        live++;
        peak = Math.max(peak, live);
        await sleep(60);
        live--;
      };
      await withQueue(() => new AsyncQueue(), async (q) => {
        for (let i = 0; i < 8; i++) q.submit(work);
        const elapsed = stopwatch();
        await q.run();
        assert.ok(peak >= 4 && peak <= 32, `peak concurrency ${peak}`);
        assert.ok(elapsed() < 60 * 8, `took ${elapsed()}ms`);
      });
    });

    it("a handle supports then, catch and finally", async () => {
      await withQueue(() => new AsyncQueue(), async (q) => {
        const ok = q.submit(() => 1);
        const bad = q.submit(() => Promise.reject(new Error("no")));
        q.start();
        assert.ok(ok instanceof TaskHandle);
        assert.equal(await ok.then((v) => v + 1), 2);
        assert.equal(await bad.catch((e) => (e as Error).message), "no");
        let ran = false;
        await ok.finally(() => void (ran = true));
        assert.equal(ran, true);
      });
    });
  });

  describe("the context signal (bind: true)", () => {
    it("aborts on a per-task timeout, and the attempt settles without waiting", async () => {
      let signal: AbortSignal | undefined;
      await withQueue(() => new AsyncQueue(), async (q) => {
        const h = q.submit((ctx: TaskContext) => {
          signal = ctx.signal;
          return never();
        }, { bind: true, timeout: 50 });
        const elapsed = stopwatch();
        await q.run();
        assert.ok(elapsed() < 1_000);
        assert.equal(signal?.aborted, true);
        assert.ok(h.exception() instanceof TaskTimeoutError);
      });
    });

    it("aborts on cancel", async () => {
      let signal: AbortSignal | undefined;
      await withQueue(() => new AsyncQueue(), async (q) => {
        const h = q.submit((ctx: TaskContext) => {
          signal = ctx.signal;
          return never();
        }, { bind: true });
        q.start();
        await waitFor(() => signal !== undefined);
        assert.equal(signal?.aborted, false);
        h.cancel();
        await h.wait();
        assert.equal(signal?.aborted, true);
      });
    });

    it("aborts on forced shutdown, mustComplete included", async () => {
      let signal: AbortSignal | undefined;
      const q = new AsyncQueue();
      const h = q.submit((ctx: TaskContext) => {
        signal = ctx.signal;
        return never();
      }, { bind: true, mustComplete: true });
      q.start();
      await waitFor(() => signal !== undefined);
      await q.shutdown({ force: true });
      assert.equal(signal?.aborted, true);
      assert.equal(h.cancelled(), true);
    });

    it("aborts when a run timeout cancels the task", async () => {
      let signal: AbortSignal | undefined;
      await withQueue(() => new AsyncQueue(), async (q) => {
        q.submit((ctx: TaskContext) => {
          signal = ctx.signal;
          return never();
        }, { bind: true });
        const summary = await q.run({ timeout: 50 });
        assert.equal(summary.timedOut, true);
        assert.equal(signal?.aborted, true);
      });
    });

    it("gives each attempt its own signal and attempt number", async () => {
      const attempts: { attempt: number; signal: AbortSignal }[] = [];
      await withQueue(() => new AsyncQueue(), async (q) => {
        const h = q.submit((ctx: TaskContext) => {
          attempts.push({ attempt: ctx.attempt, signal: ctx.signal });
          if (ctx.attempt < 2) throw new Error("again");
          return ctx.name;
        }, { bind: true, retries: 1, name: "twice" });
        await q.run();
        assert.equal(h.value(), "twice");
        assert.deepEqual(attempts.map((a) => a.attempt), [1, 2]);
        assert.notEqual(attempts[0].signal, attempts[1].signal);
      });
    });
  });

  describe("with a ManualClock", () => {
    it("starts a delayed task exactly when it is due", async () => {
      const clock = new ManualClock();
      await withQueue(() => new AsyncQueue({ clock }), async (q) => {
        const h = q.submit(() => "late", { delay: 1_000 });
        assert.equal(h.createdAt, 0);
        assert.equal(h.scheduledFor, 1_000);
        q.start();
        await clock.advance(999);
        assert.equal(h.done(), false);
        await clock.advance(1);
        assert.equal(h.done(), true);
        assert.equal(h.value(), "late");
        assert.equal(h.result().startedAt, 1_000);
      });
      assert.equal(clock.pendingTimers, 0);
    });

    it("converts runAt from wall time once, at submit", async () => {
      const clock = new ManualClock();
      await withQueue(() => new AsyncQueue({ clock }), async (q) => {
        const h = q.submit(() => "on time", { runAt: clock.wallNow() + 500 });
        const dated = q.submit(() => "dated", { runAt: new Date(clock.wallNow() + 700) });
        assert.equal(h.scheduledFor, 500);
        assert.equal(dated.scheduledFor, 700);
        q.start();
        await clock.advance(499);
        assert.equal(h.done(), false);
        await clock.advance(1);
        assert.equal(h.value(), "on time");
        await clock.advance(200);
        assert.equal(dated.value(), "dated");
      });
    });

    // Without a timeout or bind, the engine calls a first attempt itself (no Attempt
    // object); with a timeout it goes through the executor. Both must look the same.
    for (
      const [path, options] of [["called directly", {}], ["with a timeout", {
        timeout: 60_000,
      }]] as const
    ) {
      describe(`a first attempt ${path}`, () => {
        it("an onStart that cancels the task keeps its function from running", async () => {
          const clock = new ManualClock();
          const ran: string[] = [];
          await withQueue(
            () =>
              new AsyncQueue({
                clock,
                workers: 1,
                onStart: (h) => void (h.name === "a" && h.cancel()),
              }),
            async (q) => {
              const a = q.submit(function a() {
                ran.push("a");
              }, options);
              const b = q.submit(function b() {
                ran.push("b");
                return "b";
              }, options);
              await q.run();
              assert.deepEqual(ran, ["b"]);
              assert.equal(a.status, "cancelled");
              assert.equal(a.result().attempts, 1);
              assert.equal(a.result().message, "cancelled");
              assert.equal(b.value(), "b");
            },
          );
        });

        it("a failed first attempt starts the retry's history with its own times", async () => {
          const clock = new ManualClock();
          let calls = 0;
          await withQueue(() => new AsyncQueue({ clock }), async (q) => {
            const h = q.submit(
              () =>
                new Promise<void>((resolve) => clock.setTimer(() => resolve(), 50)).then(() => {
                  if (calls++ === 0) throw new Error("first");
                  return "second";
                }),
              { ...options, retries: 1, retryDelay: 0 },
            );
            q.start();
            await clock.advance(100);
            const result = h.result();
            assert.equal(result.value, "second");
            assert.deepEqual([result.attempts, result.startedAt, result.finishedAt], [2, 0, 100]);
            assert.deepEqual(result.history.map((e) => ({ ...e })), [
              {
                attempt: 1,
                startedAt: 0,
                finishedAt: 50,
                worker: null,
                endedBy: "threw",
                message: "first",
              },
            ]);
          });
        });

        it("an outcome that arrives after the task was cancelled is ignored", async () => {
          const clock = new ManualClock();
          await withQueue(() => new AsyncQueue({ clock, workers: 1 }), async (q) => {
            let finish: (value: string) => void = () => {};
            const h = q.submit(() => new Promise<string>((resolve) => finish = resolve), options);
            const next = q.submit(() => "next", options);
            q.start();
            await clock.advance(10);
            assert.equal(h.status, "running");
            assert.equal(h.cancel(), true);
            finish("late");
            await clock.advance(10);
            assert.equal(h.status, "cancelled");
            assert.equal(h.result().finishedAt, 10);
            assert.equal(next.value(), "next");
            assert.equal(q.results.length, 2);
          });
        });
      });
    }

    it("waits retryDelay × backoff^(n−1), capped by maxRetryDelay", async () => {
      const clock = new ManualClock();
      const starts: number[] = [];
      await withQueue(
        () => new AsyncQueue({ clock, onStart: () => void starts.push(clock.now()) }),
        async (q) => {
          const h = q.submit(() => {
            throw new Error("again");
          }, { retries: 4, retryDelay: 100, backoff: 3, maxRetryDelay: 500 });
          q.start();
          await clock.advance(5_000);
          assert.deepEqual(starts, [0, 100, 400, 900, 1_400]);
          assert.equal(h.result().attempts, 5);
          assert.equal(h.result().duration, 1_400);
        },
      );
    });

    it("a retry delay of 0 retries at once", async () => {
      const clock = new ManualClock();
      const starts: number[] = [];
      await withQueue(
        () => new AsyncQueue({ clock, onStart: () => void starts.push(clock.now()) }),
        async (q) => {
          q.submit(() => {
            throw new Error("again");
          }, { retries: 2, backoff: 5 });
          q.start();
          await clock.advance(0);
          assert.deepEqual(starts, [0, 0, 0]);
        },
      );
    });

    it("spaces attempts by the rate, after a burst", async () => {
      const clock = new ManualClock();
      const starts: number[] = [];
      await withQueue(
        () => new AsyncQueue({ clock, rate: 10, onStart: () => void starts.push(clock.now()) }),
        async (q) => {
          for (let i = 0; i < 4; i++) q.submit(() => i);
          q.start();
          await clock.advance(1_000);
          assert.deepEqual(starts, [0, 100, 200, 300]);
        },
      );
      const burstClock = new ManualClock();
      const burstStarts: number[] = [];
      await withQueue(
        () =>
          new AsyncQueue({
            clock: burstClock,
            rate: 10,
            burst: 3,
            onStart: () => void burstStarts.push(burstClock.now()),
          }),
        async (q) => {
          for (let i = 0; i < 5; i++) q.submit(() => i);
          q.start();
          await burstClock.advance(1_000);
          assert.deepEqual(burstStarts, [0, 0, 0, 100, 200]);
        },
      );
    });

    it("the rate gate counts retries", async () => {
      const clock = new ManualClock();
      const starts: number[] = [];
      await withQueue(
        () => new AsyncQueue({ clock, rate: 4, onStart: () => void starts.push(clock.now()) }),
        async (q) => {
          q.submit(() => {
            throw new Error("again");
          }, { retries: 2 });
          q.start();
          await clock.advance(2_000);
          assert.deepEqual(starts, [0, 250, 500]);
        },
      );
    });

    it("times out each attempt after exactly its timeout", async () => {
      const clock = new ManualClock();
      await withQueue(() => new AsyncQueue({ clock }), async (q) => {
        const h = q.submit(never, { timeout: 100, retries: 1, name: "stuck" });
        q.start();
        await clock.advance(99);
        assert.equal(h.attempts, 1);
        await clock.advance(1);
        assert.equal(h.attempts, 2);
        assert.equal(h.done(), false);
        await clock.advance(100);
        const result = h.result();
        assert.equal(result.status, "failed");
        assert.equal(result.endedBy, "timeout");
        assert.equal(result.message, "task 'stuck' exceeded 100ms timeout");
        assert.equal(result.duration, 200);
      });
    });

    it("ends a run at its timeout", async () => {
      const clock = new ManualClock();
      await withQueue(() => new AsyncQueue({ clock }), async (q) => {
        const h = q.submit(never);
        let settled = false;
        const running = q.run({ timeout: 500 }).then((summary) => {
          settled = true;
          return summary;
        });
        await clock.advance(499);
        assert.equal(settled, false);
        await clock.advance(1);
        const summary = await running;
        assert.equal(summary.timedOut, true);
        assert.equal(summary.duration, 500);
        assert.equal(h.status, "cancelled");
      });
    });

    it("times each start afresh after user code ran in between", async () => {
      // A clock the test moves synchronously, from inside hooks and tasks.
      const manual = new ManualClock();
      let time = 0;
      const clock: Clock = {
        now: () => time,
        wallNow: () => manual.wallNow(),
        setTimer: (callback, ms) => manual.setTimer(callback, ms),
        clearTimer: (timer) => manual.clearTimer(timer),
      };
      const step = (ms: number) => () => void (time += ms);
      await withQueue(() => new AsyncQueue({ clock, workers: 1 }), async (q) => {
        // Async tasks: a completion then starts the next attempt in the same step.
        const first = q.submit(async () => void (time += 10));
        first.onDone(step(7));
        const second = q.submit(async () => "second");
        await q.run();
        assert.deepEqual([first.result().startedAt, first.result().finishedAt], [0, 10]);
        // The onDone callback (+7) ran between the first's end and the second's start.
        assert.equal(second.result().startedAt, 17);
      });
      time = 0;
      await withQueue(
        () => new AsyncQueue({ clock, workers: 1, onComplete: step(50) }),
        async (q) => {
          q.submit(async () => "first");
          const second = q.submit(async () => "second");
          await q.run();
          assert.equal(second.result().startedAt, 50);
        },
      );
    });

    it("a forced shutdown leaves no timer behind", async () => {
      const clock = new ManualClock();
      const q = new AsyncQueue({ clock, rate: 1 });
      q.submit(() => 1, { delay: 10_000 });
      q.submit(never, { timeout: 10_000 });
      q.submit(() => 2);
      q.submit(() => 3);
      q.start();
      await clock.advance(0);
      await q.shutdown({ force: true });
      assert.equal(clock.pendingTimers, 0);
    });
  });
});

describe("AsyncQueue types", () => {
  it("type-checks arguments against the task and types the handle", () => {
    // Compiled by `deno check`, never called: each @ts-expect-error must be an error.
    const checks = (q: AsyncQueue): void => {
      const doubled: TaskHandle<number> = q.submit(behaviourTasks.double, [1]);
      const greeting: TaskHandle<string> = q.submit((name: string) => `hi ${name}`, ["a"]);
      const awaited: TaskHandle<number> = q.submit(async () => 1, {});
      const mapped: TaskHandle<number>[] = q.map(behaviourTasks.square, [1, 2]);
      // @ts-expect-error: double takes a number
      q.submit(behaviourTasks.double, ["x"]);
      // @ts-expect-error: add takes two arguments
      q.submit(behaviourTasks.add, [1]);
      // @ts-expect-error: square takes numbers
      q.map(behaviourTasks.square, ["a"]);
      // @ts-expect-error: unknown option name
      q.submit(behaviourTasks.double, [1], { bogus: true });
      void [doubled, greeting, awaited, mapped];
    };
    assert.equal(typeof checks, "function");
  });
});
