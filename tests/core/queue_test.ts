/**
 * The engine's lifecycle phases, seen through a queue: which phases admit
 * tasks, and what ends an abort. (The behaviour suite covers the rest of the
 * engine against every backend.)
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";

import { AsyncQueue } from "../../src/backends/async_queue.ts";
import { ManualClock, systemClock } from "../../src/core/clock.ts";
import { ClosedError } from "../../src/core/errors.ts";
import type { Executor } from "../../src/core/executor.ts";
import { ProgressBoard, type TerminalWriter } from "../../src/core/progress_line.ts";
import type { QueueOptions } from "../../src/core/queue_options.ts";
import { TaskQueue } from "../../src/core/task_queue.ts";
import { useLeakCheck, withQueue } from "../helpers/leaks.ts";
import { deferred, tick } from "../helpers/timing.ts";

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
        q.submit(async () => {
          await sleep(50);
          throw new Error("no");
        }, { retries: 1, retryDelay: 400 });
        q.map(sleep, [150, 150, 150, 150]);
        const running = q.run();
        await clock.advance(100);
        const during = lineOf(terminal.frames.at(-1)!);
        assert.match(during, /^0\/5 0% .* \| 0 failed \| 1 retrying \| /);
        await clock.advance(1_000);
        await running;
        const last = lineOf(terminal.frames.at(-2)!);
        assert.match(last, /^5\/5 100% .* \| 1 failed \| 0 retrying \| /);
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
