/**
 * The engine's lifecycle phases, seen through a queue: which phases admit
 * tasks, and what ends an abort. (The behaviour suite covers the rest of the
 * engine against every backend.)
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";

import { AsyncQueue } from "../../src/backends/async_queue.ts";
import { ManualClock, systemClock } from "../../src/core/clock.ts";
import type { TaskContext } from "../../src/core/context.ts";
import { ClosedError } from "../../src/core/errors.ts";
import type { Executor } from "../../src/core/executor.ts";
import { ProgressBoard, type TerminalWriter } from "../../src/core/progress_line.ts";
import type { QueueOptions } from "../../src/core/queue_options.ts";
import type { TaskResult } from "../../src/core/result.ts";
import { TaskQueue } from "../../src/core/task_queue.ts";
import { useLeakCheck, withQueue } from "../helpers/leaks.ts";
import { deferred, sleep, tick } from "../helpers/timing.ts";

describe("queue lifecycle", () => {
  useLeakCheck();

  it("a fail-first abort refuses submissions until its run returns, then admits again", async () => {
    await withQueue(() => new AsyncQueue({ failPolicy: "failFirst", workers: 2 }), async (q) => {
      const hold = deferred<void>();
      const spared = q.submit(() => hold.promise.then(() => "spared"), { mustComplete: true });
      q.submit(() => {
        throw new Error("first failure");
      });
      const running = q.run();
      await tick();
      assert.throws(() => q.submit(() => 1), ClosedError);
      hold.resolve();
      const summary = await running;
      assert.equal(summary.failed, 1);
      assert.equal(spared.value(), "spared");
      const again = q.submit(() => "admitted");
      await q.run();
      assert.equal(again.value(), "admitted");
    });
  });

  it("a second run's summary starts inside the first run's results (1,500 tasks each)", async () => {
    await withQueue(() => new AsyncQueue({ workers: 4 }), async (q) => {
      const first = Array.from({ length: 1_500 }, (_, i) => i);
      const second = Array.from({ length: 1_500 }, (_, i) => 1_500 + i);
      q.map(async (n: number) => n, first);
      assert.deepEqual((await q.run()).values, first);
      q.map(async (n: number) => n, second);
      const summary = await q.run();
      assert.deepEqual(summary.values, second);
      assert.deepEqual(q.results.map((result) => result.value), [...first, ...second]);
    });
  });

  it("clearResults() during a run: the summary keeps only what finishes after it", async () => {
    await withQueue(() => new AsyncQueue({ workers: 1 }), async (q) => {
      q.map(async (n: number) => n, [1, 2, 3]);
      await q.run(); // results from before this run: the next run's begin at 3
      const gate = deferred<void>();
      const before = q.submit(async () => "before the clear");
      q.submit(async () => {
        await gate.promise;
        return "after the clear";
      });
      const running = q.run();
      assert.equal(await before, "before the clear");
      q.clearResults();
      gate.resolve();
      const summary = await running;
      assert.deepEqual(summary.values, ["after the clear"]);
      assert.equal(q.results.length, 1);
      assert.deepEqual(
        [summary.totalSubmitted, summary.succeeded, summary.failed, summary.cancelled],
        [1, 1, 0, 0],
      );
    });
  });

  it("a run's summary counts only its own tasks by status, detached ones left out", async () => {
    await withQueue(() => new AsyncQueue({ workers: 1 }), async (q) => {
      q.submit(async () => "first run");
      q.submit(() => {
        throw new Error("first run fails");
      });
      const first = await q.run();
      assert.deepEqual([first.succeeded, first.failed, first.cancelled], [1, 1, 0]);
      q.submit(async () => "kept");
      q.submit(async () => "detached", [], { detached: true });
      q.submit(() => {
        throw new Error("second run fails");
      });
      q.submit(
        () => {
          throw new Error("detached failure");
        },
        [],
        { detached: true },
      );
      const neverRuns = q.submit(async () => "never runs");
      const running = q.run();
      neverRuns.cancel();
      const second = await running;
      assert.deepEqual(
        [second.totalSubmitted, second.succeeded, second.failed, second.cancelled],
        [3, 1, 1, 1],
      );
      // The counts agree with the results they summarise.
      const statuses = second.results.map((result) => result.status);
      assert.deepEqual(statuses.toSorted(), ["cancelled", "failed", "succeeded"]);
    });
  });

  it("start() ends an abort made outside a run", async () => {
    await withQueue(() => new AsyncQueue({ failPolicy: "failFirst" }), async (q) => {
      q.start();
      const failed = q.submit(() => {
        throw new Error("boom");
      });
      await failed.wait();
      assert.throws(() => q.submit(() => 1), ClosedError);
      q.start();
      assert.equal(await q.submit(() => "after start"), "after start");
    });
  });

  it("a graceful shutdown refuses submissions while it drains", async () => {
    await withQueue(() => new AsyncQueue(), async (q) => {
      const hold = deferred<void>();
      const pending = q.submit(() => hold.promise.then(() => "drained"));
      const closing = q.shutdown();
      await tick();
      assert.equal(q.closed, false);
      assert.throws(() => q.submit(() => 1), ClosedError);
      hold.resolve();
      await closing;
      assert.equal(q.closed, true);
      assert.equal(pending.value(), "drained");
    });
  });

  it("reset() after a shutdown watches the signal again", async () => {
    const controller = new AbortController();
    await withQueue(() => new AsyncQueue({ signal: controller.signal }), async (q) => {
      await q.shutdown();
      q.reset();
      q.start();
      const waiting = q.submit(() => new Promise(() => {}));
      controller.abort();
      const result = await waiting.wait();
      assert.equal(result.status, "cancelled");
      assert.equal(q.closed, true);
    });
  });
});

describe("a task waiting for its retry", () => {
  useLeakCheck();

  /** A task that fails on its first attempt and returns `value` on the next. */
  function failsOnce(value: string): (context: TaskContext) => string {
    return (context) => {
      if (context.attempt === 1) throw new Error(`${value} failed once`);
      return value;
    };
  }

  it("frees its worker: quick tasks behind it finish without waiting for the retry", async () => {
    const clock = new ManualClock();
    await withQueue(() => new AsyncQueue({ workers: 4, clock }), async (q) => {
      const retrying = ["r0", "r1", "r2", "r3"].map((name) =>
        q.submit(failsOnce(name), { bind: true, retries: 1, retryDelay: 1_000 })
      );
      const quick = q.map(async (n: number) => n, Array.from({ length: 20 }, (_, i) => i));
      q.start();
      assert.deepEqual(await Promise.all(quick), Array.from({ length: 20 }, (_, i) => i));
      assert.equal(clock.now(), 0, "no time passed");
      assert.ok(retrying.every((h) => h.status === "retrying" && h.attempts === 1));
      // Waiting for a retry is pending and scheduled, not active.
      assert.equal(q.activeCount, 0);
      assert.equal(q.pendingCount, 4);
      assert.equal(q.stats.scheduled, 4);
      await clock.advance(999);
      assert.ok(retrying.every((h) => !h.done()));
      await clock.advance(1);
      assert.deepEqual(await Promise.all(retrying), ["r0", "r1", "r2", "r3"]);
      assert.ok(retrying.every((h) => h.result().attempts === 2));
    });
  });

  it("comes due with its priority and its submission's place among equals", async () => {
    const clock = new ManualClock();
    const order: string[] = [];
    await withQueue(() => new AsyncQueue({ workers: 1, clock }), async (q) => {
      const record = (name: string) => (context: TaskContext) => {
        order.push(`${name}#${context.attempt}`);
        if (context.attempt === 1 && name.startsWith("retry")) throw new Error("again");
      };
      const retry = { bind: true, retries: 1, retryDelay: 100 } as const;
      q.submit(record("retry-a"), retry);
      q.submit(record("retry-b"), retry);
      q.start();
      await tick();
      // Submitted after the retries: equal priority, later sequence; and an urgent one.
      q.submit(record("late"), { bind: true, delay: 100 });
      q.submit(record("urgent"), { bind: true, delay: 100, priority: 1 });
      await clock.advance(100);
      await q.join();
      assert.deepEqual(order, [
        "retry-a#1",
        "retry-b#1",
        "urgent#1",
        "retry-a#2",
        "retry-b#2",
        "late#1",
      ]);
    });
  });

  it("is cancelled by a run timeout like a scheduled task, after its attempts", async () => {
    const clock = new ManualClock();
    await withQueue(() => new AsyncQueue({ clock, timeout: 500 }), async (q) => {
      const h = q.submit(failsOnce("never"), { bind: true, retries: 1, retryDelay: 1_000 });
      const running = q.run();
      await clock.advance(500);
      const summary = await running;
      assert.equal(summary.cancelled, 1);
      const result = h.result();
      assert.equal(result.status, "cancelled");
      assert.equal(result.attempts, 1);
      assert.equal(result.message, "cancelled");
    });
  });

  it("retryJitter spreads each delay within its share, the same under the same seed", async () => {
    const startsUnder = async (seed: number) => {
      const clock = new ManualClock(0, undefined, seed);
      const starts: number[] = [];
      await withQueue(() => new AsyncQueue({ workers: 8, clock }), async (q) => {
        const failFirst = (context: TaskContext) => {
          if (context.attempt === 1) throw new Error("once");
          starts.push(clock.now());
        };
        const options = { bind: true, retries: 1, retryDelay: 1_000, retryJitter: 0.5 } as const;
        for (let i = 0; i < 8; i++) q.submit(failFirst, options);
        q.start();
        await clock.advance(1_500);
        await q.join();
      });
      return starts;
    };
    const first = await startsUnder(7);
    assert.equal(first.length, 8);
    assert.ok(first.every((at) => at >= 500 && at <= 1_500), `retries at ${first}`);
    assert.ok(new Set(first).size > 1, "the delays are spread");
    assert.deepEqual(await startsUnder(7), first);
  });
});

describe("autoStart and awaiting a queue that is not started", () => {
  useLeakCheck();

  /** Collects what `console.warn` prints while `body` runs. */
  async function warnings(body: () => Promise<void>): Promise<string[]> {
    const printed: string[] = [];
    const original = console.warn;
    console.warn = (...args: unknown[]) => void printed.push(args.join(" "));
    try {
      await body();
    } finally {
      console.warn = original;
    }
    return printed;
  }

  it("autoStart: true runs the p-limit idiom with no start()", async () => {
    await withQueue(() => new AsyncQueue({ workers: 2, autoStart: true }), async (q) => {
      let running = 0;
      let peak = 0;
      const fetchLength = async (url: string) => {
        peak = Math.max(peak, ++running);
        await sleep(5);
        running--;
        return url.length;
      };
      const urls = ["a", "bb", "ccc", "dddd", "eeeee"];
      const lengths = await Promise.all(urls.map((u) => q.submit(fetchLength, [u])));
      assert.deepEqual(lengths, [1, 2, 3, 4, 5]);
      assert.equal(peak, 2, "workers still bounds concurrency");
    });
  });

  it("autoStart starts again at the first submission after a finished run", async () => {
    await withQueue(() => new AsyncQueue({ autoStart: true }), async (q) => {
      q.submit(() => 1);
      await q.run();
      assert.equal(await q.submit(() => "again"), "again");
    });
  });

  it("without autoStart, submitting does not start the queue", async () => {
    await withQueue(() => new AsyncQueue(), async (q) => {
      const h = q.submit(() => "later");
      await sleep(10);
      assert.equal(h.status, "pending");
      q.start();
      assert.equal(await h, "later");
    });
  });

  it("warns once when a task of a queue that is not started is awaited", async () => {
    await withQueue(() => new AsyncQueue(), async (q) => {
      const printed = await warnings(async () => {
        const all = Promise.all([q.submit(() => 1), q.submit(() => 2)]);
        const result = q.submit(() => 3).wait();
        await sleep(20);
        q.start();
        assert.deepEqual(await all, [1, 2]);
        assert.equal((await result).value, 3);
      });
      assert.equal(printed.length, 1);
      assert.match(printed[0], /awaited on a queue that is not started/);
      assert.match(printed[0], /start\(\), run\(\) or join\(\).*autoStart: true/);
    });
  });

  it("does not warn when the queue starts right after the await begins, or is started", async () => {
    await withQueue(() => new AsyncQueue(), async (q) => {
      const printed = await warnings(async () => {
        const all = Promise.all([q.submit(() => 1)]);
        q.start();
        await all;
        await q.submit(() => 2);
        const next = Promise.all([q.submit(() => 3)]);
        await q.run();
        await next;
        await sleep(10);
      });
      assert.deepEqual(printed, []);
    });
  });
});

describe("why a task was cancelled and why a run ended early", () => {
  useLeakCheck();

  const never = (context: TaskContext) =>
    new Promise((_, reject) =>
      context.signal.addEventListener("abort", () => reject(context.signal.reason))
    );

  it("cancel(): cancelReason 'cancel'; the run is not interrupted", async () => {
    await withQueue(() => new AsyncQueue({ workers: 1 }), async (q) => {
      const running = q.submit(never, { bind: true });
      const waiting = q.submit(() => 1);
      const summary = q.run();
      await tick();
      waiting.cancel();
      running.cancel();
      assert.deepEqual([waiting.result().cancelReason, running.result().cancelReason], [
        "cancel",
        "cancel",
      ]);
      assert.equal((await summary).interrupted, null);
    });
  });

  it("a run timeout: cancelReason and interrupted 'timeout'", async () => {
    const clock = new ManualClock();
    await withQueue(() => new AsyncQueue({ clock, timeout: 100 }), async (q) => {
      const h = q.submit(never, { bind: true });
      const running = q.run();
      await clock.advance(100);
      const summary = await running;
      assert.equal(h.result().cancelReason, "timeout");
      assert.equal(summary.interrupted, "timeout");
      assert.equal(summary.timedOut, true);
    });
  });

  it("failFirst: the others' cancelReason and the run's interrupted are 'failFirst'", async () => {
    await withQueue(() => new AsyncQueue({ failPolicy: "failFirst", workers: 2 }), async (q) => {
      const other = q.submit(never, { bind: true });
      const queued = q.submit(() => 1, { delay: 10_000 });
      q.submit(() => {
        throw new Error("first");
      });
      const summary = await q.run();
      assert.equal(other.result().cancelReason, "failFirst");
      assert.equal(queued.result().cancelReason, "failFirst");
      assert.equal(summary.interrupted, "failFirst");
      assert.equal(summary.timedOut, false);
      assert.equal(summary.results.find((r) => r.status === "failed")?.cancelReason, null);
    });
  });

  it("a forced shutdown: cancelReason 'shutdown'", async () => {
    const q = new AsyncQueue();
    const running = q.submit(never, { bind: true });
    const queued = q.submit(() => 1, { delay: 10_000 });
    q.start();
    await tick();
    await q.shutdown({ force: true });
    assert.equal(running.result().cancelReason, "shutdown");
    assert.equal(queued.result().cancelReason, "shutdown");
  });
});

// ------------------------------------------------------------------ progress

/** Runs attempts on the calling thread, like AsyncQueue, for a queue given its own board. */
const callingThread: Executor = {
  kind: "async",
  validateSource: () => {},
  autoWorkers: () => 4,
  capacity: (workers) => workers,
  liveWorkers: () => undefined,
  execute(request) {
    if (!request.began()) return undefined;
    return (request.source as (...args: unknown[]) => unknown)(...request.args);
  },
  start: () => {},
  close: () => Promise.resolve(),
};

/** A queue drawing its progress on `board`, as a backend would on stderr. */
class BoardQueue extends TaskQueue {
  constructor(options: QueueOptions, board: ProgressBoard) {
    super(options, callingThread, [], () => board);
  }
}

/** What the board writes before each frame: back to the line's start, erase below. */
const ERASE = "\r\x1b[J";

/** The line a frame draws (deno lint rejects control characters in regular expressions). */
function lineOf(frame: string): string {
  assert.ok(frame.startsWith(ERASE), JSON.stringify(frame));
  return frame.slice(ERASE.length);
}

/** A terminal that keeps what is written to it. */
function recordingTerminal(): TerminalWriter & { frames: string[] } {
  const frames: string[] = [];
  return { frames, write: (text) => void frames.push(text), columns: 100, isTerminal: true };
}

describe("the progress line of a run", () => {
  useLeakCheck();

  it("shows this run's done, total, failed and retrying counts, then is erased", async () => {
    const clock = new ManualClock();
    const terminal = recordingTerminal();
    const board = new ProgressBoard(terminal, clock);
    const sleep = (ms: number) => new Promise<void>((resolve) => clock.setTimer(resolve, ms));
    await withQueue(
      () => new BoardQueue({ clock, workers: 2, progress: true }, board),
      async (q) => {
        let calls = 0;
        const failSlowerEachTime = async () => {
          await sleep(++calls === 1 ? 50 : 200);
          throw new Error("no");
        };
        q.submit(failSlowerEachTime, { retries: 1, retryDelay: 400 }); // again 450–650
        q.submit(async () => {
          await sleep(50);
          throw new Error("no");
        });
        q.map(sleep, [150, 150, 150, 150]); // done by 350 on two workers
        const running = q.run();
        await clock.advance(100);
        assert.match(lineOf(terminal.frames.at(-1)!), /^1\/6 16% .* \| 1 failed \| 1 retrying \| /);
        await clock.advance(450);
        assert.match(
          lineOf(terminal.frames.at(-1)!),
          /^5\/6 83% .* \| 1 failed \| 0 retrying \| .* \| 1 active$/,
        );
        await clock.advance(200);
        await running;
        assert.equal(terminal.frames.at(-1), ERASE, "erased when the run ends");
        assert.equal(board.drawnLines, 0);
      },
    );
  });

  it("counts without a total in infinite mode", async () => {
    const clock = new ManualClock();
    const terminal = recordingTerminal();
    const board = new ProgressBoard(terminal, clock);
    const options: QueueOptions = { clock, progress: true, mode: "infinite" };
    await withQueue(() => new BoardQueue(options, board), async (q) => {
      q.map(async (n: number) => n, [1, 2, 3]);
      const running = q.run();
      await clock.advance(150);
      assert.match(lineOf(terminal.frames.at(-1)!), /^3 done \| 0 failed \| 0 retrying \| /);
      await q.shutdown();
      await running;
      assert.equal(board.drawnLines, 0);
    });
  });

  it("counts the tasks of the first round, which may finish before the line is added", async () => {
    const clock = new ManualClock();
    const terminal = recordingTerminal();
    const board = new ProgressBoard(terminal, clock);
    const fail = (): never => {
      throw new Error("no");
    };
    await withQueue(
      () => new BoardQueue({ clock, workers: 1, progress: true }, board),
      async (q) => {
        q.submit(fail);
        await q.run(); // a failure before the next run, which its line does not count
        q.submit(fail); // fails inside the pump's first round
        q.submit(() => "at once");
        q.submit(() => new Promise<void>((resolve) => clock.setTimer(resolve, 500)));
        const running = q.run();
        await clock.advance(150);
        assert.match(lineOf(terminal.frames.at(-1)!), /^2\/3 66% .* \| 1 failed \| 0 retrying /);
        await clock.advance(400);
        await running;
        assert.equal(board.drawnLines, 0);
      },
    );
  });

  it("counts again from zero after clearResults() during the run", async () => {
    const clock = new ManualClock();
    const terminal = recordingTerminal();
    const board = new ProgressBoard(terminal, clock);
    await withQueue(() => new BoardQueue({ clock, progress: true }, board), async (q) => {
      q.map(async (n: number) => n, [1, 2]);
      await q.run(); // two results from before the next run
      const gate = deferred<void>();
      const first = q.submit(async () => 3);
      q.submit(async () => {
        await gate.promise;
        return 4;
      });
      const running = q.run();
      await first;
      q.clearResults();
      await q.submit(async () => 5);
      await clock.advance(150);
      assert.match(lineOf(terminal.frames.at(-1)!), /^1\/2 50% /);
      gate.resolve();
      await running;
    });
  });

  it("moves while tasks that never yield keep the event loop busy", async () => {
    // Synchronous tasks run back to back inside one turn of the event loop, so the
    // board's timer cannot fire: the engine redraws as tasks finish.
    const terminal = recordingTerminal();
    const board = new ProgressBoard(terminal, systemClock);
    const spin = (ms: number): void => {
      const until = performance.now() + ms;
      while (performance.now() < until) { /* busy */ }
    };
    await withQueue(() => new BoardQueue({ workers: 1, progress: true }, board), async (q) => {
      q.map(spin, Array.from({ length: 50 }, () => 10));
      await q.run();
      const lines = terminal.frames.slice(0, -1).map(lineOf);
      assert.ok(lines.length >= 3, `${lines.length} redraws in half a second: ${lines}`);
      assert.match(lines.at(-1)!, /^\d+\/50 /);
      assert.equal(terminal.frames.at(-1), ERASE);
    });
  });

  it("draws nothing with progress: false", async () => {
    const clock = new ManualClock();
    const terminal = recordingTerminal();
    const board = new ProgressBoard(terminal, clock);
    await withQueue(() => new BoardQueue({ clock, progress: false }, board), async (q) => {
      q.map(async (n: number) => n, [1, 2, 3]);
      const running = q.run();
      await clock.advance(5_000);
      await running;
      assert.deepEqual(terminal.frames, []);
      assert.equal(clock.pendingTimers, 0, "no redraw timer either");
    });
  });
});

describe("results of tasks that finish outside a run", () => {
  useLeakCheck();

  it("a success's result, made when first read, is complete and always the same object", async () => {
    const clock = new ManualClock(1_000);
    const completed: TaskResult<unknown>[] = [];
    await withQueue(
      () =>
        new AsyncQueue({
          clock,
          mode: "infinite",
          onComplete: (result) => void completed.push(result),
        }).start(),
      async (q) => {
        const gate = deferred<void>();
        const h = q.submit(
          async (n: number) => {
            await gate.promise;
            return n * 2;
          },
          [21],
          { name: "double", priority: 1, metadata: { tag: "x" } },
        );
        await tick();
        await clock.advance(40);
        gate.resolve();
        assert.equal(await h, 42);
        const result = h.result();
        assert.equal(h.result(), result);
        assert.equal(completed[0], result, "onComplete got the handle's result");
        assert.equal(q.results[0], result);
        assert.deepEqual(result.toJSON(), {
          ...result.toJSON(),
          taskId: h.id,
          name: "double",
          status: "succeeded",
          value: 42,
          attempts: 1,
          priority: 1,
          metadata: { tag: "x" },
          createdAt: 1_000,
          startedAt: 1_000,
          finishedAt: 1_040,
          duration: 40,
          message: "",
          worker: null,
          endedBy: "returned",
          cancelReason: null,
          history: [],
        });
      },
    );
  });

  it("q.results keeps completion order across successes, failures and a later run", async () => {
    await withQueue(() => new AsyncQueue({ workers: 1 }).start(), async (q) => {
      const first = q.submit(() => "a");
      const failing = q.submit(() => {
        throw new Error("boom");
      });
      const third = q.submit(() => "c");
      await Promise.allSettled([first, failing, third]);
      const before = q.results;
      assert.deepEqual(before.map((r) => r.status), ["succeeded", "failed", "succeeded"]);
      assert.deepEqual([before[0], before[2]], [first.result(), third.result()]);
      assert.equal(before[1].message, "boom");
      assert.equal(q.stats.completed, 3);
      q.submit(() => "d");
      const summary = await q.run();
      assert.deepEqual(summary.values, ["d"]);
      assert.deepEqual(q.results.map((r) => r.value), ["a", undefined, "c", "d"]);
    });
  });
});
